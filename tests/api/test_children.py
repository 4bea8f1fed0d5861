"""A child across contacts (spec section 9): identifiers, child records, history and links.

The same NHS number from the police and from a school is one child; the second contact's
history shows the first with its decision. Identifiers are checked, kept only as keyed hashes
and never come back. People link and unlink records; both are events that ``audit-verify``
checks against the link tables.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text, update

from tests.decision_support import RATIONALE, REVIEW_RATIONALE, decide, review
from tests.factories import child, contact_payload
from tests.record.test_audit import record_by_hand
from triage.extensions import db
from triage.record.tables import ChildIdentifier, ChildLink, Contact

NHS = "9434765919"
OTHER_NHS = "4010232137"
UPN = "B801200005001"


def school_contact(**overrides) -> dict:
    """A school's neglect contact (no domestic abuse block)."""
    payload = contact_payload(organisation="Riverside Primary", primary_concern="neglect",
                              source={"code": "2A", "organisation": "Riverside Primary"}, **overrides)
    payload.pop("domestic_abuse")
    return payload


def post(client, person, payload):
    return client.post("/api/v1/contacts", json=payload, headers=person.headers)


def stored(client, person, payload) -> dict:
    response = post(client, person, payload)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def recommended(client, people, payload) -> dict:
    """The partner sends; the recommendation as a practitioner reads it (partners never see it)."""
    contact_id = stored(client, people["partner"], payload)["id"]
    return client.get(f"/api/v1/contacts/{contact_id}", headers=people["practitioner"].headers).get_json()


def decided(client, worker, manager, contact_id: str, level: int, marac: bool = False) -> None:
    assert decide(client, worker, contact_id, level=level, rationale=RATIONALE, marac_referral=marac,
                  override_reason="Level set by the test to state the history it is about.").status_code == 201
    assert review(client, manager, contact_id, rationale=REVIEW_RATIONALE).status_code == 201


