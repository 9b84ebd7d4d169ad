"""The mock handler: answers any provider/model offline, deterministically, with valid artefacts.

One :class:`MockHandler` serves every producer kind (the payload follows each requested artefact's
kind; see :mod:`.payloads`), so in ``mock`` mode the registry can hand the same bound handler to every
job of a provider/model. A call records itself (counter and optional call log), sleeps for the
configured latency, applies injected failures, then builds the artefacts in a worker thread.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
from collections.abc import Mapping
from typing import Any

from tutopanda.core.blueprint import PRODUCER_KINDS
from tutopanda.core.engine.provider_contract import HandlerLimits, JobContext, JobResult, Mode
from tutopanda.core.errors import ProviderAccountError, ProviderError, RateLimitedError
from tutopanda.core.store.hashing import sha256_hex
from tutopanda.providers.mock.counter import MOCK_CALL_LOG_ENV, MockCall, MockCallCounter, append_call_log
from tutopanda.providers.mock.digest import job_digest
from tutopanda.providers.mock.options import MockOptions
from tutopanda.providers.mock.payloads import build_artefacts, builds_off_the_loop
from tutopanda.providers.voice_set import VoiceSet

__all__ = ["MOCK_KINDS", "MockHandler"]

MOCK_KINDS: frozenset[str] = frozenset(PRODUCER_KINDS)
"""The producer kinds the bundled modules declare; the mock is registered for exactly these."""

_NEVER = threading.Event()
"""What ``hangInThread`` calls wait for: never set (the knob is for subprocess tests)."""


class MockHandler:
    """A :class:`~tutopanda.core.engine.provider_contract.ProviderHandler` that never leaves the process.

    ``options`` default to ``TUTOPANDA_MOCK_OPTIONS`` (read once, here); a job's ``config["mock"]``
    overrides them per call. ``counter`` (optional) records every call.
    """

    needs_secrets: tuple[str, ...] = ()

    def __init__(
        self,
        provider: str = "mock",
        model: str = "mock",
        environment: str = "local",
        *,
        mode: Mode = "mock",
        options: MockOptions | None = None,
        counter: MockCallCounter | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.mode: Mode = mode
        self.environment = environment
        self.options = options if options is not None else MockOptions.from_env()
        self.counter = counter

    def __repr__(self) -> str:
        return f"MockHandler({self.provider!r}, {self.model!r}, {self.environment!r}, mode={self.mode!r})"

    @property
    def limits(self) -> HandlerLimits:
        """Key ``mock``; caps only when the constructor options set them."""
        return HandlerLimits(
            key="mock",
            max_in_flight=self.options.max_in_flight,
            requests_per_minute=self.options.requests_per_minute,
        )

    def estimate_cost(self, kind: str, config: Mapping[str, Any], produces: int) -> float | None:
        """Mocks are free."""
        return 0.0

    def voices(self) -> VoiceSet | None:
        """None: the mock reads no voice, so every ``VoiceId`` is accepted (see :mod:`..voices`)."""
        return None

    def _record(self, context: JobContext) -> None:
        call = MockCall(context.job_id, context.kind, context.attempt, context.provider, context.model)
        if self.counter is not None:
            self.counter.record(call)
        log_path = os.environ.get(MOCK_CALL_LOG_ENV)
        if log_path:
            append_call_log(log_path, call)

    @staticmethod
    def _inject_failure(context: JobContext, options: MockOptions) -> None:
        where = f"mock failure injected for {context.job_id} (attempt {context.attempt})"
        if context.job_id in options.account_error_jobs:
            raise ProviderAccountError(
                f"mock account refused for {context.job_id} (injected: accountErrorJobs)",
                "remove the job from TUTOPANDA_MOCK_OPTIONS accountErrorJobs",
            )
        if context.job_id in options.fail_jobs:
            hint = "remove the job from the mock failJobs option"
            raise ProviderError(where, hint, retryable=options.fail_retryable)
        if context.attempt <= options.rate_limit_first_attempts:
            raise RateLimitedError(f"{where}: rate limited", retry_after=options.retry_after)
        if context.attempt <= options.fail_first_attempts:
            raise ProviderError(f"{where}: transient", retryable=True)
        if options.failure_rate > 0:
            seed = sha256_hex(f"{options.seed}:{context.job_id}:{context.attempt}".encode())
            if random.Random(seed).random() < options.failure_rate:
                raise ProviderError(f"{where}: random (failureRate {options.failure_rate})", retryable=True)

    async def produce(self, context: JobContext) -> JobResult:
        """Record the call, wait, maybe fail, then return one artefact per requested id."""
        self._record(context)
        options = self.options.for_job(context.config)
        if options.latency > 0:
            await asyncio.sleep(options.latency)
        if context.job_id in options.hang_jobs:
            if options.hang_in_thread:
                await asyncio.to_thread(_NEVER.wait)
            else:
                await asyncio.Event().wait()
        self._inject_failure(context, options)
        digest = job_digest(context)
        if builds_off_the_loop(context, sample_rate=options.sample_rate):  # a timeline, long audio
            artefacts = await asyncio.to_thread(
                build_artefacts, context, digest, sample_rate=options.sample_rate
            )
        else:  # tens of microseconds of CPU (tiny PNGs, repeated WAV cycles): a thread hop costs more
            artefacts = build_artefacts(context, digest, sample_rate=options.sample_rate)
        for artefact in artefacts:
            if artefact.artefact_id in options.fail_artefacts:
                artefact.status, artefact.data, artefact.error = "failed", None, "mock failure injected"
            elif artefact.artefact_id in options.empty_artefacts:
                artefact.data = b""
        diagnostics = {
            "mode": self.mode,
            "provider": context.provider,
            "model": context.model,
            "kind": context.kind,
            "digest": digest,
        }
        return JobResult(artefacts=artefacts, diagnostics=diagnostics, cost=0.0)
