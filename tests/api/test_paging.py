"""Queues and the contact list cost the size of the page (issue 19 item 3).

Every queue and the contact list are read a page at a time after an opaque cursor; a page reads
the same number of statements however many rows it holds (children, organisation and decision
loaded with the page, never one by one); each contact names its latest decision and review.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select

from tests.decision_support import decide, pin, review, submit
from tests.factories import child
from tests.plans import explained
from tests.web.conftest import sign_in
from triage.extensions import db
from triage.record.tables import Contact, Decision, Review

QUEUES = ("awaiting-decision", "overdue", "awaiting-my-review", "reviews-overdue", "decided-today",
          "awaiting-checks")


def call_at(hours_ago: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(hours=hours_ago)).isoformat(timespec="seconds")


def calls(app, client, person, count: int, *, hours_ago: float = 1.0, children: int = 1) -> list[str]:
    pin(app, level=2, floor=1, urgency="amber")
    return [submit(client, person, received_at=call_at(hours_ago + i / 10),
                   children=[child() for _ in range(children)]) for i in range(count)]


def get(client, person, url: str, status: int = 200) -> dict:
    response = client.get(url, headers=person.headers)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def walk(client, person, url: str, per_page: int) -> list[dict]:
    """Every page of a list, following next_cursor; each page's count is the whole list's."""
    pages, cursor = [], None
    while True:
        sep = "&" if "?" in url else "?"
        body = get(client, person, f"{url}{sep}per_page={per_page}" + (f"&cursor={cursor}" if cursor else ""))
        assert len(body["items"]) <= per_page
        pages.append(body)
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(body["items"]) == per_page


def test_a_queue_read_page_by_page_is_the_whole_queue_in_its_order(app, client, people):
    calls(app, client, people["practitioner"], 7)
    whole = get(client, people["practitioner"], "/api/v1/queues/awaiting-decision")
    assert whole["count"] == 7 and len(whole["items"]) == 7 and whole["next_cursor"] is None
    pages = walk(client, people["practitioner"], "/api/v1/queues/awaiting-decision", 3)
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    assert all(p["count"] == 7 for p in pages)
    assert [i["id"] for p in pages for i in p["items"]] == [i["id"] for i in whole["items"]]


def test_a_queue_is_counted_only_so_far_and_says_so(app, client, people, monkeypatch):
    """Past ``COUNT_LIMIT`` a queue's count stops one past it (``count_capped``): a backlog counted whole
    cost its length; every queue says so, and a page reads "More than" (the API's cap is the service's)."""
    from triage.services import queues

    calls(app, client, people["practitioner"], 4)
    monkeypatch.setattr(queues, "COUNT_LIMIT", 2)
    body = get(client, people["practitioner"], "/api/v1/queues/awaiting-decision?per_page=3")
    assert (body["count"], body["count_capped"], len(body["items"])) == (2, True, 3)
    assert all(get(client, people["manager"], f"/api/v1/queues/{name}")["count_capped"] is False
               for name in QUEUES if name != "awaiting-decision")
    monkeypatch.setattr(queues, "COUNT_LIMIT", 4)
    assert get(client, people["practitioner"], "/api/v1/queues/awaiting-decision")["count_capped"] is False
    monkeypatch.setattr(queues, "COUNT_LIMIT", 2)
    sign_in(client, people["practitioner"])
    page = client.get("/contacts").get_data(as_text=True)
    assert "More than 2 contacts, most urgent first (showing 4)" in page


def test_the_review_and_decided_queues_page_too(app, client, people):
    ids = calls(app, client, people["practitioner"], 5)
    for contact_id in ids:
        assert decide(client, people["practitioner"], contact_id).status_code == 201
    whole = get(client, people["manager"], "/api/v1/queues/awaiting-my-review")["items"]
    paged = [i for p in walk(client, people["manager"], "/api/v1/queues/awaiting-my-review", 2) for i in p["items"]]
    assert [i["id"] for i in paged] == [i["id"] for i in whole] and len(whole) == 5
    today = walk(client, people["manager"], "/api/v1/queues/decided-today", 2)
    assert [len(p["items"]) for p in today] == [2, 2, 1]
    assert sorted(i["id"] for p in today for i in p["items"]) == sorted(ids)


def test_the_contact_list_pages_by_cursor_and_still_by_page_number(app, client, people):
    calls(app, client, people["practitioner"], 5)
    by_cursor = walk(client, people["practitioner"], "/api/v1/contacts", 2)
    by_number = [get(client, people["practitioner"], f"/api/v1/contacts?per_page=2&page={n}") for n in (1, 2, 3)]
    assert [i["id"] for p in by_cursor for i in p["items"]] == [i["id"] for p in by_number for i in p["items"]]
    assert by_number[0]["total"] == 5 and by_number[0]["total_capped"] is False
    assert by_number[2]["next_cursor"] is None and by_number[1]["next_cursor"] is not None
    received = [i["received_at"] for p in by_number for i in p["items"]]
    assert received == sorted(received, reverse=True)  # newest first


@pytest.mark.parametrize("who, index", [("practitioner", "ix_contacts_received_id"),
                                         ("partner", "ix_contacts_org_received_id")])
def test_a_page_asked_for_by_number_passes_earlier_pages_in_the_index_not_their_rows(app, client, people, who, index):
    """Page numbers still work (OFFSET), but the earlier pages are passed over as ids in the list's
    index, and only the page's contacts are read: read whole, the last page at 200,000 contacts
    took 0.25 s on SQLite and 0.33-0.44 s on PostgreSQL (``rows_in_order``)."""
    calls(app, client, people["partner"], 5)
    url = "/api/v1/contacts?per_page=2&page=3"
    with counted(app) as statements:
        assert len(get(client, people[who], url)["items"]) == 1
    first = next(s for s in statements if "OFFSET" in s and not s.startswith("SELECT count"))
    assert first.startswith("SELECT contacts.id, contacts.received_at"), first  # the ids and keys alone
    assert any(re.search(r"WHERE contacts\.id IN \([^\n]*\)$", s.rstrip()) for s in statements)  # the page, by id
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            return
        plan = explained(lambda: get(client, people[who], url))[first]
    assert f"USING COVERING INDEX {index}" in plan, plan


@pytest.mark.parametrize("who, index", [("practitioner", "ix_contacts_received_id (received_at<?)"),
                                         ("partner", "ix_contacts_org_received_id (organisation_id=? AND received_at<?)")])
def test_a_page_after_a_cursor_is_read_from_the_cursors_place_in_the_index(app, client, people, who, index):
    """A deep page costs what the first does: the index is searched at the cursor's key, not scanned.

    SQLite planned the bare "later key, or the same key and a later id" as a scan of the whole
    index: the contact list's last page at 200,000 contacts took 18 ms in that statement, against
    5 ms by page number (``Ordering.after`` bounds it by the first key).
    """
    calls(app, client, people["partner"], 5)
    cursor = get(client, people[who], "/api/v1/contacts?per_page=2")["next_cursor"]
    url = f"/api/v1/contacts?per_page=2&cursor={cursor}"
    with counted(app) as statements:
        assert len(get(client, people[who], url)["items"]) == 2
    first = next(s for s in statements if s.startswith("SELECT contacts.id, contacts.received_at"))
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            return
        plan = explained(lambda: get(client, people[who], url))[first]
    assert f"SEARCH contacts USING COVERING INDEX {index}" in plan, plan


@pytest.mark.parametrize("url", [f"/api/v1/queues/{name}" for name in QUEUES] + ["/api/v1/contacts"])
@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJsIjoib3RoZXIiLCJrIjpbXX0", "x" * 1001])
def test_a_cursor_the_list_did_not_hand_out_is_refused(client, people, url, cursor):
    """Tampered, from another list (``{"l":"other","k":[]}``) or too long: 422 naming cursor, nothing read."""
    body = get(client, people["manager"], f"{url}?cursor={cursor}", 422)
    assert "cursor" in body["errors"]


def test_a_cursor_from_one_queue_is_refused_by_another(app, client, people):
    calls(app, client, people["practitioner"], 3)
    cursor = get(client, people["practitioner"], "/api/v1/queues/awaiting-decision?per_page=1")["next_cursor"]
    body = get(client, people["practitioner"], f"/api/v1/queues/overdue?cursor={cursor}", 422)
    assert "cursor" in body["errors"]


@pytest.mark.parametrize("per_page", ["0", "201", "two", "-1", "²"])
def test_a_page_size_out_of_range_is_refused(client, people, per_page):
    body = get(client, people["practitioner"], f"/api/v1/queues/awaiting-decision?per_page={per_page}", 422)
    assert "per_page" in body["errors"]


# ---------------------------------------------------------------------------------------------
# Statements per page: the same for a page of 2 and a page of 6 (no query per item)
# ---------------------------------------------------------------------------------------------


@contextmanager
def counted(app):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements_for(app, client, person, url: str) -> int:
    with counted(app) as statements:
        get(client, person, url)
    return len(statements)


@pytest.mark.parametrize("url, who, decided", [
    ("/api/v1/queues/awaiting-decision", "practitioner", False),
    ("/api/v1/queues/overdue", "practitioner", False),
    ("/api/v1/contacts", "practitioner", False),
    ("/api/v1/queues/awaiting-my-review", "manager", True),
    ("/api/v1/queues/reviews-overdue", "manager", True),
    ("/api/v1/queues/decided-today", "manager", True),
])
def test_statements_per_page_do_not_grow_with_the_page(app, client, people, make_person, monkeypatch,
                                                      url, who, decided):
    if url.endswith("reviews-overdue"):  # the queues read the clock ten days on: every review is late
        later = datetime.now(timezone.utc) + timedelta(days=10)
        monkeypatch.setattr("triage.services.queues.utcnow", lambda: later)
    deciders = [people["practitioner"], make_person("practitioner"), make_person("practitioner")]

    def load(count: int) -> int:
        # Each contact has two children and its own decider: a lazy load per item would show.
        ids = calls(app, client, people["practitioner"], count, hours_ago=24 * 30, children=2)
        if decided:
            for i, contact_id in enumerate(ids):
                assert decide(client, deciders[i % len(deciders)], contact_id).status_code == 201
        body = get(client, people[who], url)
        assert len(body["items"]) >= count
        return statements_for(app, client, people[who], url)

    small = load(2)
    large = load(4)  # six items now
    assert large == small


def test_the_pages_read_the_same_statements_for_a_longer_queue(app, client, people):
    from tests.web.conftest import sign_in

    sign_in(client, people["practitioner"])
    calls(app, client, people["practitioner"], 2, children=2)
    small = statements_for(app, client, people["practitioner"], "/contacts")
    calls(app, client, people["practitioner"], 5, children=2)
    assert statements_for(app, client, people["practitioner"], "/contacts") == small


@pytest.mark.parametrize("url, who, decided, index", [
    # read in parts (a status and an urgency each), each part straight from the index in the queue's order
    ("/api/v1/queues/awaiting-decision", "practitioner", False, "ix_contacts_queue_order (status=? AND urgency=?"),
    ("/api/v1/queues/overdue", "practitioner", False, "ix_contacts_queue_order (status=? AND urgency=?"),
    ("/api/v1/queues/awaiting-my-review", "manager", True,
     "ix_contacts_review_order (status=? AND urgency=? AND latest_decision_level=?"),
    ("/api/v1/queues/reviews-overdue", "manager", True, "ix_contacts_reviews_due"),
])
def test_a_queues_order_is_found_in_an_index_not_by_sorting_whole_contacts(app, client, people, monkeypatch, url, who,
                                                                         decided, index):
    """The first pass sorts ids and keys read from a covering index; only the page's contacts are loaded.

    A backlog of 60,000 cost 0.4 s a page at 200,000 contacts when whole rows (JSON included) were
    sorted (``benchmarks/bench_queries.py``); the review queues read each waiting contact's decision
    until its level, time and maker were kept on the contact (migration 0018). The plan is SQLite's
    (PostgreSQL chooses by its statistics).
    """
    if url.endswith("reviews-overdue"):  # ten days on, every review is late
        later = datetime.now(timezone.utc) + timedelta(days=10)
        monkeypatch.setattr("triage.services.queues.utcnow", lambda: later)
    ids = calls(app, client, people["practitioner"], 3, hours_ago=24 * 30)
    if decided:
        for contact_id in ids:
            assert decide(client, people["practitioner"], contact_id).status_code == 201
    with counted(app) as statements:
        assert len(get(client, people[who], url)["items"]) == 3
    first = next(s for s in statements if "LIMIT" in s and ("UNION ALL" in s or s.startswith("SELECT contacts.id, ")))
    assert any(re.search(r"WHERE contacts\.id IN \([^\n]*\)$", s.rstrip()) for s in statements)  # the page, by id alone
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            return
        plan = explained(lambda: get(client, people[who], url))[first]  # the same request again
    assert f"USING COVERING INDEX {index}" in plan, plan
    assert "decisions" not in first, first  # the queue's order and filter are the contact's own columns


# ---------------------------------------------------------------------------------------------
# The latest decision and review, kept on the contact
# ---------------------------------------------------------------------------------------------


def test_each_contact_names_its_latest_decision_and_review(app, client, people):
    contact_id = calls(app, client, people["practitioner"], 1)[0]
    with app.app_context():
        assert db.session.get(Contact, contact_id).latest_decision_id is None
    assert decide(client, people["practitioner"], contact_id).status_code == 201
    assert review(client, people["manager"], contact_id).status_code == 201
    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        assert contact.latest_decision_id == db.session.scalar(
            select(func.max(Decision.id)).where(Decision.contact_id == contact_id))
        assert contact.latest_review_id == db.session.scalar(
            select(func.max(Review.id)).where(Review.contact_id == contact_id))
        decision = db.session.get(Decision, contact.latest_decision_id)
        assert (contact.latest_decision_level, contact.latest_decided_at, contact.latest_decided_by_id) == (
            decision.level, decision.decided_at, people["practitioner"].id)
        # one action, one version: the pointer is written beside the status change
        assert contact.version == 3
