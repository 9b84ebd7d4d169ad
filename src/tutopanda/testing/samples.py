"""Realistic sample job contexts for every bundled producer kind, shaped like the bundled modules.

Why: a provider plugin's contract tests need contexts that look like what the runner sends — the
module's input aliases, canonical artefact ids, fan-in inputs as lists of groups, upstream media as
:class:`~tutopanda.core.engine.provider_contract.ArtefactInput` handles holding real bytes.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from tutopanda.core.blueprint import PRODUCER_KINDS
from tutopanda.core.engine.provider_contract import ArtefactInput, JobContext
from tutopanda.core.movie.timeline import (
    MusicPlan,
    TimelineClip,
    TimelineDocument,
    TimelineSegment,
    TimelineTrack,
    split_caption_text,
    time_cues,
)
from tutopanda.providers.mock.mp4 import mock_mp4
from tutopanda.providers.mock.png import write_png
from tutopanda.providers.mock.wav import write_tone_wav
from tutopanda.testing.job_context import make_artefact_input, make_job_context

__all__ = [
    "SAMPLE_CLIP_SECONDS",
    "SAMPLE_KINDS",
    "sample_clip",
    "sample_job_context",
    "sample_narration_audio",
]

SAMPLE_KINDS = PRODUCER_KINDS
"""Producer kinds :func:`sample_job_context` knows (every kind of the bundled modules)."""

_TOPIC = "How do volcanoes erupt?"
_NARRATION = (
    "Deep below the surface, rock melts into magma. It is lighter than the rock around it, so it rises "
    "and gathers in a chamber until the pressure breaks the crust."
)


def sample_narration_audio(segment: int, seconds: float = 2.0) -> ArtefactInput:
    """A narration WAV artefact of about ``seconds`` for ``segment``."""
    data = write_tone_wav(seconds, period=20 + segment, amplitude=0.5, comment=f"sample-{segment}")
    return make_artefact_input(f"Artifact:Narration.SegmentAudio[{segment}]", "audio", data, "audio/wav")


EXPORT_PRODUCES = (
    ("Artifact:Export.FinalVideo", "video"),
    ("Artifact:Export.Subtitles", "text"),
    ("Artifact:Export.WebSubtitles", "text"),
)
"""Everything the bundled export module produces: the MP4, SubRip and WebVTT subtitles."""

SAMPLE_CLIP_SECONDS = 1.7
"""Length of :func:`sample_clip` (0.4 s lead-in, 0.5 s of narration, 0.8 s tail)."""


def sample_clip(segment: int) -> ArtefactInput:
    """A real rendered segment clip for ``segment``: H.264 160x90 30 fps + AAC 48 kHz stereo, 1.7 s.

    Committed as package data (``sample-clip.mp4``, made once by the ``tutopanda`` segment renderer),
    so timeline and export samples need no ffmpeg to build; every segment shares the same bytes.
    """
    data = resources.files("tutopanda.testing").joinpath("sample-clip.mp4").read_bytes()
    return make_artefact_input(f"Artifact:Clips.SegmentClip[{segment}]", "video", data, "video/mp4")


def _sample_timeline(segments: int) -> dict[str, Any]:
    """A timeline over ``segments`` sample clips, as the ``ordered-timeline`` composer lays it out."""
    length = SAMPLE_CLIP_SECONDS
    starts = [round(index * length, 3) for index in range(segments)]
    total = round(segments * length, 3)
    cues = [
        TimelineClip(id=f"caption-{index}-{number}", start=cue.start, duration=round(cue.end - cue.start, 3),
                     text=cue.text)
        for index, start in enumerate(starts)
        for number, cue in enumerate(time_cues(split_caption_text(_NARRATION), round(start + 0.4, 3), 0.5))
    ]  # fmt: skip
    document = TimelineDocument(
        id="timeline-sample", movie_title="Volcanoes", duration=total, fps=30, width=160, height=90,
        segments=tuple(
            TimelineSegment(index=index, start=start, duration=round(min(total, start + length) - start, 3),
                            clip_artefact_id=f"Artifact:Clips.SegmentClip[{index}]",
                            narration_start=round(start + 0.4, 3), narration_duration=0.5)
            for index, start in enumerate(starts)
        ),
        tracks=(
            TimelineTrack(id="clips", kind="visual", clips=tuple(
                TimelineClip(id=f"clip-{index}", artefact_id=f"Artifact:Clips.SegmentClip[{index}]",
                             start=start, duration=round(min(total, start + length) - start, 3))
                for index, start in enumerate(starts)
            )),
            TimelineTrack(id="captions", kind="captions", clips=tuple(cues)),
        ),
        music=MusicPlan(artefact_id="Artifact:Music.Music", volume=0.35, ducking_db=-12, loop=False),
    )  # fmt: skip
    parsed: dict[str, Any] = TimelineDocument.model_validate_json(document.to_json_bytes()).model_dump(
        mode="json", by_alias=True
    )
    return parsed


def _image(segment: int, index: int) -> ArtefactInput:
    data = write_png(16, 9, (segment * 40 % 256, 80, 160), (255, 255, 255), text={"sample": f"{segment}"})
    return make_artefact_input(
        f"Artifact:Images.SegmentImage[{segment}][{index}]", "image", data, "image/png"
    )


def _video(segment: int) -> ArtefactInput:
    data = mock_mp4(f"{segment:064x}")
    return make_artefact_input(f"Artifact:Videos.SegmentVideo[{segment}]", "video", data, "video/mp4")


def _timeline_inputs(segments: int) -> dict[str, Any]:
    music = make_artefact_input(
        "Artifact:Music.Music", "audio", write_tone_wav(12.0, period=40, amplitude=0.3), "audio/wav"
    )
    return {
        "Audio": [[sample_narration_audio(i, 2.0 + i)] for i in range(segments)],
        "Images": [[_image(i, 0), _image(i, 1)] for i in range(segments)],
        "Videos": [[_video(i)] for i in range(segments)],
        "Music": music,
        "MovieTitle": "Volcanoes",
        "Duration": 12,
        "Clips": [[sample_clip(i)] for i in range(segments)],
        "Captions": [[_NARRATION] for _ in range(segments)],
    }


def _shape(kind: str, segments: int) -> tuple[str, list[tuple[str, str]], dict[str, Any]]:
    """Job id, produced artefacts and inputs of one sample job of ``kind``."""
    narrations = [[_NARRATION] for _ in range(segments)]
    if kind == "script":
        produces = [("Artifact:Script.MovieTitle", "text"), ("Artifact:Script.MovieSummary", "text")]
        produces += [(f"Artifact:Script.NarrationScript[{i}]", "text") for i in range(segments)]
        inputs: dict[str, Any] = {"InquiryPrompt": _TOPIC, "Duration": 30, "NumOfSegments": segments}
        return "Producer:Script.ScriptWriter", produces, {**inputs, "Audience": "adult", "Language": "en"}
    if kind == "narration":
        inputs = {"Text": _NARRATION, "VoiceId": "default", "Language": "en", "Emotion": "neutral"}
        return "Producer:Narration.Narrator[0]", [("Artifact:Narration.SegmentAudio[0]", "audio")], inputs
    if kind == "image-prompt":
        produces = [(f"Artifact:ImagePrompts.ImagePrompt[0][{i}]", "text") for i in range(2)]
        inputs = {"NarrativeText": _NARRATION, "MovieSummary": "Volcanoes, explained.", "Style": "diagram"}
        return "Producer:ImagePrompts.ImagePromptWriter[0]", produces, {**inputs, "NumOfImages": 2}
    if kind == "image":
        inputs = {"Prompt": "A cutaway diagram of a volcano", "AspectRatio": "16:9"}
        return "Producer:Images.Illustrator[0][0]", [("Artifact:Images.SegmentImage[0][0]", "image")], inputs
    if kind == "video-prompt":
        inputs = {"NarrativeText": _NARRATION, "MovieSummary": "Volcanoes, explained.", "SegmentDuration": 5}
        return (
            "Producer:VideoPrompts.VideoPromptWriter[0]",
            [("Artifact:VideoPrompts.VideoPrompt[0]", "text")],
            inputs,
        )
    if kind == "video":
        inputs = {"Prompt": "Lava flowing at night", "AspectRatio": "16:9", "Resolution": "480p"}
        return "Producer:Videos.VideoGenerator[0]", [("Artifact:Videos.SegmentVideo[0]", "video")], inputs
    if kind == "music-prompt":
        inputs = {"NarrationScripts": narrations, "MovieSummary": "Volcanoes.", "Duration": 30}
        return (
            "Producer:MusicPrompt.MusicPromptWriter",
            [("Artifact:MusicPrompt.MusicPrompt", "text")],
            inputs,
        )
    if kind == "music":
        inputs = {"Prompt": "Slow, rumbling orchestral score", "Duration": 12}
        return "Producer:Music.Composer", [("Artifact:Music.Music", "audio")], inputs
    if kind == "clip":
        inputs = {
            "Narration": sample_narration_audio(0),
            "Images": [[_image(0, 0), _image(0, 1)]],
            "Text": _NARRATION,
            "Resolution": "480p",
            "AspectRatio": "16:9",
            "Style": "illustration",
        }
        return "Producer:Clips.SegmentRenderer[0]", [("Artifact:Clips.SegmentClip[0]", "video")], inputs
    if kind == "timeline":
        inputs = _timeline_inputs(segments)
        return "Producer:Timeline.TimelineComposer", [("Artifact:Timeline.Timeline", "json")], inputs
    if kind == "export":
        music = make_artefact_input(
            "Artifact:Music.Music", "audio", write_tone_wav(12.0, period=40, amplitude=0.3), "audio/wav"
        )
        inputs = {
            "Timeline": _sample_timeline(segments),
            "Clips": [[sample_clip(i)] for i in range(segments)],
            "Music": music,
            "Resolution": "480p",
            "AspectRatio": "16:9",
            "BurnSubtitles": False,
        }
        # Only the video by default (existing callers unpack one artefact); pass ``produces=`` with
        # EXPORT_PRODUCES for the module's full set (video, SubRip, WebVTT).
        return "Producer:Export.VideoExporter", [EXPORT_PRODUCES[0]], inputs
    raise ValueError(f"no sample for producer kind {kind!r}; known: {', '.join(SAMPLE_KINDS)}")


def sample_job_context(kind: str, *, segments: int = 2, **overrides: Any) -> JobContext:
    """A context like the runner would send for ``kind``; ``overrides`` go to :func:`make_job_context`."""
    job_id, produces, inputs = _shape(kind, segments)
    produces = overrides.pop("produces", produces)
    arguments: dict[str, Any] = {"job_id": job_id, "inputs": inputs, **overrides}
    return make_job_context(kind, produces, **arguments)
