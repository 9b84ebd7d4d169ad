"""Replicate predictions over plain HTTP: image, video, music and speech models.

This module is the protocol (HTTP, polling, cancelling, downloading); what each model is fed lives in
the catalogue and the schema check in its own module. The API's base URL is ``https://api.replicate.com/v1``,
``REPLICATE_BASE_URL`` or config ``baseUrl`` (:mod:`tutopanda.providers.live.endpoints`).

Why httpx rather than the ``replicate`` SDK: the SDK retries GETs on its own (10 attempts) and never
retries a create, which hides call counts from the runner's retry policy and from tests. Owning the few
requests we need (schema, create, poll, cancel, download) keeps the error policy of
:mod:`tutopanda.providers.live.http` in one place.

One call, in order:

1. **Fetch the model's input schema** once per handler (``GET /v1/models/{owner}/{name}``, or
   ``.../versions/{id}`` for a pinned ``owner/name:version``), by one task even when jobs start at once.
2. **Build the input** with the model's entry in the catalogue
   (:mod:`tutopanda.providers.live.replicate_catalogue`): a hand-written builder, or the job's inputs
   mapped onto the schema's fields for any other model. Config ``input`` (a mapping) adds or overrides
   raw Replicate fields.
3. **Check it before paying** (:mod:`tutopanda.providers.live.replicate_schema`). Unknown
   fields, missing required fields, wrong types, values outside an enum or a minimum/maximum are a
   :class:`~tutopanda.core.errors.ProviderConfigError` naming the field, raised before the prediction is
   created. Durations are fitted into the model's range instead (the renderer trims or loops clips), and
   a few best-effort fields (speech emotion and language) are dropped when the model does not take them.
4. **Create** ``POST /v1/models/{owner}/{name}/predictions`` (``POST /v1/predictions`` with a
   ``version`` for a pinned version) with ``Prefer: wait=N`` and a
   ``Cancel-After`` deadline, then **poll** with exponential backoff until the prediction is terminal.
   Ctrl-C (task cancellation), the ``timeoutSeconds`` deadline or any other error while it runs cancels
   the prediction (``POST /v1/predictions/{id}/cancel``) before re-raising.
5. **Download** every output at once (they expire after an hour) into temporary files handed to the
   runner, with the MIME type sniffed from the bytes. Downloads follow redirects and carry no token;
   an output sent inline as a ``data:`` URI (sync mode may do that) is decoded into a file the same way.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tutopanda.core.engine.provider_contract import JobContext, JobResult, ProducedArtefact
from tutopanda.core.errors import (
    ProviderConfigError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
)
from tutopanda.core.store.media_type import fits_kind
from tutopanda.providers.job_inputs import RequestedArtefact, requested_artefacts
from tutopanda.providers.live import http
from tutopanda.providers.live.base import LiveHandler
from tutopanda.providers.live.endpoints import Endpoint, resolve_endpoint
from tutopanda.providers.live.replicate_catalogue import (
    DEFAULT_MUSIC_SECONDS,
    DEFAULT_SPEECH_VOICE,
    DEFAULT_VIDEO_SECONDS,
    MODELS,
    SPEECH_EMOTIONS,
    SPEECH_LANGUAGES,
    BuiltInput,
    ReplicateModel,
    config_int,
    map_from_schema,
    model_for,
    parse_model_name,
)
from tutopanda.providers.live.replicate_schema import CheckedInput, check_input
from tutopanda.providers.pricing import PriceTable
from tutopanda.providers.registry import HandlerSpec

__all__ = [
    "API_BASE",
    "DEFAULT_MUSIC_SECONDS",
    "DEFAULT_SPEECH_VOICE",
    "DEFAULT_VIDEO_SECONDS",
    "MODELS",
    "SPEECH_EMOTIONS",
    "SPEECH_LANGUAGES",
    "BuiltInput",
    "CheckedInput",
    "ReplicateHandler",
    "ReplicateModel",
    "build_handler",
    "check_input",
]

API_BASE = "https://api.replicate.com/v1"
PROVIDER = "replicate"
TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
"""``aborted``: a ``Cancel-After`` deadline passed before the prediction started (not charged)."""

DEFAULT_WAIT_SECONDS = 30
DEFAULT_TIMEOUT_SECONDS = 600
POLL_START = 0.5
POLL_CAP = 5.0
CANCEL_GRACE_SECONDS = 60
"""The server-side ``Cancel-After`` deadline trails ours by this much: ours normally fires first, the
server's catches predictions whose process died (or was interrupted while creating them)."""
DOWNLOAD_ATTEMPTS = 3

