"""The acceptance journeys of issue 6 in a real Chromium, with axe-core on every page.

A practitioner signs in, opens the police domestic-abuse triage list, opens the most urgent
contact and records a decision against the recommendation with a reason; a manager confirms
it; a partner cannot open either page. Every page passes axe-core at WCAG 2.2 AA and leaves a
screenshot under ``screenshots/``.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _level_names(app) -> dict[int, str]:
    return {n: v["name"] for n, v in app.extensions["recommender"].guidance.levels.items()}


def _recommended(app, contact_id: str) -> tuple[int, int]:
    from triage.extensions import db
    from triage.record.tables import Contact

    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        return contact.recommended_level, contact.floor_level or 0


def test_practitioner_decides_against_the_recommendation_and_a_manager_confirms(app, people, seeded, pages):
    names = _level_names(app)
    recommended, floor = _recommended(app, seeded["urgent"])
    assert recommended < 4, "the seeded urgent contact must leave room to decide above the recommendation"
    chosen = recommended + 1

    # A practitioner signs in ...
    page = pages.new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    pages.check(page, "01-sign-in")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_label("Email address").fill(people["practitioner"].email)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Enter a correct email address and password")).to_be_visible()
    pages.check(page, "02-sign-in-error")
    pages.sign_in(page, people["practitioner"])
    expect(page.get_by_role("heading", level=1)).to_have_text("Contacts awaiting decision")
    pages.check(page, "03-awaiting-decision")

    # ... opens the police domestic-abuse triage list ...
    page.get_by_role("link", name="Police domestic abuse triage").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Police domestic abuse triage")
    table = page.get_by_role("table")
    expect(table).to_contain_text("NP-URGENT-1")
    expect(table).not_to_contain_text("SCH-3")
    pages.check(page, "04-police-da-triage")
    page.get_by_role("link", name="Printable view").click()
    expect(page).to_have_url(re.compile(r"print=1"))  # the printable page itself, not the one it was opened from
    pages.check(page, "05-police-da-printable")
    page.go_back()

    # ... opens the most urgent contact (first row: red) ...
    first_row = page.locator("table tbody tr").first
    expect(first_row).to_contain_text("Red")
    first_row.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contact NP-URGENT-1")
    expect(page.get_by_role("group", name="Level")).to_be_visible()
    pages.check(page, "06-contact")

    # ... records a decision against the recommendation: the reason field appears only then ...
    reason = page.get_by_label("Reason for not following the recommendation")
    expect(page.get_by_role("radio", name=re.compile("^" + re.escape(names[recommended])))).not_to_be_checked()
    expect(page.locator("#rationale-drafts [data-draft-level]:visible")).to_have_count(0)  # until a level is chosen
    expect(page.locator("#drafts-choose")).to_be_visible()
    expect(reason).to_be_hidden()
    page.get_by_role("radio", name=re.compile("^" + re.escape(names[chosen]))).check()
    expect(reason).to_be_visible()
    # the suggested wording follows the level chosen: only that level's is shown
    expect(page.locator(f"#rationale-drafts [data-draft-level='{chosen}']")).to_be_visible()
    expect(page.locator(f"#rationale-drafts [data-draft-level='{recommended}']")).to_be_hidden()
    # the rationale box starts empty (the suggested wording is offered beside it): own words first
    rationale = page.get_by_label("Rationale")
    expect(rationale).to_have_value("")
    rationale.fill("Police report a domestic incident with a four-year-old at home; the caller is worried.")
    # first without a reason: refused, with an error summary that links to the field
    page.get_by_role("button", name="Record decision").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    summary.get_by_role("link").first.click()
    expect(reason).to_be_focused()
    pages.check(page, "07-contact-decision-error")

    # ... then with one.
    reason.fill(
        "The referrer asks for urgent protection and the child is four; I want a social work assessment.")
    expect(page.get_by_label("Rationale")).to_have_value(
        "Police report a domestic incident with a four-year-old at home; the caller is worried.")  # kept
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contacts awaiting decision")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Decision recorded for NP-URGENT-1")
    pages.check(page, "08-decision-recorded")
    page.context.close()

    # A manager signs in and confirms it.
    page = pages.new_page()
    pages.sign_in(page, people["manager"])
    page.get_by_role("link", name="Awaiting my review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Awaiting my review")
    expect(page.get_by_role("table")).to_contain_text("Above the recommendation")  # more protective: said, not flagged
    pages.check(page, "09-awaiting-my-review")
    page.get_by_role("link", name="NP-URGENT-1").click()
    expect(page.get_by_text("The worker departed from the recommendation")).to_be_visible()
    expect(page.get_by_text("The referrer asks for urgent protection and the child is four")).to_be_visible()
    pages.check(page, "10-review")
    page.get_by_label("Rationale").fill("Agreed: urgent protection requested and a young child at home; assessment is right.")
    page.get_by_role("button", name="Confirm decision").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("decision confirmed")
    # the release step is where the manager now is
    expect(page.get_by_role("button", name="Release feedback to Demo Police")).to_be_visible()
    pages.check(page, "11-review-recorded")
    page.context.close()

    from triage.extensions import db
    from triage.record.tables import Contact

    with app.app_context():
        contact = db.session.get(Contact, seeded["urgent"])
        assert contact.status == "decided"


def test_a_partner_cannot_open_the_staff_pages(app, people, seeded, pages):
    page = pages.new_page()
    pages.sign_in(page, people["partner"])
    expect(page.get_by_role("heading", level=1)).to_have_text("Front door triage")
    pages.check(page, "20-partner-home")
    for path, shot in (("/contacts?view=police-da", "21-partner-refused-queue"),
                       (f"/contacts/{seeded['urgent']}", "22-partner-refused-contact"),
                       ("/reviews", "23-partner-refused-reviews")):
        response = page.goto(path)
        assert response.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
        expect(page.get_by_text("NP-URGENT-1")).to_have_count(0)
        pages.check(page, shot)


def test_recording_a_phone_contact_shows_errors_then_the_contact(app, people, pages):
    page = pages.new_page()
    pages.sign_in(page, people["practitioner"])
    page.get_by_role("link", name="Record a contact").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record a contact")
    pages.check(page, "30-record-a-contact")
    page.get_by_label("Organisation").fill("Member of the public")
    page.locator("#children-0-age_years").fill("seven")
    page.get_by_role("button", name="Continue").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("link", name="Child 1 age: Must be a whole number.")).to_be_visible()
    # nothing was chosen for the caller: who called, about what and consent must be said
    expect(summary.get_by_role("link", name="Who made the contact: Select who made the contact")).to_be_visible()
    expect(summary.get_by_role("link", name=re.compile("^What the caller said: Enter what the caller said"))).to_be_visible()
    pages.check(page, "31-record-a-contact-errors")
    page.get_by_label("Who made the contact").select_option(label="Individual: acquaintance")
    page.get_by_label("Main concern").select_option(label="Physical abuse")
    page.get_by_role("group", name="Has the family agreed to this contact?").get_by_label("Not sought").check()
    page.locator("#children-0-child_reference").fill("PH-C-1")
    page.locator("#children-0-age_years").fill("7")
    page.get_by_role("group", name="Has the child said they were harmed?").first.get_by_label("Yes").check()
    page.locator("#children-0-nhs_number").fill("943 476 5919")
    page.get_by_label("Drug misuse: concerns about a parent or carer").check()
    page.get_by_label("What the caller said").fill("A neighbour heard shouting and a child crying late at night.")
    page.get_by_role("button", name="Continue").click()
    # GOV.UK "Check your answers": nothing stored until confirmed
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the contact before you save it")
    expect(page.get_by_text("Drug misuse: concerns about a parent or carer")).to_be_visible()
    pages.check(page, "31b-record-a-contact-check")
    page.get_by_role("button", name="Save contact").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Contact PHONE-")
    pages.check(page, "32-recorded-contact")
