"""Issue 13's journey in a real Chromium: checks requested, answered by two agencies, decided after, confirmed.

A practitioner requests police and health checks from the contact page; the police and health hub
workers sign in and answer on their own "Checks due" pages; the contact comes back scored again,
the practitioner decides against the after-checks recommendation and a manager confirms it.
Every page passes axe-core at WCAG 2.2 AA.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from tests.factories import example

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"


@pytest.fixture
def checks_contact(app, people) -> str:
    from triage.extensions import db
    from triage.record.tables import User
    from triage.services import accounts
    from triage.services.intake import submit

    doc = example("school-neglect")
    doc["received_at"] = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat(timespec="seconds")
    with app.app_context():
        for email, org, kind in (("hub@police.test.invalid", "Demo Police", "police"),
                                 ("hub@health.test.invalid", "Demo Health Trust", "health")):
            accounts.create_user(email, "agency", org, PASSWORD, agency_type=kind)
        stored, _ = submit(doc, db.session.get(User, people["practitioner"].id), app.extensions["recommender"])
        return stored.id


class Agency:
    def __init__(self, email: str):
        self.email, self.password = email, PASSWORD


def _answer(pages, email: str, known: str, finding: str | None, shot: str) -> None:
    page = pages.new_page()
    pages.sign_in(page, Agency(email))
    expect(page.get_by_role("heading", level=1)).to_have_text("Checks due")
    expect(page.locator("#checks-open")).to_contain_text("SCH-8812 (age 8)")
    expect(page.locator("body")).not_to_contain_text("Arrives hungry")  # never the narrative
    pages.check(page, f"{shot}-checks-due")
    page.locator("#checks-open").get_by_role("link").first.click()
    page.get_by_role("button", name="Send answer").click()  # nothing chosen: refused, saying what
    expect(page.locator(".govuk-error-summary")).to_contain_text("Say whether your agency knows this household")
    pages.check(page, f"{shot}-answer-error")
    page.get_by_role("radio", name=re.compile(known)).check()
    if finding:
        page.get_by_role("checkbox", name=finding).check()
    page.get_by_label("Summary").fill("Answered from our own system this morning.")
    page.get_by_role("button", name="Send answer").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Your answer has been sent")
    pages.check(page, f"{shot}-answered")
    page.context.close()


def test_checks_requested_answered_by_police_and_health_then_decided_and_confirmed(app, people, checks_contact,
                                                                                   pages):
    page = pages.new_page()
    pages.sign_in(page, people["practitioner"])
    page.goto(f"/contacts/{checks_contact}")
    expect(page.locator("#next-step")).to_contain_text("Ask agencies")
    expect(page.locator("body")).not_to_contain_text("as a precaution")
    form = page.locator("#request-checks + p + form")
    expect(form.get_by_role("checkbox", name="Health")).to_be_checked()  # preselected from the recommendation
    form.get_by_role("checkbox", name="Police").check()
    for other in ("Education", "Probation", "Housing"):  # the practitioner asks only police and health here
        box = form.get_by_role("checkbox", name=other)
        if box.is_checked():
            box.uncheck()
    consent = form.get_by_role("radio", name="Obtained: the family agreed to the agencies being asked")
    expect(consent).not_to_be_checked()  # answered for this request, never assumed from the contact
    consent.check()
    form.get_by_label("What the front door needs to know").fill(
        "Is the household known to you, and is there anything about the adults we should weigh?")
    pages.check(page, "c01-request-checks")
    form.get_by_role("button", name="Request checks").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Checks requested")
    expect(page.locator("#checks-panel")).to_contain_text("Waiting for an answer")
    pages.check(page, "c02-checks-requested")
    page.get_by_role("link", name="Awaiting checks").click()
    expect(page.locator("#awaiting-checks")).to_contain_text("STJ-DSL-0042")
    pages.check(page, "c03-awaiting-checks")
    page.context.close()

    _answer(pages, "hub@police.test.invalid", "^Yes", "An adult in the household is known for violence", "c04-police")
    _answer(pages, "hub@health.test.invalid", "^No", None, "c05-health")

    page = pages.new_page()
    pages.sign_in(page, people["practitioner"])
    page.goto(f"/contacts/{checks_contact}")
    expect(page.locator("#next-step")).to_contain_text("(after checks)")
    expect(page.locator("#checks-panel")).to_contain_text("An adult in the household is known for violence")
    expect(page.locator("#screening-recommendation")).to_be_visible()
    pages.check(page, "c06-contact-after-checks")
    page.locator(".govuk-radios__item", has_text="This is the recommended level.").get_by_role("radio").check()
    page.get_by_label("Rationale").fill(
        "Police know an adult in the household for violence; with the school's neglect concerns this needs "
        "the level recommended after the checks.")
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Decision recorded for STJ-DSL-0042")
    page.context.close()

    page = pages.new_page()
    pages.sign_in(page, people["manager"])
    page.goto(f"/contacts/{checks_contact}")
    pages.check(page, "c07-review-after-checks")
    page.get_by_label("Rationale").fill("Agreed: the police check changes the picture and the level follows it.")
    page.get_by_role("button", name="Confirm decision").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("decision confirmed")
    page.context.close()

    from triage.extensions import db
    from triage.record import audit
    from triage.record.tables import Contact, Decision

    with app.app_context():
        contact = db.session.get(Contact, checks_contact)
        assert contact.status == "decided"
        decision = db.session.query(Decision).filter_by(contact_id=checks_contact).one()
        assert decision.recommendation_stage == "after_checks"
        assert audit.verify().ok
