"""Which script writer a new movie gets, decided before planning — so the choice is part of the trace.

Why before planning and not inside the handler: what made an artefact (provider, model, config) is part
of its trace. If one handler silently wrote a draft today and a real script tomorrow, the draft would
stay "fresh" for ever. Choosing the writer up front puts it in the movie's selection and config:
configuring a server or pulling a model later gives the next *new* movie a real writer, and selecting one
for an existing movie (``--provider Script=...``) makes its script dirty with a plain reason.

The order (issue 14): OpenAI only when the user selects it (it costs money); then an OpenAI-compatible
server named by config ``baseUrl`` or ``OPENAI_BASE_URL`` (asked for its model list once, with a short
timeout, so a server that is not running is not chosen); then the in-process local model when its
weights are pulled and ``llama-cpp-python`` is installed — only the 1.5B default, never a model under
1B parameters (they write confident nonsense); else the honest draft, with the exact ways to get a
real writer (:func:`writer_hints`).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from tutopanda.core.errors import ProviderConfigError, TutopandaError
from tutopanda.providers.writers.backend import WriterUnavailableError
from tutopanda.providers.writers.openai_compatible import (
    DEFAULT_KEY_ENV,
    RequestFailedError,
    bounded_request,
    check_base_url,
)

__all__ = [
    "COMPATIBLE_PROVIDER",
    "DEFAULT_LOCAL_MODEL",
    "LOCAL_WRITER_MODELS",
    "OLLAMA_BASE_URL",
    "WRITER_MODULE_KINDS",
    "ModelStore",
    "WriterChoice",
    "chat_models",
    "choose_writer",
    "compatible_config",
    "is_writer",
    "llama_installed",
    "probe_server",
    "writer_hints",
]

COMPATIBLE_PROVIDER = "openai-compatible"
DEFAULT_LOCAL_MODEL = "qwen2.5-1.5b-instruct"
LOCAL_WRITER_MODELS: dict[str, str] = {
    "qwen2.5-1.5b-instruct": "Qwen2.5-1.5B-Instruct Q4_K_M in-process (llama.cpp; the default local writer)",
    "qwen2.5-0.5b-instruct": "Qwen2.5-0.5B-Instruct Q4_K_M in-process (small machines; never a default)",
}
"""In-process writer models (provider ``local``) -> description."""

OLLAMA_BASE_URL = "http://localhost:11434/v1"
WRITER_MODULE_KINDS = frozenset({"script", "image-prompt", "music-prompt"})
"""Job kinds whose modules follow the chosen writer when a new movie is made."""

_FALLBACK_VARIANTS = {"script": ("local", "draft-script")}
_PROMPTS_FALLBACK = ("local", "template-prompts")


class ModelStore(Protocol):
    """The part of the models store the choice needs: the file of a pulled, verified model."""

    def path_of(self, name: str) -> Any: ...


@dataclass(frozen=True)
class WriterChoice:
    """The writer for a new movie: its variant, its config (traced; never a secret) and why.

    ``draft`` is True when no real writer is available; ``how_to_enable`` then lists exactly how to get
    each real one.
    """

    provider: str
    model: str
    config: Mapping[str, Any]
    reason: str
    how_to_enable: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def draft(self) -> bool:
        """Whether this is the honest draft (no real writer here)."""
        return (self.provider, self.model) == _FALLBACK_VARIANTS["script"]

    @property
    def name(self) -> str:
        """``provider/model`` of the script writer."""
        return f"{self.provider}/{self.model}"

    def describe(self) -> str:
        """The one line the user is shown: ``script writer: <name> (<why>)``."""
        return f"script writer: {self.name} ({self.reason})"

    def variant_for(self, kind: str) -> tuple[str, str]:
        """The ``(provider, model)`` a module of job ``kind`` runs: the writer, or its offline stand-in."""
        if not self.draft:
            return self.provider, self.model
        return _FALLBACK_VARIANTS.get(kind, _PROMPTS_FALLBACK)

    def config_for(self, kind: str) -> dict[str, Any]:
        """The config laid over that module's variant (empty for the offline stand-ins)."""
        return {} if self.draft else dict(self.config)


