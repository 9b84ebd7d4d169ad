"""The viewer in a real headless Chromium: the video loads, a segment click seeks, the diff view opens.

Uses Debian's ``chromium`` (``.ci/run`` installs it) driven by Playwright, never a downloaded browser.
Skipped on a machine without Chromium — except in CI (``CI=true``), where that is a failure.

The movie is built with the offline local providers (real speech, slides, ffmpeg): the mocks' final
video is a one-second placeholder, too short to show a seek to the third segment.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.cli.conftest import CliRunner
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.viewer.app import create_app

CHROMIUM = os.environ.get("TUTOPANDA_CHROMIUM", "/usr/bin/chromium")
MOVIE = "tides"

if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
    if os.environ.get("CI") == "true":
        pytest.fail(f"Chromium is missing at {CHROMIUM}: .ci/run should have installed it", pytrace=False)
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Page, sync_playwright  # noqa: E402 - only once a browser exists


@pytest.fixture
def movie(cli: CliRunner, root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TUTOPANDA_PROVIDERS", "live")  # the offline local providers and the real renderer
    made = cli("query", "How do tides work?", "--movie", MOVIE, "--segments", "3", "--duration", "15",
               "--resolution", "480p", "--json")  # fmt: skip
    assert made.code == 0, made.stderr
    edited = cli("query", "--movie", MOVIE, "--style", "watercolor", "--json")
    assert edited.code == 0, edited.stderr
    return root


@pytest.fixture
def server(movie: Path) -> Iterator[str]:
    app = create_app(StorageContext.open(StorageConfig(root=str(movie))))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started:
        assert time.monotonic() < deadline, "the viewer did not start"
        time.sleep(0.02)
    port = instance.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(server: str) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--mute-audio"])
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900})
        finally:
            browser.close()


@pytest.mark.slow  # starts Chromium and a server: ~28 s on 2 busy cores
def test_watch_seek_to_a_segment_and_compare_revisions(page: Page, server: str, tmp_path: Path) -> None:
    movie = page.context.request.get(f"{server}/api/movies/{MOVIE}").json()
    third = movie["segments"][2]

    page.goto(f"{server}/movies/{MOVIE}")
    page.wait_for_function("() => { const v = document.querySelector('#player'); "
                           "return v && (v.readyState >= 1 || v.error); }", timeout=15_000)  # fmt: skip
    assert page.evaluate("document.querySelector('#player').error") is None
    duration = page.evaluate("document.querySelector('#player').duration")
    assert duration == pytest.approx(movie["duration"], abs=0.5)

    page.click('.segment[data-segment="2"]')
    page.wait_for_function(
        f"() => Math.abs(document.querySelector('#player').currentTime - {third['start']}) < 0.25",
        timeout=10_000,
    )  # currentTime, not just the `seeked` event: without Range the seek would snap back to 0
    assert page.locator("#segment-text").inner_text().strip() == third["narration"].strip()

    page.select_option("#diff-from", "rev-0001")
    page.select_option("#diff-to", "rev-0002")
    page.click("#diff-show")
    page.wait_for_function("() => document.querySelector('#diff').textContent.includes('Input:Style')")
    assert "Artifact:Images.SegmentImage[0][0]" in page.locator("#diff").inner_text()

    shot = tmp_path / "movie-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
