"""Spec section 6 through the API: decision, review, information request and history."""

from __future__ import annotations

import pytest

from tests.decision_support import (
    OVERRIDE,
    RATIONALE,
    decide,
    pin,
    review,
    snapshot,
    submit,
)


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["detail"]
    return body


def test_full_path_partner_to_manager_with_history_and_intact_record(app, client, runner, people, make_person):
    pin(app, level=3, floor=2)
    partner, worker, manager = people["partner"], people["practitioner"], people["manager"]
    contact_id = submit(client, partner)

    read = client.get(f"/api/v1/contacts/{contact_id}", headers=worker.headers)
    assert read.status_code == 200 and read.get_json()["version"] == 1

    decided = decide(client, worker, contact_id, level=2, override_reason=OVERRIDE, expected_version=1)
    assert decided.status_code == 201, decided.get_json()
    body = decided.get_json()
    assert body["contact_status"] == "awaiting_review"
    assert (body["level"], body["recommended_level"], body["floor_level"], body["model_version"]) == (
        2, 3, 2, "pinned-test")
    assert body["override_reason"] == OVERRIDE

    refused = review(client, worker, contact_id)
    problem(refused, 403)

    confirmed = review(client, manager, contact_id)
    assert confirmed.status_code == 201, confirmed.get_json()
    assert confirmed.get_json()["contact_status"] == "decided"
    assert confirmed.get_json()["level"] == 2

    history = client.get(f"/api/v1/contacts/{contact_id}/history", headers=manager.headers)
    assert history.status_code == 200
    events = history.get_json()["events"]
    assert [e["kind"] for e in events] == ["received", "scored", "viewed", "decided", "reviewed", "viewed"]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    who = {e["kind"]: e["who"] for e in events}
    assert who["received"].startswith(partner.email)
    assert who["decided"].startswith(worker.email)
    assert who["reviewed"].startswith(manager.email)
    assert events[2]["who"].startswith(worker.email)  # the worker's read is on the record
    assert events[-1]["who"].startswith(manager.email)  # and so is reading the history itself
    decided_event = next(e for e in events if e["kind"] == "decided")
    assert decided_event["what"]["override_reason"] == OVERRIDE
    assert decided_event["what"]["recommendation"] == {"level": 3, "floor_level": 2, "model_version": "pinned-test",
                                                           "stage": None, "next_step": None}
    assert all(e["at"].endswith("Z") for e in events)
    timeliness = history.get_json()["timeliness"]
    assert timeliness["hours_to_decision"] is not None and timeliness["hours_decision_to_review"] is not None

    result = runner.invoke(args=["triage", "audit-verify"])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def test_contact_shows_the_latest_decision_and_review_to_staff_only(app, client, people):
    pin(app, level=2, floor=1)
    contact_id = submit(client, people["partner"])
    assert decide(client, people["practitioner"], contact_id).status_code == 201
    assert review(client, people["manager"], contact_id).status_code == 201
    staff = client.get(f"/api/v1/contacts/{contact_id}", headers=people["manager"].headers).get_json()
    assert staff["decision"]["level"] == 2 and staff["review"]["outcome"] == "confirmed"
    partner = client.get(f"/api/v1/contacts/{contact_id}", headers=people["partner"].headers).get_json()
    assert partner["decision"] is None and partner["review"] is None


def test_manager_changes_a_decision_with_a_new_level(app, client, people):
    pin(app, level=2, floor=1)
    contact_id = submit(client, people["partner"])
    assert decide(client, people["practitioner"], contact_id).status_code == 201
    changed = review(client, people["manager"], contact_id, outcome="changed", level=3)
    assert changed.status_code == 201, changed.get_json()
    assert changed.get_json()["level"] == 3 and changed.get_json()["outcome"] == "changed"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"rationale": "Too short to say anything at all."}, 422, "rationale"),
        ({"rationale": "   " + "x" * 10 + "   " * 20}, 422, "rationale"),
        ({"level": 1}, 422, "override_reason"),
        ({"level": 1, "override_reason": "   "}, 422, "override_reason"),
        ({"level": 7}, 422, "level"),
        ({"level": "2"}, 422, "level"),
        ({"rationale": None}, 422, "rationale"),
        ({"surprise": True}, 422, "surprise"),
    ],
)
def test_bad_decisions_are_refused_and_nothing_is_recorded(app, client, people, body, status, field):
    pin(app, level=2, floor=1)
    contact_id = submit(client, people["partner"])
    before = snapshot(app, contact_id)
    response = decide(client, people["practitioner"], contact_id, **body)
    assert field in problem(response, status)["errors"]
    assert snapshot(app, contact_id) == before


def test_a_practitioner_may_not_go_below_the_floor(app, client, people):
    pin(app, level=3, floor=3)
    contact_id = submit(client, people["partner"])
    before = snapshot(app, contact_id)
    response = decide(client, people["practitioner"], contact_id, level=2, override_reason=OVERRIDE)
    body = problem(response, 403)
    assert "only a manager may record a level below the guidance floor" in body["detail"].lower()
    assert body["errors"]["level"]
    assert snapshot(app, contact_id) == before


def test_a_manager_may_go_below_the_floor_with_a_reason(app, client, people):
    pin(app, level=3, floor=3)
    contact_id = submit(client, people["partner"])
    assert "override_reason" in problem(decide(client, people["manager"], contact_id, level=2), 422)["errors"]
    response = decide(client, people["manager"], contact_id, level=2, override_reason=OVERRIDE)
    assert response.status_code == 201, response.get_json()


