"""``tutopanda providers:list`` / ``providers list``: readiness of every producer variant, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import CliRunner


def _rows(cli: CliRunner, *args: str) -> list[dict[str, object]]:
    result = cli("providers:list", *args, "--json")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    rows: list[dict[str, object]] = data["providers"]
    return rows


def test_every_variant_of_the_blueprint_is_listed_with_readiness_and_price(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ELEVENLABS_API_KEY", raising=False)
    rows = _rows(cli, "--blueprint", "image-audio")
    by_choice = {(row["producer"], f"{row['provider']}/{row['model']}"): row for row in rows}
    espeak = by_choice[("Narration.Narrator", "local/espeak-ng")]
    assert espeak["default"] is True and espeak["handler"] is True and espeak["free"] is True
    assert espeak["secrets"] == {} and espeak["network"] is False
    eleven = by_choice[("Narration.Narrator", "elevenlabs/eleven_multilingual_v2")]
    assert eleven["default"] is False and eleven["network"] is True
    assert eleven["secrets"] == {"ELEVENLABS_API_KEY": False}
    assert eleven["price"] == {"usd_per_1k_characters": 0.1}
    assert {row["producer"] for row in rows} >= {"Script.ScriptWriter", "Export.VideoExporter"}


def test_a_set_secret_is_reported_by_name_never_by_value(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELEVENLABS_API_KEY", "sk-canary-elevenlabs-123")
    listing = cli("providers", "list", "--blueprint", "image-audio")
    as_json = cli("providers:list", "--blueprint", "image-audio", "--json")
    for result in (listing, as_json):
        assert result.code == 0, result.stderr
        assert "sk-canary-elevenlabs-123" not in result.stdout + result.stderr
    rows = json.loads(as_json.stdout)["providers"]
    assert any(row["secrets"] == {"ELEVENLABS_API_KEY": True} for row in rows)


def test_user_prices_override_the_bundled_table(cli: CliRunner, root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "prices.toml").write_text('[elevenlabs."eleven_multilingual_v2"]\nusd_per_1k_characters = 0.3\n')
    cli("build", "plan", "--movie", "nothing")  # any build command points the table at <root>/prices.toml
    rows = _rows(cli, "--blueprint", "image-audio")
    eleven = next(row for row in rows if row["model"] == "eleven_multilingual_v2")
    assert eleven["price"] == {"usd_per_1k_characters": 0.3}


def test_an_unknown_blueprint_is_a_usage_error(cli: CliRunner) -> None:
    result = cli("providers:list", "--blueprint", "no-such-blueprint")
    assert result.code == 2
    assert result.stderr.startswith("error: ")


def test_the_base_url_in_use_is_shown_with_what_set_it(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENAI_BASE_URL", "REPLICATE_BASE_URL", "ELEVENLABS_BASE_URL", "AZURE_OPENAI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ELEVENLABS_RESIDENCY", "eu")
    monkeypatch.setenv("REPLICATE_BASE_URL", "https://replicate-proxy.example/v1")
    rows = _rows(cli, "--blueprint", "image-audio")
    by_provider = {row["provider"]: row["endpoint"] for row in rows}
    assert by_provider["openai"] == {
        "provider": "openai", "baseUrl": "https://api.openai.com/v1", "source": "default", "azure": False,
        "apiVersion": None,
    }  # fmt: skip
    eleven = by_provider["elevenlabs"]
    assert isinstance(eleven, dict)
    assert (eleven["baseUrl"], eleven["source"]) == (
        "https://api.eu.residency.elevenlabs.io",
        "ELEVENLABS_RESIDENCY=eu",
    )
    replicate = by_provider["replicate"]
    assert isinstance(replicate, dict) and replicate["source"] == "REPLICATE_BASE_URL"
    assert by_provider["local"] is None
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com")
    azure = next(
        row["endpoint"] for row in _rows(cli, "--blueprint", "image-audio") if row["provider"] == "openai"
    )
    assert (
        isinstance(azure, dict)
        and azure["azure"] is True
        and azure["baseUrl"] == "https://res.openai.azure.com"
    )
