"""The guidance reaches partners and workers through the API, in the fields the spec names."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.factories import child, contact_payload, example
from triage.engine.workdays import add_working_days


def submit(client, person, payload) -> dict:
    response = client.post("/api/v1/contacts", json=payload, headers=person.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def read(client, person, contact_id) -> dict:
    response = client.get(f"/api/v1/contacts/{contact_id}", headers=person.headers)
    assert response.status_code == 200
    return response.get_json()


def recommended(client, sender, payload, worker) -> dict:
    """Send as ``sender``; the recommendation as a front-door ``worker`` reads it (partners never do)."""
    return read(client, worker, submit(client, sender, payload)["id"])["recommendation"]


@pytest.mark.parametrize(
    ("name", "floor", "dash_risk", "marac"),
    [
        ("police-da-high-risk", 4, "high", ["visible_high_risk"]),
        ("police-da-standard-no-children-present", 0, "standard", []),
        ("health-visitor-unborn", 3, None, []),
        ("school-neglect", 2, None, []),
    ],
)
def test_shared_examples_get_their_floor_dash_marac_consent_and_deadline(
    client, make_person, name, floor, dash_risk, marac
):
    payload = example(name)
    sender = make_person("partner", organisation=payload["source"]["organisation"])
    worker = make_person("practitioner")
    stored = submit(client, sender, payload)
    got = read(client, worker, stored["id"])
    rec = got["recommendation"]
    assert rec["floor"]["level"] == floor
    assert rec["level"] >= max(floor, 1)
    assert (rec["dash"] or {}).get("risk") == dash_risk
    assert rec["marac"]["criteria"] == marac
    assert rec["marac"]["recommended"] is bool(marac)
    # Consent is a barrier only at level 3 when it was refused or not sought (level 4: not a barrier).
    barrier = rec["level"] == 3 and payload["consent"] in {"refused", "not_sought"}
    assert rec["consent"]["ok"] is not barrier
    # One working day after the front door accepted it (spec section 8), not after the partner's date.
    accepted = datetime.fromisoformat(got["accepted_at"].replace("Z", "+00:00"))
    assert datetime.fromisoformat(got["decision_due_at"].replace("Z", "+00:00")) == add_working_days(accepted, 1)
    assert rec["urgency"] in {"red", "amber", "green"}
    for indicator in rec["indicators"]:
        assert set(indicator) >= {"id", "level", "text"}
    for gap in rec["information_gaps"]:
        assert gap["field"] and gap["why"]
    assert rec["rationale_draft"]


def test_consent_refused_at_child_in_need_level_is_flagged_for_the_worker(client, make_person, app):
    from triage.engine.recommend import Recommender

    # Rules only, so the level is the guidance floor (3) whatever the classifier would add.
    app.extensions["recommender"] = Recommender(guidance=app.extensions["recommender"].guidance)
    payload = example("health-visitor-unborn")
    sender = make_person("partner", organisation=payload["source"]["organisation"])
    rec = recommended(client, sender, payload, make_person("practitioner"))
    assert rec["level"] == 3
    assert rec["consent"]["ok"] is False
    assert rec["consent"]["note"]


def test_unborn_example_names_the_missing_dash_and_incident_count(client, make_person):
    payload = example("health-visitor-unborn")
    sender = make_person("partner", organisation=payload["source"]["organisation"])
    rec = recommended(client, sender, payload, make_person("practitioner"))
    fields = {gap["field"] for gap in rec["information_gaps"]}
    assert {"domestic_abuse.dash", "domestic_abuse.incidents_12m", "children.1.present_at_incident"} <= fields


NHS = "9434765919"


def _decide_marac(client, people, contact_id: str) -> None:
    from tests.decision_support import RATIONALE

    response = client.post(f"/api/v1/contacts/{contact_id}/decision", headers=people["practitioner"].headers,
                           json={"level": 4, "rationale": RATIONALE, "marac_referral": True,
                                 "override_reason": "Set by the test: the history it is about."})
    assert response.status_code == 201, response.get_json()


def test_marac_repeat_is_found_in_the_store_for_the_same_child(client, people):
    first = submit(client, people["partner"], contact_payload(children=[child(identifiers={"nhs_number": NHS})]))
    _decide_marac(client, people, first["id"])
    again = contact_payload(children=[child(identifiers={"nhs_number": NHS}, present_at_incident=False)])
    assert "repeat" in recommended(client, people["partner"], again, people["practitioner"])["marac"]["criteria"]
    stranger = contact_payload(children=[child()])
    assert "repeat" not in recommended(client, people["partner"], stranger, people["practitioner"])["marac"]["criteria"]


def test_marac_repeat_looks_back_twelve_months_only(client, people, monkeypatch):
    from triage.services import intake

    start = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
    monkeypatch.setattr(intake, "utcnow", lambda: start)
    first = submit(client, people["partner"], contact_payload(received_at=start.isoformat(),
                                                              children=[child(identifiers={"nhs_number": NHS})]))
    _decide_marac(client, people, first["id"])
    later = start + timedelta(days=366)
    monkeypatch.setattr(intake, "utcnow", lambda: later)
    again = contact_payload(received_at=later.isoformat(), children=[child(identifiers={"nhs_number": NHS})])
    assert "repeat" not in recommended(client, people["partner"], again, people["practitioner"])["marac"]["criteria"]
