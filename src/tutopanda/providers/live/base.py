"""What every live (cloud) handler shares: identity, secret, throttles, prices and diagnostics.

A live handler subclasses :class:`LiveHandler`, sets ``secret_name``, ``kinds`` and its default
throttles, implements ``produce`` and ``typical_usage`` (what one call usually consumes, for plan
estimates), and reports the actual usage of each call through :meth:`LiveHandler.cost_of`. Building a
handler never touches the network; :meth:`warm_start` checks the secret offline.

Prices come from the table the handler is built with (``HandlerSpec.prices``, which the front end
chose for the run), so two runs in one process with different price files price the same call each
with its own table.

Throttles come from the variant config when given (``maxInFlight``, ``requestsPerMinute``: e.g. your
ElevenLabs plan's concurrency), else from the handler's defaults, and are keyed by provider so every
job on the same account shares them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from tutopanda.core.engine.provider_contract import HandlerLimits, JobContext, JobResult, Mode, SecretResolver
from tutopanda.core.errors import ProviderConfigError
from tutopanda.providers.pricing import PriceTable, bundled_prices

__all__ = ["LiveHandler", "config_limits"]

_ALWAYS_ALLOWED = frozenset(
    {"jobTimeoutSeconds", "maxInFlight", "requestsPerMinute", "timeoutSeconds", "waitSeconds"}
)
"""The operational keys (``trace.OPERATIONAL_CONFIG_KEYS``): throttles and deadlines, read by the runner
or by every handler. Where calls go (``baseUrl``, ``residency``...) is checked like any other key, by the
handlers that read it (:data:`tutopanda.providers.live.endpoints.ENDPOINT_CONFIG_KEYS`)."""


def config_limits(
    config: Mapping[str, Any], key: str, default_in_flight: int | None, default_rpm: float | None
) -> HandlerLimits:
    """Throttles from ``maxInFlight``/``requestsPerMinute`` in ``config``, else the defaults."""
    in_flight = config.get("maxInFlight", default_in_flight)
    rpm = config.get("requestsPerMinute", default_rpm)
    if in_flight is not None and (
        isinstance(in_flight, bool) or not isinstance(in_flight, int) or in_flight < 1
    ):
        raise ProviderConfigError(f"maxInFlight must be a whole number >= 1, not {in_flight!r}")
    if rpm is not None and (isinstance(rpm, bool) or not isinstance(rpm, int | float) or rpm <= 0):
        raise ProviderConfigError(f"requestsPerMinute must be a number > 0, not {rpm!r}")
    return HandlerLimits(key=key, max_in_flight=in_flight, requests_per_minute=rpm)


class LiveHandler:
    """Base of the cloud handlers (see the module docstring)."""

    secret_name: ClassVar[str] = ""
    """Environment variable holding the API key."""
    secret_hint: ClassVar[str] = ""
    """Where to get the key (shown when it is missing or refused)."""
    kinds: ClassVar[frozenset[str]] = frozenset()
    config_keys: ClassVar[frozenset[str] | None] = None
    """The variant config keys this handler reads (None: not checked). Throttle and patience keys
    (``maxInFlight``, ``requestsPerMinute``, ``timeoutSeconds``, ``waitSeconds``, and the runner's
    ``jobTimeoutSeconds``) are always allowed."""
    endpoint_keys: ClassVar[frozenset[str]] = frozenset()
    """Config keys saying where calls go (``baseUrl``...), accepted on top of ``config_keys``."""
    default_max_in_flight: ClassVar[int | None] = 4
    default_requests_per_minute: ClassVar[float | None] = None

    mode: Mode = "live"

    def __init__(
        self,
        provider: str,
        model: str,
        environment: str,
        config: Mapping[str, Any] | None = None,
        *,
        prices: PriceTable | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.environment = environment
        self.prices = bundled_prices() if prices is None else prices
        """The table this handler's estimates and costs come from (the bundled one unless given)."""
        self._limits = config_limits(
            config or {}, provider, self.default_max_in_flight, self.default_requests_per_minute
        )

    @property
    def key_name(self) -> str:
        """The variable holding this handler's key (``secret_name``; OpenAI on Azure uses another)."""
        return self.secret_name

    @property
    def needs_secrets(self) -> tuple[str, ...]:
        return (self.key_name,) if self.key_name else ()

    @property
    def limits(self) -> HandlerLimits:
        return self._limits

    def warm_start(self, secrets: SecretResolver) -> None:
        """Offline check: the secret is set (its validity is only known on the first call)."""
        if self.key_name and not secrets.get(self.key_name):
            raise ProviderConfigError(
                f"{self.provider}/{self.model} needs the environment variable {self.key_name}",
                self._key_hint,
            )

    def check_config(self, kind: str, config: Mapping[str, Any]) -> None:
        """Offline, before any call of the run: refuse config keys this handler would never read.

        A typo (``stabilty``) would otherwise be ignored silently and the user would pay for output
        made with the default. Values are checked when the job runs, before its request is sent.
        """
        if self.config_keys is None:
            return
        known = self.config_keys | self.endpoint_keys | _ALWAYS_ALLOWED
        unknown = sorted(key for key in config if key not in known)
        if unknown:
            from tutopanda.core.blueprint.suggest import did_you_mean

            raise ProviderConfigError(
                f"{self.provider}/{self.model} ({kind}): unknown config key {unknown[0]!r}",
                did_you_mean(unknown[0], sorted(known), "config keys"),
            )

    def api_key(self, context: JobContext) -> str:
        """The secret for this call; ProviderConfigError naming the variable when it is not set."""
        value = context.secrets.get(self.key_name) if self.key_name else None
        if not value:
            raise ProviderConfigError(
                f"{self.provider}/{self.model}: {self.key_name} is not set",
                self._key_hint,
            )
        return value

    @property
    def _key_hint(self) -> str:
        where = self.secret_hint or f"from your {self.provider} account"
        return f"export {self.key_name}=... ({where})"

    @property
    def account_hint(self) -> str:
        """What to do when the provider refuses the account (401/402/403, quota)."""
        return f"check {self.key_name} and the {self.provider} account's credit and limits" + (
            f" ({self.secret_hint})" if self.secret_hint else ""
        )

    # -- costs -------------------------------------------------------------------------------------

    def typical_usage(self, kind: str, config: Mapping[str, Any], produces: int) -> Mapping[str, float]:
        """What one call usually consumes (``input_tokens``, ``characters``, ``images``, ``seconds``...)."""
        return {}

    def estimate_cost(self, kind: str, config: Mapping[str, Any], produces: int) -> float | None:
        """Plan estimate: the typical usage priced by the price table; None when the model has no price."""
        price = self.prices.get(self.provider, self.model)
        if price is None:
            return None
        return price.cost(self.typical_usage(kind, config, produces), self.typical_tier(kind, config))

    def typical_tier(self, kind: str, config: Mapping[str, Any]) -> Mapping[str, str] | None:
        """The price tier (``{"resolution": "480p"}``) a typical call is billed at, when prices have tiers."""
        return None

    def cost_of(self, usage: Mapping[str, float], tier: Mapping[str, str] | None = None) -> float | None:
        """The actual cost of a call that consumed ``usage`` (at ``tier``); None when the price is unknown."""
        price = self.prices.get(self.provider, self.model)
        return None if price is None else price.cost(usage, tier)

    def result(
        self,
        artefacts: list[Any],
        usage: Mapping[str, float],
        diagnostics: Mapping[str, Any],
        tier: Mapping[str, str] | None = None,
    ) -> JobResult:
        """A JobResult with the usage and cost added to the diagnostics."""
        cost = self.cost_of(usage, tier)
        details = {"usage": dict(usage), **diagnostics}
        if tier:
            details["priceTier"] = dict(tier)
        return JobResult(artefacts=artefacts, diagnostics=details, cost=cost)

    async def produce(self, context: JobContext) -> JobResult:  # pragma: no cover - subclasses implement
        raise NotImplementedError
