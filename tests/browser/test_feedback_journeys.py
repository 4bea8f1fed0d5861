"""The acceptance journeys of issue 7 in a real Chromium, with axe-core on every page.

A manager previews the feedback on a confirmed police contact and releases it; the police
partner signs in and reads it, then opens its own monthly report; the manager opens the
dashboard and the police force's report. Every page passes axe-core at WCAG 2.2 AA and leaves
a screenshot under ``screenshots/``.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.decision_support import decide, review

pytestmark = pytest.mark.browser


def _confirm(app, client, people, contact_id: str) -> str:
    from triage.extensions import db
    from triage.record.tables import Contact

    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        level, reference = contact.recommended_level, contact.partner_reference
    assert decide(client, people["practitioner"], contact_id, level=level).status_code == 201
    assert review(client, people["manager"], contact_id).status_code == 201
    return reference


def test_manager_releases_feedback_and_the_police_read_it_and_their_report(app, client, people, seeded, pages):
    reference = _confirm(app, client, people, seeded["routine"])

    manager = pages.new_page()
    pages.sign_in(manager, people["manager"])
    # found from the manager's home, not typed in: what needs them now, then the list to release
    expect(manager.get_by_role("heading", level=1)).to_have_text("What needs you now")
    pages.check(manager, "19-manager-home")
    manager.get_by_role("link", name="Feedback to release").first.click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Feedback to release")
    pages.check(manager, "19b-feedback-to-release")
    manager.get_by_role("link", name=re.compile("^" + re.escape(reference))).click()
    expect(manager.get_by_role("heading", level=1)).to_have_text(f"Feedback on {reference}")
    pages.check(manager, "20-feedback-preview")
    manager.get_by_role("button", name="Release feedback to Demo Police").click()
    expect(manager.get_by_text("Released to Demo Police on")).to_be_visible()
    pages.check(manager, "21-feedback-released")

    partner = pages.new_page()
    pages.sign_in(partner, people["partner"])
    partner.goto("/feedback")
    expect(partner.get_by_role("heading", level=1)).to_have_text("Feedback on our contacts")
    expect(partner.get_by_role("heading", level=2, name=f"{reference}: Domestic abuse")).to_be_visible()
    expect(partner.get_by_text("What you could do differently next time")).to_be_visible()
    pages.check(partner, "22-partner-feedback")
    partner.goto("/reports/partners")
    expect(partner.get_by_role("heading", level=1)).to_contain_text("Demo Police")
    expect(partner.get_by_role("img", name="Share of Demo Police's confirmed outcomes at each level")).to_be_visible()
    pages.check(partner, "23-partner-report")

    manager.goto("/reports/dashboard")
    expect(manager.get_by_role("heading", level=1)).to_have_text("Front door dashboard")
    expect(manager.get_by_role("img", name="Contacts received each day")).to_be_visible()
    pages.check(manager, "24-dashboard")
    manager.goto("/reports/partners")
    manager.get_by_role("link", name="Demo Police").click()
    expect(manager.get_by_role("heading", level=1)).to_contain_text("Demo Police")
    pages.check(manager, "25-manager-partner-report")


def test_a_partner_cannot_open_the_dashboard(app, people, pages):
    partner = pages.new_page()
    pages.sign_in(partner, people["partner"])
    response = partner.goto("/reports/dashboard")
    assert response.status == 403
    pages.check(partner, "26-partner-dashboard-refused")


def test_a_partner_follows_its_contacts_without_seeing_a_recommendation_until_feedback_is_released(
        app, client, people, seeded, pages):
    """Issue 15 item 8: status and the deadline first; the outcome only once a manager releases it."""
    reference = _confirm(app, client, people, seeded["routine"])
    partner = pages.new_page()
    pages.sign_in(partner, people["partner"])
    partner.get_by_role("link", name="Our contacts").first.click()
    expect(partner.get_by_role("heading", level=1)).to_have_text("Our contacts")
    pages.check(partner, "27-partner-our-contacts")
    partner.get_by_role("link", name="NP-URGENT-1").click()
    expect(partner.get_by_role("heading", level=1)).to_have_text("Contact NP-URGENT-1")
    expect(partner.get_by_text("Waiting for the front door's decision")).to_be_visible()
    expect(partner.get_by_text("Decision due")).to_be_visible()
    assert "Child protection" not in partner.content() and "Recommend" not in partner.content()
    pages.check(partner, "28-partner-contact-waiting")

    partner.goto("/our-contacts")
    partner.get_by_role("link", name=reference).click()
    expect(partner.get_by_text("Decision confirmed by a team manager")).to_be_visible()
    expect(partner.get_by_text("Not released yet.", exact=False)).to_be_visible()
    released = client.post(f"/api/v1/contacts/{seeded['routine']}/feedback/release", headers=people["manager"].headers)
    assert released.status_code == 201, released.get_json()
    partner.reload()
    expect(partner.get_by_text("Feedback released", exact=False)).to_be_visible()
    expect(partner.get_by_text("What you could do differently next time")).to_be_visible()
    pages.check(partner, "29-partner-contact-released")
    partner.set_viewport_size({"width": 375, "height": 800})
    assert partner.evaluate("document.documentElement.scrollWidth") <= 375
    pages.check(partner, "30-partner-contact-released-375")
