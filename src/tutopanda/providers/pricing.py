"""The price table: what a call to (provider, model) costs, for plan estimates and actual costs.

Why a data file: prices change more often than code. The bundled ``data/prices.toml`` is overlaid by
``<root>/prices.toml`` when the user keeps one (:meth:`PriceTable.load`), entry by entry, so a
user can correct one model's price today. A model without a price estimates ``None`` ("unknown"), which
plans show as such rather than as free.

Why no process-wide table: a front end chooses the table once (``wiring.resolver(mode, prices=...)``)
and it travels with the handlers it hands out (:class:`~tutopanda.providers.registry.HandlerSpec`), so
two stores with different price files (a viewer and a worker, two tests) can share one process.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from tutopanda.core.errors import ProviderConfigError

__all__ = [
    "PRICE_UNITS",
    "Price",
    "PriceTable",
    "bundled_prices",
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
    """Prices by (provider, model), from the bundled file plus an optional user override file.

    Compared and hashed by content: the registry keeps one handler per binding *and* table, so tables
    loaded afresh from an unchanged file share the handlers (and their clients) built for the first.
    """

    def __init__(self, prices: Mapping[tuple[str, str], Price]) -> None:
        self._prices = dict(prices)
        self._key = tuple(sorted((key, _frozen(price)) for key, price in self._prices.items()))
        self._hash: int | None = None  # a registry lookup key: hashed on every resolve, so kept

    def get(self, provider: str, model: str) -> Price | None:
        return self._prices.get((provider, model))

    def __iter__(self) -> object:
        return iter(self._prices.values())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PriceTable) and self._key == other._key

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self._key)
        return self._hash

    def __getstate__(self) -> dict[str, object]:
        # Not the kept hash: string hashes differ between processes (PYTHONHASHSEED).
        return {**self.__dict__, "_hash": None}

    def __repr__(self) -> str:
        return f"PriceTable({len(self._prices)} prices)"

    @classmethod
    def load(cls, override: Path | None = None) -> PriceTable:
        """The bundled prices overlaid, entry by entry, by ``override`` when that file exists."""
        if override is None or not override.is_file():
            return bundled_prices()
        try:
            text = override.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProviderConfigError(f"cannot read {override}: {exc.strerror or exc}") from exc
        return cls({**bundled_prices()._prices, **_parse(text, str(override))})


@cache
def bundled_prices() -> PriceTable:
    """The table shipped in ``data/prices.toml`` (read once: it cannot change while the process runs)."""
    bundled = resources.files("tutopanda.providers").joinpath("data/prices.toml").read_text(encoding="utf-8")
    return PriceTable(_parse(bundled, "the bundled prices.toml"))


def _frozen(price: Price) -> tuple[Any, ...]:
    """``price`` as nested tuples, for :class:`PriceTable`'s equality and hash (its rates are dicts)."""
    tiers = tuple(sorted((tier, tuple(sorted(rates.items()))) for tier, rates in price.tiers.items()))
    rates = tuple(sorted(price.rates.items()))
    return (price.provider, price.model, rates, price.source, price.checked, price.note, tiers)


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
