"""Intake through the API (spec sections 1, 2 and 4): take each contact in once, refuse bad input well.

Every refusal is checked the same way: the right status, an RFC 9457 problem document
naming the bad field by JSON path, nothing stored, and nothing internal in the body.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import event, func, select, update

from tests.factories import all_examples, child, contact_payload
from triage.extensions import db
from triage.record.tables import Contact, Event

URL = "/api/v1/contacts"
# What a stack trace or an internal name would look like (the problem type URI is triage.invalid).
INTERNAL = re.compile(r"Traceback|File \"|\.py\b|triage\.(?!invalid)|sqlalchemy|psycopg|sqlite|Exception|"
                      r"werkzeug|marshmallow|IntegrityError|RecursionError", re.IGNORECASE)



def stored(app) -> tuple[int, int]:
    """(contacts, events) in the store."""
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Contact)),
                db.session.scalar(select(func.count()).select_from(Event)))


def post(client, person=None, body=None, **kwargs):
    headers = dict(person.headers) if person else {}
    headers.update(kwargs.pop("headers", {}))
    if body is not None:
        kwargs["json"] = body
    return client.post(URL, headers=headers, **kwargs)


def assert_problem(response, status: int, field: str | None = None) -> dict:
    """A problem document with the given status (and naming ``field`` in ``errors``)."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert body["type"].startswith("https://") and body["title"] and body["detail"]
    if field is not None:
        assert field in body["errors"], body.get("errors")
        assert all(isinstance(m, str) and m for m in body["errors"][field])
    text = response.get_data(as_text=True)
    assert not INTERNAL.search(text), f"an internal name leaked to the client: {text}"
    return body


# --- accepting contacts ------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(all_examples()))
def test_shared_examples_are_accepted_with_201_and_location(app, client, people, name):
    document = all_examples()[name]
    sender = people["partner"] if document["source"]["organisation"] == "Demo Police" else people["practitioner"]
    response = post(client, sender, document)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"] == f"{URL}/{body['id']}"
    assert body["partner_reference"] == document["partner_reference"]
    assert body["status"] == "awaiting_decision"
    assert body["decision_due_at"] and "recommendation" in body
    assert stored(app)[0] == 1

    read = client.get(response.headers["Location"], headers=sender.headers)
    assert read.status_code == 200 and read.get_json()["id"] == body["id"]


def test_a_retry_answers_200_with_the_contact_already_stored(app, client, people):
    document = contact_payload()
    first = post(client, people["partner"], document)
    again = post(client, people["partner"], document)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    contacts, events = stored(app)
    assert contacts == 1
    assert events == 2  # received and scored, once


def test_contact_ids_sort_by_when_they_came_and_child_ids_tell_nothing(client, people):
    """A contact's id is a version 7 UUID, so later contacts sort after earlier ones (each index they key
    grows at its end); a child's record id stays random (version 4): it must not tell when the child
    first became known."""
    answers = [post(client, people["partner"], contact_payload(partner_reference=f"ORDER-{n}")).get_json()
               for n in range(3)]
    ids = [answer["id"] for answer in answers]
    assert [uuid.UUID(contact_id).version for contact_id in ids] == [7, 7, 7]
    assert ids == sorted(ids) and len(set(ids)) == 3
    child_ids = [child["child_id"] for answer in answers for child in answer["children"]]
    assert child_ids and {uuid.UUID(child_id).version for child_id in child_ids} == {4}


def test_the_same_reference_from_another_organisation_is_another_contact(app, client, make_person):
    police = make_person("partner", organisation="Demo Police")
    school = make_person("partner", organisation="Demo School")
    a = post(client, police, contact_payload(partner_reference="REF-1", organisation="Demo Police"))
    b = post(client, school, contact_payload(partner_reference="REF-1", organisation="Demo School"))
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.get_json()["id"] != b.get_json()["id"]


def _race(app, person, document, n: int = 8) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def send(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        results[i] = post(client, person, document)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("sender", ["partner", "practitioner"])
def test_eight_racing_retries_make_exactly_one_contact(app, people, sender):
    # The practitioner names an organisation the store has never seen, so the racers also
    # race to create it.
    organisation = "Demo Police" if sender == "partner" else "Brand New Agency"
    document = contact_payload(organisation=organisation)
    results = _race(app, people[sender], document)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] * 7 + [201], [r.get_json() for r in results]
    assert len({r.get_json()["id"] for r in results}) == 1
    contacts, events = stored(app)
    assert contacts == 1
    assert events == 2