def history(client, person, child_id: str) -> dict:
    response = client.get(f"/api/v1/children/{child_id}/history", headers=person.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def school(make_person):
    return make_person("partner", organisation="Riverside Primary")


def test_the_same_nhs_number_from_police_then_a_school_is_one_child_with_its_history(client, people, school):
    worker, manager = people["practitioner"], people["manager"]
    police = stored(client, people["partner"], contact_payload(children=[child(identifiers={"nhs_number": NHS})]))
    decided(client, worker, manager, police["id"], level=3)

    second = stored(client, school, school_contact(children=[child(identifiers={"nhs_number": NHS})]))
    child_id = second["children"][0]["child_id"]
    assert child_id == police["children"][0]["child_id"]

    got = history(client, worker, child_id)
    assert [item["contact_id"] for item in got["contacts"]] == [second["id"], police["id"]]  # newest first
    first = got["contacts"][1]
    assert first["decided_level"] == 3 and first["status"] == "decided"
    assert first["source"] == {"code": "6", "organisation": "Demo Police"}
    assert first["primary_concern"] == "domestic_abuse"
    assert (got["contacts_12m"], got["referrals_12m"], got["marac_12m"]) == (2, 1, False)


def test_a_child_without_identifiers_gets_a_new_record_each_time(client, people):
    one = stored(client, people["partner"], contact_payload(children=[child(child_reference="SAME-REF")]))
    two = stored(client, people["partner"], contact_payload(children=[child(child_reference="SAME-REF")]))
    assert one["children"][0]["child_id"] != two["children"][0]["child_id"]


def test_a_upn_seen_beside_a_known_nhs_number_finds_the_same_child_later(client, people, school):
    first = stored(client, people["partner"], contact_payload(children=[child(identifiers={"nhs_number": NHS})]))
    both = stored(client, school, school_contact(children=[child(identifiers={"nhs_number": NHS, "upn": UPN})]))
    upn_only = stored(client, school, school_contact(children=[child(identifiers={"upn": UPN})]))
    ids = {c["children"][0]["child_id"] for c in (first, both, upn_only)}
    assert len(ids) == 1


def test_siblings_on_one_contact_have_their_own_records_and_show_each_other(client, people):
    worker = people["practitioner"]
    one = stored(client, people["partner"], contact_payload(
        children=[child(identifiers={"nhs_number": NHS}), child(identifiers={"nhs_number": OTHER_NHS})]))
    first, second = (c["child_id"] for c in one["children"])
    assert first != second
    item = history(client, worker, first)["contacts"][0]
    assert {c["child_id"] for c in item["children"]} == {first, second}


@pytest.mark.parametrize(("identifiers", "path"), [
    ({"nhs_number": "9434765911"}, "children.0.identifiers.nhs_number"),
    ({"upn": "A801200005001"}, "children.0.identifiers.upn"),
    ({"upn": "B80120000500S"}, "children.0.identifiers.upn"),  # S is never a temporary UPN's letter
])
def test_a_wrong_check_digit_or_letter_is_refused_naming_the_field(app, client, people, identifiers, path):
    response = post(client, people["partner"], contact_payload(children=[child(identifiers=identifiers)]))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert list(response.get_json()["errors"]) == [path]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 0
        assert db.session.scalar(select(func.count()).select_from(ChildIdentifier)) == 0


def test_the_second_child_is_named_by_its_position(client, people):
    response = post(client, people["partner"], contact_payload(
        children=[child(identifiers={"nhs_number": NHS}), child(identifiers={"nhs_number": "9434765918"})]))
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["children.1.identifiers.nhs_number"]


def test_a_upn_from_an_authority_created_since_2011_is_accepted(client, people):
    # Local authority 940 (North Northamptonshire, 2021): check letter F for "94012000500A".
    assert stored(client, people["partner"], contact_payload(children=[child(identifiers={"upn": "F94012000500A"})]))


def test_identifiers_are_stored_only_as_keyed_hashes(app, client, people):
    body = stored(client, people["partner"], contact_payload(children=[child(identifiers={"nhs_number": NHS})]))
    assert "identifiers" not in body["children"][0]
    with app.app_context():
        dump = " ".join(str(row) for row in db.session.execute(text("SELECT * FROM contacts")).all())
        dump += " ".join(str(row) for row in db.session.execute(text("SELECT * FROM events")).all())
        digests = db.session.scalars(select(ChildIdentifier.digest)).all()
    assert NHS not in dump
    assert len(digests) == 1 and NHS not in digests[0]
    import hashlib
    assert digests[0] != hashlib.sha256(NHS.encode()).hexdigest()  # keyed, not a plain hash


def test_the_hash_depends_on_the_key(app):
    from triage.services.identity import digest

    with app.app_context():
        first = digest("nhs_number", NHS)
        app.config["IDENTIFIER_KEY"] = "another-key-another-key-another-key"
        assert digest("nhs_number", NHS) != first


def test_history_is_for_staff_only_and_unknown_children_are_404(client, people):
    body = stored(client, people["partner"], contact_payload())
    child_id = body["children"][0]["child_id"]
    assert client.get(f"/api/v1/children/{child_id}/history", headers=people["partner"].headers).status_code == 403
    assert client.get("/api/v1/children/nobody/history", headers=people["manager"].headers).status_code == 404


def test_reading_a_childs_history_is_recorded_on_each_contact_shown(client, people):
    body = stored(client, people["partner"], contact_payload(children=[child(identifiers={"nhs_number": NHS})]))
    history(client, people["manager"], body["children"][0]["child_id"])
    events = client.get(f"/api/v1/contacts/{body['id']}/history", headers=people["manager"].headers).get_json()
    reads = [e for e in events["events"] if e["kind"] == "viewed" and e["what"].get("what") == "child_history"]
    assert len(reads) == 1 and reads[0]["who"].startswith(people["manager"].email)


# -- linking ----------------------------------------------------------------------------------------


def link(client, person, child_id: str, other: str, **extra):
    body = {"linked_child_id": other, "reason": "Same date of birth and address on both contacts."} | extra
    return client.post(f"/api/v1/children/{child_id}/links", json=body, headers=person.headers)


def test_linking_and_unlinking_are_recorded_shown_and_verified(client, runner, people):
    worker, manager = people["practitioner"], people["manager"]
    old = stored(client, people["partner"], contact_payload(children=[child()]))
    new = stored(client, people["partner"], contact_payload(children=[child()]))
    old_child, new_child = old["children"][0]["child_id"], new["children"][0]["child_id"]
    assert [c["contact_id"] for c in history(client, worker, new_child)["contacts"]] == [new["id"]]

    made = link(client, worker, new_child, old_child, contact_id=new["id"])
    assert made.status_code == 201, made.get_json()
    link_id = made.get_json()["id"]
    assert set(made.get_json()["group"]) == {old_child, new_child}
    linked = history(client, manager, new_child)
    assert [c["contact_id"] for c in linked["contacts"]] == [new["id"], old["id"]]
    assert linked["links"][0]["reason"].startswith("Same date of birth")
    assert link(client, worker, new_child, old_child).status_code == 409  # already one child

    events = client.get(f"/api/v1/contacts/{new['id']}/history", headers=manager.headers).get_json()["events"]
    assert [e["what"]["linked_child_id"] for e in events if e["kind"] == "child_linked"] == [old_child]

    undone = client.post(f"/api/v1/children/{new_child}/links/{link_id}/undo", headers=manager.headers,
                         json={"reason": "A different child: the school confirmed another surname.",
                               "contact_id": new["id"]})
    assert undone.status_code == 201, undone.get_json()
    assert undone.get_json()["undone"]["by"].startswith(manager.email)
    after = history(client, worker, new_child)
    assert [c["contact_id"] for c in after["contacts"]] == [new["id"]]
    assert after["links"][0]["undone"] is not None
    again = client.post(f"/api/v1/children/{new_child}/links/{link_id}/undo", headers=manager.headers,
                        json={"reason": "Pressed twice by mistake, nothing to undo."})
    assert again.status_code == 409

    events = client.get(f"/api/v1/contacts/{new['id']}/history", headers=manager.headers).get_json()["events"]
    assert [e["kind"] for e in events if e["kind"].startswith("child_")] == ["child_linked", "child_unlinked"]
    result = runner.invoke(args=["triage", "audit-verify"])
    assert result.exit_code == 0, result.output


def test_linking_never_rewrites_a_stored_contact(app, client, people):
    old = stored(client, people["partner"], contact_payload())
    new = stored(client, people["partner"], contact_payload())
    with app.app_context():
        before = {r[0]: r for r in db.session.execute(text("SELECT * FROM children")).all()}
    assert link(client, people["practitioner"], new["children"][0]["child_id"],
                old["children"][0]["child_id"]).status_code == 201
    with app.app_context():
        after = {r[0]: r for r in db.session.execute(text("SELECT * FROM children")).all()}
    assert before == after


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"linked_child_id": "nobody", "reason": "Same date of birth and address."}, 422, "linked_child_id"),
    ({"linked_child_id": "OTHER", "reason": "same"}, 422, "reason"),
    ({"linked_child_id": "OTHER"}, 422, "reason"),
    ({"linked_child_id": "OTHER", "reason": "Same date of birth and address.", "extra": 1}, 422, "extra"),
])
def test_a_bad_link_is_refused_and_changes_nothing(app, client, people, body, status, field):
    one = stored(client, people["partner"], contact_payload())
    two = stored(client, people["partner"], contact_payload())
    if body.get("linked_child_id") == "OTHER":
        body = body | {"linked_child_id": two["children"][0]["child_id"]}
    response = client.post(f"/api/v1/children/{one['children'][0]['child_id']}/links", json=body,
                           headers=people["practitioner"].headers)
    assert response.status_code == status
    assert field in response.get_json()["errors"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ChildLink)) == 0


