"""The provider contract suite against every local handler, as the runner would call them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tutopanda.core.engine.provider_contract import JobContext, ProviderHandler
from tutopanda.providers.local import (
    DraftScriptHandler,
    SlidesHandler,
    SpeechHandler,
    SynthHandler,
    TemplatePromptsHandler,
    piper_available,
)
from tutopanda.testing import ProviderContractTests, sample_job_context


def _sample(kind: str, model: str, **overrides: Any) -> JobContext:
    return sample_job_context(kind, provider="local", model=model, mode="live", **overrides)


class TestEspeakNarration(ProviderContractTests):
    def make_handler(self) -> ProviderHandler:
        return SpeechHandler("local", "espeak-ng", "local")

    def sample_contexts(self) -> Sequence[JobContext]:
        return [_sample("narration", "espeak-ng", config={"engine": "espeak", "wordsPerMinute": 160})]

    def failing_contexts(self) -> Sequence[JobContext]:
        return [
            _sample("narration", "espeak-ng", inputs={"Text": "Hi.", "VoiceId": "nope", "Language": "en"}),
            _sample("narration", "espeak-ng", inputs={"Text": " ", "VoiceId": "default", "Language": "en"}),
            _sample("narration", "espeak-ng", config={"engine": "festival"}),
        ]


class TestAutoNarration(ProviderContractTests):
    """Piper when the neural extra is installed, eSpeak NG otherwise."""

    def make_handler(self) -> ProviderHandler:
        return SpeechHandler("local", "espeak-ng", "local")

    def sample_contexts(self) -> Sequence[JobContext]:
        return [_sample("narration", "espeak-ng", config={"wordsPerMinute": 170})]

    def failing_contexts(self) -> Sequence[JobContext]:
        if piper_available():
            return [_sample("narration", "espeak-ng", config={"engine": "piper", "wordsPerMinute": 5})]
        return [_sample("narration", "espeak-ng", config={"engine": "piper"})]


class TestSlides(ProviderContractTests):
    def make_handler(self) -> ProviderHandler:
        return SlidesHandler("local", "slides", "local")

    def sample_contexts(self) -> Sequence[JobContext]:
        return [
            _sample("image", "slides"),
            _sample("image", "slides", inputs={"Prompt": "", "Resolution": "480p", "AspectRatio": "1:1"}),
        ]


class TestSynth(ProviderContractTests):
    def make_handler(self) -> ProviderHandler:
        return SynthHandler("local", "synth", "local")

    def sample_contexts(self) -> Sequence[JobContext]:
        return [_sample("music", "synth")]

    def failing_contexts(self) -> Sequence[JobContext]:
        return [_sample("music", "synth", config={"mood": "furious"})]


class TestDraftScript(ProviderContractTests):
    def make_handler(self) -> ProviderHandler:
        return DraftScriptHandler("local", "draft-script", "local")

    def sample_contexts(self) -> Sequence[JobContext]:
        return [_sample("script", "draft-script", segments=3)]


class TestTemplatePrompts(ProviderContractTests):
    def make_handler(self) -> ProviderHandler:
        return TemplatePromptsHandler("local", "template-prompts", "local")

    def sample_contexts(self) -> Sequence[JobContext]:
        return [
            _sample(kind, "template-prompts") for kind in ("image-prompt", "music-prompt", "video-prompt")
        ]
