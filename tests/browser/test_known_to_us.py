"""Issue 12 in a real Chromium: a repeat child's "Known to us", and linking a stranger's record.

The police sent a contact about a child with an NHS number, decided at level 3 with a MARAC
referral; the school now sends one about the same child. The practitioner opens the school's
contact and sees the earlier police contact with its decision; then links a child sent without
identifiers to the earlier record, with a reason, and undoes it. axe-core finds nothing on
any page.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from tests.factories import child, contact_payload

pytestmark = pytest.mark.browser

NHS = "9434765919"


@pytest.fixture
def repeat(app, people, make_person) -> dict:
    from triage.extensions import db
    from triage.record.tables import User
    from triage.services import decisions
    from triage.services.intake import submit

    school = make_person("partner", organisation="Demo Primary School")
    now = datetime.now(timezone.utc)
    earlier = now - timedelta(days=40)
    police = contact_payload(partner_reference="NP-EARLIER-1", received_at=earlier.isoformat(timespec="seconds"),
                             children=[child(identifiers={"nhs_number": NHS})])
    today = contact_payload(organisation="Demo Primary School", partner_reference="SCH-AGAIN-2",
                            received_at=(now - timedelta(hours=1)).isoformat(timespec="seconds"),
                            primary_concern="neglect", source={"code": "2A", "organisation": "Demo Primary School"},
                            children=[child(identifiers={"nhs_number": NHS})])
    today.pop("domestic_abuse")
    stranger = contact_payload(partner_reference="NP-STRANGER-3",
                               received_at=(now - timedelta(minutes=30)).isoformat(timespec="seconds"))
    recommender = app.extensions["recommender"]
    with app.app_context():
        first, _ = submit(police, db.session.get(User, people["partner"].id), recommender, now=earlier)
        decisions.record_decision(first, db.session.get(User, people["practitioner"].id), level=3,
                                  rationale="Police domestic abuse with a child present; assessment needed now.",
                                  marac_referral=True, next_steps="Assessment.",
                                  override_reason="Set by the test: the level the history is about.")
        decisions.record_review(first, db.session.get(User, people["manager"].id), outcome="confirmed",
                                rationale="Agreed: a child in need assessment is proportionate here.")
        second, _ = submit(today, db.session.get(User, school.id), recommender)
        third, _ = submit(stranger, db.session.get(User, people["partner"].id), recommender)
        return {"first": first.id, "second": second.id, "stranger": third.id}


def test_a_repeat_child_is_known_to_us_and_a_stranger_can_be_linked_and_unlinked(people, repeat, pages):
    page = pages.new_page()
    pages.sign_in(page, people["practitioner"])
    page.goto(f"/contacts/{repeat['second']}")
    panel = page.locator("#known-to-us + p")
    expect(panel).to_contain_text("1 earlier contact")
    earlier = page.get_by_role("table", name="Earlier contacts, newest first")
    expect(earlier).to_contain_text("Demo Police")
    expect(earlier).to_contain_text("Domestic abuse")
    expect(earlier).to_contain_text("(level 3)")
    expect(earlier).to_contain_text("Referral decided")
    expect(page.get_by_text(NHS)).to_have_count(0)
    pages.check(page, "30-known-to-us")

    page.goto(f"/contacts/{repeat['stranger']}")
    expect(page.locator("#known-to-us + p")).to_contain_text("No earlier contacts")
    page.get_by_role("link", name="Link to an earlier record").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a child's earlier record")
    page.get_by_label("Child record id, contact id or partner reference").fill("NP-EARLIER-1")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("button", name="Link to this record")).to_be_visible()  # the results, not the form
    pages.check(page, "31-find-child-record")
    page.get_by_role("button", name="Link to this record").click()
    expect(page.get_by_role("link", name="Give the reason, at least 10 characters.")).to_be_visible()
    pages.check(page, "32-link-reason-missing")
    page.get_by_label("Why this is the same child").fill("Same date of birth and address as the police contact.")
    page.get_by_role("button", name="Link to this record").click()
    # the police child's record is also the school's (same NHS number): both are now known
    expect(page.locator("#known-to-us + p")).to_contain_text("2 earlier contacts")
    expect(page.get_by_text("Same date of birth and address as the police contact.").first).to_be_visible()
    pages.check(page, "33-linked")

    page.get_by_text("Undo this link").first.click()
    page.get_by_label("Why these are not the same child").fill("The school confirmed a different child.")
    page.get_by_role("button", name="Record that these are not one child").click()
    expect(page.locator("#known-to-us + p")).to_contain_text("No earlier contacts")
    expect(page.get_by_text("Undone", exact=True)).to_be_visible()
    pages.check(page, "34-unlinked")