def test_partner_without_source_organisation_gets_its_own_filled_in(app, client, people):
    document = contact_payload()
    del document["source"]["organisation"]
    response = post(client, people["partner"], document)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["source"]["organisation"] == "Demo Police"


def test_practitioner_takes_a_phone_contact_for_any_organisation(app, client, people):
    response = post(client, people["practitioner"], contact_payload(organisation="A Neighbour", source={
        "code": "8", "organisation": "A Neighbour"}))
    assert response.status_code == 201, response.get_json()


def test_partner_token_for_another_organisation_is_refused_and_nothing_stored(app, client, people):
    before = stored(app)
    response = post(client, people["partner"], contact_payload(organisation="Other Police"))
    assert_problem(response, 403, "source.organisation")
    assert stored(app) == before


def test_contact_is_stored_even_when_the_recommendation_step_fails(app, client, people, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("model file is corrupt")

    monkeypatch.setattr(app.extensions["recommender"], "recommend", broken)
    response = post(client, people["partner"], contact_payload())
    assert response.status_code == 201
    body = client.get(f"/api/v1/contacts/{response.get_json()['id']}", headers=people["practitioner"].headers).get_json()
    assert body["recommendation"] is None
    assert body["urgency"] == "red"  # as the front door sees it: unscored is treated as urgent
    with app.app_context():
        scored = db.session.scalar(select(Event).where(Event.kind == "scored"))
        assert scored.contact_id == body["id"]
        assert scored.data["ok"] is False
        assert "corrupt" not in json.dumps(scored.data)  # the error's type, not its message
    assert "RuntimeError" not in response.get_data(as_text=True)


# --- refusing bad input ---------------------------------------------------------------------------

def _body(raw: bytes | str, content_type: str = "application/json") -> dict:
    return {"data": raw, "content_type": content_type}


DA = contact_payload()
BAD_BODIES = [
    # (name, request kwargs, status, field named in errors)
    ("malformed JSON", _body("{"), 400, None),
    ("JSON followed by garbage", _body(json.dumps(DA) + " x"), 400, None),
    ("empty body", _body(""), 400, None),
    ("not UTF-8", _body(b"\xff\xfe{}"), 400, None),
    ("NaN is not JSON", _body(json.dumps(contact_payload(children=[child(age_years=float("nan"))]))), 400, None),
    ("nested ten thousand deep", _body("[" * 10000 + "]" * 10000), 400, None),
    ("a NUL character", _body(json.dumps(contact_payload(children=[child(child_reference="C\u00001")]))),
     400, "children.0.child_reference"),
    ("an unpaired surrogate", _body(json.dumps(contact_payload(narrative="half \ud83d a face"))), 400, "narrative"),
    ("text/plain", _body(json.dumps(DA), "text/plain"), 415, None),
    ("no content type", {"data": json.dumps(DA)}, 415, None),
    ("a form", {"data": {"partner_reference": "X"}}, 415, None),
    ("XML", _body("<contact/>", "application/xml"), 415, None),
    ("a JSON array", {"json": [DA]}, 422, "$"),
    ("a JSON string", {"json": "contact"}, 422, "$"),
    ("age as a string", {"json": contact_payload(children=[child(age_years="3")])}, 422, "children.0.age_years"),
    ("age 3.5", {"json": contact_payload(children=[child(age_years=3.5)])}, 422, "children.0.age_years"),
    ("age 18", {"json": contact_payload(children=[child(), child(age_years=18)])}, 422, "children.1.age_years"),
    ("age -1", {"json": contact_payload(children=[child(age_years=-1)])}, 422, "children.0.age_years"),
    ("boolean as a string", {"json": contact_payload(children=[child(injured="yes")])}, 422, "children.0.injured"),
    ("unknown source code", {"json": contact_payload(source={"code": "99", "organisation": "Demo Police"})},
     422, "source.code"),
    ("unknown concern", {"json": contact_payload(primary_concern="gangs")}, 422, "primary_concern"),
    ("unknown factor", {"json": contact_payload(factors=["3A", "ZZ"])}, 422, "factors.1"),
    ("repeated factor", {"json": contact_payload(factors=["3A", "3A"])}, 422, "factors"),
    ("unknown top-level field", {"json": contact_payload(priority="high")}, 422, "priority"),
    ("unknown field in a child", {"json": contact_payload(children=[child(name="Alice Smith")])},
     422, "children.0.name"),
    ("unknown field in DASH", {"json": contact_payload(domestic_abuse={"dash": {"score": 14}})},
     422, "domestic_abuse.dash.score"),
    ("DASH question 28", {"json": contact_payload(domestic_abuse={"dash": {"answers": {"28": "yes"}}})},
     422, "domestic_abuse.dash.answers.28"),
    ("naive received_at", {"json": contact_payload(received_at="2026-11-20T08:05:00")}, 422, "received_at"),
    ("30 February", {"json": contact_payload(received_at="2026-02-30T08:05:00Z")}, 422, "received_at"),
    ("a date with no UTC instant", {"json": contact_payload(received_at="0001-01-01T00:00:00+01:00")},
     422, "received_at"),
    ("no working day after it", {"json": contact_payload(received_at="9999-12-31T23:00:00Z")}, 422, "received_at"),
    ("missing children", {"json": {k: v for k, v in DA.items() if k != "children"}}, 422, "children"),
    ("no children", {"json": contact_payload(children=[])}, 422, "children"),
    ("missing source", {"json": {k: v for k, v in DA.items() if k != "source"}}, 422, "source"),
    ("domestic abuse without its block", {"json": {k: v for k, v in DA.items() if k != "domestic_abuse"}},
     422, "domestic_abuse"),
    ("bad partner_reference", {"json": contact_payload(partner_reference="-no spaces-")}, 422, "partner_reference"),
    ("thirteen children", {"json": contact_payload(children=[child() for _ in range(13)])}, 422, "children"),
]


@pytest.mark.parametrize(("name", "request_kwargs", "status", "field"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_bodies_get_the_right_problem_and_store_nothing(app, client, people, name, request_kwargs, status,
                                                            field):
    before = stored(app)
    response = post(client, people["partner"], **request_kwargs)
    assert_problem(response, status, field)
    assert stored(app) == before


def test_a_body_over_the_limit_gets_413_and_stores_nothing(app, client, people):
    limit = app.config["MAX_CONTENT_LENGTH"]
    before = stored(app)
    response = post(client, people["partner"], contact_payload(narrative="n" * (limit + 1)))
    assert_problem(response, 413)
    assert stored(app) == before


@pytest.mark.parametrize(("name", "headers", "status"), [
    ("no token", {}, 401),
    ("an unknown token", {"Authorization": "Bearer tri_not-a-real-token"}, 401),
    ("an empty bearer", {"Authorization": "Bearer "}, 401),
    ("basic auth", {"Authorization": "Basic dXNlcjpwYXNz"}, 401),
])
def test_callers_without_a_valid_token_get_401(app, client, name, headers, status):
    before = stored(app)
    response = client.post(URL, json=contact_payload(), headers=headers)
    assert_problem(response, status)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert stored(app) == before


def test_a_revoked_token_gets_401(app, client, people):
    with app.app_context():
        from triage.record.tables import ApiToken
        db.session.execute(update(ApiToken).values(revoked_at=datetime.now(timezone.utc)))
        db.session.commit()
    assert_problem(post(client, people["partner"], contact_payload()), 401)


def test_an_admin_may_not_send_contacts(app, client, people):
    before = stored(app)
    assert_problem(post(client, people["admin"], contact_payload()), 403)
    assert stored(app) == before


def test_a_charset_on_the_content_type_is_fine(app, client, people):
    response = post(client, people["partner"], data=json.dumps(contact_payload()).encode(),
                    content_type="application/json; charset=utf-8")
    assert response.status_code == 201


def test_one_problem_reports_every_bad_field(app, client, people):
    document = contact_payload(children=[child(age_years="3", sex="boy")], consent="maybe")
    body = assert_problem(post(client, people["partner"], document), 422)
    assert {"children.0.age_years", "children.0.sex", "consent"} <= set(body["errors"])


# --- reading contacts -----------------------------------------------------------------------------

def _seed(client, person, **overrides) -> str:
    response = post(client, person, contact_payload(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def listed(app, client, people, make_person):
    """Five contacts: three police (one decided), one school, one from another police force."""
    police, worker = people["partner"], people["practitioner"]
    ids = {
        "early": _seed(client, police, received_at="2026-11-16T09:00:00Z"),
        "middle": _seed(client, police, received_at="2026-11-18T09:00:00Z"),
        "late": _seed(client, police, received_at="2026-11-20T09:00:00Z"),
        "school": _seed(client, worker, organisation="Demo School", received_at="2026-11-19T09:00:00Z",
                        source={"code": "2A", "organisation": "Demo School"}),
        "other": _seed(client, make_person("partner", organisation="Other Police"),
                       organisation="Other Police", received_at="2026-11-17T09:00:00Z"),
    }
    with app.app_context():
        db.session.execute(update(Contact).where(Contact.id == ids["middle"]).values(status="decided"))
        db.session.commit()
    return ids


def _list(client, person, query: str = ""):
    response = client.get(f"{URL}{query}", headers=person.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_listing_is_newest_first_with_a_total(client, people, listed):
    page = _list(client, people["practitioner"])
    assert [item["id"] for item in page["items"]] == [listed[k] for k in ("late", "school", "middle", "other",
                                                                           "early")]
    assert (page["total"], page["page"], page["per_page"]) == (5, 1, 50)


@pytest.mark.parametrize(("query", "expected"), [
    ("?status=decided", ["middle"]),
    ("?status=awaiting_decision", ["late", "school", "other", "early"]),
    ("?source_code=2A", ["school"]),
    ("?source_code=6", ["late", "middle", "other", "early"]),
    ("?received_from=2026-11-18T09:00:00Z", ["late", "school", "middle"]),
    ("?received_to=2026-11-18T09:00:00Z", ["other", "early"]),
    ("?received_from=2026-11-17T00:00:00Z&received_to=2026-11-19T12:00:00%2B00:00", ["school", "middle", "other"]),
    ("?source_code=6&status=awaiting_decision&received_from=2026-11-17T00:00:00Z", ["late", "other"]),
])
def test_listing_filters(client, people, listed, query, expected):
    page = _list(client, people["manager"], query)
    assert [item["id"] for item in page["items"]] == [listed[k] for k in expected]
    assert page["total"] == len(expected)


def test_listing_pages(client, people, listed):
    first = _list(client, people["practitioner"], "?per_page=2")
    second = _list(client, people["practitioner"], "?per_page=2&page=2")
    third = _list(client, people["practitioner"], "?per_page=2&page=3")
    beyond = _list(client, people["practitioner"], "?per_page=2&page=4")
    ids = [i["id"] for p in (first, second, third) for i in p["items"]]
    assert len(ids) == len(set(ids)) == 5
    assert [len(p["items"]) for p in (first, second, third, beyond)] == [2, 2, 1, 0]
    assert all(p["total"] == 5 for p in (first, second, third, beyond))


@pytest.mark.parametrize(("query", "field"), [
    ("?status=closed", "status"),
    ("?source_code=99", "source_code"),
    ("?received_from=2026-11-18T09:00:00", "received_from"),
    ("?received_to=yesterday", "received_to"),
    ("?page=0", "page"),
    ("?page=two", "page"),
    ("?per_page=201", "per_page"),
    ("?per_page=0", "per_page"),
    ("?page=1000000000000000000", "page"),
    ("?page=100001", "page"),
    ("?page=-1", "page"),
])
def test_a_bad_query_gets_a_422_problem(client, people, query, field):
    assert_problem(client.get(f"{URL}{query}", headers=people["practitioner"].headers), 422, field)


def test_page_numbers_reach_as_far_as_the_total_is_counted_and_say_to_follow_the_cursor(client, people):
    """A page by number passes every earlier row (OFFSET): no request reads further than COUNT_LIMIT rows."""
    headers = people["practitioner"].headers
    assert client.get(f"{URL}?per_page=200&page=50", headers=headers).status_code == 200  # rows 9,801-10,000
    body = assert_problem(client.get(f"{URL}?per_page=200&page=51", headers=headers), 422, "page")
    assert "10,000" in body["errors"]["page"][0] and "next_cursor" in body["errors"]["page"][0]
    assert_problem(client.get(f"{URL}?page=201", headers=headers), 422, "page")  # 50 a page by default


def test_the_page_bound_is_stated_in_the_message(client, people):
    body = assert_problem(client.get(f"{URL}?page=10000000000000000000000", headers=people["practitioner"].headers),
                          422, "page")
    assert "100000" in body["errors"]["page"][0]


def test_a_partner_lists_and_reads_only_its_own_organisations_contacts(client, people, listed):
    partner = people["partner"]
    page = _list(client, partner)
    assert [item["id"] for item in page["items"]] == [listed[k] for k in ("late", "middle", "early")]
    assert {item["organisation"] for item in page["items"]} == {"Demo Police"}
    assert client.get(f"{URL}/{listed['late']}", headers=partner.headers).status_code == 200
    for other in ("other", "school"):
        assert_problem(client.get(f"{URL}/{listed[other]}", headers=partner.headers), 404)


def test_a_partner_does_not_see_the_front_doors_decision(client, people, listed):
    body = client.get(f"{URL}/{listed['late']}", headers=people["partner"].headers).get_json()
    assert body["decision"] is None and body["review"] is None


def test_an_unknown_contact_id_is_404(client, people):
    assert_problem(client.get(f"{URL}/no-such-id", headers=people["manager"].headers), 404)


def test_reading_a_contact_is_on_the_record(app, client, people, listed):
    before = stored(app)[1]
    client.get(f"{URL}/{listed['late']}", headers=people["practitioner"].headers)
    with app.app_context():
        last = db.session.scalar(select(Event).order_by(Event.seq.desc()).limit(1))
        assert (last.kind, last.contact_id) == ("viewed", listed["late"])
    assert stored(app)[1] == before + 1


def test_a_method_the_route_does_not_take_is_405_with_allow(client, people):
    response = client.put(URL, json=contact_payload(), headers=people["partner"].headers)
    assert_problem(response, 405)
    assert "POST" in response.headers["Allow"]


def test_an_unknown_api_address_is_a_404_problem(client, people):
    assert_problem(client.get("/api/v1/nothing-here", headers=people["partner"].headers), 404)


def _counted(app, send) -> tuple[list[str], int]:
    """The SQL statements and real commits on the app's engine while ``send()`` runs."""
    statements, commits = [], []
    with app.app_context():
        engine = db.engine
    listeners = (("before_cursor_execute", lambda _c, _cur, statement, *_a: statements.append(statement)),
                 ("commit", lambda _c: commits.append(1)))
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        send()
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)
    return statements, len(commits)


#: Issue 19: what one partner intake of a one-child contact costs the database, whatever the store's size
#: (23 statements in three transactions on SQLite before). On SQLite it reads first without the write
#: lock: BEGIN, the token with its person and organisation, the shared rate count (read), the duplicate
#: lookup, then scores; then, holding the lock (BEGIN IMMEDIATE): the duplicate looked up again, the
#: child record, the guidance version in force, the contact, its child, the contact's audit stream and
#: two events (head inserted, numbers taken, events written, head moved), and last the rate count
#: added (the answer looks nothing up: nothing can refer to a new contact). On PostgreSQL (12: no BEGIN, no second
#: duplicate lookup, which the unique constraint makes) the same, in one transaction (two before: the
#: rate count committed on its own).
INTAKE_STATEMENTS = 15
#: Of those, what SQLite runs holding its one write lock (12 before: every statement but the BEGIN).
INTAKE_LOCKED_STATEMENTS = 10


def test_a_partner_intake_runs_a_bounded_number_of_statements_in_one_transaction(app, client, people):
    post(client, people["partner"], contact_payload())  # the first intake also records the guidance version
    document = contact_payload()
    answers = []
    statements, commits = _counted(app, lambda: answers.append(post(client, people["partner"], document)))
    assert answers[0].status_code == 201
    assert len(statements) <= INTAKE_STATEMENTS, statements
    if db_is_sqlite(app):
        locked = statements[statements.index("BEGIN IMMEDIATE") + 1:]
        assert len(locked) <= INTAKE_LOCKED_STATEMENTS, locked
        assert statements.count("BEGIN IMMEDIATE") == 1
    # SQLite: the read phase's snapshot ends with a commit that writes nothing, then the intake's
    assert commits == (2 if db_is_sqlite(app) else 1)
    again = post(client, people["partner"], document)  # the retry reads what the first answer was made from
    assert again.status_code == 200 and again.get_json() == answers[0].get_json()


def db_is_sqlite(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
