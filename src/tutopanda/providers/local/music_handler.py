"""The local music handler (model ``synth``): a ``Duration``-second bed in the mood of the ``Prompt``.

The mood comes from config ``mood`` when set (calm, tense, uplifting, reflective), else from keywords in
the prompt. The seed is the hash of what the music depends on (prompt, duration, mood), so the same
inputs give byte-identical WAVs and the job id or revision never matter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from tutopanda.core.engine.provider_contract import JobContext, JobResult, ProducedArtefact
from tutopanda.core.errors import ProviderConfigError
from tutopanda.core.store.hashing import hash_value
from tutopanda.providers.job_inputs import input_int, input_text, requested_artefacts
from tutopanda.providers.local.local_handler import LocalHandler
from tutopanda.providers.local.moods import MOODS, detect_mood
from tutopanda.providers.local.music import synthesise_music

__all__ = ["DEFAULT_MUSIC_SECONDS", "MAX_MUSIC_SECONDS", "SynthHandler"]


def _check_mood(mood: object, where: str) -> None:
    """A config ``mood`` is unset (picked from the prompt) or one of :data:`MOODS`."""
    if mood is not None and mood not in MOODS:
        raise ProviderConfigError(
            f"{where}: config mood = {mood!r} is not one of {', '.join(MOODS)}",
            "remove mood to pick it from the prompt, or set one of the listed moods",
        )


DEFAULT_MUSIC_SECONDS = 30
"""Length when the job has no usable ``Duration`` input."""

MAX_MUSIC_SECONDS = 3600
"""Longest bed made in one call (the blueprints cap ``Duration`` at an hour)."""


class SynthHandler(LocalHandler):
    """``music`` jobs: a 44.1 kHz stereo 16-bit WAV."""

    limit_key = "local-music"
    max_in_flight = 1

    def check_config(self, kind: str, config: Mapping[str, Any]) -> None:
        """The preflight's offline check: a ``mood`` the synthesiser knows (refused before any job runs)."""
        _check_mood(config.get("mood"), f"{self.provider}/{self.model}")

    async def produce(self, context: JobContext) -> JobResult:
        """Pick mood and length, synthesise in a worker thread."""
        where = f"{context.job_id} ({self.provider}/{self.model})"
        prompt = input_text(context.inputs, "Prompt")
        mood = context.config.get("mood")
        _check_mood(mood, where)
        if mood is None:
            mood = detect_mood(prompt)
        seconds = min(input_int(context.inputs, "Duration", DEFAULT_MUSIC_SECONDS), MAX_MUSIC_SECONDS)
        digest = hash_value({"prompt": prompt, "duration": seconds, "mood": mood}).hash
        bed = await asyncio.to_thread(synthesise_music, float(seconds), mood, int(digest[:16], 16))
        diagnostics = {
            "mood": bed.mood,
            "key": bed.key,
            "tempo": bed.tempo,
            "durationSeconds": round(bed.duration, 3),
            "sampleRate": 44100,
            "seed": digest[:16],
        }
        artefacts = [
            ProducedArtefact(
                requested.artefact_id, mime_type="audio/wav", data=bed.wav, diagnostics=diagnostics
            )
            if requested.kind == "audio"
            else ProducedArtefact(
                requested.artefact_id, status="failed", error=f"synth cannot make a {requested.kind}"
            )
            for requested in requested_artefacts(context)
        ]
        return JobResult(artefacts, diagnostics={"synth": "numpy"}, cost=0.0)