def test_partners_may_not_link(client, people):
    one = stored(client, people["partner"], contact_payload())
    two = stored(client, people["partner"], contact_payload())
    assert link(client, people["partner"], one["children"][0]["child_id"],
                two["children"][0]["child_id"]).status_code == 403


def test_a_link_row_edited_by_hand_is_caught_by_audit_verify(app, client, runner, people):
    one = stored(client, people["partner"], contact_payload())
    two = stored(client, people["partner"], contact_payload())
    three = stored(client, people["partner"], contact_payload())
    assert link(client, people["practitioner"], one["children"][0]["child_id"],
                two["children"][0]["child_id"]).status_code == 201
    record_by_hand(app, "child_links", update(ChildLink).values(linked_child_id=three["children"][0]["child_id"]))
    result = runner.invoke(args=["triage", "audit-verify"])
    assert result.exit_code == 1
    assert "child_links row" in result.output and "linked_child_id changed" in result.output


# -- the recommendation reads the history --------------------------------------------------------


def test_a_marac_decided_for_the_same_child_makes_the_next_contact_a_repeat(client, people):
    worker, manager = people["practitioner"], people["manager"]
    first = stored(client, people["partner"], contact_payload(children=[child(identifiers={"nhs_number": NHS})]))
    decided(client, worker, manager, first["id"], level=4, marac=True)
    again = recommended(client, people, contact_payload(children=[child(identifiers={"nhs_number": NHS})]))
    assert "repeat" in again["recommendation"]["marac"]["criteria"]
    stranger = recommended(client, people, contact_payload(children=[child()]))
    assert "repeat" not in stranger["recommendation"]["marac"]["criteria"]


