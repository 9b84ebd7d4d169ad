"""``tutopanda query`` checks its flags against the shared vocabularies and the narration's voices:
a bad value exits 2 with one line (the allowed values or a "did you mean") before anything is made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import CliRunner
from tutopanda.core.movie.definition import load_movie
from tutopanda.core.store.storage import StorageConfig, StorageContext


def _inputs(root: Path, movie: str) -> dict[str, Any]:
    return load_movie(StorageContext.open(StorageConfig(root)), movie).input_values()


def _error_line(stderr: str) -> str:
    """The one ``error:`` line (the next line is the hint); never a traceback."""
    assert "Traceback" not in stderr
    [line] = [line for line in stderr.splitlines() if line.startswith("error:")]
    return line


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (("--style", "watercolour"), "--style: 'watercolour' is not a style; did you mean 'watercolor'?"),
        (("--language", "french"), "did you mean 'fr' (French)?"),
        (("--language", "Deutsch"), "did you mean 'de' (German)?"),
        (("--audience", "kids"), "'kids' is not an audience (allowed: child, teen, adult, expert)"),
        (("--resolution", "4k"), "(allowed: 480p, 720p, 1080p)"),
        (("--voice", "nosuch"), "error: --voice: 'nosuch' is not a voice of local/espeak-ng"),
        (("--voice", "en-uss"), "did you mean 'en-us'?"),
    ],
)
def test_a_bad_flag_value_exits_2_with_one_line_and_creates_nothing(
    cli: CliRunner, root: Path, flags: tuple[str, str], expected: str
) -> None:
    result = cli("query", "Why is the sea salty?", "--movie", "bad", "--segments", "1", *flags)
    assert result.code == 2
    assert expected in _error_line(result.stderr)
    assert "hint:" in result.stderr
    assert not (root / "builds" / "bad").exists()


def test_good_values_are_recorded_in_their_canonical_spelling(cli: CliRunner, root: Path) -> None:
    flags = ("--audience", "child", "--style", "Watercolor", "--language", "FR", "--voice", "fr-fr+f2")
    result = cli("query", "Why is the sea salty?", "--movie", "good", "--segments", "1", *flags, "--json")
    assert result.code == 0, result.stderr
    values = _inputs(root, "good")
    assert values["Input:Audience"] == "child"
    assert values["Input:Style"] == "watercolor"
    assert values["Input:Language"] == "fr"
    assert values["Input:VoiceId"] == "fr-fr+f2"


def test_audience_flag_wins_over_settings_and_changes_an_existing_movie(cli: CliRunner, root: Path) -> None:
    root.mkdir(parents=True)
    (root / "settings.toml").write_text('[general]\naudience = "teen"\n', encoding="utf-8")
    first = cli("query", "Q?", "--movie", "aud", "--segments", "1", "--json")
    assert first.code == 0, first.stderr
    assert _inputs(root, "aud")["Input:Audience"] == "teen"
    again = cli("query", "--movie", "aud", "--audience", "expert", "--json")
    assert again.code == 0, again.stderr
    assert json.loads(again.stdout)["calls"] > 0  # the script (and what follows) is written again
    assert _inputs(root, "aud")["Input:Audience"] == "expert"
    bad = cli("query", "--movie", "aud", "--audience", "grown-ups")
    assert bad.code == 2 and "(allowed: child, teen, adult, expert)" in _error_line(bad.stderr)
    assert _inputs(root, "aud")["Input:Audience"] == "expert"


def test_audience_flag_applies_to_every_bundled_blueprint(cli: CliRunner, root: Path) -> None:
    result = cli("query", "Q?", "--movie", "narrated", "--blueprint", "audio-only", "--audience", "child")
    assert result.code == 0, result.stderr
    assert _inputs(root, "narrated")["Input:Audience"] == "child"


def test_voice_is_checked_against_the_selected_narration_provider(cli: CliRunner, root: Path) -> None:
    # elevenlabs does not list its voices here: any id is recorded, the provider checks it when it runs
    live = cli(
        "query",
        "Q?",
        "--movie",
        "eleven",
        "--segments",
        "1",
        "--provider",
        "Narration=elevenlabs/eleven_multilingual_v2",
        "--voice",
        "Rachel",
        "--json",
    )
    assert live.code == 0, live.stderr
    assert _inputs(root, "eleven")["Input:VoiceId"] == "Rachel"
    # back on the local engine, the same id is refused, naming the module and how to pick another
    back = cli("query", "--movie", "eleven", "--provider", "Narration=local/espeak-ng", "--voice", "Rachel")
    assert back.code == 2
    assert "'Rachel' is not a voice of local/espeak-ng" in _error_line(back.stderr)
    assert "--provider Narration=" in back.stderr


def test_describe_shows_the_allowed_values(cli: CliRunner) -> None:
    table = cli("blueprints", "describe", "image-audio")
    assert table.code == 0, table.stderr
    assert "watercolor" in table.stdout and "ISO 639-1" in table.stdout
    described = json.loads(cli("blueprints", "describe", "image-audio", "--json").stdout)
    inputs = {item["name"]: item for item in described["inputs"]}
    assert inputs["Audience"]["values"] == ["child", "teen", "adult", "expert"]
    assert inputs["Audience"]["vocabulary"] == "audience"
    assert inputs["Language"]["vocabulary"] == "language" and len(inputs["Language"]["values"]) == 184
