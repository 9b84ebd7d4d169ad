"""Captions cut at spoken word times: phrases of whole words, timed to the speech, in the timeline."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tutopanda.core.movie.timeline import (
    WORD_CUE_MAX_CHARS,
    CaptionCue,
    cues_from_document,
    render_ass,
    render_srt,
    split_caption_text,
    word_cues,
)
from tutopanda.providers.local.espeak_engine import synthesise_espeak
from tutopanda.providers.local.speech_clip import WordTiming, read_word_timings
from tutopanda.providers.render.composer import ClipMeasure, compose_document
from tutopanda.providers.render.settings import TimelineSettings, parse_settings

TEXT = (
    "Deep below our feet, rock gets so hot that it melts. This melted rock is called magma, "
    "and it is lighter than the solid rock around it."
)


def _settings() -> TimelineSettings:
    return parse_settings(TimelineSettings, {"leadIn": 0.5, "tail": 1.0}, "ordered-timeline")


def _timed(text: str, step: float = 0.3) -> tuple[WordTiming, ...]:
    return tuple(
        WordTiming(w, round(i * step, 3), round(i * step + step * 0.8, 3)) for i, w in enumerate(text.split())
    )


def test_cues_are_phrases_of_whole_words_starting_when_their_first_word_is_spoken() -> None:
    words = _timed(TEXT)
    cues = word_cues([(w.text, w.start, w.stop) for w in words], end=20.0)
    assert " ".join(cue.text for cue in cues) == TEXT  # nothing lost, no word split
    assert all(len(cue.text) <= WORD_CUE_MAX_CHARS for cue in cues)
    assert [cue.text for cue in cues][:3] == [
        "Deep below our feet,",
        "rock gets so hot that it melts.",
        "This melted rock is called magma,",
    ]
    starts = {w.start for w in words}
    assert all(cue.start in starts for cue in cues)
    assert all(a.end <= b.start + 1e-9 for a, b in itertools.pairwise(cues))
    assert not any(len(cue.text.split()) == 1 for cue in cues)  # no orphan word


@given(
    st.lists(
        st.tuples(st.text(alphabet="abc,.!", min_size=1, max_size=12), st.floats(0, 0.5), st.floats(0, 0.5)),
        min_size=1,
        max_size=40,
    )
)
def test_word_cues_never_drop_reorder_or_overlap(rows: list[tuple[str, float, float]]) -> None:
    clock = 0.0
    words = []
    for token, gap, length in rows:
        clock += gap
        words.append((token, clock, clock + length))
        clock += length
    cues = word_cues(words, end=clock + 1)
    assert " ".join(cue.text for cue in cues) == " ".join(token for token, _a, _b in words)
    assert all(cue.end > cue.start for cue in cues)
    assert all(a.end <= b.start + 1e-6 for a, b in itertools.pairwise(cues))
    assert [w for cue in cues for w, _a, _b in cue.words] == [token for token, _a, _b in words]


def _document(words: tuple[WordTiming, ...] | None, spoken: float = 16.0):
    fps = 30
    frames = round((0.5 + spoken + 1.0) * fps)
    return compose_document(
        [ClipMeasure("Artifact:Clips.SegmentClip[0]", frames, fps, 320, 180)],
        [("Artifact:Narration.SegmentAudio[0]", spoken)],
        [TEXT],
        [[]],
        [[]],
        None,
        "Volcanoes",
        _settings(),
        [words],
    )


def test_the_timeline_cuts_captions_at_the_word_times_the_narration_carried() -> None:
    words = _timed(TEXT)
    document = _document(words)
    clips = [clip for track in document.track("captions") for clip in track.clips]
    assert len(clips) >= 5
    word_starts = {round(0.5 + w.start, 3) for w in words}
    assert all(clip.start in word_starts for clip in clips)
    assert clips[0].words is not None and clips[0].words[0].text == "Deep"
    cues = cues_from_document(document)
    assert " ".join(cue.text for cue in cues) == TEXT
    assert cues[1].words[0] == ("rock", round(0.5 + words[4].start, 3), round(0.5 + words[4].stop, 3))
    assert "00:00:00,500 --> " in render_srt(cues)


def test_without_matching_word_times_the_captions_are_spread_evenly() -> None:
    plain = _document(None)
    other = _document(_timed("Some other words entirely."))
    for document in (plain, other):
        clips = [clip for track in document.track("captions") for clip in track.clips]
        assert clips[0].start == 0.5 and clips[0].words is None
        assert [clip.text for clip in clips] == split_caption_text(TEXT)  # lines spread by length


def test_real_espeak_speech_times_the_captions() -> None:
    clip = synthesise_espeak(TEXT, "en-us", rate=160, pitch=50)
    words = read_word_timings(clip.to_wav())
    assert words is not None
    document = _document(words, spoken=clip.duration)
    cues = cues_from_document(document)
    assert " ".join(cue.text for cue in cues) == TEXT
    assert cues[0].start == 0.5
    assert cues[-1].end <= 0.5 + clip.duration + 0.001  # within the (millisecond) narration window
    # every cue starts at the spoken start of its first word
    by_word = iter(words)
    for cue in cues:
        first = next(w for w in by_word if w.text == cue.text.split()[0])
        assert abs(cue.start - (0.5 + first.start)) < 0.002
        for _ in cue.text.split()[1:]:
            next(by_word)


def _frame(ass: str, at: float, tmp_path: Path) -> np.ndarray[Any, np.dtype[np.uint8]]:
    import font_roboto
    import imageio_ffmpeg

    (tmp_path / "subs.ass").write_text(ass, encoding="utf-8")
    fonts = tmp_path / "fonts"
    if not fonts.exists():
        fonts.symlink_to(Path(font_roboto.Roboto).parent, target_is_directory=True)
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error",
        "-f", "lavfi", "-i", "color=c=black:s=640x360:r=10:d=3",
        "-vf", "subtitles=filename=subs.ass:fontsdir=fonts", "-ss", str(at), "-frames:v", "1",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, check=True)
    return np.frombuffer(done.stdout, dtype=np.uint8).reshape(360, 640, 3)


def _gold(frame: np.ndarray[Any, np.dtype[np.uint8]]) -> int:
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return int(((r > 200) & (g > 150) & (b < 80)).sum())


def _white(frame: np.ndarray[Any, np.dtype[np.uint8]]) -> int:
    return int((frame.min(axis=2) > 200).sum())


def test_karaoke_lights_each_word_as_it_is_spoken(tmp_path: Path) -> None:
    cue = CaptionCue(0.2, 2.8, "Magma rises", (("Magma", 0.4, 1.0), ("rises", 1.6, 2.4)))
    ass = render_ass([cue], width=640, height=360, karaoke=True)
    before, first, both = (_frame(ass, at, tmp_path) for at in (0.3, 1.2, 2.0))
    assert _gold(before) == 0 and _white(before) > 50  # shown, nothing spoken yet
    assert _gold(first) > 20 and _white(first) > 20  # "Magma" lit, "rises" still white
    assert _gold(both) > _gold(first) and _white(both) < _white(first)
    plain = render_ass([cue], width=640, height=360, karaoke=False)
    assert "\\k" not in plain and _gold(_frame(plain, 2.0, tmp_path)) > 0  # plain: one colour throughout


def test_the_exporter_burns_the_karaoke_script_when_asked() -> None:
    from tutopanda.providers.render.exporter import export_command
    from tutopanda.providers.render.settings import ExportSettings

    document = _document(_timed(TEXT))
    settings = parse_settings(ExportSettings, {"subtitleStyle": "karaoke"}, "mp4-exporter")
    command = export_command(
        document,
        settings,
        music=None,
        subtitles="subs.srt",
        burn=True,
        output="movie.mp4",
        burn_file="subs.ass",
    )
    graph = command[command.index("-filter_complex") + 1]
    assert "subtitles=filename=subs.ass" in graph
    assert command[command.index("-map", command.index("-map", command.index("-map") + 1) + 1) + 1].endswith(
        ":s"
    )
