"""One eSpeak NG synthesis per process: JSON request on stdin, a JSON header line then PCM on stdout.

Why a separate process: libespeak-ng keeps internal state between calls, so the second clip synthesised
in one process differs from the same clip synthesised first (``espeak_Terminate`` plus a re-init does not
reset it). A fresh process per clip makes the same text and voice give byte-identical audio across calls
and processes, which the engine's early cutoff relies on. The API is global state, so this process uses
it from its one thread only.

This file imports nothing but the standard library (the parent passes the library and data paths), so
it can run as ``python -I espeak_worker.py`` without importing Tutopanda: start-up stays around 50 ms.

Request: ``{"library": path, "data": path, "text": str, "voice": str, "rate": int, "pitch": int}``.
Answer: one line ``{"ok": true, "sampleRate": n, "words": [[textPosition, length, ms], ...]}`` followed by
16-bit mono little-endian PCM, or one line ``{"ok": false, "error": "..."}`` (exit status 1).
"""

from __future__ import annotations

import ctypes
import json
import sys
from typing import Any

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_PARAMETER_RATE = 1
_PARAMETER_PITCH = 3


class _Event(ctypes.Structure):
    """``espeak_EVENT``: the union ``id`` is 8 bytes (an int, a pointer or ``char[8]``)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)

_chunks: list[bytes] = []
_words: list[list[int]] = []


def _on_audio(wav: Any, count: int, events: Any) -> int:
    if count > 0:
        _chunks.append(ctypes.string_at(wav, count * 2))
    index = 0
    while events and events[index].type != _EVENT_LIST_TERMINATED:
        event = events[index]
        if event.type == _EVENT_WORD:
            _words.append([event.text_position, event.length, event.audio_position])
        index += 1
    return 0


_ON_AUDIO = _CALLBACK(_on_audio)  # module level: a collected callback would crash the library


def _bind(library: str) -> Any:
    lib = ctypes.CDLL(library)
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.POINTER(ctypes.c_uint),
        ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Synchronize.argtypes = []
    lib.espeak_Synchronize.restype = ctypes.c_int
    return lib


def synthesise(request: dict[str, Any]) -> tuple[int, bytes]:
    """Run one synthesis; returns the sample rate and the PCM bytes (words go to ``_words``)."""
    lib = _bind(request["library"])
    rate = lib.espeak_Initialize(
        _AUDIO_OUTPUT_SYNCHRONOUS, 0, request["data"].encode(), _INITIALIZE_DONT_EXIT
    )
    if rate <= 0:
        raise RuntimeError(f"espeak_Initialize failed ({rate}) with data at {request['data']}")
    lib.espeak_SetSynthCallback(_ON_AUDIO)
    if lib.espeak_SetVoiceByName(request["voice"].encode()) != 0:
        raise LookupError(f"unknown espeak voice {request['voice']!r}")
    lib.espeak_SetParameter(_PARAMETER_RATE, int(request["rate"]), 0)
    lib.espeak_SetParameter(_PARAMETER_PITCH, int(request["pitch"]), 0)
    text = ctypes.create_string_buffer(request["text"].encode("utf-8"))
    status = lib.espeak_Synth(text, len(text), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
    if status != 0:
        raise RuntimeError(f"espeak_Synth failed ({status})")
    lib.espeak_Synchronize()
    return rate, b"".join(_chunks)


def main() -> int:
    """Read one request from stdin, write the answer to stdout."""
    out = sys.stdout.buffer
    try:
        request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
        sample_rate, pcm = synthesise(request)
    except Exception as exc:  # every failure becomes an answer the parent can report
        out.write(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}).encode() + b"\n")
        out.flush()
        return 1
    header = {"ok": True, "sampleRate": sample_rate, "words": _words}
    out.write(json.dumps(header).encode() + b"\n" + pcm)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
