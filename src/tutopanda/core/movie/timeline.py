"""The timeline document, and the pure layout rules the renderer and the composer must share.

Why in core: three jobs read the same layout — the clip renderer (Ken Burns moves of its stills), the
timeline composer (writes the document) and the exporter (subtitles, music plan). If each computed its
own presets or caption timing they would drift apart; here they are one set of pure functions.

The document (camelCase JSON, canonical bytes via :meth:`TimelineDocument.to_json_bytes`)::

    {id, movieTitle, duration, fps, width, height,
     segments: [{index, start, duration, clipArtefactId, narrationStart, narrationDuration}],
     tracks: [{id, kind: visual|narration|music|captions,
               clips: [{id, artefactId?, start, duration, kenBurns?, text?, volume?}]}],
     music: {artefactId, volume, duckingDb, loop} | null}

Rules checked by the models (times are seconds, rounded to milliseconds by the writers):

* segments are numbered 0..n-1, laid end to end from 0, and together last exactly ``duration``;
  each segment's narration window lies inside it;
* track ids and clip ids are unique; a track's clips are in time order, never overlap and end within
  ``duration``; caption clips carry ``text`` and no artefact, other clips carry an ``artefactId``;
  ``kenBurns`` only on visual clips, ``volume`` only on narration and music clips.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from tutopanda.core.store.hashing import canonical_json

__all__ = [
    "CAPTION_MAX_CHARS",
    "KEN_BURNS_PRESETS",
    "WORD_CUE_MAX_CHARS",
    "CaptionCue",
    "CaptionWord",
    "KenBurns",
    "MusicPlan",
    "TimelineClip",
    "TimelineDocument",
    "TimelineSegment",
    "TimelineTrack",
    "TrackKind",
    "cues_from_document",
    "ken_burns_for",
    "ms",
    "render_ass",
    "render_srt",
    "render_vtt",
    "split_caption_text",
    "time_cues",
    "word_cues",
]

TIME_EPSILON = 1e-6
"""Slack for comparing millisecond-rounded times (float sums of rounded values are not exact)."""

CAPTION_MAX_CHARS = 60
"""Longest caption cue (characters) before a sentence is split into clauses, then words."""

TrackKind = Literal["visual", "narration", "music", "captions"]


def ms(value: float) -> float:
    """``value`` rounded to milliseconds (the resolution every stored time has)."""
    return round(value, 3)


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


_Seconds = Field(ge=0, allow_inf_nan=False)


class KenBurns(_Model):
    """A still's camera move: zoom from ``from_scale`` to ``to_scale`` while the view's centre moves from
    (``from_x``, ``from_y``) to (``to_x``, ``to_y``), as fractions of the picture's width and height.

    Scale 1 shows the whole picture; at scale ``s`` the view is ``1/s`` of it, so its centre must stay
    within ``1/(2s)`` of every edge. Checking both ends is enough: linear moves stay inside in between.
    """

    from_scale: float = Field(ge=1, le=4, allow_inf_nan=False)
    to_scale: float = Field(ge=1, le=4, allow_inf_nan=False)
    from_x: float = Field(ge=0, le=1, allow_inf_nan=False)
    from_y: float = Field(ge=0, le=1, allow_inf_nan=False)
    to_x: float = Field(ge=0, le=1, allow_inf_nan=False)
    to_y: float = Field(ge=0, le=1, allow_inf_nan=False)

    @model_validator(mode="after")
    def _view_stays_inside(self) -> Self:
        for scale, x, y, end in (
            (self.from_scale, self.from_x, self.from_y, "start"),
            (self.to_scale, self.to_x, self.to_y, "end"),
        ):
            half = 1 / (2 * scale)
            if not (half - TIME_EPSILON <= x <= 1 - half + TIME_EPSILON) or not (
                half - TIME_EPSILON <= y <= 1 - half + TIME_EPSILON
            ):
                raise ValueError(f"the view at the {end} of the move leaves the picture (scale {scale})")
        return self


class CaptionWord(_Model):
    """One word of a caption and when it is spoken (seconds in the movie), for karaoke highlighting."""

    text: str = Field(min_length=1)
    start: float = _Seconds
    end: float = _Seconds


class TimelineClip(_Model):
    """One thing placed on a track: an artefact (picture, audio) or a caption ``text``."""

    id: str = Field(min_length=1)
    artefact_id: str | None = Field(default=None, min_length=1)
    start: float = _Seconds
    duration: float = Field(gt=0, allow_inf_nan=False)
    ken_burns: KenBurns | None = None
    text: str | None = Field(default=None, min_length=1)
    volume: float | None = Field(default=None, ge=0, le=4, allow_inf_nan=False)
    words: tuple[CaptionWord, ...] | None = None
    """Caption clips timed from speech: each word of ``text`` and when it is heard (movie seconds)."""

    @property
    def end(self) -> float:
        """When the clip stops."""
        return self.start + self.duration


class TimelineTrack(_Model):
    """A lane of clips of one kind, in time order, never overlapping."""

    id: str = Field(min_length=1)
    kind: TrackKind
    clips: tuple[TimelineClip, ...]

    @model_validator(mode="after")
    def _clips_fit_the_track(self) -> Self:
        for before, after in zip(self.clips, self.clips[1:], strict=False):
            if after.start + TIME_EPSILON < before.end:
                raise ValueError(f"clip {after.id!r} starts before clip {before.id!r} ends")
        for clip in self.clips:
            if self.kind == "captions":
                if clip.text is None or clip.artefact_id is not None:
                    raise ValueError(f"caption clip {clip.id!r} needs text and no artefactId")
            elif clip.artefact_id is None:
                raise ValueError(f"{self.kind} clip {clip.id!r} needs an artefactId")
            if clip.ken_burns is not None and self.kind != "visual":
                raise ValueError(f"clip {clip.id!r}: kenBurns belongs on visual tracks only")
            if clip.volume is not None and self.kind not in ("narration", "music"):
                raise ValueError(f"clip {clip.id!r}: volume belongs on narration and music tracks only")
        return self


class TimelineSegment(_Model):
    """One narration segment: its span in the movie, its rendered clip and where its speech is."""

    index: int = Field(ge=0)
    start: float = _Seconds
    duration: float = Field(gt=0, allow_inf_nan=False)
    clip_artefact_id: str | None = Field(default=None, min_length=1)
    """The segment's rendered clip (None when the layout was made before clips existed, e.g. mocks)."""
    narration_start: float = _Seconds
    narration_duration: float = _Seconds

    @property
    def end(self) -> float:
        """When the segment stops."""
        return self.start + self.duration

    @model_validator(mode="after")
    def _narration_inside(self) -> Self:
        if self.narration_start + TIME_EPSILON < self.start or (
            self.narration_start + self.narration_duration > self.end + TIME_EPSILON
        ):
            raise ValueError(f"segment {self.index}: the narration window leaves the segment")
        return self