def is_writer(provider: str, model: str) -> bool:
    """Whether ``provider/model`` is a writer of the chain (a compatible server or an in-process model)."""
    return provider == COMPATIBLE_PROVIDER or (provider == "local" and model in LOCAL_WRITER_MODELS)


def llama_installed() -> bool:
    """Whether ``llama-cpp-python`` (the ``llm`` extra) can be imported, without importing it."""
    try:
        return importlib.util.find_spec("llama_cpp") is not None
    except (ImportError, ValueError):
        return False


_PROBE_MAX_BYTES = 4 * 1024 * 1024
"""A model list is a few kilobytes (a big gateway's, a few hundred); more is not a model list."""

_NOT_CHAT = ("embed", "rerank", "whisper", "tts", "clip", "moderation", "dall-e", "stable-diffusion", "bge-")
"""Fragments of model names that are not chat models (embedding, reranking, speech, image models)."""


def probe_server(base_url: str, api_key: str | None = None, *, timeout: float = 2.0) -> list[str]:
    """The model ids a server lists at ``GET {base_url}/models``; WriterUnavailableError if it does not
    answer with that JSON. This runs before planning (even for ``--dry-run``), so ``timeout`` is a
    *total* deadline and the body is capped: a server that is not running, hangs or trickles its answer
    costs the user about two seconds, never more (see :func:`~.openai_compatible.bounded_request`)."""
    url = check_base_url(base_url, "openai-compatible")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = bounded_request(
            "GET", f"{url}/models", headers=headers, timeout=timeout, max_bytes=_PROBE_MAX_BYTES
        )
    except RequestFailedError as exc:
        if exc.kind == "unreachable":
            raise WriterUnavailableError(
                f"no OpenAI-compatible server answers at {url}", "start it, e.g. `ollama serve`"
            ) from None
        raise WriterUnavailableError(f"{url}/models {exc.message}") from None
    if response.status >= 400:
        raise WriterUnavailableError(f"{url}/models answered HTTP {response.status}")
    try:
        body = json.loads(response.text)
    except ValueError:
        raise WriterUnavailableError(f"{url}/models did not answer JSON") from None
    data = body.get("data") if isinstance(body, dict) else None
    return [str(item["id"]) for item in data or [] if isinstance(item, dict) and item.get("id")]


def chat_models(listed: Sequence[str]) -> list[str]:
    """The models of a server's list that can chat, in the server's order.

    Why: servers list every model they hold, and the first may be an embedding or speech model that
    cannot write a script; choosing it would fail every writer job."""
    return [name for name in listed if not any(part in name.lower() for part in _NOT_CHAT)]


def compatible_config(config: Mapping[str, Any] | None, environ: Mapping[str, str]) -> dict[str, Any]:
    """The traced config of an ``openai-compatible`` writer: ``baseUrl`` from config, else
    ``OPENAI_BASE_URL``, else Ollama's address; other keys as given. Never a key, only its variable name."""
    merged = dict(config or {})
    base = merged.get("baseUrl") or environ.get("OPENAI_BASE_URL") or OLLAMA_BASE_URL
    if not isinstance(base, str):
        raise ProviderConfigError(f"writer config baseUrl = {base!r} is not a URL", f"e.g. {OLLAMA_BASE_URL}")
    merged["baseUrl"] = check_base_url(base, "openai-compatible")
    merged.pop("model", None)  # the model is the variant's, not a config key
    return merged


def _default_store() -> ModelStore | None:
    try:
        from tutopanda.providers.model_store import default_model_store
    except ImportError:
        return None
    store: ModelStore = default_model_store()
    return store


