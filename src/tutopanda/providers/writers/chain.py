"""The writer-chain handler: script, image-prompt, music-prompt and video-prompt jobs written by a language
model (an OpenAI-compatible server or the in-process local model), validated, retried once, and — when
the writer was chosen automatically — falling back to the next one, down to the offline stand-ins.

Why one handler for both model routes: what differs between them is a :class:`TextBackend`; the task
(messages, schema), the validation, the single retry with the fault fed back, the fallback and the
one-line account of which writer was used are the same, and are done here once.

**Fallback rules.** A variant selected by the user (``--provider Script=openai-compatible/llama3.2``)
has no ``fallback`` key: if it is unavailable or answers badly twice, the job fails with one line saying
why — the user asked for that writer. A writer chosen automatically (:func:`~.choice.choose_writer`)
carries ``fallback: true`` in its config: it then falls back at run time to the in-process default model
(when pulled and installed) and finally to the offline stand-in (``draft-script`` for scripts,
``template-prompts`` for prompts), with a warning, and every artefact says which writer made it
(diagnostic ``writer``, plus ``fallbackFrom``). Such a job's trace still names the chosen writer, so an
artefact written by the offline stand-in also carries ``provisional: true``: the planner treats a
provisional output as not built yet ("last output was a fallback"), so the next ``build run`` asks the
chosen writer again instead of keeping the draft as fresh for ever. The stand-ins are deterministic, so
while the writer is still unavailable the rebuilt draft has the same bytes and nothing downstream reruns.
A fallback to the in-process model is a real script and is not provisional (rewriting it on every build
would change its bytes and rebuild everything downstream).

**Secrets.** Error text comes from servers and may echo the request; every detail is passed through
:func:`~.redaction.redact` with the job's key before it is logged, stored in ``writerFailures`` or raised.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tutopanda.core.engine.provider_contract import (
    HandlerLimits,
    JobContext,
    JobResult,
    Mode,
    ProducedArtefact,
)
from tutopanda.core.errors import ProviderConfigError, ProviderError
from tutopanda.providers.writers.backend import TextBackend, WriterUnavailableError
from tutopanda.providers.writers.choice import (
    COMPATIBLE_PROVIDER,
    DEFAULT_LOCAL_MODEL,
    LOCAL_WRITER_MODELS,
    compatible_config,
    llama_installed,
)
from tutopanda.providers.writers.openai_compatible import DEFAULT_KEY_ENV, CompatibleBackend
from tutopanda.providers.writers.redaction import redact
from tutopanda.providers.writers.tasks import WRITER_KINDS, WriterTask, build_task
from tutopanda.providers.writers.validation import AnswerInvalidError, parse_answer

__all__ = ["CONFIG_KEYS", "BackendFactory", "WriterChainHandler", "WriterSpec", "default_backend"]

CONFIG_KEYS = frozenset(
    {"baseUrl", "apiKeyEnv", "timeoutSeconds", "fallback", "temperature", "seed", "maxTokens", "threads"}
)
"""Config keys the writers read (plus the runner's operational keys)."""

_OPERATIONAL = frozenset({"maxInFlight", "requestsPerMinute", "jobTimeoutSeconds"})
_ATTEMPTS = 2


@dataclass(frozen=True)
class WriterSpec:
    """One writer of the chain: a provider/model and its config."""

    provider: str
    model: str
    config: Mapping[str, Any]

    @property
    def label(self) -> str:
        """``provider/model``, as the user selects it."""
        return f"{self.provider}/{self.model}"


def _labelled(label: str, message: str) -> str:
    """``label: message`` unless the message already starts with the label (no ``a: a: …``)."""
    return message if message.startswith(label) else f"{label}: {message}"


BackendFactory = Callable[[WriterSpec, Mapping[str, str]], TextBackend]
"""Builds the backend of a writer (``environ`` supplies keys and ``OPENAI_BASE_URL``); raises
``WriterUnavailableError`` when it cannot run here."""


def _default_store_path(model: str) -> Any:
    try:
        from tutopanda.providers.model_store import default_model_store
    except ImportError:
        raise WriterUnavailableError(
            f"local model {model}: this version has no models store", "upgrade tutopanda"
        ) from None
    return default_model_store().path_of(model)


def default_backend(spec: WriterSpec, environ: Mapping[str, str]) -> TextBackend:
    """The real backend: a :class:`CompatibleBackend`, or the in-process ``LlamaBackend``."""
    config = spec.config
    timeout = config.get("timeoutSeconds", 300)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ProviderConfigError(
            f"{spec.label}: config timeoutSeconds = {timeout!r} is not a positive number"
        )
    if spec.provider == COMPATIBLE_PROVIDER:
        traced = compatible_config(config, environ)
        key_env = str(config.get("apiKeyEnv") or DEFAULT_KEY_ENV)
        return CompatibleBackend(
            traced["baseUrl"], spec.model, api_key=environ.get(key_env) or None, timeout=float(timeout)
        )
    if spec.model not in LOCAL_WRITER_MODELS:
        raise ProviderConfigError(
            f"{spec.label} is not a writer model", f"use one of {', '.join(LOCAL_WRITER_MODELS)}"
        )
    if not llama_installed():
        raise WriterUnavailableError(
            f"{spec.label} needs llama-cpp-python",
            "pip install 'tutopanda[llm]' (it compiles llama.cpp once)",
        )
    path = _default_store_path(spec.model)
    if path is None:
        raise WriterUnavailableError(
            f"{spec.label}: the model is not pulled", f"tutopanda models pull {spec.model}"
        )
    from tutopanda.providers.writers.llama_backend import LlamaBackend

    threads = config.get("threads")
    backend: TextBackend = LlamaBackend(path, threads=threads if isinstance(threads, int) else None)
    return backend


class WriterChainHandler:
    """Serves ``openai-compatible/*`` and ``local/<writer model>`` for the four text job kinds."""

    needs_secrets: tuple[str, ...] = ()

    def __init__(
        self,
        provider: str,
        model: str,
        environment: str = "local",
        *,
        backend_factory: BackendFactory | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.mode: Mode = "live"
        self.environment = environment
        self._factory = backend_factory or default_backend
        self._environ = environ
        self._backends: dict[tuple[str, str, str], TextBackend] = {}
        self._backend_lock = threading.Lock()
        self._local_lock = threading.Lock()  # one in-process generation at a time (CPU and memory bound)

    def __repr__(self) -> str:
        return f"WriterChainHandler({self.provider!r}, {self.model!r}, {self.environment!r})"

    @property
    def limits(self) -> HandlerLimits:
        """The in-process model runs one job at a time; a server takes two."""
        if self.provider == COMPATIBLE_PROVIDER:
            return HandlerLimits(key="writer-server", max_in_flight=2)
        return HandlerLimits(key="writer-local", max_in_flight=1)

    def estimate_cost(self, kind: str, config: Mapping[str, Any], produces: int) -> float | None:
        """Free: a local model, or a server the user runs (a paid gateway's price is not known here)."""
        return 0.0

    def check_config(self, kind: str, config: Mapping[str, Any]) -> None:
        """Refuse config keys no writer reads, with a "did you mean"."""
        unknown = sorted(key for key in config if key not in CONFIG_KEYS | _OPERATIONAL)
        if unknown:
            close = difflib.get_close_matches(unknown[0], sorted(CONFIG_KEYS), n=1)
            guess = f"did you mean {close[0]!r}? " if close else ""
            raise ProviderConfigError(
                f"{self.provider}/{self.model}: unknown config key {unknown[0]!r}",
                f"{guess}known keys: {', '.join(sorted(CONFIG_KEYS))}",
            )

    def _environ_of(self, context: JobContext) -> Mapping[str, str]:
        environ = dict(self._environ if self._environ is not None else os.environ)
        key_env = str(context.config.get("apiKeyEnv") or DEFAULT_KEY_ENV)
        secret = context.secrets.get(key_env)
        if secret:
            environ[key_env] = secret
        return environ

    def _chain(self, context: JobContext) -> list[WriterSpec | None]:
        """The writers to try in order; None stands for the offline stand-in."""
        config = dict(context.config)
        first = WriterSpec(self.provider, self.model, config)
        if not config.get("fallback"):
            return [first]
        chain: list[WriterSpec | None] = [first]
        if self.provider == COMPATIBLE_PROVIDER:
            chain.append(WriterSpec("local", DEFAULT_LOCAL_MODEL, {"fallback": True}))
        chain.append(None)
        return chain

    def _backend(self, spec: WriterSpec, environ: Mapping[str, str]) -> TextBackend:
        key = (spec.provider, spec.model, repr(sorted(spec.config.items())))
        with self._backend_lock:
            found = self._backends.get(key)
        if found is not None:
            return found
        backend = self._factory(spec, environ)
        with self._backend_lock:
            return self._backends.setdefault(key, backend)

    def _generate(self, backend: TextBackend, spec: WriterSpec, task: WriterTask) -> str:
        temperature = spec.config.get("temperature", 0.4)
        seed = spec.config.get("seed")
        tokens = spec.config.get("maxTokens", task.max_tokens)

        def call() -> str:
            return backend.generate(
                task.messages,
                schema=task.schema,
                max_tokens=int(tokens),
                temperature=float(temperature),
                seed=seed if isinstance(seed, int) else None,
            )

        if spec.provider == COMPATIBLE_PROVIDER:
            return call()
        with self._local_lock:
            return call()

    def _secrets(self, context: JobContext, environ: Mapping[str, str]) -> list[str]:
        """The key values this job may have sent, to be removed from any error text."""
        key_env = str(context.config.get("apiKeyEnv") or DEFAULT_KEY_ENV)
        values = (environ.get(key_env), context.secrets.get(key_env), environ.get("OPENAI_API_KEY"))
        return [value for value in values if value]

    async def _write(
        self, context: JobContext, spec: WriterSpec, task: WriterTask, environ: Mapping[str, str], where: str
    ) -> tuple[list[ProducedArtefact], dict[str, Any]]:
        """Up to two attempts with one writer; raises the last error."""
        backend = await asyncio.to_thread(self._backend, spec, environ)
        current = task
        error: ProviderError | None = None
        for attempt in range(1, _ATTEMPTS + 1):
            text = ""
            try:
                text = await asyncio.to_thread(self._generate, backend, spec, current)
                document = parse_answer(text)
                artefacts = current.artefacts(document, spec.label)
            except WriterUnavailableError:
                raise
            except AnswerInvalidError as exc:
                error = exc
                refused = redact(exc.message, self._secrets(context, environ))
                context.logger.warning(
                    f"{where}: {spec.label} answer {attempt} of {_ATTEMPTS} refused: {refused}",
                    job=context.job_id,
                )
                current = task.with_feedback(text, exc.message)
                continue
            except ProviderError as exc:
                error = exc
                failed = _labelled(spec.label, redact(exc.message, self._secrets(context, environ)))
                context.logger.warning(f"{where}: {failed}", job=context.job_id)
                if not exc.retryable:
                    raise
                continue
            diagnostics: dict[str, Any] = {
                "writer": spec.label,
                "writerBackend": backend.name,
                "attempts": attempt,
            }
            dialect = getattr(backend, "dialect", None)
            if dialect:
                diagnostics["dialect"] = dialect
            return artefacts, diagnostics
        assert error is not None
        raise error

    async def _stand_in(self, context: JobContext) -> JobResult:
        if context.kind == "script":
            from tutopanda.providers.local.draft_script import DraftScriptHandler

            return await DraftScriptHandler("local", "draft-script", self.environment).produce(context)
        from tutopanda.providers.local.template_prompts import TemplatePromptsHandler

        return await TemplatePromptsHandler("local", "template-prompts", self.environment).produce(context)

    async def produce(self, context: JobContext) -> JobResult:
        """Try each writer of the chain (see the module docstring) and say which one wrote the job."""
        where = f"{context.job_id} ({self.provider}/{self.model})"
        if context.kind not in WRITER_KINDS:
            raise ProviderConfigError(f"{where}: the writer chain does not write {context.kind} jobs")
        task = build_task(context, where)
        environ = self._environ_of(context)
        secrets = self._secrets(context, environ)
        failures: list[str] = []
        last: ProviderError | None = None
        for spec in self._chain(context):
            if spec is None:
                fallback = "draft-script" if context.kind == "script" else "template-prompts"
                what = "the script is a marked draft" if context.kind == "script" else "template prompts"
                context.logger.warning(
                    f"{where}: no writer succeeded ({'; '.join(failures)}); "
                    f"using the offline local/{fallback} ({what}, provisional: the next "
                    "`tutopanda build run` tries the writer again)",
                    job=context.job_id,
                )
                result = await self._stand_in(context)
                result.diagnostics = {
                    **result.diagnostics,
                    "writer": f"local/{fallback}",
                    "fallbackFrom": f"{self.provider}/{self.model}",
                    "writerFailures": failures,
                    "draft": context.kind == "script",
                    "provisional": True,
                }
                for artefact in result.artefacts:
                    artefact.diagnostics = {**artefact.diagnostics, "writer": f"local/{fallback}"}
                return result
            try:
                artefacts, diagnostics = await self._write(context, spec, task, environ, where)
            except ProviderConfigError:
                raise
            except ProviderError as exc:
                last = exc
                failures.append(_labelled(spec.label, redact(exc.message, secrets)))
                continue
            if spec.label != f"{self.provider}/{self.model}":
                diagnostics["fallbackFrom"] = f"{self.provider}/{self.model}"
                diagnostics["writerFailures"] = failures
            context.logger.info(
                f"{context.job_id}: {context.kind} writer: {spec.label} ({diagnostics['writerBackend']})"
            )
            return JobResult(artefacts, diagnostics=diagnostics, cost=0.0)
        assert last is not None
        message = redact(last.message, secrets).removeprefix(f"{self.provider}/{self.model}: ")
        hint = redact(last.hint, secrets) if last.hint else last.hint
        raise ProviderError(f"{where}: {message}", hint, retryable=False)
