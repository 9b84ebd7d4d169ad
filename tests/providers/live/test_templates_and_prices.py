"""Prompt templates and the price table."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutopanda.core.errors import ProviderConfigError
from tutopanda.providers.live.templates import render_template, template_variables
from tutopanda.providers.pricing import PriceTable


def test_variables_are_replaced_and_fan_in_lists_become_numbered_lines() -> None:
    text = render_template(
        "Q: {{InquiryPrompt}} in {{ NumOfSegments }} parts\n{{NarrationScripts}}\n{{Burn}}",
        {"InquiryPrompt": "Why?", "NumOfSegments": 3, "NarrationScripts": [["one"], ["two"]], "Burn": False},
        where="Producer:X",
    )
    assert text == "Q: Why? in 3 parts\n1. one\n2. two\nno"


def test_an_unknown_variable_names_the_job_and_the_inputs() -> None:
    with pytest.raises(ProviderConfigError) as caught:
        render_template("{{Nope}} {{A}}", {"A": 1, "B": 2}, where="Producer:Script.ScriptWriter")
    assert "Producer:Script.ScriptWriter" in caught.value.message and "{{Nope}}" in caught.value.message
    assert caught.value.hint == "use one of: A, B"


@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True), st.text(max_size=20), max_size=5
    )
)
def test_rendering_uses_every_value_and_leaves_no_placeholder(values: dict[str, str]) -> None:
    template = " | ".join(f"{{{{{name}}}}}" for name in values)
    assert template_variables(template) == list(values)
    rendered = render_template(template, values, where="x")
    assert rendered == " | ".join(values.values())


def test_the_bundled_prices_load_and_price_usage() -> None:
    table = PriceTable.load()
    mini = table.get("openai", "gpt-5-mini")
    assert mini is not None
    assert mini.cost({"input_tokens": 1_000_000, "output_tokens": 1_000_000}) == pytest.approx(2.25)
    assert table.get("local", "slides") is None


def test_user_prices_override_entry_by_entry(tmp_path: Path) -> None:
    override = tmp_path / "prices.toml"
    override.write_text(
        '[openai."gpt-5-mini"]\nusd_per_1m_output_tokens = 4.0\n[acme."v1"]\nusd_per_call = 0.5\n'
    )
    table = PriceTable.load(override)
    mini = table.get("openai", "gpt-5-mini")
    assert mini is not None and mini.cost({"output_tokens": 1_000_000}) == pytest.approx(4.0)
    acme = table.get("acme", "v1")
    assert acme is not None and acme.cost({}) == pytest.approx(0.5)  # a flat price per call
    flux = table.get("replicate", "black-forest-labs/flux-schnell")
    assert flux is not None and flux.cost({"images": 2}) == pytest.approx(0.006)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[openai\n", "invalid TOML"),
        ('[openai."m"]\nusd_per_token = 1\n', "is not a price unit"),
        ('[openai."m"]\nusd_per_call = -1\n', "must be a number >= 0"),
        ("openai = 3\n", "must be a table of models"),
    ],
)
def test_a_bad_price_file_is_a_config_error_naming_it(tmp_path: Path, text: str, message: str) -> None:
    override = tmp_path / "prices.toml"
    override.write_text(text)
    with pytest.raises(ProviderConfigError) as caught:
        PriceTable.load(override)
    assert message in caught.value.message and str(override) in caught.value.message


def _price_file(folder: Path, usd_per_1k_characters: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "prices.toml"
    path.write_text(f'[elevenlabs."eleven_multilingual_v2"]\nusd_per_1k_characters = {usd_per_1k_characters}')
    return path


def test_two_resolvers_with_different_price_files_price_one_call_each_with_its_own(tmp_path: Path) -> None:
    """No process-wide table: making a second resolver does not reprice the first one's handlers."""
    from tutopanda.providers.wiring import resolver

    cheap = resolver("live", prices=_price_file(tmp_path / "cheap", 0.2))
    dear = resolver("live", prices=_price_file(tmp_path / "dear", 0.5))
    bundled = resolver("live")
    call = ("elevenlabs", "eleven_multilingual_v2", "narration")
    usage = {"characters": 1000.0}
    assert cheap(*call).cost_of(usage) == pytest.approx(0.2)  # type: ignore[attr-defined]
    assert dear(*call).cost_of(usage) == pytest.approx(0.5)  # type: ignore[attr-defined]
    assert bundled(*call).cost_of(usage) == pytest.approx(0.1)  # type: ignore[attr-defined]
    low, high, shipped = (r(*call).estimate_cost("narration", {}, 1) for r in (cheap, dear, bundled))
    assert low is not None and high is not None and shipped is not None
    assert high == pytest.approx(low * 2.5) and shipped == pytest.approx(low / 2)
    assert cheap(*call) is cheap(*call)  # one handler per binding and table, shared by a run's jobs


def test_tables_loaded_again_from_an_unchanged_file_share_the_handlers(tmp_path: Path) -> None:
    from tutopanda.providers.wiring import resolver

    path = _price_file(tmp_path, 0.3)
    call = ("elevenlabs", "eleven_multilingual_v2", "narration")
    assert resolver("live", prices=path)(*call) is resolver("live", prices=path)(*call)
    assert PriceTable.load(path) == PriceTable.load(path) != PriceTable.load()
    assert resolver("live", prices=tmp_path / "missing.toml")(*call) is resolver("live")(*call)
