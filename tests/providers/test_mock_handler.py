"""Mock handlers: deterministic, valid artefacts for every kind, knobs, failure injection, call records."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tutopanda.core.engine.provider_contract import JobContext, JobResult
from tutopanda.core.errors import ProviderConfigError, ProviderError, RateLimitedError
from tutopanda.providers import ProviderRegistry
from tutopanda.providers.mock import (
    MOCK_CALL_LOG_ENV,
    MOCK_KINDS,
    MOCK_OPTIONS_ENV,
    MockCallCounter,
    MockHandler,
    MockOptions,
    read_call_log,
)
from tutopanda.providers.mock.mp4 import read_top_level_boxes
from tutopanda.providers.mock.png import check_png
from tutopanda.providers.mock.wav import read_wav_info
from tutopanda.testing import SAMPLE_KINDS, check_payload, make_job_context, sample_job_context


def _run(context: JobContext, handler: MockHandler | None = None) -> JobResult:
    return asyncio.run((handler or MockHandler()).produce(context))


def _payloads(result: JobResult) -> dict[str, bytes]:
    return {artefact.artefact_id: artefact.data or b"" for artefact in result.artefacts}


def test_every_bundled_kind_has_a_mock_and_a_sample() -> None:
    assert set(SAMPLE_KINDS) == MOCK_KINDS


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_same_inputs_give_identical_bytes_whatever_the_job_attempt_or_knobs(kind: str) -> None:
    first = _run(sample_job_context(kind))
    again = _run(
        sample_job_context(kind, job_id="Producer:Other", attempt=2, revision="rev-0009", config={"mock": {}})
    )
    assert _payloads(first) == _payloads(again)
    assert first.diagnostics["digest"] == again.diagnostics["digest"]


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_different_inputs_give_different_bytes(kind: str) -> None:
    context = sample_job_context(kind)
    changed_inputs = {**context.inputs, "Extra": "something new"}
    base = _payloads(_run(context))
    assert base != _payloads(_run(sample_job_context(kind, inputs=changed_inputs)))
    assert base != _payloads(_run(sample_job_context(kind, prompt="another template")))
    assert base != _payloads(_run(sample_job_context(kind, config={"quality": "high"})))
    assert base != _payloads(_run(sample_job_context(kind, model="another-model")))


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_every_artefact_is_valid_for_its_kind(kind: str) -> None:
    context = sample_job_context(kind)
    kinds = dict(context.produces)
    result = _run(context)
    assert [a.artefact_id for a in result.artefacts] == list(context.artefact_ids)
    for artefact in result.artefacts:
        assert artefact.status == "succeeded"
        check_payload(artefact.data or b"", artefact.mime_type, kinds[artefact.artefact_id])
    assert result.cost == 0.0


def test_script_texts_follow_the_produced_artefacts_not_fixed_names() -> None:
    produces = [("Artifact:S.Headline", "text"), ("Artifact:S.Blurb", "text")]
    produces += [(f"Artifact:S.Part[{i}]", "text") for i in range(3)] + [("Artifact:S.Outline", "json")]
    context = make_job_context(
        "script", produces, inputs={"InquiryPrompt": "Why is the sky blue?", "Duration": 60}
    )
    result = _run(context)
    by_id = {a.artefact_id: a for a in result.artefacts}
    parts = [(by_id[f"Artifact:S.Part[{i}]"].data or b"").decode() for i in range(3)]
    assert [part.split(":")[0] for part in parts] == ["Part 1", "Part 2", "Part 3"]
    assert len(set(parts)) == 3
    assert all(abs(len(part.split()) - 60 * 2.5 / 5) <= 1 for part in parts)  # 5 texts share the minute
    assert by_id["Artifact:S.Outline"].mime_type == "application/json"
    assert json.loads(by_id["Artifact:S.Outline"].data or b"")["artefactId"] == "Artifact:S.Outline"


def test_a_movie_title_and_summary_are_recognised_by_name() -> None:
    by_id = _payloads(_run(sample_job_context("script")))
    assert by_id["Artifact:Script.MovieTitle"].decode() == "How do volcanoes erupt: an explainer"
    assert "2 parts" in by_id["Artifact:Script.MovieSummary"].decode()


@pytest.mark.parametrize(("words", "seconds"), [(1, 1.0), (5, 2.0), (25, 10.0)])
def test_narration_lasts_about_two_and_a_half_words_a_second(words: int, seconds: float) -> None:
    context = sample_job_context("narration", inputs={"Text": " ".join(["word"] * words)})
    (audio,) = _run(context).artefacts
    info = read_wav_info(audio.data or b"")
    assert info.duration == pytest.approx(seconds)
    assert (info.sample_width, info.channels, info.sample_rate) == (2, 1, 8000)
    assert audio.diagnostics["durationSeconds"] == seconds


def test_music_lasts_its_duration_input_or_thirty_seconds() -> None:
    (timed,) = _run(sample_job_context("music")).artefacts
    assert read_wav_info(timed.data or b"").duration == 12
    (default,) = _run(sample_job_context("music", inputs={"Prompt": "calm"})).artefacts
    assert read_wav_info(default.data or b"").duration == 30


def test_sample_rate_is_a_knob() -> None:
    (audio,) = _run(sample_job_context("music", config={"mock": {"sampleRate": 4000}})).artefacts
    assert read_wav_info(audio.data or b"").sample_rate == 4000


@pytest.mark.parametrize(("aspect", "size"), [("16:9", (64, 36)), ("9:16", (36, 64)), ("1:1", (48, 48))])
def test_images_follow_the_aspect_ratio(aspect: str, size: tuple[int, int]) -> None:
    (image,) = _run(sample_job_context("image", inputs={"Prompt": "x", "AspectRatio": aspect})).artefacts
    info = check_png(image.data or b"")
    assert (info.width, info.height) == size
    assert info.text["mock"] == image.diagnostics["digest"]


def test_videos_and_exports_are_mp4s_differing_only_in_their_free_box() -> None:
    (video,) = _run(sample_job_context("video")).artefacts
    (export,) = _run(sample_job_context("export")).artefacts
    video_boxes = read_top_level_boxes(video.data or b"")
    assert video_boxes[-1][0] == "free"
    assert (video.data or b"")[: video_boxes[-1][1]] == (export.data or b"")[: video_boxes[-1][1]]
    assert video.data != export.data


# --- knobs --------------------------------------------------------------------------------------


def test_latency_sleeps_asynchronously(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    _run(sample_job_context("image", config={"mock": {"latency": 0.25}}))
    _run(sample_job_context("image"), MockHandler(options=MockOptions(latency=0.5)))
    _run(sample_job_context("image"))
    assert slept == [0.25, 0.5]


def _thread_hops(monkeypatch: pytest.MonkeyPatch, context: JobContext) -> int:
    """How many times producing ``context`` went to a thread (and check it succeeded)."""
    hops: list[str] = []
    real_to_thread = asyncio.to_thread

    async def counting_to_thread(function: object, *args: object, **kwargs: object) -> object:
        hops.append(context.kind)
        return await real_to_thread(function, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(asyncio, "to_thread", counting_to_thread)
    result = _run(context)
    assert all(artefact.status == "succeeded" for artefact in result.artefacts)
    return len(hops)


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_only_a_timeline_is_built_off_the_event_loop(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread hop per artefact cost more than making a tiny PNG or WAV (a 1,000-segment build makes
    3,000 of them); a timeline reads its narrations' WAV headers, which must not block the loop."""
    assert _thread_hops(monkeypatch, sample_job_context(kind)) == (1 if kind == "timeline" else 0)