def test_the_decider_may_not_review_their_own_decision(app, client, people):
    pin(app, level=2, floor=1)
    contact_id = submit(client, people["partner"])
    assert decide(client, people["manager"], contact_id).status_code == 201
    before = snapshot(app, contact_id)
    body = problem(review(client, people["manager"], contact_id), 403)
    assert "another manager" in body["detail"]
    assert snapshot(app, contact_id) == before


def test_review_before_any_decision_is_a_conflict_saying_what_is_allowed(app, client, people):
    pin(app, level=2, floor=1)
    contact_id = submit(client, people["partner"])
    before = snapshot(app, contact_id)
    body = problem(review(client, people["manager"], contact_id), 409)
    assert "awaiting decision" in body["detail"] and "record a decision" in body["detail"]
    assert body["allowed"] == ["decide", "request_information", "request_checks"]
    assert snapshot(app, contact_id) == before


def test_a_second_decision_is_a_conflict(app, client, people):
    pin(app, level=2, floor=1)
    contact_id = submit(client, people["partner"])
    assert decide(client, people["practitioner"], contact_id).status_code == 201
    before = snapshot(app, contact_id)
    body = problem(decide(client, people["manager"], contact_id), 409)
    assert "review the decision" in body["detail"]
    assert snapshot(app, contact_id) == before


def test_a_stale_version_is_a_conflict(app, client, people):
    pin(app, level=2, floor=1)
    contact_id = submit(client, people["partner"])
    before = snapshot(app, contact_id)
    problem(decide(client, people["practitioner"], contact_id, expected_version=before["version"] + 1), 409)
    assert snapshot(app, contact_id) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": "changed"}, "level"),
        ({"outcome": "changed", "level": 2}, "level"),
        ({"outcome": "confirmed", "level": 4}, "level"),
        ({"rationale": "Fine."}, "rationale"),
    ],
)
def test_bad_reviews_are_refused_and_nothing_is_recorded(app, client, people, body, field):
    pin(app, level=2, floor=1)
    contact_id = submit(client, people["partner"])
    assert decide(client, people["practitioner"], contact_id).status_code == 201
    before = snapshot(app, contact_id)
    assert field in problem(review(client, people["manager"], contact_id, **body), 422)["errors"]
    assert snapshot(app, contact_id) == before


def test_without_a_recommendation_no_override_reason_is_needed_and_the_record_says_so(app, client, people):
    pin(app, level=None)
    contact_id = submit(client, people["partner"])
    response = decide(client, people["practitioner"], contact_id, level=4)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["recommended_level"] is None
    events = client.get(f"/api/v1/contacts/{contact_id}/history", headers=people["manager"].headers).get_json()
    decided = next(e for e in events["events"] if e["kind"] == "decided")
    assert decided["what"]["recommendation"] is None
    assert "no override reason was required" in decided["what"]["note"]


def test_information_request_keeps_the_deadline_and_a_decision_can_follow(app, client, people):
    pin(app, level=2, floor=1)
    contact_id = submit(client, people["partner"])
    due = client.get(f"/api/v1/contacts/{contact_id}", headers=people["practitioner"].headers).get_json()[
        "decision_due_at"]
    asked = client.post(f"/api/v1/contacts/{contact_id}/information-request", headers=people["practitioner"].headers,
                        json={"fields": ["children.0.school"], "message": "Which school does the child attend?"})
    assert asked.status_code == 201, asked.get_json()
    assert asked.get_json()["contact_status"] == "info_requested"
    assert asked.get_json()["decision_due_at"] == due
    after = client.get(f"/api/v1/contacts/{contact_id}", headers=people["practitioner"].headers).get_json()
    assert after["status"] == "info_requested" and after["decision_due_at"] == due
    assert decide(client, people["practitioner"], contact_id, level=2).status_code == 201


def test_information_request_needs_a_message(app, client, people):
    pin(app, level=2, floor=1)
    contact_id = submit(client, people["partner"])
    before = snapshot(app, contact_id)
    response = client.post(f"/api/v1/contacts/{contact_id}/information-request",
                           headers=people["practitioner"].headers, json={"fields": [], "message": "  "})
    assert "message" in problem(response, 422)["errors"]
    empty = client.post(f"/api/v1/contacts/{contact_id}/information-request",
                        headers=people["practitioner"].headers, json={})
    assert set(problem(empty, 422)["errors"]) == {"fields", "message"}
    assert snapshot(app, contact_id) == before


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("partner", "decision", 403),
        ("admin", "decision", 403),
        ("practitioner", "review", 403),
        ("partner", "history", 403),
    ],
)
def test_roles_outside_the_policy_are_refused(app, client, people, role, path, status):
    pin(app, level=2, floor=1)
    contact_id = submit(client, people["partner"])
    url = f"/api/v1/contacts/{contact_id}/{path}"
    headers = people[role].headers
    response = client.get(url, headers=headers) if path == "history" else client.post(
        url, json={"level": 2, "rationale": RATIONALE, "outcome": "confirmed"}, headers=headers)
    problem(response, status)


def test_unknown_contact_is_404(client, people):
    problem(decide(client, people["practitioner"], "no-such-contact"), 404)
