"""The guidance reaches partners and workers through the API, in the fields the spec names."""

from __future__ import annotations

import pytest

from tests.factories import child, contact_payload, example


def submit(client, person, payload) -> dict:
    response = client.post("/api/v1/contacts", json=payload, headers=person.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def read(client, person, contact_id) -> dict:
    response = client.get(f"/api/v1/contacts/{contact_id}", headers=person.headers)
    assert response.status_code == 200
    return response.get_json()


@pytest.mark.parametrize(
    ("name", "floor", "dash_risk", "marac", "due"),
    [
        ("police-da-high-risk", 4, "high", ["visible_high_risk"], "2026-11-23T08:05:00Z"),
        ("police-da-standard-no-children-present", 0, "standard", [], "2026-11-23T09:12:00Z"),
        ("health-visitor-unborn", 3, None, [], "2026-11-24T09:00:00Z"),
        ("school-neglect", 2, None, [], "2026-11-19T14:30:00Z"),
    ],
)
def test_shared_examples_get_their_floor_dash_marac_consent_and_deadline(
    client, make_person, name, floor, dash_risk, marac, due
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
    assert got["decision_due_at"] == due
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
    rec = submit(client, sender, payload)["recommendation"]
    assert rec["level"] == 3
    assert rec["consent"]["ok"] is False
    assert rec["consent"]["note"]


def test_unborn_example_names_the_missing_dash_and_incident_count(client, make_person):
    payload = example("health-visitor-unborn")
    sender = make_person("partner", organisation=payload["source"]["organisation"])
    rec = submit(client, sender, payload)["recommendation"]
    fields = {gap["field"] for gap in rec["information_gaps"]}
    assert {"domestic_abuse.dash", "domestic_abuse.incidents_12m", "children.1.present_at_incident"} <= fields


def test_marac_repeat_is_found_in_the_store_for_the_same_child(client, people):
    high = example("police-da-high-risk")
    first = submit(client, people["partner"], high)
    assert first["recommendation"]["marac"]["recommended"] is True

    again = contact_payload(
        received_at="2026-12-01T09:00:00+00:00",
        children=[child(child_reference=high["children"][0]["child_reference"], present_at_incident=False)],
    )
    second = submit(client, people["partner"], again)
    assert "repeat" in second["recommendation"]["marac"]["criteria"]

    stranger = contact_payload(received_at="2026-12-01T09:00:00+00:00", children=[child()])
    assert "repeat" not in submit(client, people["partner"], stranger)["recommendation"]["marac"]["criteria"]


def test_marac_repeat_looks_back_twelve_months_only(client, people):
    high = example("police-da-high-risk")
    submit(client, people["partner"], high)
    later = contact_payload(
        received_at="2027-12-01T09:00:00+00:00",
        children=[child(child_reference=high["children"][0]["child_reference"])],
    )
    assert "repeat" not in submit(client, people["partner"], later)["recommendation"]["marac"]["criteria"]
