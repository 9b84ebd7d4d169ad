"""The mock handlers' knobs: latency, failure injection, audio rate and declared limits.

Why knobs at all: the runner's retry, throttling, partial-failure and "never record an empty result"
paths need a provider that misbehaves on demand, reproducibly. Knobs come from three places, the most
specific winning: the handler's constructor (or, when none was given, the JSON object in the
``TUTOPANDA_MOCK_OPTIONS`` environment variable, so subprocess CLI tests can inject failures), then the
``mock`` mapping of a job's ``config``. Keys are camelCase like every other config key; unknown keys are
refused, so a typo never silently disables an injected failure.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from tutopanda.core.errors import ProviderConfigError
from tutopanda.core.store.json_file import validation_summary

__all__ = ["MOCK_CONFIG_KEY", "MOCK_OPTIONS_ENV", "MockOptions"]

MOCK_CONFIG_KEY = "mock"
"""The key of a job's ``config`` whose mapping overrides the mock knobs for that job."""

MOCK_OPTIONS_ENV = "TUTOPANDA_MOCK_OPTIONS"
"""Environment variable holding a JSON object of knobs for handlers built without explicit options."""


class MockOptions(BaseModel):
    """Knobs of the mock handlers (camelCase in config and JSON, snake_case in Python).

    ``max_in_flight`` and ``requests_per_minute`` feed :attr:`MockHandler.limits` and so are read from
    the constructor options only; every other knob may also be set per job.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")

    latency: float = Field(default=0.0, ge=0, description="Seconds to sleep (asyncio) before answering.")
    fail_jobs: tuple[str, ...] = Field(default=(), description="Job ids whose every call raises.")
    fail_retryable: bool = Field(default=False, description="Whether failJobs errors are retryable.")
    account_error_jobs: tuple[str, ...] = Field(
        default=(), description="Job ids whose calls raise ProviderAccountError (key/credit refused)."
    )
    fail_first_attempts: int = Field(
        default=0, ge=0, description="Attempts 1..N of every job raise a retryable ProviderError."
    )
    rate_limit_first_attempts: int = Field(
        default=0, ge=0, description="Attempts 1..N of every job raise RateLimitedError."
    )
    retry_after: float | None = Field(default=None, ge=0, description="retry_after of RateLimitedError.")
    failure_rate: float = Field(
        default=0.0, ge=0, le=1, description="Probability that a call raises a retryable ProviderError."
    )
    seed: int = Field(default=0, description="Seed of failureRate; the draw also depends on job and attempt.")
    fail_artefacts: tuple[str, ...] = Field(
        default=(), description="Artefact ids returned as failed (the job itself succeeds)."
    )
    empty_artefacts: tuple[str, ...] = Field(
        default=(), description="Artefact ids returned as succeeded but EMPTY (a contract breach)."
    )
    hang_jobs: tuple[str, ...] = Field(
        default=(), description="Job ids whose calls never return (until the runner's deadline cancels them)."
    )
    hang_in_thread: bool = Field(
        default=False,
        description="hangJobs block a worker thread (like blocking code without a timeout: cancelling the "
        "call cannot stop it) instead of waiting in asyncio.",
    )
    sample_rate: int = Field(default=8000, ge=1000, le=48000, description="Sample rate of mock WAVs (Hz).")
    max_in_flight: int | None = Field(default=None, ge=1, description="limits.max_in_flight.")
    requests_per_minute: float | None = Field(default=None, gt=0, description="limits.requests_per_minute.")

    @classmethod
    def parse(cls, raw: Mapping[str, Any], where: str) -> MockOptions:
        """Validate ``raw``; :class:`ProviderConfigError` naming ``where`` and the bad key otherwise."""
        try:
            return cls.model_validate(dict(raw))
        except ValidationError as exc:
            raise ProviderConfigError(
                f"invalid mock options in {where}: {validation_summary(exc)}",
                "see docs/providers.md (mock knobs) for the accepted keys",
            ) from exc

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MockOptions:
        """Options from ``TUTOPANDA_MOCK_OPTIONS`` (defaults when it is unset or empty)."""
        text = (os.environ if environ is None else environ).get(MOCK_OPTIONS_ENV, "").strip()
        if not text:
            return cls()
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProviderConfigError(
                f"{MOCK_OPTIONS_ENV} is not valid JSON: {exc.msg}",
                'set it to a JSON object such as {"latency": 0.1}, or unset it',
            ) from exc
        if not isinstance(raw, dict):
            raise ProviderConfigError(f"{MOCK_OPTIONS_ENV} must hold a JSON object", "unset it or fix it")
        return cls.parse(raw, MOCK_OPTIONS_ENV)

    def for_job(self, config: Mapping[str, Any]) -> MockOptions:
        """These options overridden by the job's ``config["mock"]`` (if any)."""
        overrides = config.get(MOCK_CONFIG_KEY)
        if overrides is None:
            return self
        if not isinstance(overrides, Mapping):
            raise ProviderConfigError(
                f"config key {MOCK_CONFIG_KEY!r} must be a mapping of mock options",
                "see docs/providers.md (mock knobs)",
            )
        merged = self.model_dump(by_alias=True)
        merged.update(overrides)
        return MockOptions.parse(merged, f"config[{MOCK_CONFIG_KEY!r}]")
