"""The price table: what a call to (provider, model) costs, for plan estimates and actual costs.

Why a data file: prices change more often than code. The bundled ``data/prices.toml`` is overlaid by
``<root>/prices.toml`` when the user keeps one (see :func:`use_price_overrides`), entry by entry, so a
user can correct one model's price today. A model without a price estimates ``None`` ("unknown"), which
plans show as such rather than as free.
"""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tutopanda.core.errors import ProviderConfigError

__all__ = [
    "PRICE_UNITS",
    "Price",
    "PriceTable",
    "price_for",
    "price_table",
    "use_price_overrides",
]

PRICE_UNITS = {
    "usd_per_1m_input_tokens": ("input_tokens", 1e-6),
    "usd_per_1m_cached_input_tokens": ("cached_input_tokens", 1e-6),
    "usd_per_1m_image_input_tokens": ("image_input_tokens", 1e-6),
    "usd_per_1m_output_tokens": ("output_tokens", 1e-6),
    "usd_per_1k_characters": ("characters", 1e-3),
    "usd_per_image": ("images", 1.0),
    "usd_per_second": ("seconds", 1.0),
    "usd_per_call": ("calls", 1.0),
}
"""File key -> (usage quantity it multiplies, scale)."""
INFO_KEYS = ("source", "checked", "note")
"""Text keys of an entry: where the price comes from (a URL), when it was checked (YYYY-MM-DD), a note."""
TIER_PREFIX = "by_"
"""``[provider."model".by_resolution."720p"]``: rates that replace the entry's when the call's
``resolution`` is ``720p`` (a handler names the tier it used)."""


@dataclass(frozen=True)
class Price:
    """USD per unit of usage: ``input_tokens``, ``output_tokens``, ``characters``, ``images``...

    ``cached_input_tokens`` are part of ``input_tokens`` (as OpenAI reports them): with a cached rate they
    are taken out of ``input_tokens`` and priced at it. ``tiers`` maps ``(dimension, value)``, e.g.
    ``("resolution", "720p")``, to rates that replace the entry's for a call made at that tier.
    """

    provider: str
    model: str
    rates: Mapping[str, float]
    source: str | None = None
    checked: str | None = None
    note: str | None = None
    tiers: Mapping[tuple[str, str], Mapping[str, float]] = field(default_factory=dict)

    def cost(self, usage: Mapping[str, float], tier: Mapping[str, str] | None = None) -> float | None:
        """The cost of ``usage`` at ``tier`` (``{"resolution": "720p"}``); ``calls`` defaults to 1.

        None ("unknown", never $0) when the call is billed on a tier the entry has no rates for.
        """
        rates = dict(self.rates)
        for dimension, value in (tier or {}).items():
            if self.tiers and any(key[0] == dimension for key in self.tiers):
                chosen = self.tiers.get((dimension, value))
                if chosen is None:
                    return None
                rates.update(chosen)
        quantities = {"calls": 1.0, **usage}
        cached = quantities.get("cached_input_tokens", 0.0)
        if cached and "cached_input_tokens" in rates:
            quantities["input_tokens"] = max(0.0, quantities.get("input_tokens", 0.0) - cached)
        total = sum(rate * quantities.get(unit, 0.0) for unit, rate in rates.items())
        return round(total, 6)

    def to_dict(self) -> dict[str, float]:
        return {key: rate / PRICE_UNITS[key][1] for key, rate in self._file_rates(self.rates).items()}

    @staticmethod
    def _file_rates(rates: Mapping[str, float]) -> dict[str, float]:
        by_unit = {unit: (key, scale) for key, (unit, scale) in PRICE_UNITS.items()}
        return {by_unit[unit][0]: rate for unit, rate in rates.items()}


class PriceTable:
    """Prices by (provider, model), from the bundled file plus an optional user override file."""

    def __init__(self, prices: Mapping[tuple[str, str], Price]) -> None:
        self._prices = dict(prices)

    def get(self, provider: str, model: str) -> Price | None:
        return self._prices.get((provider, model))

    def __iter__(self) -> object:
        return iter(self._prices.values())

    @classmethod
    def load(cls, override: Path | None = None) -> PriceTable:
        bundled = (
            resources.files("tutopanda.providers").joinpath("data/prices.toml").read_text(encoding="utf-8")
        )
        prices = _parse(bundled, "the bundled prices.toml")
        if override is not None and override.is_file():
            try:
                text = override.read_text(encoding="utf-8")
            except OSError as exc:
                raise ProviderConfigError(f"cannot read {override}: {exc.strerror or exc}") from exc
            prices.update(_parse(text, str(override)))
        return cls(prices)


def _parse(text: str, source: str) -> dict[tuple[str, str], Price]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProviderConfigError(f"{source}: invalid TOML: {exc}", "fix the syntax at that line") from None
    prices: dict[tuple[str, str], Price] = {}
    for provider, models in data.items():
        if not isinstance(models, dict):
            raise ProviderConfigError(f"{source}: {provider} must be a table of models", '[provider."model"]')
        for model, entry in models.items():
            if not isinstance(entry, dict):
                raise ProviderConfigError(f"{source}: {provider}.{model} must be a table of prices")
            where = f'{source}: {provider}."{model}"'
            info = {key: entry[key] for key in INFO_KEYS if key in entry}
            for key, value in info.items():
                if not isinstance(value, str):
                    raise ProviderConfigError(
                        f"{where}.{key} must be a string", 'e.g. checked = "2026-12-06"'
                    )
            tiers: dict[tuple[str, str], Mapping[str, float]] = {}
            for key, value in entry.items():
                if key.startswith(TIER_PREFIX) and isinstance(value, dict):
                    for tier, tier_rates in value.items():
                        if not isinstance(tier_rates, dict):
                            raise ProviderConfigError(f"{where}.{key}.{tier} must be a table of prices")
                        tiers[(key[len(TIER_PREFIX) :], str(tier))] = _rates(
                            tier_rates, f"{where}.{key}.{tier}"
                        )
            plain = {k: v for k, v in entry.items() if k not in INFO_KEYS and not k.startswith(TIER_PREFIX)}
            prices[(provider, model)] = Price(
                provider,
                model,
                _rates(plain, where),
                source=info.get("source"),
                checked=info.get("checked"),
                note=info.get("note"),
                tiers=tiers,
            )
    return prices


def _rates(entry: Mapping[str, Any], where: str) -> dict[str, float]:
    rates: dict[str, float] = {}
    for key, value in entry.items():
        if key not in PRICE_UNITS:
            raise ProviderConfigError(
                f"{where}.{key} is not a price unit",
                f"use one of {', '.join(PRICE_UNITS)}, or {', '.join(INFO_KEYS)}, or a by_<dimension> table",
            )
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ProviderConfigError(f"{where}.{key} must be a number >= 0")
        unit, scale = PRICE_UNITS[key]
        rates[unit] = float(value) * scale
    return rates


_lock = threading.Lock()
_override: Path | None = None
_table: PriceTable | None = None


def use_price_overrides(path: Path | None) -> None:
    """Read user prices from ``path`` (``<root>/prices.toml``) from now on; the CLI calls this per run."""
    global _override, _table
    with _lock:
        if path != _override:
            _override, _table = path, None


def price_table() -> PriceTable:
    """The active price table (bundled + overrides), loaded once."""
    global _table
    with _lock:
        if _table is None:
            _table = PriceTable.load(_override)
        return _table


def price_for(provider: str, model: str) -> Price | None:
    """The price of (provider, model), or None when the table has none."""
    return price_table().get(provider, model)
