"""The recorded words must be the person's (issue 15, the inspection's first finding).

The service offers suggested wording for every level; none of it may be recorded as someone's
reasoning on its own, wording written for another level may not be recorded at all, a manager's
review may not copy the decision's rationale back, and every free-text field has a maximum
length, the same through the API and the pages (the service enforces it).
"""

from __future__ import annotations

import pytest

from tests.decision_support import OVERRIDE, RATIONALE, REVIEW_RATIONALE, decide, review, snapshot, submit
from triage.extensions import db
from triage.record.tables import Contact
from triage.services import decisions
from triage.services.decisions import MAX_NOTE, MAX_RATIONALE


@pytest.fixture
def contact(app, client, people):
    """A contact scored by the real recommender, with its suggested wording per level."""
    contact_id = submit(client, people["partner"])
    with app.app_context():
        stored = db.session.get(Contact, contact_id)
        return {"id": contact_id, "level": stored.recommended_level,
                "drafts": decisions.offered_drafts(stored)}


def _other(level: int) -> int:
    return level + 1 if level < 4 else level - 1


def test_suggested_wording_is_offered_for_every_level_and_says_which(contact):
    assert set(contact["drafts"]) == {"1", "2", "3", "4"}
    recommended = contact["level"]
    assert contact["drafts"][str(recommended)].startswith(f"Recommended level {recommended} ")
    other = _other(recommended)
    assert contact["drafts"][str(other)].startswith(f"A decision at level {other} ")


def test_the_draft_for_another_level_is_refused_naming_both_levels(app, client, people, contact):
    chosen = _other(contact["level"])
    response = decide(client, people["practitioner"], contact["id"], level=chosen,
                      rationale=contact["drafts"][str(contact["level"])], override_reason=OVERRIDE)
    assert response.status_code == 422
    message = response.get_json()["errors"]["rationale"][0]
    assert f"suggested wording for level {contact['level']}" in message and f"level {chosen}" in message
    assert snapshot(app, contact["id"])["decisions"] == 0


def test_the_draft_for_the_chosen_level_alone_is_refused(app, client, people, contact):
    level = contact["level"]
    response = decide(client, people["practitioner"], contact["id"], level=level,
                      rationale="  " + contact["drafts"][str(level)].replace(" ", "  ") + " ")
    assert response.status_code == 422
    assert "in your own words" in response.get_json()["errors"]["rationale"][0]
    assert snapshot(app, contact["id"])["decisions"] == 0


def test_the_draft_with_own_reasons_added_is_recorded(client, people, contact):
    level = contact["level"]
    response = decide(client, people["practitioner"], contact["id"], level=level,
                      rationale=contact["drafts"][str(level)] + " " + RATIONALE)
    assert response.status_code == 201, response.get_json()


def test_the_page_refuses_the_other_levels_draft_and_keeps_what_was_typed(client, people, contact):
    from tests.web.conftest import sign_in

    sign_in(client, people["practitioner"])
    chosen = _other(contact["level"])
    page = client.post(f"/contacts/{contact['id']}/decision", data={
        "level": chosen, "rationale": contact["drafts"][str(contact["level"])], "override_reason": OVERRIDE})
    assert page.status_code == 422
    assert "Your rationale contains the suggested wording for level" in page.get_data(as_text=True)


def test_a_review_that_copies_the_decision_rationale_is_refused(client, people, contact):
    assert decide(client, people["practitioner"], contact["id"], level=contact["level"]).status_code == 201
    response = review(client, people["manager"], contact["id"], rationale=RATIONALE)
    assert response.status_code == 422
    assert "practitioner's rationale" in response.get_json()["errors"]["rationale"][0]
    assert review(client, people["manager"], contact["id"], rationale=REVIEW_RATIONALE).status_code == 201


def _words(length: int) -> str:
    """Readable text of exactly ``length`` characters."""
    return ("The child was seen and is safe tonight. " * (length // 40 + 1))[:length]


@pytest.mark.parametrize(("field", "limit"), [("rationale", MAX_RATIONALE), ("next_steps", MAX_NOTE),
                                              ("override_reason", MAX_NOTE)])
def test_decision_text_is_kept_up_to_its_limit_and_refused_one_past_it(app, client, people, contact, field, limit):
    worker, level = people["practitioner"], _other(contact["level"])
    base = {"level": level, "override_reason": OVERRIDE}
    too_long = decide(client, worker, contact["id"], **{**base, field: _words(limit + 1)})
    assert too_long.status_code == 422
    assert too_long.get_json()["errors"][field] == [
        f"Shorten this to {limit:,} characters or fewer (it has {limit + 1:,})."]
    assert snapshot(app, contact["id"])["decisions"] == 0
    at_limit = decide(client, worker, contact["id"], **{**base, field: _words(limit)})
    assert at_limit.status_code == 201, at_limit.get_json()


def test_review_rationale_and_information_message_have_limits(client, people, contact):
    worker, manager = people["practitioner"], people["manager"]
    asked = client.post(f"/api/v1/contacts/{contact['id']}/information-request", headers=worker.headers,
                        json={"fields": ["children.0.age_years"], "message": _words(MAX_NOTE + 1)})
    assert asked.status_code == 422 and "message" in asked.get_json()["errors"]
    assert decide(client, worker, contact["id"], level=contact["level"]).status_code == 201
    too_long = review(client, manager, contact["id"], rationale=_words(MAX_RATIONALE + 1))
    assert too_long.status_code == 422 and "Shorten this" in too_long.get_json()["errors"]["rationale"][0]
    assert review(client, manager, contact["id"], rationale=_words(MAX_RATIONALE)).status_code == 201
