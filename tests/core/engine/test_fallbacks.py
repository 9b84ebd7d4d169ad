"""Fallback variants: when the chosen provider fails a job, the next variant of its chain runs it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.core.engine.conftest import RecordingHandler
from tutopanda.core.blueprint import expand, load_blueprint
from tutopanda.core.engine.build import BuildReport, run_build
from tutopanda.core.engine.provider_contract import EnvSecretResolver, JobContext, JobResult
from tutopanda.core.engine.runner import RunOptions
from tutopanda.core.errors import BlueprintError, ProviderAccountError, ProviderConfigError
from tutopanda.core.movie.definition import define_movie
from tutopanda.core.store.event_log import artefact_log
from tutopanda.core.store.storage import StorageContext

ELEVEN = ("elevenlabs", "eleven_multilingual_v2")


class Refusing(RecordingHandler):
    """Fails every call; with ``account`` as a refused key (which stops the run)."""

    account: bool = False

    async def produce(self, context: JobContext) -> JobResult:
        if self.account:
            self.calls.append(context.job_id)
            raise ProviderAccountError("key refused")
        return await super().produce(context)


def _run(ctx: StorageContext, movie: str, handlers: dict[str, Any], secrets: dict[str, str]) -> BuildReport:
    def resolve(provider: str, model: str, kind: str) -> Any:
        return handlers.get(provider, handlers["*"])

    return run_build(
        ctx,
        movie,
        resolver=resolve,
        options=RunOptions(mode="mock", backoff_base=0.001, max_attempts=2),
        secrets=EnvSecretResolver(secrets),
    )


@pytest.fixture
def narrated(ctx: StorageContext, movie: str) -> str:
    define_movie(
        ctx, movie, blueprint="image-audio", values={"NumOfSegments": 2}, selection={"Narration": ELEVEN}
    )
    return movie


def test_a_failing_cloud_voice_falls_back_to_the_next_one_and_the_events_say_so(
    ctx: StorageContext, narrated: str
) -> None:
    eleven = Refusing(provider="elevenlabs", model="eleven_multilingual_v2", fail={}, retryable=True)
    eleven.fail = {f"Producer:Narration.Narrator[{i}]": 99 for i in range(2)}
    openai = RecordingHandler(provider="openai", model="gpt-4o-mini-tts")
    report = _run(ctx, narrated, {"elevenlabs": eleven, "openai": openai, "*": RecordingHandler()}, {})

    assert report.failed == []
    assert eleven.count("Narrator") == 4  # two attempts for each of the two segments
    assert openai.count("Narrator") == 2
    events = [e for e in artefact_log(ctx, narrated) if e.artefact_id.startswith("Artifact:Narration")]
    succeeded = [e for e in events if e.status == "succeeded"]
    assert {(e.provider, e.model) for e in succeeded} == {("openai", "gpt-4o-mini-tts")}
    assert all(e.diagnostics["fallbackFrom"] == "elevenlabs/eleven_multilingual_v2" for e in succeeded)
    assert {e.provider for e in events if e.status == "failed"} == {"elevenlabs"}
    outcome = next(o for o in report.outcomes if o.job_id == "Producer:Narration.Narrator[0]")
    assert (outcome.provider, outcome.status, outcome.attempts) == ("openai", "succeeded", 3)


def test_a_fallback_to_another_provider_reads_with_its_own_voice_not_the_first_ones_id(
    ctx: StorageContext, movie: str
) -> None:
    define_movie(
        ctx,
        movie,
        blueprint="image-audio",
        values={"NumOfSegments": 1, "VoiceId": "EXAVITQu4vr4xnSDxMaL"},  # an ElevenLabs voice id
        selection={"Narration": ELEVEN},
    )
    voices: dict[str, object] = {}

    class Voices(RecordingHandler):
        async def produce(self, context: JobContext) -> JobResult:
            if context.kind == "narration":
                voices[context.provider] = context.inputs.get("VoiceId")
            return await super().produce(context)

    eleven = Voices(provider="elevenlabs", model="eleven_multilingual_v2", fail={}, retryable=True)
    eleven.fail = {"Producer:Narration.Narrator[0]": 99}
    openai = Voices(provider="openai", model="gpt-4o-mini-tts")
    report = _run(ctx, movie, {"elevenlabs": eleven, "openai": openai, "*": RecordingHandler()}, {})

    assert report.failed == []
    assert voices == {"elevenlabs": "EXAVITQu4vr4xnSDxMaL", "openai": "default"}


def test_a_fallback_without_its_secret_is_skipped_and_the_job_fails(
    ctx: StorageContext, narrated: str
) -> None:
    eleven = Refusing(provider="elevenlabs", model="eleven_multilingual_v2")
    eleven.fail = {f"Producer:Narration.Narrator[{i}]": 99 for i in range(2)}

    class Keyed(RecordingHandler):
        needs_secrets = ("OPENAI_API_KEY",)

    openai = Keyed(provider="openai", model="gpt-4o-mini-tts")
    report = _run(ctx, narrated, {"elevenlabs": eleven, "openai": openai, "*": RecordingHandler()}, {})
    assert {o.job_id for o in report.failed} >= {"Producer:Narration.Narrator[0]"}
    assert openai.calls == []


def test_an_account_refusal_stops_the_run_instead_of_falling_back(ctx: StorageContext, narrated: str) -> None:
    eleven = Refusing(provider="elevenlabs", model="eleven_multilingual_v2")
    eleven.account = True
    openai = RecordingHandler(provider="openai", model="gpt-4o-mini-tts")
    report = _run(ctx, narrated, {"elevenlabs": eleven, "openai": openai, "*": RecordingHandler()}, {})
    assert report.stopped is not None and openai.calls == []


def test_only_variants_in_a_chain_get_fallbacks() -> None:
    blueprint = load_blueprint("image-audio")
    local = expand(blueprint, {"NumOfSegments": 1})
    assert all(not job.fallbacks for job in local.jobs)  # an offline voice never turns into a paid call
    cloud = expand(blueprint, {"NumOfSegments": 1}, {"Narration": ELEVEN})
    narrator = next(job for job in cloud.jobs if job.module == "Narration")
    assert [(v.provider, v.model) for v in narrator.fallbacks_for("local")] == [("openai", "gpt-4o-mini-tts")]
    assert narrator.to_dict()["fallbacks"] == {"*": ["openai/gpt-4o-mini-tts"]}


PRODUCER = """
producer: Speaker
kind: narration
inputs: [{name: Text, type: string}]
artefacts: [{name: Audio, kind: audio}]
variants:
  - {provider: local, model: espeak-ng}
  - {provider: elevenlabs, model: eleven_multilingual_v2}
