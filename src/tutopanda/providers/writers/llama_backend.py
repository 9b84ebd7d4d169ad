"""The in-process script writer: a GGUF model run by llama.cpp (``llama-cpp-python``, the ``llm`` extra).

Why in-process: with no API key and no local server, this is the only way to a real script on a laptop.
Why these choices (measured; see the offline-LLM notes in docs/providers.md):

* JSON-schema constrained decoding (``response_format={"type": "json_object", "schema": ...}``): the
  grammar makes even a small model return parseable JSON of the right shape; the chain still validates
  the content.
* One fewer thread than the cores (at least one): llama.cpp's threads spin-wait, and using every core of
  a small, busy machine was slower than leaving one to the rest of the build.
* One loaded model per process (a cache keyed by file, threads and context): loading 1 GB costs seconds
  and ~1.8 GB of memory; every job of a build shares it. A lock serialises calls, since a ``Llama``
  object is not thread-safe and the chain runs ``generate`` in worker threads.
* JSON answers are re-serialised: llama-cpp-python 0.3.36's schema grammar lets raw control characters
  (a literal newline, a tab) into strings, which strict JSON parsers refuse. A schema answer is parsed
  leniently and written back as strict JSON, so the chain's validation sees what the model meant.
* ``llama_cpp`` is imported lazily: the extra compiles llama.cpp from source and is never a core
  dependency; without it the backend raises :class:`WriterUnavailableError` with the install hint.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tutopanda.core.errors import ProviderError
from tutopanda.providers.writers.backend import ChatMessage, WriterUnavailableError

__all__ = ["LlamaBackend", "default_threads", "drop_loaded_models"]

_INSTALL_HINT = "pip install 'tutopanda[llm]' (it compiles llama.cpp once, ~8 min on 2 cores)"
_DEFAULT_CONTEXT = 4096

_loaded: dict[tuple[str, int, int], tuple[Any, threading.Lock]] = {}
_loading = threading.Lock()


def default_threads() -> int:
    """One fewer than the cores this process may use, at least one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def drop_loaded_models() -> None:
    """Forget every loaded model (tests; frees the memory once nothing else holds them)."""
    with _loading:
        _loaded.clear()


class LlamaBackend:
    """A :class:`~tutopanda.providers.writers.backend.TextBackend` over a local GGUF file.

    ``threads`` defaults to :func:`default_threads`; ``context`` is the context window in tokens (prompt
    plus answer). Nothing is loaded until the first :meth:`generate`.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        threads: int | None = None,
        context: int = _DEFAULT_CONTEXT,
        name: str | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        self.threads = threads if threads is not None and threads >= 1 else default_threads()
        self.context = context
        self.name = name or f"llama.cpp {self.model_path.name}"

    def __repr__(self) -> str:
        return f"LlamaBackend({str(self.model_path)!r}, threads={self.threads})"

    def _model(self) -> tuple[Any, threading.Lock]:
        key = (str(self.model_path.resolve()), self.threads, self.context)
        with _loading:
            cached = _loaded.get(key)
            if cached is not None:
                return cached
            try:
                import llama_cpp
            except ImportError:
                raise WriterUnavailableError(
                    "the in-process script writer needs llama-cpp-python", _INSTALL_HINT
                ) from None
            if not self.model_path.is_file():
                raise WriterUnavailableError(
                    f"local model file {self.model_path} is missing",
                    "pull it again: tutopanda models pull NAME (see 'tutopanda models list')",
                )
            try:
                model = llama_cpp.Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.context,
                    n_threads=self.threads,
                    n_threads_batch=self.threads,
                    n_gpu_layers=0,
                    verbose=False,
                )
            except (ValueError, RuntimeError, OSError) as exc:
                raise WriterUnavailableError(
                    f"llama.cpp cannot load {self.model_path.name}: {_one_line(exc)}",
                    "remove and pull the model again (tutopanda models remove/pull NAME), "
                    "or upgrade llama-cpp-python",
                ) from exc
            loaded = (model, threading.Lock())
            _loaded[key] = loaded
            return loaded

    def generate(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema: Mapping[str, Any] | None = None,
        max_tokens: int = 2048,
        temperature: float = 0.7,
        seed: int | None = None,
    ) -> str:
        """Chat messages in, the model's answer out (JSON valid against ``schema`` when one is given)."""
        model, lock = self._model()
        request: dict[str, Any] = {
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if seed is not None:
            request["seed"] = seed
        if schema is not None:
            request["response_format"] = {"type": "json_object", "schema": dict(schema)}
        try:
            with lock:
                if seed is not None:
                    model.set_seed(seed)
                    model.reset()  # no reused prompt cache: the same seed gives the same text
                result = model.create_chat_completion(**request)
        except (ValueError, RuntimeError) as exc:
            raise ProviderError(f"{self.name} failed: {_one_line(exc)}") from exc
        try:
            content = result["choices"][0]["message"]["content"]
            finish = result["choices"][0].get("finish_reason")
        except (KeyError, IndexError, TypeError) as exc:
            raise ProviderError(f"{self.name} returned no message") from exc
        if not isinstance(content, str) or not content.strip():
            raise ProviderError(f"{self.name} returned an empty answer", retryable=True)
        if finish == "length" and schema is not None:
            raise ProviderError(
                f"{self.name} ran out of tokens ({max_tokens}) before finishing its JSON", retryable=True
            )
        return _strict_json(content) if schema is not None else content


def _strict_json(text: str) -> str:
    """``text`` as strict JSON when it parses leniently (raw control characters in strings), else as is."""
    import json

    try:
        data = json.loads(text, strict=False)
    except ValueError:
        return text  # not JSON at all: the chain's validation reports it and retries
    return json.dumps(data, ensure_ascii=False)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