def test_long_audio_is_built_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's Duration has no cap: an hour of music takes a second to make, not on the loop."""
    short = sample_job_context("music", inputs={"Duration": 30})
    long = sample_job_context("music", inputs={"Duration": 3600})
    assert _thread_hops(monkeypatch, short) == 0
    assert _thread_hops(monkeypatch, long) == 1


def test_listed_jobs_fail_every_time() -> None:
    context = sample_job_context(
        "image", config={"mock": {"failJobs": ["Producer:Images.Illustrator[0][0]"]}}
    )
    with pytest.raises(ProviderError) as caught:
        _run(context)
    assert not caught.value.retryable
    retryable = sample_job_context(
        "image", config={"mock": {"failJobs": [context.job_id], "failRetryable": True}}
    )
    with pytest.raises(ProviderError) as caught:
        _run(retryable)
    assert caught.value.retryable


def test_the_first_attempts_fail_with_a_retryable_error() -> None:
    options = MockOptions(fail_first_attempts=2)
    handler = MockHandler(options=options)
    for attempt in (1, 2):
        with pytest.raises(ProviderError) as caught:
            _run(sample_job_context("narration", attempt=attempt), handler)
        assert caught.value.retryable
    assert _run(sample_job_context("narration", attempt=3), handler).artefacts[0].status == "succeeded"


