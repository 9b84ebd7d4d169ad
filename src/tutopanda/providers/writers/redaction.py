"""Removing secrets from text a server sent back before it is raised, logged or stored.

Why this exists: a server's error body is untrusted text, and some gateways echo the request — including
the ``Authorization`` header — in a 400 answer. The writer chain quotes error details in warnings, in the
job's ``writerFailures`` diagnostic (stored in ``events/artefacts.log``) and in the failure it raises, so
every such detail goes through :func:`redact` with the key values known for the job first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["REDACTED", "redact"]

REDACTED = "[redacted]"
_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s\"',;}]+")
_MIN_SECRET = 4  # shorter values (a placeholder, an empty string) would blank out ordinary words


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every given secret value and every ``Bearer <token>`` replaced by ``[redacted]``."""
    for secret in sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _BEARER.sub(lambda match: f"{match.group(1)} {REDACTED}", text)