class MusicPlan(_Model):
    """How the music bed is played: looped (shorter than the movie) or trimmed, its level and ducking."""

    artefact_id: str = Field(min_length=1)
    volume: float = Field(ge=0, le=4, allow_inf_nan=False)
    ducking_db: float = Field(ge=-60, le=0, allow_inf_nan=False)
    """How far the music dips under speech (dB, 0 = no ducking)."""
    loop: bool


class TimelineDocument(_Model):
    """The whole timeline; see the module docstring for the invariants checked."""

    id: str = Field(min_length=1)
    movie_title: str
    duration: float = _Seconds
    fps: int = Field(ge=1, le=240)
    width: int = Field(ge=2, le=8192)
    height: int = Field(ge=2, le=8192)
    segments: tuple[TimelineSegment, ...] = ()
    tracks: tuple[TimelineTrack, ...] = ()
    music: MusicPlan | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        track_ids = [track.id for track in self.tracks]
        if len(set(track_ids)) != len(track_ids):
            raise ValueError("track ids must be unique")
        clip_ids = [clip.id for track in self.tracks for clip in track.clips]
        if len(set(clip_ids)) != len(clip_ids):
            raise ValueError("clip ids must be unique")
        for track in self.tracks:
            for clip in track.clips:
                if clip.end > self.duration + TIME_EPSILON:
                    raise ValueError(f"clip {clip.id!r} ends after the timeline ({self.duration}s)")
        cursor = 0.0
        for position, segment in enumerate(self.segments):
            if segment.index != position:
                raise ValueError(f"segment {position} is numbered {segment.index}")
            if abs(segment.start - cursor) > TIME_EPSILON:
                raise ValueError(f"segment {position} starts at {segment.start}s, expected {ms(cursor)}s")
            cursor = segment.end
        if self.segments and abs(cursor - self.duration) > TIME_EPSILON:
            raise ValueError(f"the segments last {ms(cursor)}s but the timeline lasts {self.duration}s")
        return self

    def track(self, kind: TrackKind) -> tuple[TimelineTrack, ...]:
        """The tracks of ``kind``, in document order."""
        return tuple(track for track in self.tracks if track.kind == kind)

    def to_json_bytes(self) -> bytes:
        """Canonical JSON (sorted keys, no whitespace). A clip's unused optional fields are left out;
        everything else is always present (``clipArtefactId`` and ``music`` may be ``null``)."""
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True)
        for track in data["tracks"]:
            track["clips"] = [{k: v for k, v in clip.items() if v is not None} for clip in track["clips"]]
        return canonical_json(data).encode("utf-8")