def test_rate_limits_carry_retry_after() -> None:
    context = sample_job_context("music", config={"mock": {"rateLimitFirstAttempts": 1, "retryAfter": 2.5}})
    with pytest.raises(RateLimitedError) as caught:
        _run(context)
    assert caught.value.retry_after == 2.5 and caught.value.retryable


def test_random_failures_are_reproducible_from_the_seed() -> None:
    def outcomes(seed: int) -> list[bool]:
        results = []
        for index in range(40):
            config = {"mock": {"failureRate": 0.5, "seed": seed}}
            context = sample_job_context("image-prompt", job_id=f"Producer:P[{index}]", config=config)
            try:
                _run(context)
                results.append(True)
            except ProviderError as exc:
                assert exc.retryable
                results.append(False)
        return results

    first = outcomes(7)
    assert first == outcomes(7)
    assert first != outcomes(8)
    assert 5 < first.count(False) < 35


def test_listed_artefacts_fail_or_come_back_empty() -> None:
    config = {
        "mock": {
            "failArtefacts": ["Artifact:Script.MovieTitle"],
            "emptyArtefacts": ["Artifact:Script.MovieSummary"],
        }
    }
    by_id = {a.artefact_id: a for a in _run(sample_job_context("script", config=config)).artefacts}
    title, summary = by_id["Artifact:Script.MovieTitle"], by_id["Artifact:Script.MovieSummary"]
    assert (title.status, title.data, title.error) == ("failed", None, "mock failure injected")
    assert (summary.status, summary.data) == ("succeeded", b"")
    assert by_id["Artifact:Script.NarrationScript[0]"].data


def test_limits_come_from_the_constructor_options() -> None:
    assert MockHandler().limits.key == "mock"
    assert MockHandler().limits.max_in_flight is None
    limited = MockHandler(options=MockOptions(max_in_flight=2, requests_per_minute=30))
    assert (limited.limits.max_in_flight, limited.limits.requests_per_minute) == (2, 30)


def test_estimated_cost_is_zero() -> None:
    assert MockHandler().estimate_cost("video", {}, 3) == 0.0


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"mock": {"latencyy": 1}}, "latencyy"),
        ({"mock": {"failureRate": 2}}, "failureRate"),
        ({"mock": "fast"}, "must be a mapping"),
    ],
)
def test_invalid_knobs_are_config_errors(config: dict[str, object], problem: str) -> None:
    with pytest.raises(ProviderConfigError, match=problem):
        _run(sample_job_context("image", config=config))


