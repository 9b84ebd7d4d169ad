"""The chain handler: validate, retry once with the fault fed back, then fall back (or fail when chosen)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tutopanda.core.engine.provider_contract import JobContext, JobResult
from tutopanda.core.errors import ProviderConfigError, ProviderError
from tutopanda.providers.writers.backend import TextBackend, WriterUnavailableError
from tutopanda.providers.writers.chain import WriterChainHandler, WriterSpec
from tutopanda.testing.job_context import make_job_context

from .fakes import FRENCH, FakeBackend, good_reply, script_json

PROMPTS = Path(__file__).parents[3] / "src" / "tutopanda" / "blueprints" / "prompts"


def script_context(
    segments: int = 3, duration: int = 60, language: str = "en", config: Mapping[str, Any] | None = None
) -> JobContext:
    produces = [("Artifact:Script.MovieTitle", "text"), ("Artifact:Script.MovieSummary", "text")]
    produces += [(f"Artifact:Script.NarrationScript[{i}]", "text") for i in range(segments)]
    inputs = {
        "InquiryPrompt": "How do volcanoes erupt?",
        "Duration": duration,
        "NumOfSegments": segments,
        "Audience": "teen",
        "Language": language,
    }
    return make_job_context(
        "script",
        produces,
        inputs=inputs,
        provider="openai-compatible",
        model="llama3.2",
        mode="live",
        config=config or {},
        prompt=(PROMPTS / "writer-script.txt").read_text(encoding="utf-8"),
        job_id="Producer:Script.ScriptWriter",
    )


def handler(backends: dict[str, TextBackend | Exception]) -> WriterChainHandler:
    def factory(spec: WriterSpec, environ: Mapping[str, str]) -> TextBackend:
        found = backends.get(spec.label)
        if found is None:
            raise WriterUnavailableError(f"{spec.label} is not here")
        if isinstance(found, Exception):
            raise found
        return found

    return WriterChainHandler("openai-compatible", "llama3.2", backend_factory=factory, environ={})


def run(h: WriterChainHandler, context: JobContext) -> JobResult:
    return asyncio.run(h.produce(context))


def texts(result: JobResult) -> dict[str, str]:
    return {a.artefact_id.rsplit(".", 1)[1]: (a.data or b"").decode() for a in result.artefacts}


def test_a_good_answer_is_used_and_says_which_writer_wrote_it() -> None:
    backend = FakeBackend([good_reply])
    result = run(handler({"openai-compatible/llama3.2": backend}), script_context())
    got = texts(result)
    assert got["MovieTitle"] == "How volcanoes erupt"
    assert {f"NarrationScript[{i}]" for i in range(3)} <= set(got)
    assert result.diagnostics["writer"] == "openai-compatible/llama3.2"
    assert all(a.status == "succeeded" and a.diagnostics["writer"] for a in result.artefacts)
    assert len(backend.calls) == 1
    system, user = backend.calls[0][0]["content"], backend.calls[0][1]["content"]
    assert "exactly 3 segments" in system and "about 50 words" in system
    assert "How do volcanoes erupt?" in user and "teen" in user


@pytest.mark.parametrize(
    "bad",
    [
        "this is not json",
        script_json(2, 50),  # wrong segment count
        script_json(3, 4),  # far too short
        script_json(3, 50).replace('"How volcanoes erupt"', '""'),  # empty title
    ],
)
def test_a_bad_answer_is_retried_once_with_the_fault(bad: str) -> None:
    backend = FakeBackend([bad, good_reply])
    result = run(handler({"openai-compatible/llama3.2": backend}), script_context())
    assert result.diagnostics["attempts"] == 2
    assert len(backend.calls) == 2
    feedback = backend.calls[1][-1]["content"]
    assert feedback.startswith("That answer cannot be used:")


def test_wrong_language_twice_falls_back_to_the_local_model_then_reports_it() -> None:
    english = FakeBackend([script_json(3, 50)])
    local = FakeBackend([lambda messages: script_json(3, 50, FRENCH, "Les volcans")], name="llama.cpp qwen")
    context = script_context(language="fr", config={"fallback": True, "baseUrl": "http://127.0.0.1:9/v1"})
    result = run(
        handler({"openai-compatible/llama3.2": english, "local/qwen2.5-1.5b-instruct": local}), context
    )
    assert len(english.calls) == 2
    assert result.diagnostics["writer"] == "local/qwen2.5-1.5b-instruct"
    assert result.diagnostics["fallbackFrom"] == "openai-compatible/llama3.2"
    assert "not 'fr'" in result.diagnostics["writerFailures"][0]
    assert texts(result)["MovieTitle"] == "Les volcans"


def test_nothing_available_gives_the_marked_draft_when_falling_back_is_allowed() -> None:
    result = run(handler({}), script_context(config={"fallback": True}))
    got = texts(result)
    assert got["MovieTitle"].startswith("Draft:")
    assert result.diagnostics["draft"] is True
    assert result.diagnostics["writer"] == "local/draft-script"
    assert len(result.diagnostics["writerFailures"]) == 2


def test_a_writer_the_user_selected_fails_the_job_cleanly_instead_of_falling_back() -> None:
    backend = FakeBackend(["nope", "still nope"])
    with pytest.raises(ProviderError) as caught:
        run(handler({"openai-compatible/llama3.2": backend}), script_context())
    assert "not a JSON object" in caught.value.message
    assert "\n" not in caught.value.message and not caught.value.retryable
    with pytest.raises(ProviderError, match="is not here"):
        run(handler({}), script_context())


def test_prompt_jobs_use_the_same_chain_and_fall_back_to_template_prompts() -> None:
    produces = [
        ("Artifact:ImagePrompts.ImagePrompt[0][0]", "text"),
        ("Artifact:ImagePrompts.ImagePrompt[0][1]", "text"),
    ]
    inputs = {
        "NarrativeText": "Magma rises through cracks. Gas bubbles expand and push it out of the vent.",
        "MovieSummary": "How volcanoes erupt.",
        "Style": "watercolor",
        "Audience": "adult",
        "NumOfImages": 2,
    }
    context = make_job_context(
        "image-prompt",
        produces,
        inputs=inputs,
        provider="openai-compatible",
        model="llama3.2",
        mode="live",
        prompt=(PROMPTS / "writer-image-prompt.txt").read_text(encoding="utf-8"),
        config={"fallback": True},
    )
    backend = FakeBackend([good_reply])
    result = run(handler({"openai-compatible/llama3.2": backend}), context)
    assert [a.data for a in result.artefacts] == [
        b"A cutaway drawing of a volcano, picture 1, warm light",
        b"A cutaway drawing of a volcano, picture 2, warm light",
    ]
    assert "watercolor" in backend.calls[0][1]["content"]
    fallback = run(handler({}), context)
    assert fallback.diagnostics["writer"] == "local/template-prompts"
    assert all(a.status == "succeeded" and a.data for a in fallback.artefacts)


def test_music_prompt_reads_the_fan_in_narration() -> None:
    context = make_job_context(
        "music-prompt",
        [("Artifact:MusicPrompt.MusicPrompt", "text")],
        inputs={
            "NarrationScripts": [["First part about magma."], ["Second part about ash."]],
            "MovieSummary": "Volcanoes.",
            "MusicalStyle": "calm piano",
            "Duration": 30,
        },
        provider="openai-compatible",
        model="llama3.2",
        mode="live",
        prompt=(PROMPTS / "writer-music-prompt.txt").read_text(encoding="utf-8"),
    )
    backend = FakeBackend(
        [json.dumps({"prompts": ["Soft calm piano, slow tempo, warm and curious, no vocals."]})]
    )
    result = run(handler({"openai-compatible/llama3.2": backend}), context)
    assert result.artefacts[0].data == b"Soft calm piano, slow tempo, warm and curious, no vocals."
    assert "Second part about ash." in backend.calls[0][1]["content"]


def test_unknown_config_keys_are_refused_with_a_suggestion() -> None:
    h = WriterChainHandler("openai-compatible", "llama3.2")
    h.check_config("script", {"baseUrl": "http://x/v1", "fallback": True, "maxInFlight": 1})
    with pytest.raises(ProviderConfigError, match="unknown config key 'baseURL'") as caught:
        h.check_config("script", {"baseURL": "http://x/v1"})
    assert "did you mean 'baseUrl'" in (caught.value.hint or "")