# --- Ken Burns presets ---------------------------------------------------------------------------

KEN_BURNS_PRESETS: tuple[KenBurns, ...] = (
    KenBurns(from_scale=1.0, to_scale=1.12, from_x=0.5, from_y=0.5, to_x=0.5, to_y=0.5),
    KenBurns(from_scale=1.12, to_scale=1.12, from_x=0.45, from_y=0.5, to_x=0.55, to_y=0.5),
    KenBurns(from_scale=1.04, to_scale=1.16, from_x=0.485, from_y=0.485, to_x=0.54, to_y=0.54),
    KenBurns(from_scale=1.12, to_scale=1.0, from_x=0.5, from_y=0.5, to_x=0.5, to_y=0.5),
    KenBurns(from_scale=1.12, to_scale=1.12, from_x=0.55, from_y=0.5, to_x=0.45, to_y=0.5),
    KenBurns(from_scale=1.16, to_scale=1.04, from_x=0.54, from_y=0.54, to_x=0.485, to_y=0.485),
)
"""Six gentle moves: zoom in, pan right, diagonal zoom in, zoom out, pan left, diagonal zoom out."""


def ken_burns_for(segment: int, image: int) -> KenBurns:
    """The move of still ``image`` of ``segment``: ``(image - segment) mod 6``.

    Deterministic from the indices alone, so the clip job (which sees one segment) and the composer
    (which sees them all) agree. Consecutive stills of a segment differ, and with one still per segment
    consecutive segments walk through all six presets before repeating.
    """
    if segment < 0 or image < 0:
        raise ValueError("segment and image indices start at 0")
    return KEN_BURNS_PRESETS[(image - segment) % len(KEN_BURNS_PRESETS)]


# --- Caption cues --------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[.!?…][\"'”’)\]])\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:—–])\s+")


@dataclass(frozen=True)
class CaptionCue:
    """One subtitle: ``text`` shown from ``start`` to ``end`` (seconds)."""

    start: float
    end: float
    text: str
    words: tuple[tuple[str, float, float], ...] = ()
    """``(word, start, end)`` in seconds when the cue was timed from speech (else empty)."""


def _pack(pieces: Sequence[str], max_chars: int) -> list[str]:
    """Greedily join consecutive ``pieces`` with spaces while the result stays within ``max_chars``."""
    packed: list[str] = []
    for piece in pieces:
        if packed and len(packed[-1]) + 1 + len(piece) <= max_chars:
            packed[-1] = f"{packed[-1]} {piece}"
        else:
            packed.append(piece)
    return packed


