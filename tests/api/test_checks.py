"""Multi-agency checks through the API alone (spec sections 2 and 10, issue 13).

A contact the screening cannot settle is sent to checks; the police and health hub workers answer
on their own tokens, and each sees only its own agency's checks; the contact comes back scored on
what they found (``stage: after_checks``), is decided against that recommendation and reviewed;
every step is in the history and the record verifies.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from tests.decision_support import RATIONALE, REVIEW_RATIONALE, race
from tests.factories import example
from triage.extensions import db
from triage.record.tables import CheckRequest, CheckResponse, Event, User

REASON = "We need to know whether the household is known for violence before we settle the level."


def agency_worker(runner, email: str, organisation: str, agency_type: str, password: str | None = None) -> dict:
    """An agency hub worker made as an administrator would: the CLI, then a token."""
    made = runner.invoke(args=["triage", "create-user", email, "--role", "agency", "--organisation", organisation,
                               "--agency-type", agency_type, *(["--password", password] if password else [])])
    assert made.exit_code == 0, made.output
    token = runner.invoke(args=["triage", "create-token", email])
    assert token.exit_code == 0, token.output
    return {"Authorization": f"Bearer {token.output.strip().splitlines()[-1]}"}


@pytest.fixture
def agencies(runner):
    return {"police": agency_worker(runner, "hub@police.test.invalid", "Demo Police", "police"),
            "health": agency_worker(runner, "hub@health.test.invalid", "Demo Health Trust", "health")}


def a_contact_for_checks(client, person) -> dict:
    """The shared school neglect example, received a minute ago: the screening sends it to checks."""
    doc = example("school-neglect")
    doc["received_at"] = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    response = client.post("/api/v1/contacts", json=doc, headers=person.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def ask(client, person, contact_id: str, **overrides):
    body = {"agencies": ["police", "health"], "reason": REASON, "consent": "obtained"}
    body.update(overrides)
    return client.post(f"/api/v1/contacts/{contact_id}/checks", json=body, headers=person.headers)


def answer(client, headers, check_id: int, **overrides):
    body = {"known": True, "findings": [], "summary": "Known to us; details in the findings."}
    body.update(overrides)
    return client.post(f"/api/v1/checks/{check_id}/response", json=body, headers=headers)


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (CheckRequest, CheckResponse, Event))


def test_checks_from_screening_to_review_with_the_whole_history(app, client, runner, people, agencies):
    stored = a_contact_for_checks(client, people["practitioner"])
    screening = stored["recommendation"]
    assert screening["stage"] == "screening" and screening["next_step"] == "checks"
    assert all(c["due_at"] < screening["decision_due_at"] for c in screening["checks"])

    asked = ask(client, people["practitioner"], stored["id"])
    assert asked.status_code == 201, asked.get_json()
    body = asked.get_json()
    assert body["contact_status"] == "checks_requested"
    by_agency = {c["agency"]: c for c in body["checks"]}
    assert set(by_agency) == {"police", "health"}
    assert all(c["id"] and c["due_at"] for c in body["checks"])

    # each hub worker sees only its own agency's check, and only what the check needs
    police_list = client.get("/api/v1/checks?status=open", headers=agencies["police"]).get_json()
    assert [c["id"] for c in police_list["items"]] == [by_agency["police"]["id"]]
    seen = police_list["items"][0]
    assert seen["contact"]["children"] == [{"child_reference": "SCH-8812", "age_years": 8, "unborn": False}]
    assert seen["contact"]["primary_concern"] == "neglect" and "narrative" not in str(seen)
    # another agency type neither sees nor answers the police's check
    health_list = client.get("/api/v1/checks?status=open", headers=agencies["health"]).get_json()
    assert by_agency["police"]["id"] not in [c["id"] for c in health_list["items"]]
    assert answer(client, agencies["health"], by_agency["police"]["id"]).status_code == 404

    assert answer(client, agencies["police"], by_agency["police"]["id"],
                  findings=["adult_known_for_violence"]).status_code == 201
    waiting = client.get("/api/v1/queues/awaiting-checks", headers=people["practitioner"].headers).get_json()
    assert [i["id"] for i in waiting["items"]] == [stored["id"]]
    assert {c["agency"]: c["answered"] for c in waiting["items"][0]["checks"]} == {"police": True, "health": False}
    assert answer(client, agencies["health"], by_agency["health"]["id"], known=False).status_code == 201

    contact = client.get(f"/api/v1/contacts/{stored['id']}", headers=people["practitioner"].headers).get_json()
    assert contact["status"] == "awaiting_decision"
    after = contact["recommendation"]
    assert after["stage"] == "after_checks" and after["next_step"] in ("refer", "decide")
    assert contact["screening_recommendation"]["stage"] == "screening"
    assert contact["screening_recommendation"]["level"] == screening["level"]
    assert {c["agency"]: c["answer"]["findings"] for c in contact["checks"]} == {
        "police": ["adult_known_for_violence"], "health": []}
    # the after-checks model weighs the finding: here it does not lower the level
    assert after["level"] >= screening["level"]
    assert "Agency checks found: An adult in the household is known for violence" in after["rationale_draft"]

    decided = client.post(f"/api/v1/contacts/{stored['id']}/decision", headers=people["practitioner"].headers,
                          json={"level": after["level"], "rationale": RATIONALE, "consent": "obtained"})
    assert decided.status_code == 201, decided.get_json()
    assert decided.get_json()["recommendation_stage"] == "after_checks"
    reviewed = client.post(f"/api/v1/contacts/{stored['id']}/review", headers=people["manager"].headers,
                           json={"outcome": "confirmed", "rationale": REVIEW_RATIONALE})
    assert reviewed.status_code == 201

    history = client.get(f"/api/v1/contacts/{stored['id']}/history", headers=people["manager"].headers).get_json()
    kinds = [e["kind"] for e in history["events"] if e["kind"] != "viewed"]
    assert kinds == ["received", "scored", "checks_requested", "checks_requested", "check_answered",
                     "check_answered", "rescored", "decided", "reviewed"]
    rescored = next(e for e in history["events"] if e["kind"] == "rescored")["what"]
    assert rescored["stage"] == "after_checks" and rescored["screening_level"] == screening["level"]
    decided_event = next(e for e in history["events"] if e["kind"] == "decided")["what"]
    assert decided_event["recommendation"]["stage"] == "after_checks"
    verified = runner.invoke(args=["triage", "audit-verify"])
    assert verified.exit_code == 0 and "intact" in verified.output


def test_sharing_without_consent_needs_its_reason_and_a_bad_request_changes_nothing(app, client, people, agencies):
    stored = a_contact_for_checks(client, people["practitioner"])
    before = counts(app)
    refused = ask(client, people["practitioner"], stored["id"], consent="not_sought")
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) == {"without_consent_reason"}
    unknown = ask(client, people["practitioner"], stored["id"], agencies=["police", "astrology"])
    assert unknown.status_code == 422 and set(unknown.get_json()["errors"]) == {"agencies.1"}
    assert counts(app) == before
    status = client.get(f"/api/v1/contacts/{stored['id']}", headers=people["practitioner"].headers).get_json()
    assert status["status"] == "awaiting_decision"
    ok = ask(client, people["practitioner"], stored["id"], consent="not_sought",
             without_consent_reason="Asking the mother first could put the child at risk of harm.")
    assert ok.status_code == 201
    assert ok.get_json()["checks"][0]["without_consent_reason"].startswith("Asking the mother")


def test_only_the_front_door_asks_and_only_agencies_answer(client, people, agencies):
    stored = a_contact_for_checks(client, people["practitioner"])
    assert ask(client, people["partner"], stored["id"]).status_code == 403
    assert client.get("/api/v1/checks", headers=people["practitioner"].headers).status_code == 403
    check_id = ask(client, people["manager"], stored["id"]).get_json()["checks"][0]["id"]
    assert answer(client, people["practitioner"].headers, check_id).status_code == 403
    # asking again while the first checks are out is not allowed from checks_requested
    assert ask(client, people["manager"], stored["id"]).status_code == 409


def test_an_unknown_finding_code_is_refused_naming_it(app, client, people, agencies):
    stored = a_contact_for_checks(client, people["practitioner"])
    check = ask(client, people["practitioner"], stored["id"], agencies=["police"]).get_json()["checks"][0]
    before = counts(app)
    refused = answer(client, agencies["police"], check["id"], findings=["missed_health_appointments"])
    assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"findings.0"}
    assert counts(app) == before


def test_a_second_answer_is_409_and_racing_answers_make_one(app, client, people, agencies):
    stored = a_contact_for_checks(client, people["practitioner"])
    asked = ask(client, people["practitioner"], stored["id"]).get_json()["checks"]
    police = next(c["id"] for c in asked if c["agency"] == "police")
    body = {"known": True, "findings": ["domestic_abuse_at_address"], "summary": "Two call-outs this year."}
    statuses = race(app, [(f"/api/v1/checks/{police}/response", agencies["police"], body)] * 2)
    assert sorted(statuses) == [201, 409]
    assert answer(client, agencies["police"], police).status_code == 409
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CheckResponse)) == 1


def stored_payload(app, contact_id: str) -> dict:
    from triage.record.tables import Contact

    return db.session.get(Contact, contact_id).payload


def test_checks_past_due_bring_the_contact_back_and_a_late_answer_is_still_recorded(app, client, runner, people,
                                                                                    agencies):
    stored = a_contact_for_checks(client, people["practitioner"])
    check = ask(client, people["practitioner"], stored["id"], agencies=["police"]).get_json()["checks"][0]
    with app.app_context():  # the clock moves past the due time (rows are append-only: move "now" instead)
        from triage.services import checks

        # just past the check's own due time: "two days on" is not past it when the deadline skips a weekend
        later = datetime.fromisoformat(check["due_at"].replace("Z", "+00:00")) + timedelta(minutes=1)
        assert checks.settle_due(app.extensions["recommender"], now=later) == 1
    contact = client.get(f"/api/v1/contacts/{stored['id']}", headers=people["practitioner"].headers).get_json()
    assert contact["status"] == "awaiting_decision" and contact["recommendation"]["stage"] == "after_checks"
    # no answer in time: the after-checks model weighs the contact without police's answer, but nothing new is
    # known, so the level is never above what the contact supported at screening (uncertainty never raises it)
    rec = contact["recommendation"]
    with app.app_context():
        recommender = app.extensions["recommender"]
        raw = recommender.pipeline.decide_after_checks(
            stored_payload(app, stored["id"]), floor_level=rec["floor"]["level"], checks={})
    screened = max(stored["recommendation"]["level"], rec["floor"]["level"], 1)
    assert rec["level"] == min(raw["level"], screened) and rec["probabilities"] == raw["probabilities"]
    assert any(item.get("agency") == "police" and "no answer" in item["text"] for item in rec["reading"]["not_known"])
    with app.app_context():
        from triage.services import checks

        row = db.session.get(CheckRequest, check["id"])
        user = db.session.scalar(select(User).where(User.email == "hub@police.test.invalid"))
        late = checks.answer_check(row, user, app.extensions["recommender"], known=True, findings=[],
                                   now=later + timedelta(hours=1))
        assert late.late is True
    assert runner.invoke(args=["triage", "audit-verify"]).exit_code == 0
