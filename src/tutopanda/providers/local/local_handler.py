"""What every local handler shares: its binding, free calls, no secrets, per-concern throttles.

Why a base class: the contract's bookkeeping (provider/model/mode/environment, ``limits``,
``estimate_cost``) is identical for the five local models; only ``produce`` differs. Limits are keyed per
concern (``local-speech``, ``local-slides``...) so a CPU-heavy kind does not hold back the cheap text
handlers, and a 2-core box is not oversubscribed by one kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tutopanda.core.engine.provider_contract import HandlerLimits, JobContext, JobResult, Mode

__all__ = ["LocalHandler"]


class LocalHandler:
    """Base of the offline handlers; subclasses set ``limit_key``/``max_in_flight`` and ``produce``."""

    needs_secrets: tuple[str, ...] = ()
    limit_key: str = "local"
    max_in_flight: int | None = None

    def __init__(self, provider: str = "local", model: str = "local", environment: str = "local") -> None:
        self.provider = provider
        self.model = model
        self.mode: Mode = "live"
        self.environment = environment

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.provider!r}, {self.model!r}, {self.environment!r})"

    @property
    def limits(self) -> HandlerLimits:
        """At most ``max_in_flight`` calls of this concern at once (None: no cap)."""
        return HandlerLimits(key=self.limit_key, max_in_flight=self.max_in_flight)

    def estimate_cost(self, kind: str, config: Mapping[str, Any], produces: int) -> float | None:
        """Local work costs nothing in USD."""
        return 0.0

    async def produce(self, context: JobContext) -> JobResult:  # pragma: no cover - abstract
        raise NotImplementedError