_THROTTLE_SECONDS = re.compile(r"~\s*(\d+(?:\.\d+)?)\s*s\b")
_TRANSIENT = re.compile(
    r"timed? ?out|timeout|out of memory|cuda|try again|temporar|unavailable|overloaded|interrupted"
    r"|internal (server )?error|connection|capacity|preempt|worker (died|lost)",
    re.IGNORECASE,
)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


# -- the handler -----------------------------------------------------------------------------------


def _cancel_after(seconds: float) -> str:
    """A ``Cancel-After`` value in whole minutes (the documented form is ``1m``)."""
    return f"{max(1, math.ceil((seconds + CANCEL_GRACE_SECONDS) / 60))}m"


def _outputs(output: Any) -> list[str]:
    """The files of a prediction's ``output`` (a URL, a list of URLs, or nested lists).

    A file is an ``http(s)`` URL to download, or a ``data:`` URI carrying the file itself (sync mode,
    ``Prefer: wait``, may answer that way).
    """
    if isinstance(output, str):
        return [output] if output.lower().startswith(("https://", "http://", "data:")) else []
    if isinstance(output, list | tuple):
        return [url for item in output for url in _outputs(item)]
    return []


def _is_data_uri(url: str) -> bool:
    return url[:5].lower() == "data:"


def _output_name(url: str) -> str:
    """How an output is named in diagnostics and errors: a URL without its (signed) query, or a
    ``data:`` URI's header without its payload."""
    if _is_data_uri(url):
        return url.split(",", 1)[0][:100]
    return url.split("?", 1)[0]


@dataclass(frozen=True)
class _Settings:
    wait: int
    timeout: float

    @classmethod
    def of(cls, config: Mapping[str, Any], where: str) -> _Settings:
        wait = config_int(config, "waitSeconds", DEFAULT_WAIT_SECONDS, where)
        if wait is None or not 0 <= wait <= 60:
            raise ProviderConfigError(
                f"{where}: config waitSeconds = {wait!r} is not from 0 to 60",
                "Replicate holds a create request open for at most 60 s; 0 polls straight away",
            )
        timeout = config.get("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ProviderConfigError(
                f"{where}: config timeoutSeconds = {timeout!r} is not a number of seconds above 0",
                f"set timeoutSeconds (default {DEFAULT_TIMEOUT_SECONDS})",
            )
        return cls(wait, float(timeout))