def _split_words(clause: str, max_chars: int) -> list[str]:
    """``clause`` in about equal lines of whole words (no one-word orphan at the end)."""
    target = len(clause) / math.ceil(len(clause) / max_chars)
    lines: list[str] = []
    for word in clause.split(" "):
        grown = len(lines[-1]) + 1 + len(word) if lines else 0
        if lines and grown <= max_chars and grown - len(word) / 2 <= target:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _split_long(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    pieces: list[str] = []
    for clause in _CLAUSE_END.split(sentence):
        pieces.extend([clause] if len(clause) <= max_chars else _split_words(clause, max_chars))
    return _pack(pieces, max_chars)


def split_caption_text(text: str, max_chars: int = CAPTION_MAX_CHARS) -> list[str]:
    """Caption lines for ``text``: one per sentence, long sentences split at clauses, then words.

    Whitespace is normalised to single spaces and nothing else is lost: joining the result with spaces
    gives back ``" ".join(text.split())``. A single word longer than ``max_chars`` stays whole.
    """
    normalised = " ".join(text.split())
    if not normalised:
        return []
    lines: list[str] = []
    for sentence in _SENTENCE_END.split(normalised):
        # The separator consumes whitespace only; closing quotes stay with their sentence.
        lines.extend(_split_long(sentence.strip(), max_chars))
    return [line for line in lines if line]


def time_cues(
    lines: Sequence[str], start: float, duration: float, *, min_duration: float = 0.001
) -> list[CaptionCue]:
    """Time ``lines`` inside ``[start, start + duration]``, each lasting in proportion to its length.

    Cue edges are millisecond-rounded and cumulative (no drift): the first cue starts at ``start`` and
    the last ends at ``start + duration``. When the window is too short to give every line at least
    ``min_duration``, all lines become one cue (text is never dropped).
    """
    lines = [line for line in lines if line]
    if not lines or duration <= 0:
        return []
    if duration < min_duration * len(lines) or len(lines) == 1:
        return [CaptionCue(ms(start), ms(start + duration), " ".join(lines))]
    weights = [max(len(line), 1) for line in lines]
    total = sum(weights)
    edges = [ms(start)]
    running = 0
    for weight in weights[:-1]:
        running += weight
        edges.append(ms(start + duration * running / total))
    edges.append(ms(start + duration))
    if any(b - a < min_duration - TIME_EPSILON for a, b in itertools.pairwise(edges)):
        return [CaptionCue(edges[0], edges[-1], " ".join(lines))]
    return [CaptionCue(a, b, line) for a, b, line in zip(edges, edges[1:], lines, strict=False)]


WORD_CUE_MAX_CHARS = 42
"""Longest caption cue (characters) when cues are cut at spoken word times: a phrase, read at a glance."""

_WORD_CUE_MAX_WORDS = 8
_WORD_CUE_MIN_WORDS = 3
_WORD_CUE_HOLD = 0.4
_SENTENCE_TOKEN = re.compile(r"[.!?…][\"'”’)\]]*$")
_CLAUSE_TOKEN = re.compile(r"[,;:—–][\"'”’)\]]*$|^[—–]$")


def _balanced(tokens: Sequence[str], first: int, stop: int, max_chars: int) -> list[tuple[int, int]]:
    """``tokens[first:stop]`` in as few nearly equal runs as fit ``max_chars`` and the word limit."""
    length = sum(len(token) for token in tokens[first:stop]) + (stop - first - 1)
    parts = max(math.ceil(length / max_chars), math.ceil((stop - first) / _WORD_CUE_MAX_WORDS), 1)
    ranges: list[tuple[int, int]] = []
    start, used = first, 0
    for index in range(first, stop):
        used += len(tokens[index]) + (1 if index > first else 0)
        remaining = parts - len(ranges) - 1
        if remaining > 0 and index + 1 < stop and used >= length * (len(ranges) + 1) / parts:
            ranges.append((start, index + 1))
            start = index + 1
    ranges.append((start, stop))
    return ranges


def _phrases(tokens: Sequence[str], max_chars: int) -> list[tuple[int, int]]:
    """``[first, stop)`` token ranges: a new phrase after a sentence end and after a clause end once the
    phrase has a few words; a longer stretch is cut into nearly equal runs of whole words (no one-word
    orphan at the end of a sentence)."""
    stretches: list[tuple[int, int]] = []
    first = 0
    for index, token in enumerate(tokens):
        words = index - first + 1
        if _SENTENCE_TOKEN.search(token) or (_CLAUSE_TOKEN.search(token) and words >= _WORD_CUE_MIN_WORDS):
            stretches.append((first, index + 1))
            first = index + 1
    if first < len(tokens):
        stretches.append((first, len(tokens)))
    return [part for start, stop in stretches for part in _balanced(tokens, start, stop, max_chars)]


def word_cues(
    words: Sequence[tuple[str, float, float]],
    *,
    end: float | None = None,
    max_chars: int = WORD_CUE_MAX_CHARS,
) -> list[CaptionCue]:
    """Caption cues cut at spoken word times: phrases of a few whole words, each shown from its first
    word's start until the next phrase starts (or, after a pause, a short hold after its last word).

    ``words`` are ``(token, start, end)`` in seconds, in speaking order; ``end`` caps the last cue (the
    end of the narration window). Cue edges are millisecond-rounded, in order and never overlapping; a
    phrase that would last under a millisecond joins the one before it, so no word is dropped.
    """
    tokens = [token for token, _start, _end in words]
    cues: list[CaptionCue] = []
    ranges = _phrases(tokens, max_chars)
    for number, (first, stop) in enumerate(ranges):
        start = ms(words[first][1])
        spoken_end = max(word[2] for word in words[first:stop])
        following = ms(words[ranges[number + 1][0]][1]) if number + 1 < len(ranges) else None
        finish = spoken_end + _WORD_CUE_HOLD
        if following is not None:
            finish = min(max(finish, spoken_end), following)
        if end is not None:
            finish = min(finish, end)
        finish = ms(finish)
        timed = tuple((token, ms(a), ms(max(a, b))) for token, a, b in words[first:stop])
        text = " ".join(tokens[first:stop])
        if cues and (finish - start < 0.001 or start < cues[-1].end - TIME_EPSILON):
            last = cues[-1]
            cues[-1] = CaptionCue(
                last.start, max(last.end, finish), f"{last.text} {text}", last.words + timed
            )
            continue
        if finish - start < 0.001:
            finish = ms(start + 0.001)
        cues.append(CaptionCue(start, finish, text, timed))
    return cues


def cues_from_document(document: TimelineDocument) -> list[CaptionCue]:
    """The caption cues of ``document`` (every captions track, merged in time order)."""
    cues = [
        CaptionCue(
            clip.start,
            ms(clip.end),
            clip.text,
            tuple((word.text, word.start, word.end) for word in clip.words or ()),
        )
        for track in document.track("captions")
        for clip in track.clips
        if clip.text
    ]
    return sorted(cues, key=lambda cue: (cue.start, cue.end))


def _clock(seconds: float, separator: str) -> str:
    total_ms = max(0, round(seconds * 1000))
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _cue_text(text: str) -> str:
    # "-->" would end the timing line; a blank line would end the cue.
    return " ".join(text.replace("-->", "->").split())


def render_srt(cues: Sequence[CaptionCue]) -> str:
    """SubRip text: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, blank line between cues."""
    blocks = [
        f"{number}\n{_clock(cue.start, ',')} --> {_clock(cue.end, ',')}\n{_cue_text(cue.text)}\n"
        for number, cue in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def render_vtt(cues: Sequence[CaptionCue]) -> str:
    """WebVTT text: the ``WEBVTT`` header, then ``HH:MM:SS.mmm --> HH:MM:SS.mmm`` cues (HTML-escaped)."""
    blocks = ["WEBVTT\n"]
    for cue in cues:
        text = _cue_text(cue.text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        blocks.append(f"{_clock(cue.start, '.')} --> {_clock(cue.end, '.')}\n{text}\n")
    return "\n".join(blocks)


def _ass_clock(seconds: float) -> str:
    centis = max(0, round(seconds * 100))
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6000)
    secs, cs = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{cs:02d}"


def _ass_text(text: str) -> str:
    # Braces open override blocks and a backslash starts a tag: neither may come from the script.
    return " ".join(text.replace("\\", "/").replace("{", "(").replace("}", ")").split())


def render_ass(
    cues: Sequence[CaptionCue], *, width: int, height: int, font_size: int = 22, karaoke: bool = True
) -> str:
    """An Advanced SubStation Alpha script of ``cues`` for burning in with libass.

    With ``karaoke``, each cue that carries word times highlights its words as they are spoken (``\\k``
    tags: a word turns from white to gold at its start). ``PlayResY`` is 288 like libass's default for
    SubRip, so ``font_size`` means the same as for a burned ``.srt``.
    """
    play_y = 288
    play_x = max(1, round(play_y * width / max(height, 1)))
    lines = [
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {play_x}",
        f"PlayResY: {play_y}",
        "WrapStyle: 0",
        "ScaledBorderAndShadow: yes",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
        "Alignment, MarginL, MarginR, MarginV, Encoding",
        f"Style: Default,Roboto,{font_size},&H0000D7FF,&H00FFFFFF,&H00000000,&H80000000,"
        "0,0,0,0,100,100,0,0,1,2,0,2,16,16,28,1",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    for cue in cues:
        if karaoke and cue.words:
            parts = []
            clock = round(cue.start * 100)
            for index, (word, start, _end) in enumerate(cue.words):
                following = cue.words[index + 1][1] if index + 1 < len(cue.words) else cue.end
                begin = round(start * 100)
                if begin > clock:  # silence before the word: nothing lights up
                    parts.append(f"{{\\k{begin - clock}}}")
                    clock = begin
                stop = max(round(following * 100), clock)
                parts.append(f"{{\\k{stop - clock}}}{_ass_text(word)} ")
                clock = stop
            text = "".join(parts).rstrip()
        else:
            text = _ass_text(cue.text)
        lines.append(f"Dialogue: 0,{_ass_clock(cue.start)},{_ass_clock(cue.end)},Default,,0,0,0,,{text}")
    return "\n".join(lines) + "\n"
