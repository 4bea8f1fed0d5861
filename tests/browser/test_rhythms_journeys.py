"""Issue 17's journeys in a real Chromium: the morning domestic-abuse meeting and the monthly quality audit.

The meeting: a practitioner starts it with who attended (by role), takes the first police contact and
decides it in the meeting, agrees an action with an owner, prints the agenda, closes the meeting and
reads the minutes (printed too). The audit: a manager draws last month's sample from a seed, audits a
decision assigned to them (refused first, saying what is missing), then reads the results.
Every page passes axe-core at WCAG 2.2 AA.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

RATIONALE = ("Police attended with the children at home; the meeting agreed the level with police colleagues "
             "and the mother accepts support.")
LEARNING = "The rationale weighs the DASH answers well; say why consent was not sought next time."


def test_the_morning_meeting_from_start_to_minutes(app, people, seeded, pages):
    page = pages.new_page()
    pages.sign_in(page, people["practitioner"])
    page.get_by_role("link", name="Domestic abuse meeting").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Domestic abuse meeting")
    pages.check(page, "m01-start-meeting")
    page.get_by_role("button", name="Start the meeting").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Meeting started with 2 contacts")
    expect(page.locator("#agenda")).to_contain_text("NP-URGENT-1")
    expect(page.locator("#agenda")).not_to_contain_text("SCH-3")  # police domestic abuse contacts only
    pages.check(page, "m02-meeting")

    page.locator("#agenda").get_by_role("link", name="NP-URGENT-1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("NP-URGENT-1")
    pages.check(page, "m03-item")
    page.get_by_role("button", name="Record the meeting's decision").click()  # nothing chosen: refused
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose a level")
    page.get_by_role("radio", name=re.compile(r"\(level 3\)")).check()
    page.get_by_role("button", name="Record the meeting's decision").click()  # no rationale: refused
    expect(page.locator(".govuk-error-summary")).to_contain_text("Write a rationale")
    pages.check(page, "m04-decision-refused")
    page.get_by_role("radio", name=re.compile(r"\(level 3\)")).check()
    page.get_by_label("Rationale").fill(RATIONALE)
    page.get_by_label("Reason for not following the recommendation").fill("The meeting's shared view of the risk.")
    page.get_by_label("Why consent was not sought").fill("Police contact; the family has not been asked yet.")
    page.get_by_role("radio", name="Not sought").check()
    page.get_by_role("button", name="Record the meeting's decision").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("It now awaits a manager's review")
    page.select_option("#kind", "safety_planning")
    page.get_by_label("What was agreed").fill("Safety plan with the mother today.")
    page.select_option("#owner", label="Independent domestic violence adviser, Domestic abuse service")
    page.get_by_role("button", name="Add action").click()
    expect(page.locator("#actions")).to_contain_text("Safety planning: Safety plan with the mother today.")
    pages.check(page, "m05-item-decided")

    page.get_by_role("link", name="Back to the meeting").click()
    page.get_by_role("link", name="Printable agenda").click()
    expect(page.locator("#paper-items")).to_contain_text("NP-ROUTINE-2")
    pages.check(page, "m06-agenda")
    page.go_back()
    page.get_by_role("button", name="Close the meeting").click()
    expect(page.locator("#minutes-summary")).to_contain_text("1 decided in the meeting, 0 discussed, 1 not reached")
    expect(page.locator("#paper-items")).to_contain_text("(Independent domestic violence adviser, Domestic abuse service)")
    pages.check(page, "m07-minutes")
    page.emulate_media(media="print")
    expect(page.locator(".govuk-service-navigation")).to_be_hidden()
    page.screenshot(path=str(pages.shots / "m08-minutes-printed.png"), full_page=True)
    page.context.close()

    from triage.extensions import db
    from triage.record import audit
    from triage.record.tables import Contact

    with app.app_context():
        assert db.session.get(Contact, seeded["urgent"]).status == "awaiting_review"
        assert audit.verify().ok


def test_the_monthly_quality_audit_from_draw_to_results(app, people, pages):
    from tests.decision_support import pin
    from tests.services.test_quality_audit import _decided_month

    pin(app, level=3, floor=2)
    with app.app_context():
        label = _decided_month(app, people)["label"]
    page = pages.new_page()
    pages.sign_in(page, people["manager"])
    page.get_by_role("link", name="Quality audit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quality audit")
    pages.check(page, "q01-quality-audit")
    page.get_by_label("Month").fill(label)
    page.get_by_label("Seed (optional)").fill("2026")
    page.get_by_role("button", name="Draw the sample").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("6 decisions (seed 2026)")
    pages.check(page, "q02-sample")
    page.get_by_role("link", name="Back to the quality audit").click()
    page.locator("#my-audits").get_by_role("link").first.click()
    expect(page.get_by_role("button", name="Record the audit")).to_be_visible()
    pages.check(page, "q03-audit")
    page.get_by_role("button", name="Record the audit").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose a grade")
    pages.check(page, "q04-audit-refused")
    page.get_by_role("radio", name=re.compile(r"\(level 3\)")).check()
    page.get_by_role("radio", name="Good", exact=True).check()
    page.get_by_label("Learning").fill(LEARNING)
    page.get_by_role("button", name="Record the audit").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("recorded")
    page.goto(f"/quality-audit/results?from={label}&to={label}")
    expect(page.locator("#results-summary")).to_contain_text("1 of 6 drawn decisions audited")
    expect(page.locator("#learning")).to_contain_text(LEARNING)
    pages.check(page, "q05-results")
    page.context.close()


def test_the_printed_agenda_and_minutes_fit_ten_contacts_a_page(app, people, pages):
    """Twenty police contacts print on two A4 pages or fewer (the issue's "one page per ten contacts or better")."""
    from datetime import datetime, timedelta, timezone

    import pypdfium2 as pdfium

    from tests.factories import contact_payload
    from triage.extensions import db
    from triage.record.tables import User
    from triage.services import meetings
    from triage.services.intake import submit

    now = datetime.now(timezone.utc)
    with app.app_context():
        staff = db.session.get(User, people["practitioner"].id)
        for i in range(20):
            submit(contact_payload(received_at=(now - timedelta(minutes=5 + i)).isoformat(timespec="seconds")),
                   staff, app.extensions["recommender"])
        meeting = meetings.start_meeting(staff, [
            {"agency": "front_door", "role": "Team manager", "organisation": "Front door"},
            {"agency": "police", "role": "Domestic abuse officer", "organisation": "Demo Police"}])
        for item in meeting.items[:10]:
            meetings.discuss_item(meeting, item, staff, note="Known to the locality team; police to share bail "
                                  "conditions with the school and the health visitor today.")
            meetings.add_action(meeting, item, staff, kind="safety_planning", description="Safety plan with the mother.",
                                owner_role="Domestic abuse officer", owner_organisation="Demo Police")
        meetings.close_meeting(meeting, staff)
        meeting_id = meeting.id
    page = pages.new_page()
    pages.sign_in(page, people["practitioner"])
    for paper in ("agenda", "minutes"):
        page.goto(f"/meetings/{meeting_id}/{paper}")
        expect(page.locator("#paper-items")).to_contain_text("20 contacts")
        document = pdfium.PdfDocument(page.pdf(format="A4"))
        assert len(document) <= 2, f"the {paper} for 20 contacts printed on {len(document)} pages"
    page.context.close()


def test_the_board_pack_page_from_the_dashboard(app, people, seeded, pages):
    page = pages.new_page()
    pages.sign_in(page, people["manager"])
    page.goto("/reports/dashboard")
    page.get_by_role("link", name=re.compile("Improvement board pack")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Improvement board pack")
    from datetime import timedelta

    from triage.engine.workdays import london_today

    page.get_by_label("First day of the six weeks").fill((london_today() - timedelta(days=41)).isoformat())
    page.get_by_role("button", name="Show the pack").click()  # six weeks ending today, with the morning's contacts
    expect(page.locator("#board-summary")).to_contain_text("Demand: 3 contacts")
    expect(page.locator("#figure-police_da")).to_contain_text("of 3")  # 2 police DA of 3: counts, no percentage
    pages.check(page, "b01-board-pack")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the pack as a PDF").click()
    assert download.value.suggested_filename.endswith(".pdf")
    page.context.close()
