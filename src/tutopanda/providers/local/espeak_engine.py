"""eSpeak NG (from the ``espeakng-loader`` wheel): voice lookup, and one synthesis per subprocess.

Why a subprocess per clip: libespeak-ng's internal state changes from one call to the next within a
process, so only a fresh process gives byte-identical audio for the same text and voice (see
:mod:`.espeak_worker`). The worker is started as ``python -I <file>`` and is handed the library and data
paths, so it imports neither Tutopanda nor the loader: a clip costs about 0.1 s of start-up plus
synthesis (espeak runs around 400x real time).

Voices: ``espeak-ng-data/lang`` holds one file per language voice (``language en-us`` lines name the
codes it answers to) and ``voices/!v`` holds variants (``en-us+m3``). We read those names once, so an
unknown voice is refused up front with a list of real ones instead of a silent fallback.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tutopanda.core.errors import ProviderConfigError, ProviderError
from tutopanda.providers.local.speech_clip import SpeechClip, WordTiming, text_tokens

__all__ = ["DEFAULT_ESPEAK_VOICES", "EspeakVoices", "espeak_voices", "synthesise_espeak"]

DEFAULT_ESPEAK_VOICES = {"en": "en-us", "pt": "pt-br", "zh": "cmn", "fa": "fa", "nb": "nb", "no": "nb"}
"""The voice "default" means for a language code whose plain code is not the best espeak voice."""

_WORKER_TIMEOUT = 300.0
_WORKER = Path(__file__).with_name("espeak_worker.py")


@dataclass(frozen=True)
class EspeakVoices:
    """The voice names eSpeak NG accepts: language voices (lower case) and variants."""

    languages: frozenset[str]
    variants: frozenset[str]

    def knows(self, voice: str) -> bool:
        """Whether ``voice`` (``en-us`` or ``en-us+m3``) names an installed voice and variant."""
        base, _, variant = voice.lower().partition("+")
        return base in self.languages and (not variant or variant in self.variants)

    def default_for(self, language: str) -> str | None:
        """The voice "default" stands for in ``language`` (an ISO 639-1 code), or None."""
        code = language.strip().lower()
        voice = DEFAULT_ESPEAK_VOICES.get(code, code)
        return voice if voice in self.languages else None

    def examples(self) -> str:
        """A few valid voice names, for error hints."""
        preferred = ["en-us", "en-gb-x-rp", "en-us+m3", "fr-fr", "de", "es", "it"]
        shown = [name for name in preferred if self.knows(name)]
        return ", ".join(shown) + f" (and {len(self.languages)} more languages; variants: +m1..+m7, +f1..+f5)"


def _library_paths() -> tuple[str, str]:
    try:
        import espeakng_loader
    except ImportError as exc:  # a declared dependency, so this means a broken install
        raise ProviderConfigError(
            "eSpeak NG is not installed (the espeakng-loader package is missing)",
            "reinstall tutopanda: pip install --force-reinstall tutopanda",
        ) from exc
    return str(espeakng_loader.get_library_path()), str(espeakng_loader.get_data_path())


@functools.cache
def espeak_voices() -> EspeakVoices:
    """The installed voices, read from the espeak-ng-data directory once per process."""
    data = Path(_library_paths()[1])
    languages: set[str] = set()
    for path in (data / "lang").rglob("*"):
        if not path.is_file():
            continue
        languages.add(path.name.lower())
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "language":
                languages.add(parts[1].lower())
    variants = {path.name.lower() for path in (data / "voices" / "!v").iterdir() if path.is_file()}
    return EspeakVoices(frozenset(languages), frozenset(variants))


def _voiced_end(pcm: bytes, sample_rate: int) -> float:
    """Seconds to the last sample louder than about -40 dBFS (the end of speech before trailing silence)."""
    samples = memoryview(pcm[: len(pcm) // 2 * 2]).cast("h")
    for index in range(len(samples) - 1, -1, -1):
        if abs(samples[index]) > 330:
            return (index + 1) / sample_rate
    return 0.0


def _word_timings(text: str, words: list[list[int]], voiced_end: float) -> tuple[WordTiming, ...]:
    """Word events (1-based character position, length, milliseconds) to timed tokens of ``text``.

    Each whitespace token starts at its first word event; a token eSpeak did not announce (a lone dash)
    gets the next word's start (it is silent). A token ends where the next one starts, the last at the
    end of voiced audio.
    """
    tokens = text_tokens(text)
    starts: list[float | None] = [None] * len(tokens)
    cursor = 0
    for position, _length, milliseconds in sorted(words, key=lambda row: (row[2], row[0])):
        offset = max(position - 1, 0)
        while cursor < len(tokens) and tokens[cursor][1] <= offset:
            cursor += 1
        if cursor < len(tokens) and tokens[cursor][0] <= offset and starts[cursor] is None:
            starts[cursor] = milliseconds / 1000
    known = [value for value in starts if value is not None]
    if not known:
        return ()
    filled: list[float] = []
    following = known[-1]
    for value in reversed(starts):  # an unannounced token (a lone dash) sits where the next word starts
        following = value if value is not None else following
        filled.append(following)
    filled.reverse()
    for index in range(1, len(filled)):  # monotonic even if eSpeak reported out of order
        filled[index] = max(filled[index], filled[index - 1])
    last = max(voiced_end, filled[-1])
    ends = [*filled[1:], last]
    return tuple(
        WordTiming(token, round(start, 3), round(max(start, end), 3))
        for (_a, _b, token), start, end in zip(tokens, filled, ends, strict=True)
    )


def synthesise_espeak(text: str, voice: str, *, rate: int, pitch: int) -> SpeechClip:
    """Speak ``text`` with ``voice`` at ``rate`` words a minute and ``pitch`` (0-99), in a fresh process."""
    library, data = _library_paths()
    request = {"library": library, "data": data, "text": text, "voice": voice, "rate": rate, "pitch": pitch}
    try:
        completed = subprocess.run(
            [sys.executable, "-I", str(_WORKER)],
            input=json.dumps(request).encode("utf-8"),
            capture_output=True,
            timeout=_WORKER_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProviderError(f"the eSpeak NG worker did not run: {exc}", retryable=True) from exc
    header, _, pcm = completed.stdout.partition(b"\n")
    try:
        answer = json.loads(header.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        stderr = completed.stderr.decode("utf-8", errors="replace").strip()[-300:]
        raise ProviderError(
            f"the eSpeak NG worker crashed (exit {completed.returncode}): {stderr or 'no output'}",
            retryable=False,
        ) from None
    if not answer.get("ok"):
        raise ProviderError(f"eSpeak NG failed: {answer.get('error')}", retryable=False)
    sample_rate = int(answer["sampleRate"])
    pcm = pcm[: len(pcm) // 2 * 2]
    return SpeechClip(
        engine="espeak-ng",
        voice=voice,
        sample_rate=sample_rate,
        pcm=pcm,
        words=_word_timings(text, answer["words"], _voiced_end(pcm, sample_rate)),
        extra={"wordsPerMinute": rate, "pitch": pitch},
    )
