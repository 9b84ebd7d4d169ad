"""A provider config value out of range is refused before any job runs (nothing paid, nothing recorded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import CliRunner

PRODUCERS = """
[[producers]]
producer = "{module}"
provider = "local"
model = "{model}"
config = "providers/local.toml"
"""


@pytest.mark.parametrize(
    ("module", "model", "before", "after", "named"),
    [
        ("Narration", "espeak-ng", "wordsPerMinute = 160", "wordsPerMinute = 9999", "wordsPerMinute = 9999"),
        ("Music", "synth", '# mood = "calm"', 'mood = "furious"', "mood = 'furious'"),
    ],
)
def test_bad_local_config_fails_at_preflight(
    cli: CliRunner, root: Path, module: str, model: str, before: str, after: str, named: str
) -> None:
    assert cli("init").code == 0
    config = root / "providers" / "local.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(before, after), encoding="utf-8")
    settings = root / "settings.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8") + PRODUCERS.format(module=module, model=model), encoding="utf-8"
    )
    result = cli("query", "How do tides work?", "--movie", "w", "--segments", "1", "--providers", "local")
    assert result.code == 2, result.stderr
    assert f"{module} config" in result.stderr and named in result.stderr
    assert not (root / "builds" / "w" / "events" / "artefacts.log").exists()  # no job ran
