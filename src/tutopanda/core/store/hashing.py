"""Canonical JSON and the hashes built on it. **The output of this module is an on-disk contract.**

Changing anything here changes every stored hash and so marks every job of every movie dirty. The rules
(also in ``docs/storage.md``):

* **Canonical JSON** (:func:`canonical_json`): UTF-8, object keys sorted by Unicode code point (never by
  locale), separators ``,`` and ``:`` with no whitespace, non-ASCII characters written as themselves.
  NaN and ±Infinity are refused (:class:`ValueError`): they have no JSON form and silently stringifying
  them (as the TypeScript version did) makes ``"NaN"`` and ``NaN`` collide.
* **Numbers** follow JSON's single number type (as RFC 8785 does): an integral float is written as an
  integer, so ``1`` and ``1.0`` hash *equal*; other floats use the shortest round-trip form. ``True`` is
  ``true`` and stays *distinct* from ``1``. ``None`` is ``null``.
* **Sequences**: lists and tuples are JSON arrays (order matters). Sets are refused (no defined order).
* **Strings** are hashed as written by :func:`canonical_json`; the *input* hashers
  (:func:`hash_value`) additionally normalise every string (values and keys) to Unicode NFC first, so the
  same text saved by two editors in different normal forms does not trigger a paid regeneration.
* **Bytes** are content: a top-level ``bytes`` payload hashes as a blob (SHA-256 of the raw bytes) and
  is therefore distinct from the string with the same characters. Nested bytes are replaced by the tagged
  object ``{"$bytes": "<sha256>", "size": n}``. A :class:`pathlib.Path` or binary stream is read and
  hashed as bytes, streamed in chunks.
* **Hash** = SHA-256 hex of the canonical JSON's UTF-8 bytes. **Blob hash** = SHA-256 hex of raw bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from tutopanda.core.store.regular_file import open_regular

__all__ = [
    "CHUNK_SIZE",
    "DIGEST_LIMIT",
    "HashedPayload",
    "canonical_json",
    "hash_artefact",
    "hash_canonical",
    "hash_chunks",
    "hash_stream",
    "hash_value",
    "normalise",
    "sha256_hex",
]

CHUNK_SIZE = 1024 * 1024
"""Bytes read per step when hashing files and streams (1 MiB: large enough to run at disk speed)."""

DIGEST_LIMIT = 120
"""Longest human-readable digest kept beside a hash (manifests must not hold whole payloads)."""


@dataclass(frozen=True)
class HashedPayload:
    """The result of hashing a payload.

    ``hash`` identifies the payload; ``digest`` is a short, human-readable summary (at most
    :data:`DIGEST_LIMIT` characters) for manifests, plans and listings; ``size`` is the byte length of
    the canonical form (or of the raw bytes for binary payloads); ``kind`` says which rule hashed it
    (``"json"`` or ``"bytes"``).
    """

    hash: str
    digest: str
    size: int
    kind: str


def sha256_hex(data: bytes) -> str:
    """SHA-256 hex of raw bytes (the blob hash)."""
    return hashlib.sha256(data).hexdigest()


def hash_chunks(chunks: Iterable[bytes]) -> tuple[str, int]:
    """SHA-256 hex and total size of a stream of byte chunks, without joining them."""
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def hash_stream(stream: BinaryIO) -> tuple[str, int]:
    """SHA-256 hex and size of everything left in a binary stream, read in :data:`CHUNK_SIZE` chunks."""
    return hash_chunks(iter(lambda: stream.read(CHUNK_SIZE), b""))


def _format_number(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"cannot hash {value!r}: NaN and Infinity have no JSON form")
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:  # ECMAScript form: 1e-07 -> 1e-7, so other languages can reproduce the hash
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        text = f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
    return text


def normalise(value: Any, *, nfc: bool = False) -> Any:
    """Turn ``value`` into plain JSON data (dict/list/str/int/float/bool/None) by the rules above.

    Integral floats become ints (their canonical form). With ``nfc=True`` every string (keys included)
    is normalised to Unicode NFC. Raises :class:`TypeError` for values with no canonical form (sets,
    arbitrary objects) and :class:`ValueError` for NaN/Infinity or keys that collide after
    normalisation.
    """
    return _normalise(value, nfc, [False])


def _normalise(value: Any, nfc: bool, floats: list[bool]) -> Any:
    """:func:`normalise`; sets ``floats[0]`` when a float needs our formatter (an exponent form).

    Exact built-in types are dispatched first with ``type(...) is``: a build hashes every job's inputs
    and the mock provider its whole context, hundreds of thousands of values, and the ``isinstance``
    chain below cost a fifth of a 1,000-segment mock build. Anything else (subclasses, floats, bytes,
    paths, other mappings) takes the general path with the same rules.
    """
    kind = type(value)
    if kind is str:
        return unicodedata.normalize("NFC", value) if nfc else value
    if kind is dict:
        result: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                return _normalise_any(value, nfc, floats)  # the general path names the bad key
            if nfc:
                key = unicodedata.normalize("NFC", key)
                if key in result:
                    return _normalise_any(value, nfc, floats)  # ...and the colliding keys
            result[key] = _normalise(item, nfc, floats)
        return result
    if kind is list or kind is tuple:
        return [_normalise(item, nfc, floats) for item in value]
    if value is None or kind is int or kind is bool:
        return value
    return _normalise_any(value, nfc, floats)


def _normalise_any(value: Any, nfc: bool, floats: list[bool]) -> Any:
    """:func:`_normalise` for every value, by ``isinstance`` (subclasses included)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):  # a subclass (numpy's, an enum) as the plain number: both encoders agree
        return int(value)
    if isinstance(value, float):
        value = float(value)  # likewise: a subclass's own repr (np.float64(0.5)) is no JSON
        _format_number(value)
        if value.is_integer() and abs(value) < 1e21:
            return int(value)
        if "e" in repr(value):  # only exponent forms differ from Python's repr (1e-07 against 1e-7)
            floats[0] = True
        return value
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value) if nfc else value
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        return {"$bytes": sha256_hex(raw), "size": len(raw)}
    if isinstance(value, Path):
        with open_regular(value) as stream:
            blob_hash, size = hash_stream(stream)
        return {"$bytes": blob_hash, "size": size}
    if isinstance(value, Mapping):
        mapped: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"cannot hash a mapping with a {type(key).__name__} key ({key!r}); keys must be str"
                )
            norm_key = unicodedata.normalize("NFC", key) if nfc else key
            if norm_key in mapped:
                raise ValueError(f"keys {key!r} collide after Unicode normalisation")
            mapped[norm_key] = _normalise(item, nfc, floats)
        return mapped
    if isinstance(value, list | tuple):
        return [_normalise(item, nfc, floats) for item in value]
    raise TypeError(
        f"cannot hash a value of type {type(value).__name__}; use JSON-like data, bytes or a Path"
    )


