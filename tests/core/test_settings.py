"""settings.toml: defaults when missing, one-line errors naming file/line/field, comment-keeping rewrites."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutopanda.core.errors import UsageError
from tutopanda.settings import (
    DEFAULT_BLUEPRINT,
    SettingsError,
    init_settings,
    load_provider_config,
    load_settings,
    update_general_settings,
)


def _write(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_file_gives_defaults_and_says_so(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "nowhere")
    assert not settings.from_file
    assert settings.general.blueprint == DEFAULT_BLUEPRINT
    assert settings.general.concurrency == 4
    assert settings.general.language is None
    assert settings.producers == ()


def test_init_then_load_gives_the_scaffolded_defaults(tmp_path: Path) -> None:
    report = init_settings(tmp_path / "root")
    assert report.kept == []
    settings = load_settings(tmp_path / "root")
    assert settings.from_file
    assert settings.general.root == (tmp_path / "root").resolve().as_posix()
    assert settings.general.blueprint == "image-audio"
    assert load_provider_config(tmp_path / "root", "providers/local.toml", "narration") == {
        "engine": "auto",
        "wordsPerMinute": 160,
        "pitch": 50,
    }


def test_init_is_idempotent_and_keeps_changed_files_byte_identical(tmp_path: Path) -> None:
    root = tmp_path / "root"
    first = init_settings(root)
    (root / "settings.toml").write_bytes(b"# changed\n[general]\nstyle = 'anime'\n")
    second = init_settings(root)
    assert second.created == []
    assert sorted(second.kept) == sorted(first.created)
    assert (root / "settings.toml").read_bytes() == b"# changed\n[general]\nstyle = 'anime'\n"


def test_producers_are_read_with_their_config(tmp_path: Path) -> None:
    root = tmp_path / "root"
    init_settings(root)
    _write(
        root,
        '[[producers]]\nproducer = "Narration"\nprovider = "local"\nmodel = "espeak-ng"\n'
        'config = "providers/local.toml"\n',
    )
    settings = load_settings(root)
    entry = settings.producer("Narration")
    assert entry is not None
    assert (entry.provider, entry.model, entry.environment, entry.config) == (
        "local",
        "espeak-ng",
        "local",
        "providers/local.toml",
    )
    assert settings.producer("Images") is None


@pytest.mark.parametrize(
    ("text", "line", "field", "hint"),
    [
        ("[general]\n# c\nconcurrency = 0\n", 3, "general.concurrency = 0", "whole number from 1 to 256"),
        ('[general]\nconcurrency = "4"\n', 2, "general.concurrency = '4'", "whole number"),
        ('[general]\nlanguage = "english"\n', 2, "general.language", "ISO 639-1"),
        ('[general]\nstyel = "anime"\n', 2, "unknown field general.styel", "did you mean 'style'"),
        ("colour = 1\n", 1, "unknown field colour", "allowed at the top level"),
        (
            '[[producers]]\nproducer = "A"\nprovider = "local"\nmodel = "m"\n'
            '[[producers]]\nproducer = "B"\nprovider = "Local Thing"\nmodel = "m"\n',
            7,
            "producers[2].provider",
            "provider name",
        ),
        ('[[producers]]\nproducer = "A"\nprovider = "local"\n', 1, "producers[1].model is missing", "model"),
        (
            '[[producers]]\nproducer = "A"\nprovider = "local"\nmodel = "m"\nconfig = "../x.toml"\n',
            5,
            "producers[1].config",
            "relative to the root",
        ),
        (
            '[[producers]]\nproducer = "A"\nprovider = "p"\nmodel = "m"\n'
            '[[producers]]\nproducer = "A"\nprovider = "q"\nmodel = "m"\n',
            6,
            "producers[2].producer",
            "one [[producers]] entry per producer",
        ),
        ("[general\n", 1, "not valid TOML", "fix the syntax"),
    ],
)
def test_invalid_settings_name_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, hint: str
) -> None:
    path = _write(tmp_path / "root", text)
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path / "root")
    error = caught.value
    assert isinstance(error, UsageError) and error.exit_code == 2
    assert error.message.startswith(f"{path.resolve().as_posix()}:{line}: ")
    assert field in error.message
    assert "\n" not in error.message
    assert error.hint is not None and hint in error.hint


def test_missing_provider_config_file_is_named(tmp_path: Path) -> None:
    _write(
        tmp_path / "root",
        '[[producers]]\nproducer = "A"\nprovider = "local"\nmodel = "m"\nconfig = "providers/gone.toml"\n',
    )
    with pytest.raises(SettingsError, match=r"settings.toml:5: producers\[1\].config: config file"):
        load_settings(tmp_path / "root")


def test_provider_config_with_a_non_table_key_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "providers").mkdir(parents=True)
    (root / "providers" / "x.toml").write_text("# c\nspeed = 2\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"x.toml:2: speed = 2: top-level keys must be tables"):
        load_provider_config(root, "providers/x.toml")


def test_tomlkit_rewrite_keeps_every_comment(tmp_path: Path) -> None:
    root = tmp_path / "root"
    init_settings(root)
    path = root / "settings.toml"
    before = path.read_text(encoding="utf-8")
    settings = update_general_settings(root, {"style": "watercolor", "concurrency": 8})
    after = path.read_text(encoding="utf-8")
    assert settings.general.style == "watercolor" and settings.general.concurrency == 8
    assert load_settings(root).general.style == "watercolor"
    comments = [row for row in before.splitlines() if row.lstrip().startswith("#")]
    assert [row for row in after.splitlines() if row.lstrip().startswith("#")] == comments
    assert after.replace("concurrency = 8", "concurrency = 4").replace('style = "watercolor"\n', "") == before
    update_general_settings(root, {"style": None, "concurrency": 4})
    assert path.read_text(encoding="utf-8") == before


def test_rewrite_refuses_an_invalid_value_and_leaves_the_file(tmp_path: Path) -> None:
    root = tmp_path / "root"
    init_settings(root)
    before = (root / "settings.toml").read_bytes()
    with pytest.raises(SettingsError, match=r"general\.concurrency"):
        update_general_settings(root, {"concurrency": 0})
    with pytest.raises(UsageError, match="unknown general setting"):
        update_general_settings(root, {"colour": "red"})
    assert (root / "settings.toml").read_bytes() == before
