"""A real server and a real Chromium for the journeys: Debian's chromium, driven by Playwright.

The app runs in a server thread on a free localhost port against the test database (SQLite
by default, PostgreSQL when ``TRIAGE_TEST_DATABASE_URL`` is set), with CSRF protection on as in
production. Chromium is never downloaded: ``make test`` installs Debian's package, and if it is
missing these tests fail loudly rather than skip, so a green run always means the pages were
really driven in a browser.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.factories import child, contact_payload

ROOT = Path(__file__).resolve().parent.parent.parent
AXE = ROOT / "triage" / "static" / "vendor" / "axe" / "axe.min.js"
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def chromium_path() -> str:
    found = shutil.which("chromium") or (shutil.which("chromium-browser"))
    if not found:
        pytest.fail("Debian's chromium is not installed: run `make browser` (make test does it).", pytrace=False)
    return found


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not AXE.is_file():
        pytest.fail(f"{AXE.relative_to(ROOT)} is missing: run `make assets` (make test does it).", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app on a free port, in a thread, with CSRF checked as in production."""
    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def _hours_ago(now: datetime, hours: float) -> str:
    return (now - timedelta(hours=hours)).isoformat(timespec="seconds")


@pytest.fixture
def seeded(app, people) -> dict:
    """A morning's contacts: the most urgent is a police domestic-abuse contact asking for urgent protection."""
    from triage.extensions import db
    from triage.record.tables import User
    from triage.services.intake import submit

    now = datetime.now(timezone.utc)
    quiet = {"dash": {"version": "police-27", "officer_grading": "standard",
                      "answers": {str(q): ("yes" if q <= 3 else "no") for q in range(1, 28)}},
             "incidents_12m": 0, "weapon_used": False, "strangulation": False, "perpetrator_in_household": False}
    contacts = {
        "urgent": contact_payload(partner_reference="NP-URGENT-1", received_at=_hours_ago(now, 2),
                                  referrer_request="urgent_protection", domestic_abuse=quiet,
                                  consent="obtained", children=[child(age_years=4, present_at_incident=False)]),
        "routine": contact_payload(partner_reference="NP-ROUTINE-2", received_at=_hours_ago(now, 1),
                                   domestic_abuse=quiet, consent="obtained"),
        "school": contact_payload(organisation="Demo Primary School", partner_reference="SCH-3",
                                  received_at=_hours_ago(now, 3), primary_concern="neglect",
                                  source={"code": "2A", "organisation": "Demo Primary School"},
                                  consent="obtained"),
    }
    contacts["school"].pop("domestic_abuse")
    ids = {}
    with app.app_context():
        staff = db.session.get(User, people["practitioner"].id)
        for name, payload in contacts.items():
            stored, _ = submit(payload, staff, app.extensions["recommender"])
            ids[name] = stored.id
    return ids


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


class Pages:
    """Helpers every journey uses: sign in, check with axe, keep a screenshot."""

    def __init__(self, browser, base_url: str, shots: Path):
        self.browser, self.base_url, self.shots = browser, base_url, shots
        self.checked: list[str] = []
        self.csp_errors: list[str] = []

    def new_page(self):
        """A page in its own browser context; every Content-Security-Policy refusal it logs is kept."""
        context = self.browser.new_context(base_url=self.base_url, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("console", lambda message: self._note_csp(page, message))
        return page

    def _note_csp(self, page, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.csp_errors.append(f"{page.url}: {message.text}")

    def sign_in(self, page, person) -> None:
        page.goto("/login")
        page.get_by_label("Email address").fill(person.email)
        page.get_by_label("Password").fill(person.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()

    def check(self, page, name: str, *, screenshot: bool = True) -> None:
        """Zero axe-core violations at WCAG 2.2 AA, and (unless told not to) a full-page screenshot to look at."""
        page.add_script_tag(url="/static/vendor/axe/axe.min.js")  # a file of ours: the CSP admits it
        violations = page.evaluate(
            """async (tags) => {
                 const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
                 return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary)}));
               }""",
            WCAG_22_AA,
        )
        if screenshot:
            page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)
        self.checked.append(name)
        assert violations == [], f"axe found WCAG 2.2 AA violations on {name} ({page.url}): {violations}"


@pytest.fixture
def pages(browser, live_server, screenshots) -> Iterator[Pages]:
    """Every journey also proves the pages run under the Content-Security-Policy: no refusals logged."""
    helper = Pages(browser, live_server, screenshots)
    yield helper
    assert helper.csp_errors == [], f"the browser refused content under the CSP: {helper.csp_errors}"