class ReplicateHandler(LiveHandler):
    """Runs one Replicate prediction per job (see the module docstring)."""

    secret_name = "REPLICATE_API_TOKEN"
    secret_hint = "https://replicate.com/account/api-tokens"
    kinds = frozenset({"image", "video", "music", "narration"})

    def __init__(
        self,
        provider: str,
        model: str,
        environment: str,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        poll_start: float = POLL_START,
        poll_cap: float = POLL_CAP,
        prices: PriceTable | None = None,
    ) -> None:
        super().__init__(provider, model, environment, prices=prices)
        self.name = parse_model_name(model)
        self.known = MODELS.get(self.name.name)
        self._sleep = sleep
        self._clock = clock
        self._poll_start = poll_start
        self._poll_cap = poll_cap
        self._schema: dict[str, Any] | None = None
        self._schema_version: str | None = None
        self._schema_fetched = False
        self._schema_lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.schema_fetches = 0
        """How many times the schema was asked for (once per handler, however many jobs start at once)."""

    def spec_for(self, kind: str) -> ReplicateModel:
        """The catalogue entry, or a schema-mapped model of ``kind`` for a model outside the catalogue."""
        return self.known if self.known is not None else model_for(self.name.name, kind)

    def typical_usage(self, kind: str, config: Mapping[str, Any], produces: int) -> Mapping[str, float]:
        return self.spec_for(kind).typical(config, produces)

    def endpoint(self, config: Mapping[str, Any], where: str = "") -> Endpoint:
        """``https://api.replicate.com/v1``, ``REPLICATE_BASE_URL`` or config ``baseUrl``."""
        return resolve_endpoint(PROVIDER, config, os.environ.get, where=where)

    def check_config(self, kind: str, config: Mapping[str, Any]) -> None:
        """Before any call: the model serves this kind, and the endpoint is usable."""
        super().check_config(kind, config)
        if self.known is not None and self.known.kind != kind:
            raise ProviderConfigError(
                f"replicate/{self.model} makes {self.known.kind} jobs, not {kind}",
                "pick a Replicate model for this kind: "
                + ", ".join(name for name, model in sorted(MODELS.items()) if model.kind == kind),
            )
        raw = config.get("input")
        if raw is not None and not isinstance(raw, Mapping):
            raise ProviderConfigError(f"replicate/{self.model} ({kind}): config input must be a mapping")
        self.endpoint(config, f"replicate/{self.model} ({kind})")

    # -- the call ----------------------------------------------------------------------------------

    async def produce(self, context: JobContext) -> JobResult:
        """One prediction (see the module docstring): checked offline, built, checked, run, downloaded.

        Everything that can be refused without the network is refused before the token is read, and
        the input is checked against the schema before the prediction (the paid step) is created.
        """
        where = f"{context.job_id} (replicate/{self.model})"
        spec = self._job_model(context, where)
        settings = _Settings.of(context.config, where)
        endpoint = self.endpoint(context.config, where)
        requested = requested_artefacts(context)
        targets = [artefact for artefact in requested if artefact.kind == spec.artefact_kind]
        if not targets:
            raise ProviderConfigError(
                f"{where}: the job asks for no {spec.artefact_kind} artefact, which is all {self.model} makes"
            )
        raw = context.config.get("input")
        if raw is not None and not isinstance(raw, Mapping):
            raise ProviderConfigError(f"{where}: config input must be a mapping of Replicate fields")
        token = self.api_key(context)
        auth = {"Authorization": f"Bearer {token}"}
        async with (
            http.client(base_url=endpoint.base_url, headers=auth) as api,
            http.download_client() as files,
        ):
            schema = await self._input_schema(api, token, context, where)
            built, checked = self._job_input(context, spec, schema, raw or {}, len(targets), where)
            prediction = await self._run(api, checked.values, token, settings, context, where, endpoint)
            urls = _outputs(prediction.get("output"))
            if not urls:
                raise ProviderError(
                    f"{where}: prediction {prediction.get('id')} succeeded without a file output",
                    "the model returned nothing to store; try again or change the input",
                )
            artefacts = await self._download_all(files, urls, requested, targets, prediction, where, spec)
        usage = spec.usage(checked.values, len(urls))
        tier = spec.tier(checked.values)
        sent, cost = (built, checked, schema is not None), self.cost_of(usage, tier)
        diagnostics = self._diagnostics(prediction, spec, sent, outputs=len(urls), cost=cost)
        return self.result(artefacts, usage, diagnostics, tier)

    def _job_model(self, context: JobContext, where: str) -> ReplicateModel:
        """The catalogue entry (or schema-mapped model) for the job, refused when it makes another kind.

        Checked again when the job runs, not only by :meth:`check_config`, so no caller can create (and
        pay for) a prediction of the wrong kind.
        """
        if context.kind not in self.kinds:
            raise ProviderConfigError(f"{where}: Replicate models do not make {context.kind} jobs")
        spec = self.spec_for(context.kind)
        if context.kind != spec.kind:
            raise ProviderConfigError(
                f"{where}: {self.model} makes {spec.kind} jobs, not {context.kind}",
                "pick a Replicate model for this kind: "
                + ", ".join(name for name, model in sorted(MODELS.items()) if model.kind == context.kind),
            )
        return spec

    def _job_input(
        self,
        context: JobContext,
        spec: ReplicateModel,
        schema: Mapping[str, Any] | None,
        raw: Mapping[str, Any],
        count: int,
        where: str,
    ) -> tuple[BuiltInput, CheckedInput]:
        """The prediction's input: built (catalogue builder or schema mapping), then checked.

        Kept apart from the call because it is where a job's inputs meet the model's fields: what was
        left out, dropped or fitted into range is logged here, so the user sees it before paying.
        """
        if spec.build is not None:
            built = spec.build(context, count, where)
            for name, value in raw.items():
                built.set(str(name), value, f"config input.{name}")
        elif schema is not None:
            built = map_from_schema(context, count, where, schema, self.model)
        else:
            raise ProviderConfigError(
                f"{where}: {self.model} publishes no input schema, so the job's inputs cannot be mapped",
                "use a model with a published schema, or a bundled one: " + ", ".join(sorted(MODELS)),
            )
        for name in built.unmapped:
            context.logger.warning(
                f"{where}: {self.model} has no field for the {name} input; left out", job=context.job_id
            )
        if schema is None:
            checked = CheckedInput(dict(built.values))
        else:
            checked = check_input(built, schema, self.model, where)
        for name in checked.dropped:
            context.logger.warning(
                f"{where}: {self.model} does not take {name}={built.values[name]!r}; left out",
                job=context.job_id,
            )
        for name, change in checked.fitted.items():
            context.logger.warning(
                f"{where}: {name} {change['requested']} is outside what {self.model} accepts; "
                f"sent {change['sent']}",
                job=context.job_id,
            )
        return built, checked

    def _diagnostics(
        self,
        prediction: Mapping[str, Any],
        spec: ReplicateModel,
        sent: tuple[BuiltInput, CheckedInput, bool],
        *,
        outputs: int,
        cost: float | None,
    ) -> dict[str, Any]:
        """What the prediction was sent and what it reported, for the event diagnostics.

        ``sent`` is (the built input, the checked input, whether a schema checked it). What was left
        out, dropped or fitted is kept, so a surprising result can be traced to the input it came from.
        """
        built, checked, schema_checked = sent
        metrics = prediction.get("metrics")
        predict_time = metrics.get("predict_time") if isinstance(metrics, Mapping) else None
        diagnostics: dict[str, Any] = {
            "model": self.model,
            "predictionId": prediction.get("id"),
            "status": prediction.get("status"),
            "predictTime": predict_time if isinstance(predict_time, int | float) else None,
            "version": self._schema_version or prediction.get("version"),
            "inputFields": sorted(checked.values),
            "outputs": outputs,
            "schemaChecked": schema_checked,
            "cost": cost,
            "catalogued": spec.bundled,
        }
        if built.unmapped:
            diagnostics["unmappedInputs"] = list(built.unmapped)
        if checked.dropped:
            diagnostics["droppedInput"] = checked.dropped
        if checked.fitted:
            diagnostics["fittedInput"] = checked.fitted
        return diagnostics

    # -- schema --------------------------------------------------------------------------------------

    async def _input_schema(
        self, api: httpx.AsyncClient, token: str, context: JobContext, where: str
    ) -> dict[str, Any] | None:
        """The model's ``openapi_schema`` (fetched once per handler), or None when it publishes none.

        Jobs that start together wait for one fetch (a lock per event loop) instead of each asking.
        """
        if self._schema_fetched:
            return self._schema
        loop = asyncio.get_running_loop()
        if self._schema_lock is None or self._lock_loop is not loop:
            self._schema_lock, self._lock_loop = asyncio.Lock(), loop
        async with self._schema_lock:
            if self._fetched():  # another job fetched it while this one waited
                return self._schema
            return await self._fetch_schema(api, token, context, where)

    def _fetched(self) -> bool:
        return self._schema_fetched

    async def _fetch_schema(
        self, api: httpx.AsyncClient, token: str, context: JobContext, where: str
    ) -> dict[str, Any] | None:
        self.schema_fetches += 1
        name, version = self.name.name, self.name.version
        path = f"/models/{name}/versions/{version}" if version else f"/models/{name}"
        response = await http.send(api, "GET", path, provider=PROVIDER)
        if response.status_code == 404:
            raise ProviderConfigError(
                f"{where}: Replicate has no model {self.model}", "check the model name on replicate.com"
            )
        self._raise_for(response, f"model schema of {self.model}", token)
        body = _json_object(response, f"{where}: model schema")
        found = body if version else body.get("latest_version")
        schema = found.get("openapi_schema") if isinstance(found, Mapping) else None
        if isinstance(schema, dict) and isinstance(
            schema.get("components", {}).get("schemas", {}).get("Input"), dict
        ):
            self._schema = schema
            self._schema_version = str(found.get("id")) if isinstance(found, Mapping) else None
        else:
            context.logger.warning(
                f"{where}: {self.model} publishes no input schema; its input is sent unchecked",
                job=context.job_id,
            )
        self._schema_fetched = True
        return self._schema

    # -- prediction --------------------------------------------------------------------------------

    async def _run(
        self,
        api: httpx.AsyncClient,
        values: Mapping[str, Any],
        token: str,
        settings: _Settings,
        context: JobContext,
        where: str,
        endpoint: Endpoint,
    ) -> dict[str, Any]:
        """Create the prediction and wait for it; cancel it on any way out but a terminal status."""
        deadline = self._clock() + settings.timeout
        headers = {"Cancel-After": _cancel_after(settings.timeout)}
        if settings.wait:
            headers["Prefer"] = f"wait={settings.wait}"
        if self.name.version:
            path, body = "/predictions", {"version": self.name.version, "input": dict(values)}
        else:
            path, body = f"/models/{self.name.name}/predictions", {"input": dict(values)}
        response = await http.send(api, "POST", path, provider=PROVIDER, json=body, headers=headers)
        self._raise_for(response, "create prediction", token)
        prediction = _json_object(response, f"{where}: create prediction")
        prediction_id = prediction.get("id")
        if not isinstance(prediction_id, str) or not prediction_id:
            raise ProviderError(f"{where}: Replicate answered without a prediction id", retryable=True)
        context.logger.info(
            f"{where}: prediction {prediction_id} {prediction.get('status')}", job=context.job_id
        )
        try:
            prediction = await self._wait(api, prediction, deadline, settings, token, where, endpoint)
        except BaseException:
            await self._cancel(api, prediction, context, where, endpoint)
            raise
        return self._finished(prediction, token, where)

    async def _wait(
        self,
        api: httpx.AsyncClient,
        prediction: dict[str, Any],
        deadline: float,
        settings: _Settings,
        token: str,
        where: str,
        endpoint: Endpoint,
    ) -> dict[str, Any]:
        """Poll until terminal: backoff from ``poll_start`` doubling to ``poll_cap``; 429 waits as told."""
        url = _api_url(prediction, "get", f"/predictions/{prediction['id']}", endpoint.base_url)
        pause = self._poll_start
        while prediction.get("status") not in TERMINAL:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise ProviderTimeoutError(
                    f"{where}: prediction {prediction['id']} did not finish within {settings.timeout:g} s "
                    f"(status {prediction.get('status')}); cancelling it",
                    "raise timeoutSeconds in the variant's config",
                )
            await self._sleep(min(pause, remaining))
            pause = min(pause * 2, self._poll_cap)
            try:
                response = await http.send(api, "GET", url, provider=PROVIDER)
            except ProviderError as exc:
                if exc.retryable:  # a dropped connection: the prediction runs on; ask again
                    continue
                raise
            if response.status_code == 429:
                pause = _wait_seconds(response) or pause
                continue
            if response.status_code >= 500:
                continue
            self._raise_for(response, f"prediction {prediction['id']}", token)
            prediction = _json_object(response, f"{where}: prediction {prediction['id']}")
        return prediction

    def _finished(self, prediction: dict[str, Any], token: str, where: str) -> dict[str, Any]:
        status = prediction.get("status")
        prediction_id = prediction.get("id")
        if status == "succeeded":
            return prediction
        if status == "aborted":
            raise ProviderTimeoutError(
                f"{where}: prediction {prediction_id} was aborted: its deadline passed before it started",
                "Replicate was busy; the runner retries (raise timeoutSeconds to wait longer)",
            )
        if status == "canceled":
            raise ProviderError(
                f"{where}: prediction {prediction_id} was canceled outside this run",
                "run the build again to make a new prediction",
            )
        error = prediction.get("error")
        text = str(error).strip() if error else "no error text"
        text = http.redact(text if len(text) <= 300 else text[:299] + "…", [token])
        transient = bool(_TRANSIENT.search(text))
        raise ProviderError(
            f"{where}: prediction {prediction_id} failed: {text}",
            "a temporary failure on Replicate; the runner retries"
            if transient
            else "the model refused this input; change the prompt or config",
            retryable=transient,
        )

    async def _cancel(
        self,
        api: httpx.AsyncClient,
        prediction: Mapping[str, Any],
        context: JobContext,
        where: str,
        endpoint: Endpoint,
    ) -> None:
        """Best effort ``POST .../cancel`` (never raises: the original error is the one that matters)."""
        url = _api_url(prediction, "cancel", f"/predictions/{prediction['id']}/cancel", endpoint.base_url)
        try:
            response = await asyncio.wait_for(api.post(url), timeout=15)
            if response.is_success:
                context.logger.warning(
                    f"{where}: cancelled prediction {prediction['id']}", job=context.job_id
                )
                return
            detail = f"HTTP {response.status_code}"
        except (httpx.HTTPError, TimeoutError) as exc:
            detail = type(exc).__name__
        context.logger.warning(
            f"{where}: could not cancel prediction {prediction['id']} ({detail}); "
            "cancel it at https://replicate.com/predictions",
            job=context.job_id,
        )

    # -- outputs -----------------------------------------------------------------------------------

    async def _download_all(
        self,
        files: httpx.AsyncClient,
        urls: Sequence[str],
        requested: Sequence[RequestedArtefact],
        targets: Sequence[RequestedArtefact],
        prediction: Mapping[str, Any],
        where: str,
        spec: ReplicateModel,
    ) -> list[ProducedArtefact]:
        """Download the outputs the job needs, all at once; one artefact per requested id."""
        wanted = list(zip(targets, urls, strict=False))
        tasks = [asyncio.ensure_future(self._download(files, url)) for _, url in wanted]
        try:
            results = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(outcome, tuple):
                    outcome[0].unlink(missing_ok=True)
            raise
        by_id: dict[str, ProducedArtefact] = {}
        for (target, url), (path, mime) in zip(wanted, results, strict=True):
            details = {"predictionId": prediction.get("id"), "output": _output_name(url)}
            if not fits_kind(mime, spec.artefact_kind):
                path.unlink(missing_ok=True)
                by_id[target.artefact_id] = ProducedArtefact(
                    target.artefact_id,
                    status="failed",
                    error=f"{where}: output {_output_name(url)} is {mime}, not {spec.artefact_kind}",
                    diagnostics=details,
                )
                continue
            details["bytes"] = path.stat().st_size
            by_id[target.artefact_id] = ProducedArtefact(
                target.artefact_id, mime_type=mime, file=path, diagnostics=details
            )
        artefacts = []
        for artefact in requested:
            produced = by_id.get(artefact.artefact_id)
            if produced is None:
                reason = (
                    f"the prediction returned {len(urls)} output(s) for {len(targets)} artefact(s)"
                    if artefact.kind == spec.artefact_kind
                    else f"{self.model} cannot make a {artefact.kind}"
                )
                produced = ProducedArtefact(artefact.artefact_id, status="failed", error=f"{where}: {reason}")
            artefacts.append(produced)
        return artefacts

    async def _download(self, files: httpx.AsyncClient, url: str) -> tuple[Path, str]:
        """One output, retried on temporary failures: the prediction is paid for already.

        A ``data:`` output holds the file itself: it is decoded, with nothing to retry.
        """
        if _is_data_uri(url):
            return http.save_data_uri(url, provider=PROVIDER)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await http.download(files, url, provider=PROVIDER)
            except ProviderError as exc:
                if not exc.retryable or attempt >= DOWNLOAD_ATTEMPTS:
                    raise
                await self._sleep(exc.retry_after or float(attempt))

    # -- errors ------------------------------------------------------------------------------------

    def _raise_for(self, response: httpx.Response, what: str, token: str) -> None:
        """The shared HTTP policy, plus Replicate's 422 field list and ``~Ns`` throttle hints."""
        if response.status_code == 422:
            message, _ = http.error_detail(response)
            body = _json(response)
            fields = body.get("invalid_fields") if isinstance(body, Mapping) else None
            if isinstance(fields, list):
                named = [
                    f"{item.get('field')}: {item.get('description')}"
                    for item in fields
                    if isinstance(item, Mapping)
                ]
                if named:
                    message = f"{message} ({'; '.join(named)})"
            raise ProviderError(
                http.redact(f"replicate {what}: HTTP 422: invalid input: {message}", [token]),
                "the model refused the input; check the variant's config and the job's inputs",
            )
        try:
            http.raise_for_response(
                response, provider=PROVIDER, what=what, account_hint=self.account_hint, secrets=[token]
            )
        except RateLimitedError as exc:
            if exc.retry_after is None:
                exc.retry_after = _wait_seconds(response)
            raise


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    body = _json(response)
    if not isinstance(body, dict):
        raise ProviderError(
            f"{what}: Replicate answered with something that is not a JSON object", retryable=True
        )
    return body


def _wait_seconds(response: httpx.Response) -> float | None:
    """Seconds a 429 asks to wait: ``Retry-After``, the body's ``retry_after``, or ``~Ns`` in its detail."""
    wait = http.retry_after_of(response)
    if wait is not None:
        return wait
    message, _ = http.error_detail(response)
    match = _THROTTLE_SECONDS.search(message)
    return float(match.group(1)) if match else None


def _api_url(prediction: Mapping[str, Any], key: str, fallback: str, base_url: str = API_BASE) -> str:
    """``urls[key]`` when it points at the API (our token goes nowhere else), else ``fallback``."""
    urls = prediction.get("urls")
    url = urls.get(key) if isinstance(urls, Mapping) else None
    if isinstance(url, str) and url.startswith(base_url + "/"):
        return url
    return fallback


def build_handler(spec: HandlerSpec) -> ReplicateHandler:
    """The registry's entry point (``providers.live.registration``); never touches the network."""
    return ReplicateHandler(spec.provider, spec.model, spec.environment, prices=spec.prices)