def test_a_marac_only_recommended_and_never_decided_is_not_a_repeat(client, people):
    stored(client, people["partner"], contact_payload(children=[child(identifiers={"nhs_number": NHS})]))
    again = recommended(client, people, contact_payload(children=[child(identifiers={"nhs_number": NHS})]))
    assert "repeat" not in again["recommendation"]["marac"]["criteria"]


def test_a_managers_change_on_review_is_the_level_the_history_shows_and_counts(client, people):
    worker, manager = people["practitioner"], people["manager"]
    first = stored(client, people["partner"], contact_payload(children=[child(identifiers={"nhs_number": NHS})]))
    assert decide(client, worker, first["id"], level=3, rationale=RATIONALE,
                  override_reason="Level set by the test to state the history it is about.").status_code == 201
    changed = review(client, manager, first["id"], outcome="changed", level=2, rationale=REVIEW_RATIONALE)
    assert changed.status_code == 201, changed.get_json()
    second = stored(client, people["partner"], contact_payload(children=[child(identifiers={"nhs_number": NHS})]))
    got = history(client, worker, second["children"][0]["child_id"])
    assert [(c["contact_id"], c["decided_level"]) for c in got["contacts"]] == [(second["id"], None), (first["id"], 2)]
    assert got["referrals_12m"] == 0  # the manager's level 2 is not a referral; the worker's 3 was


def test_a_childs_history_reads_and_records_in_the_same_statements_however_many_contacts_it_holds(app, client,
                                                                                                  people):
    """One statement for the contacts and their outcomes and one write of the reads, not several per contact."""
    from tests.api.test_paging import counted

    worker, manager = people["practitioner"], people["manager"]

    def statements_after(contacts: int, nhs: str) -> int:
        ids = [stored(client, people["partner"], contact_payload(children=[child(identifiers={"nhs_number": nhs})]))
               for _ in range(contacts)]
        for made in ids[:-1]:
            decided(client, worker, manager, made["id"], level=2)
        with counted(app) as statements:
            assert len(history(client, worker, ids[-1]["children"][0]["child_id"])["contacts"]) == contacts
        return len(statements)

    assert statements_after(5, OTHER_NHS) == statements_after(2, NHS)
