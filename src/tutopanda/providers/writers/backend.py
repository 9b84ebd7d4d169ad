"""The contract every text-writing backend of the script-writer chain implements.

Why a protocol this small: an OpenAI-compatible HTTP server and an in-process llama.cpp model differ in
everything except this — chat messages in, text out, optionally constrained by a JSON schema. Keeping the
contract to that lets the chain validate, retry and fall back in one place (``chain.py``), and lets tests
fake a backend with a few lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from tutopanda.core.errors import ProviderError

__all__ = ["ChatMessage", "TextBackend", "WriterUnavailableError"]

ChatMessage = Mapping[str, str]
"""``{"role": "system" | "user" | "assistant", "content": "..."}``."""


class WriterUnavailableError(ProviderError):
    """A backend cannot run at all here (no server answering, extra not installed, weights missing).

    Distinct from a bad answer: the chain skips an unavailable writer at once, but retries a bad answer
    once before falling back.
    """


class TextBackend(Protocol):
    """Chat messages in, text out.

    ``name`` is what the user is told (``"llama.cpp qwen2.5-1.5b-instruct"``, ``"ollama llama3.2 at
    http://localhost:11434/v1"``). ``generate`` blocks (the chain runs it in a worker thread); with a
    ``schema`` it should return JSON valid against it when the backend can constrain decoding, and the
    chain validates the answer either way.
    """

    name: str

    def generate(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema: Mapping[str, Any] | None = None,
        max_tokens: int = 2048,
        temperature: float = 0.7,
        seed: int | None = None,
    ) -> str: ...