def _encode(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(_format_number(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, dict):
        out.append("{")
        for index, key in enumerate(sorted(value)):
            if index:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:  # pragma: no cover - normalise() rejects everything else first
        raise TypeError(f"cannot encode {type(value).__name__}")


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value`` (see the module docstring for the exact rules).

    Python's ``sorted`` on ``str`` compares code points, which is the ordering the contract requires.
    """
    return _canonical_text(value, nfc=False)


def _canonical_text(value: Any, *, nfc: bool) -> str:
    """:func:`canonical_json` of ``normalise(value, nfc=nfc)``, normalising once."""
    floats = [False]
    plain = _normalise(value, nfc, floats)
    if not floats[0]:
        # No float needs our ECMAScript formatting (plain decimals print the same as Python's repr):
        # the C encoder gives the same text, much faster (tests check both paths agree).
        return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    out: list[str] = []
    _encode(plain, out)
    return "".join(out)


def hash_canonical(value: Any) -> str:
    """SHA-256 hex of :func:`canonical_json` of ``value`` (no Unicode normalisation)."""
    return sha256_hex(canonical_json(value).encode("utf-8"))


def _digest_text(text: str) -> str:
    if len(text) <= DIGEST_LIMIT:
        return text
    return text[: DIGEST_LIMIT - 1] + "…"


def hash_value(payload: Any) -> HashedPayload:
    """Hash an input value or an artefact payload, whatever its Python type.

    ``bytes``, binary streams and :class:`~pathlib.Path` objects are content: their hash is the blob
    hash of their bytes. Everything else is JSON-like data, hashed as the canonical JSON of its
    NFC-normalised form.
    """
    if isinstance(payload, bytes | bytearray | memoryview):
        raw = bytes(payload)
        return HashedPayload(sha256_hex(raw), f"<{len(raw)} bytes>", len(raw), "bytes")
    if isinstance(payload, Path):
        with open_regular(payload) as stream:
            blob_hash, size = hash_stream(stream)
        return HashedPayload(blob_hash, f"<{size} bytes from {payload.name}>", size, "bytes")
    if hasattr(payload, "read"):
        blob_hash, size = hash_stream(payload)
        return HashedPayload(blob_hash, f"<{size} bytes>", size, "bytes")
    text = _canonical_text(payload, nfc=True)
    encoded = text.encode("utf-8")
    return HashedPayload(sha256_hex(encoded), _digest_text(text), len(encoded), "json")


hash_artefact = hash_value
"""Artefact payloads follow the same rules as inputs (kept as a name so call sites say what they hash)."""
