"""settings.toml checks language, audience and style against the vocabularies the blueprints use."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutopanda.settings import SettingsError, load_settings, update_general_settings


def _write(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "line", "message", "hint"),
    [
        (
            '[general]\n# mine\nstyle = "watercolour"\n',
            3,
            "general.style: 'watercolour' is not a style; did you mean 'watercolor'?",
            "delete the line",
        ),
        (
            '[general]\nlanguage = "french"\n',
            2,
            "general.language: 'french' is not an ISO 639-1 language code; did you mean 'fr' (French)?",
            "ISO 639-1",
        ),
        (
            '[general]\nconcurrency = 2\naudience = "kids"\n',
            3,
            "general.audience: 'kids' is not an audience (allowed: child, teen, adult, expert)",
            "who the script is written for",
        ),
    ],
)
def test_a_word_outside_its_vocabulary_names_file_line_and_field(
    tmp_path: Path, text: str, line: int, message: str, hint: str
) -> None:
    path = _write(tmp_path / "root", text)
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path / "root")
    error = caught.value
    assert error.line == line
    assert message in error.message
    assert error.message.startswith(f"{path.resolve().as_posix()}:{line}: ")
    assert error.hint is not None and hint in error.hint
    assert error.exit_code == 2


def test_words_are_stored_in_their_canonical_spelling(tmp_path: Path) -> None:
    _write(tmp_path / "root", '[general]\nlanguage = "FR"\nstyle = "Anime"\naudience = "teen"\n')
    general = load_settings(tmp_path / "root").general
    assert (general.language, general.style, general.audience) == ("fr", "anime", "teen")


def test_an_update_to_a_word_outside_the_vocabulary_writes_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path / "root", '[general]\nstyle = "anime"\n')
    with pytest.raises(SettingsError, match="did you mean 'diagram'"):
        update_general_settings(tmp_path / "root", {"style": "diagramm"})
    assert path.read_text(encoding="utf-8") == '[general]\nstyle = "anime"\n'
