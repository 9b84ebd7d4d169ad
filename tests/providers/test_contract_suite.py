"""The shipped contract suite, run against the mock for every kind, and shown to catch violations."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from tutopanda.core.engine.provider_contract import (
    HandlerLimits,
    JobContext,
    JobResult,
    Mode,
    ProducedArtefact,
    ProviderHandler,
)
from tutopanda.providers.mock import MockHandler
from tutopanda.testing import SAMPLE_KINDS, ProviderContractTests, sample_job_context

SECRET = "sk-contract-canary-42"


class MockContract(ProviderContractTests):
    kind = "script"

    def make_handler(self) -> ProviderHandler:
        return MockHandler("openai", "gpt-5-mini", "local")

    def sample_contexts(self) -> Sequence[JobContext]:
        failing_artefact = {"mock": {"failArtefacts": [sample_job_context(self.kind).artefact_ids[0]]}}
        return [
            sample_job_context(self.kind, secrets={"OPENAI_API_KEY": SECRET}),
            sample_job_context(self.kind, config=failing_artefact),
        ]

    def failing_contexts(self) -> Sequence[JobContext]:
        return [
            sample_job_context(self.kind, config={"mock": {"failFirstAttempts": 1}}),
            sample_job_context(self.kind, config={"mock": {"bogus": 1}}),
        ]


# One collected class per kind, so a failure names the kind.
for _kind in SAMPLE_KINDS:
    _name = "TestMockContract_" + _kind.replace("-", "_")
    globals()[_name] = type(_name, (MockContract,), {"kind": _kind})


class LeakyHandler:
    """Breaks the contract in every way the suite checks."""

    provider = "leaky"
    model = "m"
    mode: Mode = "live"
    environment = "local"

    def __init__(self, flaw: str) -> None:
        self.flaw = flaw

    @property
    def limits(self) -> HandlerLimits:
        return HandlerLimits(key="", max_in_flight=0) if self.flaw == "limits" else HandlerLimits(key="leaky")

    def estimate_cost(self, kind: str, config: Mapping[str, Any], produces: int) -> float | None:
        return -1.0 if self.flaw == "cost" else None

    async def produce(self, context: JobContext) -> JobResult:
        key = context.secrets.get("API_KEY")
        if self.flaw == "silent-failure":
            return JobResult(artefacts=[])
        artefacts = [
            ProducedArtefact(artefact_id, mime_type="image/png", data=b"not a png")
            for artefact_id in context.artefact_ids
        ]
        if self.flaw == "missing":
            artefacts = artefacts[1:]
        if self.flaw == "extra":
            artefacts.append(ProducedArtefact("Artifact:Other", mime_type="image/png", data=b""))
        if self.flaw == "wrong-kind":
            artefacts = [
                ProducedArtefact(a.artefact_id, mime_type="audio/wav", data=b"RIFF") for a in artefacts
            ]
        if self.flaw == "two-forms":
            artefacts[0].chunks = [b"x"]
        if self.flaw == "failed-without-error":
            artefacts[0].status, artefacts[0].data = "failed", None
        if self.flaw == "leak":
            return JobResult(artefacts=[], diagnostics={"auth": f"Bearer {key}"})
        if self.flaw == "not-json":
            return JobResult(artefacts=[], diagnostics={"when": object()})
        return JobResult(artefacts=artefacts)


class LeakyContract(ProviderContractTests):
    def __init__(self, flaw: str) -> None:
        self.flaw = flaw

    def make_handler(self) -> ProviderHandler:
        return LeakyHandler(self.flaw)

    def sample_contexts(self) -> Sequence[JobContext]:
        return [
            sample_job_context(
                "image",
                produces=[("Artifact:I[0]", "image"), ("Artifact:I[1]", "image")],
                secrets={"API_KEY": SECRET},
            )
        ]

    def failing_contexts(self) -> Sequence[JobContext]:
        return self.sample_contexts() if self.flaw == "silent-failure" else ()


@pytest.mark.parametrize(
    ("flaw", "check", "problem"),
    [
        ("limits", "test_limits_are_well_formed", "limits.key"),
        ("cost", "test_estimate_cost_is_none_or_non_negative", "-1.0"),
        ("missing", "test_result_covers_exactly_the_requested_artefacts", "requested"),
        ("extra", "test_result_covers_exactly_the_requested_artefacts", "Artifact:Other"),
        ("ok", "test_succeeded_artefacts_carry_one_valid_payload", "look like something else"),
        ("wrong-kind", "test_succeeded_artefacts_carry_one_valid_payload", "image artefact cannot be"),
        ("two-forms", "test_succeeded_artefacts_carry_one_valid_payload", "exactly one of"),
        ("failed-without-error", "test_failed_artefacts_carry_an_error", "no error"),
        ("leak", "test_diagnostics_are_json_and_keep_secrets_out", "secret API_KEY"),
        ("not-json", "test_diagnostics_are_json_and_keep_secrets_out", "not JSON"),
        ("silent-failure", "test_whole_job_failures_raise_provider_error", "expected a ProviderError"),
    ],
)
def test_the_suite_catches_contract_violations(flaw: str, check: str, problem: str) -> None:
    with pytest.raises(AssertionError, match=problem):
        getattr(LeakyContract(flaw), check)()


def test_the_suite_needs_samples() -> None:
    class Empty(LeakyContract):
        def sample_contexts(self) -> Sequence[JobContext]:
            return []

    with pytest.raises(AssertionError, match="no context"):
        Empty("ok").test_result_covers_exactly_the_requested_artefacts()
    with pytest.raises(NotImplementedError):
        ProviderContractTests().make_handler()


def test_a_handler_must_not_leak_secrets_from_the_resolver_into_errors() -> None:
    class Rude(LeakyHandler):
        async def produce(self, context: JobContext) -> JobResult:
            from tutopanda.core.errors import ProviderError

            raise ProviderError(f"401 for key {context.secrets.get('API_KEY')}")

    class RudeContract(LeakyContract):
        def make_handler(self) -> ProviderHandler:
            return Rude("x")

        def failing_contexts(self) -> Sequence[JobContext]:
            return self.sample_contexts()

    with pytest.raises(AssertionError, match="the error contains the value of secret API_KEY"):
        RudeContract("x").test_whole_job_failures_raise_provider_error()
    assert asyncio.iscoroutinefunction(Rude("x").produce)
