"""Editing from the page in a real headless Chromium, against ``tutopanda viewer --allow-edits`` run as
a user runs it (mock providers): edit segment 2's narration, read the plan, confirm, watch the build's
progress, land on the new revision and read its diff.

Uses Debian's ``chromium`` driven by Playwright (never a downloaded browser); skipped without it,
except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.cli.conftest import CliRunner
from tests.viewer.conftest import live_server, viewer_process
from tutopanda.core.store.storage import StorageConfig, StorageContext
from tutopanda.viewer.app import create_app
from tutopanda.viewer.editing import Editor

CHROMIUM = os.environ.get("TUTOPANDA_CHROMIUM", "/usr/bin/chromium")
MOVIE = "tides"
NEW_TEXT = "The moon pulls the ocean towards it, and the water climbs the beach twice a day."

if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
    if os.environ.get("CI") == "true":
        pytest.fail(f"Chromium is missing at {CHROMIUM}: .ci/run should have installed it", pytrace=False)
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402 - only once a browser exists

pytestmark = pytest.mark.slow


def _edit_segment_two(page: Page, shots: Path, *, paid: bool = False) -> None:
    page.click('.segment[data-segment="1"]')
    expect(page.locator("#edit-heading")).to_have_text("Edit segment 2")
    page.click("#edit-open")
    narration = page.locator("#edit-fields textarea[data-key='NarrationScript']")
    expect(narration).to_have_value(re.compile(r"^Part 2"))
    narration.fill(NEW_TEXT)
    page.click("#edit-preview")
    plan = page.locator("#edit-plan")
    expect(plan).to_be_visible()
    page.locator("#segment-details").screenshot(path=str(shots / "plan.png"))
    expect(plan.locator("h4")).to_have_text("Plan for rev-0002 (from rev-0001)")
    expect(plan.locator(".edit-plan-summary")).to_contain_text("8 of 17 jobs re-run")
    narrator = plan.locator('tr[data-job="Producer:Narration.Narrator[1]"]')
    expect(narrator).to_contain_text("upstream changed: Script.NarrationScript[1]")
    jobs = plan.locator("tr[data-job]").evaluate_all("rows => rows.map(row => row.dataset.job)")
    assert not [job for job in jobs if re.search(r"[A-Za-z]\[[02]\]", job)]  # segments 1 and 3 are kept
    assert page.locator("#edit-accept-cost").count() == (1 if paid else 0)  # mock: nothing to tick


def test_edit_a_narration_see_the_plan_confirm_and_read_the_diff(
    cli: CliRunner, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = cli("query", "How do tides work?", "--movie", MOVIE, "--segments", "3", "--json")
    assert made.code == 0, made.stderr
    # The viewer's build is slowed down (each mock call waits) so the page has a build to watch.
    monkeypatch.setenv("TUTOPANDA_MOCK_OPTIONS", '{"latency": 0.4}')
    with viewer_process(root, "--allow-edits", "--movie", MOVIE) as viewer, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"http://127.0.0.1:{viewer.port}/movies/{MOVIE}")
            expect(page.locator("#mock-banner")).to_contain_text("Mock movie")
            _edit_segment_two(page, tmp_path)

            page.click("#edit-confirm")
            result = page.locator("#edit-result")
            expect(result).to_contain_text(re.compile(r"Building rev-0002: \d+ of 17 jobs done"))
            page.screenshot(path=str(tmp_path / "progress.png"))
            expect(result).to_have_attribute("data-state", "built", timeout=60_000)
            expect(result).to_contain_text("Built rev-0002: 8 job(s) run")
            assert result.get_attribute("data-states") == "running built"

            expect(page.locator("#meta .meta-revision")).to_have_text("rev-0002")
            expect(page.locator("#segment-text")).to_have_text(NEW_TEXT)
            diff = page.locator("#diff")
            expect(diff).to_have_attribute("data-to", "rev-0002")
            expect(diff).to_have_attribute("data-from", "rev-0001")
            narration = diff.locator('.diff-item[data-id="Artifact:Script.NarrationScript[1]"]')
            expect(narration.locator("ins")).to_contain_text("moon pulls the ocean")
            expect(narration.locator("del")).to_contain_text("Part 2")
            picture = diff.locator('.diff-item[data-id="Artifact:Images.SegmentImage[1][0]"] .media-diff img')
            expect(picture).to_have_count(2)
            loaded = "i => i.complete && i.naturalWidth > 0"  # both revisions' pictures were served
            page.wait_for_function(f"() => [...document.querySelectorAll('.media-diff img')].every({loaded})")
            page.locator("#revisions-section").screenshot(path=str(tmp_path / "diff.png"))
        finally:
            browser.close()
    assert (tmp_path / "diff.png").stat().st_size > 10_000


def test_a_paid_plan_is_run_only_once_its_cost_is_ticked(
    cli: CliRunner, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page shows what a paid plan costs and which providers it pays, and runs it only once ticked."""
    made = cli("query", "How do tides work?", "--movie", MOVIE, "--segments", "3", "--json")
    assert made.code == 0, made.stderr
    ctx = StorageContext.open(StorageConfig(root=str(root)))
    editor = Editor(ctx, providers="mock")
    monkeypatch.setattr(editor, "_paid", lambda plan: {"Narration": "elevenlabs/eleven_v3"})
    with live_server(create_app(ctx, editor=editor)) as port, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/movies/{MOVIE}")
            _edit_segment_two(page, tmp_path, paid=True)
            confirm = page.locator("#edit-confirm")
            expect(confirm).to_be_disabled()
            expect(page.locator(".edit-paid")).to_contain_text("paid online providers (Narration: elevenlabs")
            expect(page.locator(".edit-paid")).to_contain_text("I accept its estimated cost $")
            page.locator("#segment-details").screenshot(path=str(tmp_path / "paid.png"))
            page.check("#edit-accept-cost")
            expect(confirm).to_be_enabled()
            confirm.click()
            expect(page.locator("#edit-result")).to_have_attribute("data-state", "built", timeout=60_000)
        finally:
            browser.close()
