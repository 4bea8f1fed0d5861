"""Issue 16 in a real Chromium: a manager uploads a draft, watches the replay's progress, reads the
report and downloads the moved contacts; then reads the guidance versions. axe finds nothing.

The run is held back until the progress page has been checked (the seeded window replays in well
under a second), then released: the page's script, under the CSP nonce, polls the progress and
shows the report when the run finishes.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.services.test_whatif import raised_draft, seed_window
from triage.web import guidance as guidance_pages

pytestmark = pytest.mark.browser


@pytest.fixture
def window(app, people, make_person):
    return seed_window(app, people, make_person)


def test_a_manager_tries_a_draft_sees_progress_reads_the_report_and_downloads_it(
        app, people, window, pages, tmp_path, monkeypatch):
    held = []
    real_start = guidance_pages._start
    monkeypatch.setattr(guidance_pages, "_start", lambda *args: held.append(args))
    draft = raised_draft(tmp_path)

    page = pages.new_page()
    pages.sign_in(page, people["manager"])
    page.goto("/guidance/what-if")
    expect(page.get_by_role("heading", name="What if the guidance changed?")).to_be_visible()
    pages.check(page, "what-if-form")
    page.get_by_label("Draft guidance").set_input_files(str(draft))
    page.get_by_label("Contacts received from").fill("2026-10-01")
    page.get_by_label("to (included)").fill("2026-10-31")
    page.get_by_role("button", name="Run the what-if").click()
    page.wait_for_load_state()

    # Waiting: the progress bar and its words.
    expect(page.locator("#progress-text")).to_contain_text("0 of 9 contacts replayed")
    expect(page.locator("progress#progress-bar")).to_have_attribute("max", "9")
    pages.check(page, "what-if-progress")
    assert len(held) == 1
    real_start(*held[0])
    run_id = held[0][1]
    guidance_pages.RUNNING[run_id].join(timeout=120)

    # The script sees the run finish and shows the report.
    expect(page.get_by_role("heading", name="Summary")).to_be_visible(timeout=20_000)
    summary = page.locator(".govuk-summary-list").inner_text()
    assert "5 (5 raised, 0 lowered)" in summary
    expect(page.get_by_role("heading", name="Decisions that would sit below the draft's floor (3)")).to_be_visible()
    expect(page.locator("svg[role=img]").first).to_be_visible()
    pages.check(page, "what-if-report")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the moved contacts").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert len(rows) >= 5 and {"Contact", "Floor under the draft", "For a manager to look at"} <= set(rows[0])

    page.get_by_role("link", name="Guidance", exact=True).click()
    expect(page.get_by_role("heading", name="Threshold guidance versions")).to_be_visible()
    expect(page.get_by_text("2026.1").first).to_be_visible()
    pages.check(page, "guidance-versions")