"""


@pytest.mark.parametrize(
    ("fallbacks", "message"),
    [
        (
            "fallbacks: [elevenlabs/eleven_multilingual_v3]",
            "did you mean 'elevenlabs/eleven_multilingual_v2'",
        ),
        ("fallbacks: {moon: [local/espeak-ng]}", "fallbacks for unknown environment 'moon'"),
        ("fallbacks: [local/espeak-ng, local/espeak-ng]", "is listed twice"),
    ],
)
def test_bad_fallbacks_are_located_blueprint_errors(fallbacks: str, message: str, tmp_path: Path) -> None:
    text = (
        "meta: {id: t, name: T}\ninputs: [{name: Text, type: string, default: hi}]\n"
        "modules:\n  - name: Voice\n    define:\n"
        + "\n".join("      " + line for line in (PRODUCER + fallbacks).strip().splitlines())
        + "\n    inputs: {Text: Text}\n"
    )
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BlueprintError) as caught:
        load_blueprint(str(path))
    assert message in caught.value.message + (caught.value.hint or "")
    assert "t.yaml:" in caught.value.message


def test_throttles_from_configs_are_decided_up_front_and_the_strictest_wins() -> None:
    from tutopanda.core.engine.runner import config_throttles

    graph = expand(load_blueprint("image-audio"), {"NumOfSegments": 1}, {"Narration": ELEVEN})
    narrator = next(job for job in graph.jobs if job.module == "Narration")

    def with_config(config: dict[str, Any]) -> Any:
        return replace(narrator, variant=replace(narrator.variant, config=config))

    jobs = [with_config({"maxInFlight": 5}), with_config({"maxInFlight": 3, "requestsPerMinute": 60})]
    assert config_throttles(jobs) == {"elevenlabs": (3, 60)}
    assert config_throttles([with_config({})]) == {}
    for bad in ({"maxInFlight": 0}, {"maxInFlight": "5"}, {"requestsPerMinute": -1}, {"maxInFlight": True}):
        with pytest.raises(ProviderConfigError) as caught:
            config_throttles([with_config(bad)])
        assert narrator.id in caught.value.message