def test_knobs_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        MOCK_OPTIONS_ENV, json.dumps({"failJobs": ["Producer:Music.Composer"], "maxInFlight": 3})
    )
    handler = MockHandler()
    assert handler.limits.max_in_flight == 3
    with pytest.raises(ProviderError):
        _run(sample_job_context("music"), handler)
    assert MockHandler(options=MockOptions()).limits.max_in_flight is None  # explicit options win
    monkeypatch.setenv(MOCK_OPTIONS_ENV, "{not json")
    with pytest.raises(ProviderConfigError, match=MOCK_OPTIONS_ENV):
        MockHandler()


# --- call records -------------------------------------------------------------------------------


def test_the_counter_records_every_call_including_failures() -> None:
    counter = MockCallCounter()
    handler = MockHandler("openai", "gpt", options=MockOptions(fail_first_attempts=1), counter=counter)

    async def run_all() -> None:
        contexts = [
            sample_job_context("narration", job_id=f"Producer:N[{i}]", attempt=2, provider="openai")
            for i in range(5)
        ]
        await asyncio.gather(*(handler.produce(context) for context in contexts))

    asyncio.run(run_all())
    with pytest.raises(ProviderError):
        _run(sample_job_context("image", attempt=1), handler)
    assert counter.count() == 6
    assert counter.count(kind="narration") == 5
    assert counter.count(job_id="Producer:N[3]") == 1
    assert counter.attempts("Producer:Images.Illustrator[0][0]") == [1]
    assert counter.job_ids()[-1] == "Producer:Images.Illustrator[0][0]"
    assert counter.calls[0].provider == "openai"
    counter.reset()
    assert counter.count() == 0


def test_the_registry_handlers_share_the_test_counter(
    registry: ProviderRegistry, counter: MockCallCounter
) -> None:
    handler = registry.resolve("openai", "gpt", "local", "mock", "script")
    asyncio.run(handler.produce(sample_job_context("script")))
    assert counter.count(kind="script") == 1


_CHILD = """
import asyncio, sys
from tutopanda.providers.mock import MockHandler
from tutopanda.testing import sample_job_context
for i in range(20):
    context = sample_job_context("image-prompt", job_id=f"Producer:P{sys.argv[1]}[{i}]")
    asyncio.run(MockHandler().produce(context))
"""


def test_the_call_log_collects_calls_from_concurrent_processes(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    env = {**os.environ, MOCK_CALL_LOG_ENV: str(log)}
    children = [subprocess.Popen([sys.executable, "-c", _CHILD, str(n)], env=env) for n in range(3)]
    assert [child.wait(timeout=120) for child in children] == [0, 0, 0]
    records = read_call_log(log)
    assert len(records) == 60
    assert {record["kind"] for record in records} == {"image-prompt"}
    assert len({record["pid"] for record in records}) == 3
    assert len({record["jobId"] for record in records}) == 60
    assert all(set(record) == {"jobId", "kind", "attempt", "pid"} for record in records)
    assert read_call_log(tmp_path / "absent.jsonl") == []


@pytest.mark.parametrize(
    ("value", "changed"),
    [
        (b"raw bytes", b"other bytes"),
        ({1: "int key", "a": "str key"}, {1: "int key", "a": "other"}),  # unsortable keys
        ({"nested": [1.5, {"deep": ("tuple", None)}]}, {"nested": [2.5, {"deep": ("tuple", None)}]}),
        (Path("some/where.txt"), Path("else/where.txt")),
    ],
)
def test_inputs_the_json_encoder_cannot_write_still_digest_by_value(value: object, changed: object) -> None:
    def digest(item: object) -> object:
        return _run(sample_job_context("image", inputs={"Prompt": "a fox", "Extra": item})).diagnostics[
            "digest"
        ]

    assert digest(value) == digest(value)
    assert digest(value) != digest(changed)


def test_a_nan_input_fails_the_mock_call_as_the_engine_refuses_it() -> None:
    with pytest.raises(ValueError, match="NaN"):
        _run(sample_job_context("image", inputs={"Prompt": "a fox", "Extra": float("nan")}))
