"""The OpenAI-compatible route against a real chat-completions server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tutopanda.core.errors import ProviderConfigError, ProviderError
from tutopanda.providers.writers.backend import WriterUnavailableError
from tutopanda.providers.writers.chain import WriterChainHandler
from tutopanda.providers.writers.choice import choose_writer, probe_server, writer_hints
from tutopanda.providers.writers.openai_compatible import (
    CompatibleBackend,
    forget_dialects,
    remembered_dialect,
)
from tutopanda.providers.writers.validation import script_schema

from .fakes import FakeChatServer, unused_base_url
from .test_chain import script_context

MESSAGES = [{"role": "system", "content": "Answer JSON."}, {"role": "user", "content": "Hi"}]


@pytest.fixture(autouse=True)
def _fresh_dialects() -> Iterator[None]:
    forget_dialects()
    yield
    forget_dialects()


def _reply(messages: object) -> str:
    return '{"title": "t", "summary": "s", "segments": ["a", "b", "c"]}'


def test_json_schema_is_tried_first_and_the_placeholder_key_is_sent() -> None:
    with FakeChatServer(_reply) as server:
        backend = CompatibleBackend(server.base_url, "llama3.2")
        assert backend.generate(MESSAGES, schema=script_schema(3)).startswith('{"title"')
    assert server.dialects() == ["json_schema"]
    sent = server.requests[0]["response_format"]
    assert sent["json_schema"]["schema"]["properties"]["segments"]["maxItems"] == 3
    assert server.headers[0]["authorization"] == "Bearer not-needed"
    assert backend.dialect == "json_schema"


@pytest.mark.parametrize("status", [400, 500])
def test_a_refused_json_schema_falls_back_to_json_object_with_the_schema_and_is_remembered(
    status: int,
) -> None:
    with FakeChatServer(_reply, refuse={"json_schema": status}) as server:
        backend = CompatibleBackend(server.base_url, "llama3.2")
        backend.generate(MESSAGES, schema=script_schema(3))
        assert server.dialects() == ["json_schema", "json_object"]
        assert server.requests[1]["response_format"]["schema"] == script_schema(3)
        assert remembered_dialect(server.base_url, "llama3.2") == "json_object"
        CompatibleBackend(server.base_url, "llama3.2").generate(MESSAGES, schema=script_schema(3))
        assert server.dialects() == ["json_schema", "json_object", "json_object"]


def test_a_server_refusing_both_schema_dialects_gets_a_plain_prompt() -> None:
    with FakeChatServer(_reply, refuse={"json_schema": 400, "json_object": 422}) as server:
        CompatibleBackend(server.base_url, "llama3.2").generate(MESSAGES, schema=script_schema(3))
    assert server.dialects() == ["json_schema", "json_object", "plain"]
    assert "response_format" not in server.requests[2]


def test_an_unreachable_server_is_one_line_with_a_hint() -> None:
    with pytest.raises(WriterUnavailableError) as caught:
        CompatibleBackend(unused_base_url(), "llama3.2", timeout=5).generate(
            MESSAGES, schema=script_schema(1)
        )
    assert caught.value.message.startswith("no OpenAI-compatible server answers at http://127.0.0.1:")
    assert "\n" not in caught.value.message and "ollama serve" in (caught.value.hint or "")


def test_a_server_answering_html_is_one_line_with_a_hint() -> None:
    with FakeChatServer(non_json=True) as server, pytest.raises(WriterUnavailableError) as caught:
        CompatibleBackend(server.base_url, "llama3.2").generate(MESSAGES, schema=script_schema(1))
    assert "not chat-completions JSON (text/html)" in caught.value.message
    assert "/v1" in (caught.value.hint or "")


def test_an_unknown_model_names_the_pull_command_and_the_key_never_leaks() -> None:
    with FakeChatServer(_reply) as server, pytest.raises(WriterUnavailableError) as caught:
        CompatibleBackend(server.base_url, "mistral", api_key="sk-secret-123").generate(MESSAGES)
    assert "ollama pull mistral" in (caught.value.hint or "")
    assert "sk-secret-123" not in f"{caught.value.message} {caught.value.hint}"
    assert server.headers[0]["authorization"] == "Bearer sk-secret-123"


def test_bad_base_urls_are_refused_before_any_request() -> None:
    for url in ("ftp://host/v1", "localhost:11434", "http://user:pw@host/v1"):
        with pytest.raises(ProviderConfigError):
            CompatibleBackend(url, "m")


def _produce(handler: WriterChainHandler, config: dict[str, object]) -> object:
    return asyncio.run(handler.produce(script_context(config=config)))


def test_the_handler_writes_a_real_script_through_the_server() -> None:
    from .fakes import good_reply

    with FakeChatServer(good_reply, refuse={"json_schema": 500}) as server:
        handler = WriterChainHandler("openai-compatible", "llama3.2", environ={})
        result = _produce(handler, {"baseUrl": server.base_url})
    assert result.diagnostics["dialect"] == "json_object"  # type: ignore[attr-defined]
    assert result.diagnostics["writerBackend"] == f"llama3.2 at {server.base_url}"  # type: ignore[attr-defined]
    assert all(a.status == "succeeded" for a in result.artefacts)  # type: ignore[attr-defined]


def test_a_broken_server_falls_back_whole_when_allowed_and_fails_cleanly_when_selected() -> None:
    handler = WriterChainHandler("openai-compatible", "llama3.2", environ={})
    with FakeChatServer(non_json=True) as server:
        result = _produce(handler, {"baseUrl": server.base_url, "fallback": True})
        assert result.diagnostics["writer"] == "local/draft-script"  # type: ignore[attr-defined]
        assert all(  # nothing half-written: every artefact is the draft's
            a.diagnostics["writer"] == "local/draft-script"
            for a in result.artefacts  # type: ignore[attr-defined]
        )
        with pytest.raises(ProviderError) as caught:
            _produce(handler, {"baseUrl": server.base_url})
    assert "not chat-completions JSON" in caught.value.message and "\n" not in caught.value.message
    with pytest.raises(ProviderError, match="no OpenAI-compatible server answers"):
        _produce(handler, {"baseUrl": unused_base_url()})


class _Store:
    def __init__(self, pulled: set[str]) -> None:
        self.pulled = pulled

    def path_of(self, name: str) -> Path | None:
        return Path(f"/models/{name}.gguf") if name in self.pulled else None


def test_choose_writer_prefers_a_running_server_and_takes_its_first_model() -> None:
    with FakeChatServer(models=["qwen2.5:7b", "llama3.2"]) as server:
        assert probe_server(server.base_url) == ["qwen2.5:7b", "llama3.2"]
        choice = choose_writer({}, {"OPENAI_BASE_URL": server.base_url + "/"}, _Store(set()), llama=False)
    assert (choice.provider, choice.model) == ("openai-compatible", "qwen2.5:7b")
    assert choice.config == {"baseUrl": server.base_url, "fallback": True}
    assert choice.describe().startswith(
        "script writer: openai-compatible/qwen2.5:7b (OpenAI-compatible server"
    )
    assert choice.variant_for("image-prompt") == ("openai-compatible", "qwen2.5:7b")


def test_choose_writer_skips_a_server_that_does_not_answer_and_says_so() -> None:
    url = unused_base_url()
    choice = choose_writer({"baseUrl": url, "model": "llama3.2"}, {}, _Store(set()), llama=False)
    assert choice.draft and choice.variant_for("music-prompt") == ("local", "template-prompts")
    assert f"no OpenAI-compatible server answers at {url}" in choice.reason
    assert any("tutopanda models pull qwen2.5-1.5b-instruct" in hint for hint in choice.how_to_enable)
    assert any("pip install 'tutopanda[llm]'" in hint for hint in choice.how_to_enable)
    assert any(
        "OPENAI_API_KEY" in hint and "Script=openai/gpt-5-mini" in hint for hint in choice.how_to_enable
    )


def test_choose_writer_uses_the_pulled_default_model_never_the_small_one() -> None:
    pulled = choose_writer({}, {}, _Store({"qwen2.5-1.5b-instruct"}), llama=True)
    assert (pulled.provider, pulled.model) == ("local", "qwen2.5-1.5b-instruct")
    small = choose_writer({}, {}, _Store({"qwen2.5-0.5b-instruct"}), llama=True)
    assert small.draft
    no_extra = choose_writer({}, {}, _Store({"qwen2.5-1.5b-instruct"}), llama=False)
    assert no_extra.draft and "llama-cpp-python is not installed" in no_extra.reason
    assert writer_hints(llama=True, model_pulled=True)[2].endswith("Script=local/qwen2.5-1.5b-instruct")


@pytest.mark.parametrize(
    "url",
    ["api.example.com/v1?api_key=SECRET123", "ftp://me:SECRET123@host/v1", "localhost:8080/v1#SECRET123"],
)
def test_a_base_url_that_is_not_http_is_refused_without_quoting_what_may_be_a_key(url: str) -> None:
    from tutopanda.providers.writers.openai_compatible import check_base_url

    with pytest.raises(ProviderConfigError, match="is not an http") as refused:
        check_base_url(url, "OPENAI_BASE_URL")
    assert "SECRET123" not in refused.value.message and "SECRET123" not in (refused.value.hint or "")
