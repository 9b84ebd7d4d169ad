"""Ctrl-C during a live call: the task is cancelled promptly, nothing is left behind, nothing is retried.

The runner cancels in-flight jobs on Ctrl-C; each handler must let ``asyncio.CancelledError`` through
(never turn it into a provider error the runner would retry) and must not leave temporary files.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import respx

from tests.providers.live import test_elevenlabs as eleven
from tests.providers.live import test_openai as openai
from tutopanda.core.engine.provider_contract import JobContext, ProviderHandler
from tutopanda.providers import HandlerSpec
from tutopanda.providers.live.elevenlabs import build_handler as build_elevenlabs
from tutopanda.providers.live.openai_text import OpenAITextHandler


class _Hang:
    """A provider that accepts the request and never answers (until the test gives up)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.calls = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        self.started.set()
        await asyncio.sleep(30)
        return httpx.Response(500)


CASES: dict[str, tuple[str, Callable[[], ProviderHandler], Callable[[], JobContext]]] = {
    "openai-text": (
        f"{openai.API}/responses",
        lambda: OpenAITextHandler("openai", "gpt-5-mini", "local"),
        lambda: openai.text_context("script"),
    ),
    "elevenlabs-speech": (
        f"{eleven.TTS}/{eleven.VOICE}",
        lambda: build_elevenlabs(HandlerSpec("elevenlabs", "eleven_flash_v2_5", "local", "live")),
        lambda: eleven.speech_context(),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_cancelling_a_call_in_flight_propagates_and_leaves_no_file(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, make_handler, make_context = CASES[case]
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    handler, context = make_handler(), make_context()

    async def scenario() -> None:
        hang = _Hang()
        with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
            router.post(url).mock(side_effect=hang)
            task = asyncio.create_task(handler.produce(context))
            await asyncio.wait_for(hang.started.wait(), timeout=5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=5)
            assert hang.calls == 1  # no retry behind the runner's back

    asyncio.run(scenario())
    assert list(tmp_path.iterdir()) == []
