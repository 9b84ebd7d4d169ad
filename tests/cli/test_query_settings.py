"""``tutopanda query`` reads ``<root>/settings.toml``: flag > settings > blueprint default (new movies)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import CliRunner
from tutopanda.cli.build_commands import execute_build
from tutopanda.core.movie.definition import load_movie
from tutopanda.core.store.storage import StorageConfig, StorageContext


def _write_settings(root: Path, text: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "settings.toml").write_text(text, encoding="utf-8")


def _inputs(root: Path, movie: str) -> dict[str, Any]:
    return load_movie(StorageContext.open(StorageConfig(root)), movie).input_values()


def _movie_json(root: Path, movie: str) -> dict[str, Any]:
    """movie.json with the selection from providers.json merged in (where the movie keeps it)."""
    folder = root / "builds" / movie
    data: dict[str, Any] = json.loads((folder / "movie.json").read_text(encoding="utf-8"))
    assert "selection" not in data
    data["selection"] = json.loads((folder / "providers.json").read_text(encoding="utf-8"))["selection"]
    return data


def _query(cli: CliRunner, movie: str, *flags: str) -> dict[str, Any]:
    result = cli("query", "Why is the sea salty?", "--movie", movie, "--segments", "1", *flags, "--json")
    assert result.code == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _without_speech(selection: dict[str, str]) -> dict[str, str]:
    """The selection minus the local voice a new movie records (Piper where installed, issue 14 §3)."""
    assert selection.get("Narration") in (None, "local/piper", "local/espeak-ng"), selection
    return {module: variant for module, variant in selection.items() if module != "Narration"}


def test_without_settings_the_blueprint_defaults_apply(cli: CliRunner, root: Path) -> None:
    _query(cli, "plain")
    values = _inputs(root, "plain")
    assert values["Input:Style"] == "illustration"
    assert values["Input:Language"] == "en"
    assert _movie_json(root, "plain")["blueprint"] == "image-audio"
    assert _without_speech(_movie_json(root, "plain")["selection"]) == {}


def test_settings_win_over_blueprint_defaults_and_flags_win_over_settings(cli: CliRunner, root: Path) -> None:
    _write_settings(
        root,
        '[general]\nstyle = "watercolor"\naudience = "child"\nvoice = "calm"\nlanguage = "fr"\n',
    )
    _query(cli, "from-settings")
    values = _inputs(root, "from-settings")
    assert values["Input:Style"] == "watercolor"
    assert values["Input:Audience"] == "child"
    assert values["Input:VoiceId"] == "calm"
    assert values["Input:Language"] == "fr"

    _query(cli, "from-flags", "--style", "anime", "--language", "de")
    values = _inputs(root, "from-flags")
    assert values["Input:Style"] == "anime"
    assert values["Input:Language"] == "de"
    assert values["Input:Audience"] == "child"  # no --audience flag: the settings still apply


def test_settings_blueprint_is_used_and_inputs_it_lacks_are_skipped(cli: CliRunner, root: Path) -> None:
    _write_settings(root, '[general]\nblueprint = "audio-only"\nstyle = "watercolor"\naudience = "teen"\n')
    _query(cli, "narrated")
    assert _movie_json(root, "narrated")["blueprint"] == "audio-only"
    values = _inputs(root, "narrated")
    assert "Input:Style" not in values  # audio-only has no Style: the setting is skipped, not an error
    assert values["Input:Audience"] == "teen"
    # A flag for a missing input is still an error, and --blueprint wins over the settings' blueprint.
    no_style = cli("query", "Q?", "--movie", "styled", "--style", "anime", "--segments", "1")
    assert no_style.code == 2 and "--style does not apply to blueprint audio-only" in no_style.stderr
    _query(cli, "with-images", "--blueprint", "image-audio")
    assert _movie_json(root, "with-images")["blueprint"] == "image-audio"
    assert _inputs(root, "with-images")["Input:Style"] == "watercolor"


def test_producers_entry_selects_a_variant(cli: CliRunner, root: Path) -> None:
    _write_settings(
        root,
        '[[producers]]\nproducer = "Script"\nprovider = "openai"\nmodel = "gpt-5-mini"\n\n'
        '[[producers]]\nproducer = "NotInThisBlueprint"\nprovider = "local"\nmodel = "x"\n',
    )
    _query(cli, "chosen")
    assert _without_speech(_movie_json(root, "chosen")["selection"]) == {"Script": "openai/gpt-5-mini"}
    plan = cli("build", "plan", "--movie", "chosen", "--force", "Producer:Script.ScriptWriter", "--json")
    assert plan.code == 0, plan.stderr
    jobs = [job for layer in json.loads(plan.stdout)["layers"] for job in layer["jobs"]]
    script = next(job for job in jobs if job["jobId"] == "Producer:Script.ScriptWriter")
    assert (script["provider"], script["model"]) == ("openai", "gpt-5-mini")


def test_producers_entry_naming_no_variant_is_an_error_naming_the_file(cli: CliRunner, root: Path) -> None:
    _write_settings(root, '[[producers]]\nproducer = "Script"\nprovider = "openai"\nmodel = "gpt-2"\n')
    result = cli("query", "Q?", "--movie", "bad-variant", "--segments", "1")
    assert result.code == 2
    assert "settings.toml" in result.stderr and "openai/gpt-2" in result.stderr
    assert not (root / "builds" / "bad-variant").exists()


def test_producers_entry_takes_any_registered_model_like_the_flag(cli: CliRunner, root: Path) -> None:
    """image-audio lists openai/gpt-5-mini for Script; openai/gpt-4.1-mini is only registered
    (openai/gpt-4.1*). The flag accepted it and settings refused it; both take it now, alike."""
    _query(cli, "by-flag", "--provider", "Script=openai/gpt-4.1-mini")
    _write_settings(root, '[[producers]]\nproducer = "Script"\nprovider = "openai"\nmodel = "gpt-4.1-mini"\n')
    _query(cli, "by-settings")
    expected = {"Script": "openai/gpt-4.1-mini"}
    assert _without_speech(_movie_json(root, "by-flag")["selection"]) == expected
    assert _without_speech(_movie_json(root, "by-settings")["selection"]) == expected
    plan = cli("build", "plan", "--movie", "by-settings", "--force", "Producer:Script.ScriptWriter", "--json")
    assert plan.code == 0, plan.stderr
    jobs = [job for layer in json.loads(plan.stdout)["layers"] for job in layer["jobs"]]
    script = next(job for job in jobs if job["jobId"] == "Producer:Script.ScriptWriter")
    assert (script["provider"], script["model"]) == ("openai", "gpt-4.1-mini")
    _write_settings(root, '[[producers]]\nproducer = "Script"\nprovider = "acme"\nmodel = "none"\n')
    refused = cli("query", "Q?", "--movie", "unserved", "--segments", "1")
    assert refused.code == 2
    assert "settings.toml" in refused.stderr and "producers[1]" in refused.stderr
    assert "handlers registered for script jobs" in refused.stderr  # the flag's hint, same rule
    assert not (root / "builds" / "unserved").exists()


def test_an_existing_movie_ignores_later_settings_edits(cli: CliRunner, root: Path) -> None:
    _write_settings(root, '[general]\nstyle = "watercolor"\n')
    _query(cli, "kept")
    _write_settings(
        root,
        '[general]\nstyle = "anime"\nlanguage = "de"\n\n'
        '[[producers]]\nproducer = "Script"\nprovider = "openai"\nmodel = "gpt-5-mini"\n',
    )
    again = _query(cli, "kept")
    assert again["calls"] == 0 and again["revision"] is None
    values = _inputs(root, "kept")
    assert values["Input:Style"] == "watercolor" and values["Input:Language"] == "en"
    assert _without_speech(_movie_json(root, "kept")["selection"]) == {}
    _query(cli, "kept", "--style", "diagram")  # an explicit flag still changes it
    assert _inputs(root, "kept")["Input:Style"] == "diagram"


def test_concurrency_flag_then_settings_then_four(
    cli: CliRunner, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["concurrency"])
        return execute_build(*args, **kwargs)

    monkeypatch.setattr("tutopanda.cli.query_command.execute_build", spy)
    _query(cli, "c1")
    _write_settings(root, "[general]\nconcurrency = 7\n")
    _query(cli, "c2")
    _query(cli, "c3", "--concurrency", "3")
    assert seen == [4, 7, 3]  # 4: the default init writes and --help names


def test_invalid_settings_exit_2_naming_the_file(cli: CliRunner, root: Path) -> None:
    _write_settings(root, '[general]\nstyle = "watercolor"\nconcurrency = "lots"\n')
    result = cli("query", "Q?", "--movie", "never", "--segments", "1")
    assert result.code == 2
    assert "settings.toml:3:" in result.stderr and "concurrency" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (root / "builds" / "never").exists()
    _write_settings(root, '[general]\nstyle = "neon"\n')  # valid TOML, but not a Style the blueprint allows
    bad_style = cli("query", "Q?", "--movie", "never", "--segments", "1")
    assert bad_style.code == 2 and "settings.toml" in bad_style.stderr
    assert not (root / "builds" / "never").exists()


def test_the_mcp_server_makes_the_same_choices_from_the_same_settings(cli: CliRunner, root: Path) -> None:
    """``make_movie`` used to take only the blueprint's defaults: no ``[[producers]]``, no Piper voice,
    no script writer. Both front ends now call :func:`tutopanda.movie_choice.new_movie_choices`."""
    from tutopanda.mcp_server.operations import MovieOperations

    _write_settings(
        root,
        '[general]\nstyle = "anime"\n\n'
        '[[producers]]\nproducer = "Images"\nprovider = "local"\nmodel = "slides"\n',
    )
    _query(cli, "by-query", "--blueprint", "image-audio", "--providers", "mock")
    MovieOperations(str(root), "mock").make_movie(
        prompt="Why is the sea salty?", movie="by-mcp", blueprint="image-audio", options={"segments": 1}
    )
    by_query, by_mcp = _movie_json(root, "by-query"), _movie_json(root, "by-mcp")
    assert by_mcp["selection"] == by_query["selection"]
    assert by_mcp["selection"]["Images"] == "local/slides"
    assert _inputs(root, "by-mcp")["Input:Style"] == _inputs(root, "by-query")["Input:Style"] == "anime"
