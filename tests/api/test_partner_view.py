"""A partner's view of its own contact (issue 15 item 8): status and the deadline, the outcome once released.

The recommendation (level, urgency, floor, MARAC, DASH) is advice to the front door, not an
outcome; partners who read it as one misread the thresholds. So a partner's answers leave it
null, from the moment of sending until a manager has released feedback, while staff keep it.
This departs from the shared spec's sections 1 and 2 on purpose (triage/services/partner_view.py).
"""

from __future__ import annotations

import pytest

from tests.api.test_feedback import release
from tests.decision_support import decide, pin, review, submit
from tests.factories import contact_payload
from triage.api.schemas import ContactOutSchema, ContactPageSchema

URL = "/api/v1/contacts"
#: What a recommendation would give away in a list row.
RECOMMENDATION_FIELDS = ("urgency", "recommended_level", "floor_level", "marac_recommended", "dash_risk",
                         "next_step", "stage")


def read(client, person, contact_id: str) -> dict:
    response = client.get(f"{URL}/{contact_id}", headers=person.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert ContactOutSchema().validate(body) == {}  # the OpenAPI document's schema tells the truth
    return body


def assert_no_recommendation(body: dict) -> None:
    assert body["recommendation"] is None and body["decision"] is None and body["review"] is None
    for internal in ("urgency", "screening_recommendation", "checks", "version"):
        assert internal not in body


def test_a_partners_answer_on_sending_has_status_and_deadline_but_no_recommendation(app, client, people):
    pin(app, level=4, floor=4, urgency="red")
    response = client.post(URL, json=contact_payload(), headers=people["partner"].headers)
    assert response.status_code == 201
    body = response.get_json()
    assert_no_recommendation(body)
    assert body["status"] == "awaiting_decision" and body["decision_due_at"] and body["feedback"] is None
    assert "red" not in str(body.get("urgency"))


def test_a_phone_contact_recorded_by_staff_answers_with_the_recommendation(app, client, people):
    pin(app, level=4, floor=4, urgency="red")
    body = client.post(URL, json=contact_payload(), headers=people["practitioner"].headers).get_json()
    assert body["recommendation"]["level"] == 4 and body["urgency"] == "red"


@pytest.mark.parametrize("role", ["practitioner", "manager"])
def test_staff_read_the_recommendation_and_urgency(app, client, people, role):
    pin(app, level=3, floor=2, urgency="amber")
    contact_id = submit(client, people["partner"])
    body = read(client, people[role], contact_id)
    assert body["recommendation"]["level"] == 3 and body["urgency"] == "amber" and "version" in body
    assert "feedback" not in body


def test_the_partner_sees_the_outcome_only_once_feedback_is_released(app, client, people):
    partner, manager = people["partner"], people["manager"]
    contact_id = submit(client, partner)
    waiting = read(client, partner, contact_id)
    assert_no_recommendation(waiting)
    assert waiting["status"] == "awaiting_decision" and waiting["feedback"] is None

    level = read(client, people["practitioner"], contact_id)["recommendation"]["level"]
    assert decide(client, people["practitioner"], contact_id, level=level).status_code == 201
    decided = read(client, partner, contact_id)
    assert_no_recommendation(decided)
    assert decided["status"] == "awaiting_review" and decided["feedback"] is None

    assert review(client, manager, contact_id).status_code == 201
    confirmed = read(client, partner, contact_id)
    assert confirmed["status"] == "decided" and confirmed["feedback"] is None  # not released yet
    assert_no_recommendation(confirmed)

    assert release(client, manager, contact_id).status_code == 201
    released = read(client, partner, contact_id)
    assert released["feedback"]["level"] == level and released["feedback"]["level_name"]
    assert released["feedback"]["contact_id"] == contact_id and released["feedback"]["released_at"]
    assert_no_recommendation(released)  # the outcome, never the recommendation beside it


def test_a_partners_list_leaves_the_recommendation_out_and_staff_lists_keep_it(app, client, people):
    pin(app, level=4, floor=4, urgency="red")
    submit(client, people["partner"])
    partner_page = client.get(URL, headers=people["partner"].headers).get_json()
    staff_page = client.get(URL, headers=people["practitioner"].headers).get_json()
    assert ContactPageSchema().validate(partner_page) == {}
    assert all(partner_page["items"][0][field] is None for field in RECOMMENDATION_FIELDS)
    assert partner_page["items"][0]["status"] == "awaiting_decision" and partner_page["items"][0]["decision_due_at"]
    assert (staff_page["items"][0]["recommended_level"], staff_page["items"][0]["urgency"]) == (4, "red")


def test_the_openapi_document_says_a_partner_gets_no_recommendation(client):
    contact = client.get("/api/openapi.json").get_json()["components"]["schemas"]["ContactOut"]
    assert "null for a partner" in contact["properties"]["recommendation"]["description"]
    assert "feedback" in contact["properties"]
