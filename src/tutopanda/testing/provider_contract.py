"""The provider contract as a reusable test suite, for our handlers and third-party plugins alike.

Usage (pytest collects the subclass because its name starts with ``Test``; nothing here imports
pytest)::

    from tutopanda.testing import ProviderContractTests, sample_job_context

    class TestMyImageHandler(ProviderContractTests):
        def make_handler(self):
            return MyImageHandler("myprovider", "my-model", "cloud")

        def sample_contexts(self):
            return [sample_job_context("image", provider="myprovider", model="my-model", mode="live",
                                       secrets={"MY_API_KEY": "canary-secret-value"})]

Every handed-out secret value is recorded, and the suite fails if one appears in diagnostics, errors or
exception messages. Override :meth:`ProviderContractTests.failing_contexts` with contexts on which the
whole job must fail, to check that failure is raised as a ProviderError.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from collections.abc import Sequence

from tutopanda.core.engine.provider_contract import (
    HandlerLimits,
    JobContext,
    JobResult,
    ProducedArtefact,
    ProviderHandler,
)
from tutopanda.core.errors import ProviderConfigError, ProviderError
from tutopanda.testing.job_context import RecordingSecretResolver
from tutopanda.testing.payload_checks import check_payload

__all__ = ["ProviderContractTests"]


def _payload_forms(artefact: ProducedArtefact) -> list[str]:
    given = {"data": artefact.data, "chunks": artefact.chunks, "file": artefact.file}
    return [name for name, value in given.items() if value is not None]


def _assert_no_secret(text: str, secrets: dict[str, str], where: str) -> None:
    for name, value in secrets.items():
        assert value not in text, f"{where} contains the value of secret {name}"


class ProviderContractTests:
    """Checks one handler against the contract of :mod:`tutopanda.core.engine.provider_contract`."""

    def make_handler(self) -> ProviderHandler:
        """The handler under test (a fresh one per test)."""
        raise NotImplementedError("subclasses return the handler under test")

    def sample_contexts(self) -> Sequence[JobContext]:
        """Contexts the handler must answer successfully (artefacts may still fail individually)."""
        raise NotImplementedError("subclasses return at least one sample JobContext")

    def failing_contexts(self) -> Sequence[JobContext]:
        """Contexts on which the whole job must fail (raise ProviderError); none by default."""
        return ()

    # --- helpers ------------------------------------------------------------------------------

    def _contexts(self) -> list[tuple[JobContext, RecordingSecretResolver]]:
        contexts = list(self.sample_contexts())
        assert contexts, "sample_contexts() returned no context"
        wrapped = []
        for context in contexts:
            recorder = RecordingSecretResolver(context.secrets)
            wrapped.append((dataclasses.replace(context, secrets=recorder), recorder))
        return wrapped

    def _results(self) -> list[tuple[JobContext, JobResult, dict[str, str]]]:
        handler = self.make_handler()
        results = []
        for context, recorder in self._contexts():
            result = asyncio.run(handler.produce(context))
            assert isinstance(result, JobResult), f"produce() returned {type(result).__name__}, not JobResult"
            results.append((context, result, recorder.handed_out))
        return results

    # --- the contract -------------------------------------------------------------------------

    def test_handler_declares_its_binding(self) -> None:
        handler = self.make_handler()
        assert isinstance(handler, ProviderHandler), "the handler does not implement ProviderHandler"
        for name in ("provider", "model", "environment"):
            value = getattr(handler, name)
            assert isinstance(value, str) and value, f"handler.{name} must be a non-empty string"
        assert handler.mode in ("mock", "live"), f"handler.mode is {handler.mode!r}"

    def test_limits_are_well_formed(self) -> None:
        limits = self.make_handler().limits
        assert isinstance(limits, HandlerLimits)
        assert isinstance(limits.key, str) and limits.key, "limits.key must be a non-empty string"
        if limits.max_in_flight is not None:
            assert isinstance(limits.max_in_flight, int) and limits.max_in_flight >= 1
        if limits.requests_per_minute is not None:
            assert math.isfinite(limits.requests_per_minute) and limits.requests_per_minute > 0

    def test_estimate_cost_is_none_or_non_negative(self) -> None:
        handler = self.make_handler()
        for context in self.sample_contexts():
            cost = handler.estimate_cost(context.kind, context.config, len(context.produces))
            assert cost is None or (isinstance(cost, float | int) and math.isfinite(cost) and cost >= 0), cost

    def test_result_covers_exactly_the_requested_artefacts(self) -> None:
        for context, result, _ in self._results():
            ids = [artefact.artefact_id for artefact in result.artefacts]
            assert len(ids) == len(set(ids)), f"{context.job_id}: duplicate artefact results {ids}"
            assert set(ids) == set(context.artefact_ids), (
                f"{context.job_id}: results for {sorted(ids)}, requested {sorted(context.artefact_ids)}"
            )
            if result.cost is not None:
                assert math.isfinite(result.cost) and result.cost >= 0, (
                    f"{context.job_id}: cost {result.cost}"
                )

    def test_succeeded_artefacts_carry_one_valid_payload(self) -> None:
        for context, result, _ in self._results():
            kinds = dict(context.produces)
            for artefact in result.artefacts:
                if artefact.status != "succeeded":
                    continue
                where = f"{context.job_id} -> {artefact.artefact_id}"
                forms = _payload_forms(artefact)
                assert len(forms) == 1, f"{where}: exactly one of data/chunks/file must be set, got {forms}"
                data = b"".join(artefact.payload_chunks())
                try:
                    check_payload(data, artefact.mime_type, kinds.get(artefact.artefact_id))
                except ValueError as exc:
                    raise AssertionError(f"{where}: {exc}") from exc

    def test_failed_artefacts_carry_an_error(self) -> None:
        for context, result, _ in self._results():
            for artefact in result.artefacts:
                where = f"{context.job_id} -> {artefact.artefact_id}"
                assert artefact.status in ("succeeded", "failed"), f"{where}: status {artefact.status!r}"
                if artefact.status == "failed":
                    assert isinstance(artefact.error, str) and artefact.error.strip(), f"{where}: no error"
                    assert not _payload_forms(artefact), f"{where}: a failed artefact carries a payload"

    def test_diagnostics_are_json_and_keep_secrets_out(self) -> None:
        for context, result, secrets in self._results():
            texts: list[str] = []
            for owner, diagnostics in [("job", result.diagnostics)] + [
                (artefact.artefact_id, artefact.diagnostics) for artefact in result.artefacts
            ]:
                try:
                    texts.append(json.dumps(diagnostics, allow_nan=False, sort_keys=True))
                except (TypeError, ValueError) as exc:
                    raise AssertionError(
                        f"{context.job_id}: {owner} diagnostics are not JSON: {exc}"
                    ) from exc
            texts += [artefact.error or "" for artefact in result.artefacts]
            _assert_no_secret("\n".join(texts), secrets, f"{context.job_id}: diagnostics or errors")

    def test_whole_job_failures_raise_provider_error(self) -> None:
        handler = self.make_handler()
        for context in self.failing_contexts():
            recorder = RecordingSecretResolver(context.secrets)
            raised: BaseException | None = None
            try:
                asyncio.run(handler.produce(dataclasses.replace(context, secrets=recorder)))
            except (ProviderError, ProviderConfigError) as exc:
                raised = exc
                text = f"{exc.message}\n{exc.hint or ''}"
                _assert_no_secret(text, recorder.handed_out, f"{context.job_id}: the error")
            assert raised is not None, f"{context.job_id}: expected a ProviderError, the call succeeded"
