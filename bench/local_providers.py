"""Timings of the local (offline) content providers, through their handlers as the runner calls them.

Prints ``name: value unit`` lines (median of 3 runs each, after one warm-up call):

* ``speech_espeak_clip`` — one ~10 s narration clip with eSpeak NG (a fresh worker process per clip);
* ``speech_piper_clip`` — the same clip with Piper (only when the ``neural`` extra is installed);
* ``speech_audio_seconds`` — the clip's length, for a real-time factor;
* ``slide_720p`` / ``slide_1080p`` — one slide PNG;
* ``music_60s`` — a 60 s stereo music bed (target: < 2 s);
* ``draft_script_10`` / ``image_prompts`` — the text handlers.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Mapping

from tutopanda.core.engine.provider_contract import JobContext, JobResult, ProviderHandler
from tutopanda.providers.local import (
    DraftScriptHandler,
    SlidesHandler,
    SpeechHandler,
    SynthHandler,
    TemplatePromptsHandler,
    piper_available,
)
from tutopanda.providers.mock.wav import read_wav_info
from tutopanda.testing import make_job_context

RUNS = 3
TEXT = (
    "Deep below the surface, rock melts into magma. It is lighter than the rock around it, so it rises "
    "and gathers in a chamber until the pressure breaks the crust."
)


def _context(
    kind: str, produces: list[tuple[str, str]], inputs: Mapping[str, object], **config: object
) -> JobContext:
    return make_job_context(kind, produces, inputs=inputs, provider="local", mode="live", config=config)


def _median(call: Callable[[], JobResult]) -> tuple[float, JobResult]:
    result = call()
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        result = call()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings), result


def _runner(handler: ProviderHandler, context: JobContext) -> Callable[[], JobResult]:
    return lambda: asyncio.run(handler.produce(context))


def main() -> None:
    narration = [("Artifact:Narration.SegmentAudio[0]", "audio")]
    speech_inputs = {"Text": TEXT, "VoiceId": "default", "Language": "en"}
    engines = ["espeak", "piper"] if piper_available() else ["espeak"]
    for engine in engines:
        context = _context("narration", narration, speech_inputs, engine=engine, wordsPerMinute=160)
        seconds, result = _median(_runner(SpeechHandler(), context))
        print(f"speech_{engine}_clip: {seconds:.3f} s")
        audio = read_wav_info(result.artefacts[0].data or b"").duration
        print(f"speech_{engine}_audio_seconds: {audio:.2f} s")
    image = [("Artifact:Images.SegmentImage[0][0]", "image")]
    for resolution in ("720p", "1080p"):
        inputs = {"Prompt": TEXT, "Resolution": resolution, "AspectRatio": "16:9", "Style": "diagram"}
        seconds, _ = _median(_runner(SlidesHandler(), _context("image", image, inputs)))
        print(f"slide_{resolution}: {seconds:.3f} s")
    music = _context(
        "music", [("Artifact:Music.Music", "audio")], {"Prompt": "Calm underscore", "Duration": 60}
    )
    seconds, _ = _median(_runner(SynthHandler(), music))
    print(f"music_60s: {seconds:.3f} s")
    script_produces = [("Artifact:Script.MovieTitle", "text"), ("Artifact:Script.MovieSummary", "text")]
    script_produces += [(f"Artifact:Script.NarrationScript[{i}]", "text") for i in range(10)]
    script = _context(
        "script", script_produces, {"InquiryPrompt": "How do volcanoes erupt?", "Duration": 300}
    )
    seconds, _ = _median(_runner(DraftScriptHandler(), script))
    print(f"draft_script_10: {seconds * 1000:.2f} ms")
    prompts = _context(
        "image-prompt",
        [(f"Artifact:ImagePrompts.ImagePrompt[0][{i}]", "text") for i in range(3)],
        {"NarrativeText": TEXT, "MovieSummary": "Volcanoes.", "NumOfImages": 3},
    )
    seconds, _ = _median(_runner(TemplatePromptsHandler(), prompts))
    print(f"image_prompts: {seconds * 1000:.2f} ms")


if __name__ == "__main__":
    main()
