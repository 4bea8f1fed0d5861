"""The recommendation read aloud on the contact page (issue 14): says, not known, found, would change."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from markupsafe import escape

from tests.api.test_checks import agency_worker
from tests.factories import example
from tests.web.conftest import sign_in


def _stored(store) -> str:
    doc = example("school-neglect")
    doc["received_at"] = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    return store(doc)


def _contact(contact_id):
    from triage.extensions import db
    from triage.record.tables import Contact

    return db.session.get(Contact, contact_id)


def test_the_screening_reading_is_on_the_page_in_plain_english(app, client, people, store):
    contact_id = _stored(store)
    with app.app_context():
        reading = _contact(contact_id).recommendation["reading"]
    assert reading["stage"] == "screening" and reading["says"] and reading["not_known"] and reading["would_change"]
    sign_in(client, people["practitioner"])
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    for heading in ("What the contact says", "What is not known", "What would change this"):
        assert heading in page
    assert "What the checks found" not in page
    for part in ("says", "not_known", "would_change"):
        for item in reading[part]:
            assert str(escape(item["text"])) in page


def test_after_checks_the_page_says_what_each_agency_found(app, client, runner, people, store):
    from triage.extensions import db
    from triage.record.tables import User
    from triage.services import checks

    agency_worker(runner, "hub@police.test.invalid", "Demo Police", "police", password="correct horse battery staple")
    contact_id = _stored(store)
    with app.app_context():
        recommender = app.extensions["recommender"]
        practitioner = db.session.get(User, people["practitioner"].id)
        [row] = checks.request_checks(_contact(contact_id), practitioner, recommender, agencies=["police"],
                                      reason="Is the household known for violence?", consent="obtained")
        hub = db.session.scalar(db.select(User).where(User.email == "hub@police.test.invalid"))
        checks.answer_check(row, hub, recommender, known=True, findings=["adult_known_for_violence"])
        reading = _contact(contact_id).recommendation["reading"]
    assert reading["stage"] == "after_checks"
    sign_in(client, people["practitioner"])
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert "What the checks found" in page
    assert "Police found: An adult in the household is known for violence" in page
    for item in reading["found"] + reading["not_known"]:
        assert str(escape(item["text"])) in page


def test_a_recommendation_stored_before_the_reading_keeps_its_own_list(app, client, people, store):
    """Contacts already stored keep their stored recommendation: no reading, the old list is shown."""
    contact_id = _stored(store)
    with app.app_context():
        from triage.extensions import db

        contact = _contact(contact_id)
        rec = dict(contact.recommendation)
        rec.pop("reading")
        rec["what_would_change"] = [{"statement": "An older statement, kept as it was stored."}]
        contact.recommendation = rec
        db.session.commit()
    sign_in(client, people["practitioner"])
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert "An older statement, kept as it was stored." in page and "What the contact says" not in page