def writer_hints(*, llama: bool | None = None, model_pulled: bool = False) -> list[str]:
    """Exactly how to enable each real script writer (for the closing line of an offline build)."""
    llama = llama_installed() if llama is None else llama
    local = []
    if not llama:
        local.append("pip install 'tutopanda[llm]'")
    if not model_pulled:
        local.append(f"tutopanda models pull {DEFAULT_LOCAL_MODEL}")
    local_hint = (
        "in-process model: " + " && ".join(local)
        if local
        else f"in-process model: --provider Script=local/{DEFAULT_LOCAL_MODEL}"
    )
    return [
        "OpenAI: export OPENAI_API_KEY=... and add --provider Script=openai/gpt-5-mini",
        "a local server: run one (e.g. `ollama serve`, `ollama pull llama3.2`), then "
        f"export OPENAI_BASE_URL={OLLAMA_BASE_URL} or add --provider Script=openai-compatible/llama3.2",
        local_hint,
    ]


def choose_writer(
    config: Mapping[str, Any] | None,
    environ: Mapping[str, str],
    model_store: ModelStore | None = None,
    *,
    probe: Callable[[str, str | None], Sequence[str]] | None = probe_server,
    llama: bool | None = None,
) -> WriterChoice:
    """The best available writer (see the module docstring), with the reason.

    ``config`` is the ``openai-compatible`` writer config from the settings (``baseUrl``, ``model``,
    ``apiKeyEnv``, ``timeoutSeconds``…); ``environ`` supplies ``OPENAI_BASE_URL``,
    ``TUTOPANDA_WRITER_MODEL`` and the key. ``probe`` asks a server for its models (None: trust the
    configuration without asking). ``model_store`` defaults to the models store when it is installed.
    """
    notes: list[str] = []
    settings = dict(config or {})
    base = settings.get("baseUrl") or environ.get("OPENAI_BASE_URL")
    if base:
        source = "config baseUrl" if settings.get("baseUrl") else "OPENAI_BASE_URL"
        try:
            traced = compatible_config(settings, environ)
            url = traced["baseUrl"]
            model = settings.get("model") or environ.get("TUTOPANDA_WRITER_MODEL")
            listed: Sequence[str] = ()
            if probe is not None:
                key_env = str(settings.get("apiKeyEnv") or DEFAULT_KEY_ENV)
                listed = probe(url, environ.get(key_env) or None)
            host = urlsplit(url).hostname or ""
            picked = ""
            if not model and listed and host != "api.openai.com":
                chat = chat_models(listed)
                if chat:
                    model = chat[0]
                    picked = f"; picked {model}, the first chat model it lists"
                else:
                    notes.append(f"{source} {url} lists no chat model ({', '.join(listed[:3])})")
            if not model:
                if not listed or host == "api.openai.com":
                    notes.append(
                        f"{source} {url} names no model (set TUTOPANDA_WRITER_MODEL or config model)"
                    )
            else:
                traced["fallback"] = True
                return WriterChoice(
                    COMPATIBLE_PROVIDER,
                    str(model),
                    traced,
                    f"OpenAI-compatible server at {url}, from {source}{picked}",
                )
        except (WriterUnavailableError, ProviderConfigError) as exc:
            notes.append(exc.message)
    llama = llama_installed() if llama is None else llama
    store = model_store if model_store is not None else _default_store()
    try:
        pulled = store is not None and store.path_of(DEFAULT_LOCAL_MODEL) is not None
    except (TutopandaError, OSError):  # a catalogue without the model, an unreadable store: not pulled
        pulled = False
    if pulled and llama:
        return WriterChoice(
            "local",
            DEFAULT_LOCAL_MODEL,
            {"fallback": True},
            f"{DEFAULT_LOCAL_MODEL} is pulled; runs in-process",
        )
    if pulled:
        notes.append(f"{DEFAULT_LOCAL_MODEL} is pulled but llama-cpp-python is not installed")
    why = "; ".join(notes) if notes else "no API key selected, no local server, no local model"
    return WriterChoice(
        *_FALLBACK_VARIANTS["script"],
        {},
        f"a clearly marked draft: {why}",
        tuple(writer_hints(llama=llama, model_pulled=pulled)),
        tuple(notes),
    )
