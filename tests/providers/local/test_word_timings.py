"""Word timings: spoken by the local engines, carried inside the narration WAV, read back for captions."""

from __future__ import annotations

import io
import itertools
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from tutopanda.providers.local import piper_available
from tutopanda.providers.local.espeak_engine import synthesise_espeak
from tutopanda.providers.local.speech_alignment import expose_phoneme_durations, group_words, ipa_words
from tutopanda.providers.local.speech_clip import (
    SpeechClip,
    WordTiming,
    read_word_timings,
    with_word_timings,
)

from .conftest import read_wav

needs_piper = pytest.mark.skipif(not piper_available(), reason="the neural extra is not installed")

TEXT = "Volcanoes form where magma rises through the crust. It erupts in 1,200 ways!"


def _clip(words: tuple[WordTiming, ...]) -> SpeechClip:
    return SpeechClip("espeak-ng", "en-us", 22050, b"\x01\x00" * 22050, words=words)


def test_the_timings_chunk_round_trips_and_the_audio_is_unchanged() -> None:
    words = (WordTiming("Héllo,", 0.0, 0.42), WordTiming("world.", 0.5, 0.93))
    wav = _clip(words).to_wav()
    assert read_word_timings(wav) == words
    assert read_wav(wav)[2].tobytes() == read_wav(_clip(()).to_wav())[2].tobytes()
    assert wav[4:8] == (len(wav) - 8).to_bytes(4, "little")  # the RIFF size covers the new chunk


def test_a_wav_without_timings_or_a_damaged_one_reads_as_none(tmp_path: Path) -> None:
    plain = _clip(()).to_wav()
    assert read_word_timings(plain) is None
    assert read_word_timings(b"not a wav at all") is None
    damaged = with_word_timings(plain, (WordTiming("a", 0, 0.1),)).replace(b'"v":1', b'"v":9')
    assert read_word_timings(damaged) is None
    assert read_word_timings(plain[:-7] + b"tpwt\xff\xff\xff\x7f") is None  # a chunk past the end
    assert read_word_timings(tmp_path / "missing.wav") is None
    path = tmp_path / "clip.wav"
    path.write_bytes(_clip((WordTiming("a", 0, 0.1),)).to_wav())
    assert read_word_timings(path) == (WordTiming("a", 0, 0.1),)


def test_ffmpeg_still_decodes_a_wav_with_the_chunk(tmp_path: Path) -> None:
    import imageio_ffmpeg

    clip = synthesise_espeak("Rivers carry water to the sea.", "en-us", rate=160, pitch=50)
    source = tmp_path / "narration.wav"
    source.write_bytes(clip.to_wav())
    out = tmp_path / "decoded.wav"
    done = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-y",
            "-i",
            str(source),
            "-c:a",
            "pcm_s16le",
            str(out),
        ],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with wave.open(str(out), "rb") as reader:
        decoded = reader.readframes(reader.getnframes())
    assert decoded == clip.pcm


def test_espeak_times_every_token_of_the_text_in_order() -> None:
    clip = synthesise_espeak("Magma rises — slowly, then fast. 1,200 ways!", "en-us", rate=160, pitch=50)
    words = read_word_timings(clip.to_wav())
    assert words is not None
    assert [w.text for w in words] == ["Magma", "rises", "—", "slowly,", "then", "fast.", "1,200", "ways!"]
    starts = [w.start for w in words]
    assert starts == sorted(starts) and starts[0] == 0
    assert all(w.start <= w.stop <= clip.duration + 1e-3 for w in words)


def test_ipa_words_skip_punctuation_and_markers() -> None:
    alignment = [("^", 10), ("a", 5), ("b", 5), (" ", 2), (",", 8), (" ", 2), ("c", 4), (".", 6), ("$", 3)]
    assert ipa_words(alignment) == [(10, 20), (32, 36)]


def test_tokens_take_their_ipa_words_exactly_or_in_proportion() -> None:
    spans = [(0, 10), (12, 20), (22, 30), (31, 40)]
    assert group_words([1, 2, 1], spans) == [(0, 10), (12, 30), (31, 40)]
    proportional = group_words([1, 1], spans)  # the counts disagree with the spans: spread, in order
    assert proportional == [(0, 20), (22, 40)]
    silent = group_words([1, 0, 3], spans)
    assert silent[1][0] == silent[1][1] == silent[2][0]


def test_marking_the_duration_tensor_adds_one_graph_output() -> None:
    def field(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    node = field(1, b"x") + field(2, b"/Ceil_output_0") + field(4, b"Ceil")
    graph = field(1, node) + field(12, field(1, b"output"))
    model = b"\x08\x07" + field(7, graph) + field(14, b"tail")
    patched = expose_phoneme_durations(model)
    assert patched.startswith(b"\x08\x07") and patched.endswith(field(14, b"tail"))
    assert field(12, field(1, b"/Ceil_output_0")) in patched
    with pytest.raises(ValueError, match="already"):
        expose_phoneme_durations(patched)
    with pytest.raises(ValueError):
        expose_phoneme_durations(b"\x08\x07" + field(14, b"no graph"))


def _pocketsphinx_words(clip: SpeechClip) -> list[tuple[str, float, float]]:
    from pocketsphinx import Decoder

    samples = np.frombuffer(clip.pcm, dtype="<i2").astype(np.float64)
    count = int(len(samples) * 16000 / clip.sample_rate)
    resampled = np.interp(np.arange(count) * clip.sample_rate / 16000, np.arange(len(samples)), samples)
    decoder = Decoder(samprate=16000, loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw(resampled.astype("<i2").tobytes(), full_utt=True)
    decoder.end_utt()
    return [
        (seg.word.split("(")[0], seg.start_frame / 100, (seg.end_frame + 1) / 100)
        for seg in decoder.seg()
        if seg.word not in ("<s>", "</s>", "<sil>", "[NOISE]") and not seg.word.startswith("++")
    ]


@pytest.mark.slow  # Piper plus the recogniser: about 12 s on 2 busy cores
@needs_piper
def test_piper_word_times_are_ordered_inside_the_audio_and_match_a_recogniser() -> None:
    from tutopanda.providers.local.piper_engine import synthesise_piper

    clip = synthesise_piper(TEXT, rate=160)
    words = read_word_timings(clip.to_wav())
    assert words is not None and [w.text for w in words] == TEXT.split()
    assert all(a.start <= b.start and a.stop <= b.start + 1e-3 for a, b in itertools.pairwise(words))
    assert all(0 <= w.start <= w.stop <= clip.duration for w in words)
    assert words[-1].stop > clip.duration - 1.0  # the last word ends near the end of the speech
    heard = _pocketsphinx_words(clip)
    ours = {w.text.strip(".,!").lower(): w.start for w in words}
    errors = [abs(ours[word] - start) for word, start, _end in heard if word in ours]
    assert len(errors) >= 5, heard
    assert float(np.median(errors)) < 0.15, (heard, words)


def test_a_wav_is_read_by_the_standard_library_despite_the_chunk() -> None:
    wav = _clip((WordTiming("a", 0, 0.1),)).to_wav()
    with wave.open(io.BytesIO(wav), "rb") as reader:
        assert reader.getnframes() == 22050
