"""A contact explained at a glance, then decided, reviewed or sent back for information."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

from tests.factories import contact_payload
from tests.web.conftest import hours_ago, sign_in

RATIONALE = "Police report a verbal argument; children present but not hurt; family agreed to help."
REASON = "The mother asked for support with the children's sleep and school attendance."


def _contact(app, contact_id):
    from triage.extensions import db
    from triage.record.tables import Contact

    return db.session.get(Contact, contact_id)


def _level_names(app) -> dict[int, str]:
    return {n: v["name"] for n, v in app.extensions["recommender"].guidance.levels.items()}


@pytest.fixture
def contact_id(store):
    return store(partner_reference="NP-PAGE-1", received_at=hours_ago(2), consent="obtained")


def test_opening_a_contact_is_recorded_in_its_history(app, client, people, contact_id):
    from triage.record import audit

    sign_in(client, people["practitioner"])
    assert client.get(f"/contacts/{contact_id}").status_code == 200
    with app.app_context():
        viewed = [e for e in audit.history(contact_id) if e.kind == "viewed"]
        assert len(viewed) == 1
        assert viewed[0].actor_id == people["practitioner"].id and viewed[0].data == {"via": "web"}
        assert audit.verify().ok


def test_the_page_shows_what_the_partner_said_and_the_recommendation_in_the_guidances_words(
        app, client, people, contact_id):
    sign_in(client, people["practitioner"])
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    with app.app_context():
        contact = _contact(app, contact_id)
        rec = contact.recommendation
        narrative = contact.payload["narrative"]
    assert escape(narrative) in page
    assert f"{rec['level_name']} (level {rec['level']})" in page
    for indicator in rec["indicators"]:
        assert escape(indicator["text"]) in page
    for gap in rec["information_gaps"]:
        assert escape(gap["why"]) in page
    assert escape(rec["consent"]["note"]) in page
    assert "Standard risk: 4 yes answers" in page
    assert re.search(r"<caption[^>]*>Everything recorded on this contact", page)


def test_the_decision_form_offers_every_level_by_name_none_chosen_with_the_draft_beside_an_empty_box(app, client, people, contact_id):
    sign_in(client, people["practitioner"])
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    with app.app_context():
        contact = _contact(app, contact_id)
        draft, recommended = contact.recommendation["rationale_draft"], contact.recommended_level
    for number, name in _level_names(app).items():
        assert re.search(rf'<label class="govuk-label govuk-radios__label" for="level(-{number})?">\s*'
                         rf"{re.escape(name)} \(level {number}\)", page)
    assert not re.search(r'name="level" type="radio" value="\d" checked', page)  # the worker chooses ...
    item = "level" if recommended == 1 else f"level-{recommended}"
    assert re.search(rf'id="{item}-item-hint"[^>]*>[^<]*This is the recommended level\.', page)  # ... told which
    assert not re.search(r'name="marac_referral"[^>]*checked', page)
    assert escape(draft) in page  # offered beside the box ...
    assert re.search(r'<textarea[^>]*name="rationale"[^>]*>\s*</textarea>', page)  # ... never put in it
    assert "Suggested wording for" in page
    assert "Reason for not following the recommendation" in page
    assert "Only needed if you choose a level other than the recommended" in page  # the no-JS hint
    assert re.search(r"<button [^>]*>\s*Record decision\s*</button>", page)


def test_a_decision_against_the_recommendation_without_a_reason_is_shown_as_an_error_summary(
        app, client, people, contact_id):
    sign_in(client, people["practitioner"])
    with app.app_context():
        recommended = _contact(app, contact_id).recommended_level
    other = recommended + 1 if recommended < 4 else recommended - 1
    response = client.post(f"/contacts/{contact_id}/decision", data={"level": other, "rationale": RATIONALE})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in page
    assert re.search(r'<a href="#override_reason">Say why you chose level', page)
    assert 'id="override_reason-error"' in page
    assert RATIONALE in page  # what they typed is kept
    with app.app_context():
        assert _contact(app, contact_id).status == "awaiting_decision"


def test_a_short_rationale_links_to_the_rationale_field(client, people, contact_id):
    sign_in(client, people["practitioner"])
    response = client.post(f"/contacts/{contact_id}/decision", data={"level": 2, "rationale": "ok"})
    assert response.status_code == 422
    assert '<a href="#rationale">Write at least 40 characters' in response.get_data(as_text=True)


def test_a_decision_with_a_reason_is_recorded_and_awaits_review(app, client, people, contact_id):
    sign_in(client, people["practitioner"])
    with app.app_context():
        contact = _contact(app, contact_id)
        recommended, version = contact.recommended_level, contact.version
    other = recommended + 1 if recommended < 4 else recommended
    response = client.post(f"/contacts/{contact_id}/decision", data={
        "level": other, "rationale": RATIONALE, "override_reason": REASON, "marac_referral": "y",
        "next_steps": "Early help hub to call the mother today.", "expected_version": version})
    assert response.status_code == 302 and response.location == "/contacts"
    assert "Decision recorded for NP-PAGE-1" in client.get("/contacts").get_data(as_text=True)
    with app.app_context():
        from triage.record.queries import latest_decision

        contact = _contact(app, contact_id)
        decision = latest_decision(contact_id)
        assert contact.status == "awaiting_review"
        assert (decision.level, decision.override_reason, decision.marac_referral) == (other, REASON, True)


def test_a_form_drawn_from_an_older_version_gets_a_clear_conflict_and_records_nothing(
        app, client, people, contact_id):
    sign_in(client, people["practitioner"])
    with app.app_context():
        contact = _contact(app, contact_id)
        recommended, version = contact.recommended_level, contact.version
    response = client.post(f"/contacts/{contact_id}/decision", data={
        "level": recommended, "rationale": RATIONALE, "expected_version": version - 1})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else changed this contact" in page
    assert "Reload this contact" in page
    with app.app_context():
        assert _contact(app, contact_id).status == "awaiting_decision"


def _decide(client, app, contact_id, level=None):
    with app.app_context():
        contact = _contact(app, contact_id)
        level = level or contact.recommended_level
        version = contact.version
    response = client.post(f"/contacts/{contact_id}/decision", data={
        "level": level, "rationale": RATIONALE, "override_reason": REASON, "expected_version": version})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]


def test_a_manager_confirms_a_decision_with_a_rationale(app, client, people, contact_id):
    sign_in(client, people["practitioner"])
    _decide(client, app, contact_id)
    client.post("/logout")
    sign_in(client, people["manager"])
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert "Confirm decision" in page and "Change decision" in page
    response = client.post(f"/contacts/{contact_id}/review", data={
        "outcome": "confirmed", "rationale": "Proportionate: consent given and no indicator of harm today."})
    # the release step is where the manager is once the decision is confirmed
    assert response.status_code == 302 and response.location == f"/contacts/{contact_id}/feedback"
    with app.app_context():
        assert _contact(app, contact_id).status == "decided"
    page = client.get(response.location).get_data(as_text=True)
    assert "Release feedback to" in page and "release it to" in page


def test_a_manager_changing_a_decision_must_choose_the_new_level(app, client, people, contact_id):
    sign_in(client, people["practitioner"])
    _decide(client, app, contact_id)
    client.post("/logout")
    sign_in(client, people["manager"])
    response = client.post(f"/contacts/{contact_id}/review", data={
        "outcome": "changed", "rationale": "Proportionate: consent given and no indicator of harm today."})
    assert response.status_code == 422
    assert '<a href="#level">Choose a threshold level' in response.get_data(as_text=True)


def test_a_manager_cannot_review_their_own_decision(app, client, people, contact_id):
    sign_in(client, people["manager"])
    _decide(client, app, contact_id)
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert "You made this decision, so another manager must review it." in page
    assert "Confirm decision" not in page
    response = client.post(f"/contacts/{contact_id}/review", data={
        "outcome": "confirmed", "rationale": "Proportionate: consent given and no indicator of harm today."})
    assert response.status_code == 403
    assert "another manager must review it" in response.get_data(as_text=True)


def test_requesting_information_for_the_gaps_keeps_the_deadline(app, client, people, store):
    contact_id = store(contact_payload(partner_reference="NP-GAPS", received_at=hours_ago(1), narrative="Row."))
    sign_in(client, people["practitioner"])
    with app.app_context():
        contact = _contact(app, contact_id)
        gaps = [g["field"] for g in contact.recommendation["information_gaps"]]
        due = contact.decision_due_at
    assert gaps, "the thin narrative should be an information gap"
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert "Request information" in page
    response = client.post(f"/contacts/{contact_id}/information-request",
                           data={"fields": gaps, "message": "Please tell us who was in the house."})
    assert response.status_code == 302
    with app.app_context():
        contact = _contact(app, contact_id)
        assert (contact.status, contact.decision_due_at) == ("info_requested", due)
    assert "Record decision" in client.get(f"/contacts/{contact_id}").get_data(as_text=True)


def test_a_model_recommendation_shows_probabilities_the_chart_and_what_would_change(app, client, people, contact_id):
    from triage.extensions import db

    with app.app_context():
        contact = _contact(app, contact_id)
        rec = dict(contact.recommendation)
        rec.pop("reading", None)  # a recommendation stored before issue 14's reading
        rec.update(probabilities={"1": 0.1, "2": 0.6, "3": 0.25, "4": 0.05},
                   explanation={"intercept": -0.5, "contributions": [
                       {"feature": "dash_yes", "label": "DASH yes answers", "value": 4, "contribution": 0.8},
                       {"feature": "consent", "label": "Consent <obtained>", "value": True, "contribution": -0.3}]},
                   what_would_change=["A DASH of 14 or more yes answers would make it Child in need."])
        contact.recommendation = rec
        db.session.commit()
    sign_in(client, people["practitioner"])
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert re.search(r"60%", page)
    assert 'role="img"' in page and "<desc" in page
    assert "Consent &lt;obtained&gt;" in page  # labels are escaped in the SVG and the table
    assert "\u22120.30" in page and "+0.80" in page
    assert "What would change this" in page and "A DASH of 14 or more" in page


def test_a_contact_without_a_recommendation_says_so_and_can_still_be_decided(app, client, people, contact_id):
    from triage.extensions import db

    with app.app_context():
        contact = _contact(app, contact_id)
        contact.recommendation, contact.recommended_level, contact.floor_level = None, None, None
        db.session.commit()
    sign_in(client, people["practitioner"])
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert "There is no recommendation for this contact" in page
    assert 'id="override_reason"' not in page
    response = client.post(f"/contacts/{contact_id}/decision", data={"level": 2, "rationale": RATIONALE})
    assert response.status_code == 302


def test_an_unknown_contact_is_a_404_page(client, people):
    sign_in(client, people["practitioner"])
    response = client.get("/contacts/no-such-id", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "There is no contact with that reference." in response.get_data(as_text=True)
