"""The queues read in parts (``paging.keyset_merged``: the undecided ones by status and urgency, awaiting
review by urgency and decided level) are the same queues, page by page, as one sorted query over the backlog.

Contacts across every undecided status and urgency (none included), with deadlines shared, missing and
past, and times accepted shared; decisions awaiting review at every level and urgency, by two people, some at
the same time; each walked at several page sizes by the cursor each page hands out.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from triage.extensions import db
from triage.record.tables import Contact, Decision, Organisation, User
from triage.services import queues
from triage.services.decisions import keep_latest

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)
STATUSES = (*queues.NOT_DECIDED, "awaiting_review")  # the last in no undecided queue
URGENCIES = ("red", "amber", "green", None)
DUES = (NOW - timedelta(hours=30), NOW - timedelta(hours=2), NOW - timedelta(hours=2), NOW + timedelta(hours=5), None)


@pytest.fixture
def backlog(app, people):
    with app.app_context():
        org = Organisation(name="Backlog Police")
        db.session.add(org)
        db.session.flush()
        grid = itertools.product(STATUSES, URGENCIES, DUES)
        for n, (status, urgency, due) in enumerate(grid):
            accepted = NOW - timedelta(days=2, minutes=n % 3)  # times shared, so the id decides
            db.session.add(Contact(id=f"c{n:03d}", organisation_id=org.id, partner_reference=f"r{n}", source_code="6",
                                   primary_concern="neglect", received_at=accepted, accepted_at=accepted,
                                   status=status, urgency=urgency, decision_due_at=due, payload={},
                                   created_by_id=people["practitioner"].id))
        db.session.commit()


def _walk(read, per_page: int) -> list[str]:
    """Every page's ids in turn; a queue that never ends (a cursor handed out again) fails instead of hanging."""
    ids, cursor = [], None
    for _ in range(200):
        page = read(NOW, cursor, per_page)
        ids += [item.contact.id for item in page]
        cursor = page.next_cursor
        if cursor is None:
            return ids
    raise AssertionError(f"still paging after 200 pages: {ids[-5:]}")


@pytest.mark.parametrize("per_page", [1, 2, 7, 50])
def test_awaiting_decision_read_in_parts_is_the_whole_queue_in_its_order(app, backlog, per_page):
    with app.app_context():
        whole = db.session.scalars(select(Contact.id).where(Contact.status.in_(queues.UNDECIDED))
                                   .order_by(*queues.AWAITING_DECISION_ORDER.order_by())).all()
        assert len(whole) == 2 * len(URGENCIES) * len(DUES)
        assert _walk(queues.awaiting_decision, per_page) == whole


@pytest.mark.parametrize("per_page", [1, 3, 50])
def test_overdue_read_in_parts_is_the_whole_queue_in_its_order(app, backlog, per_page):
    with app.app_context():
        whole = db.session.scalars(select(Contact.id).where(Contact.status.in_(queues.NOT_DECIDED),
                                                            Contact.decision_due_at < NOW)
                                   .order_by(*queues.OVERDUE_ORDER.order_by())).all()
        assert len(whole) == 3 * len(URGENCIES) * 3
        assert _walk(queues.overdue, per_page) == whole


#: The guidance's own rules: a decision at level 4 is red, at 3 amber, whatever the contact's rating.
LEVEL_URGENCY = {4: "red", 3: "amber"}


@pytest.fixture
def reviews(app, people, make_person):
    other = make_person("practitioner")
    with app.app_context():
        org = Organisation(name="Review Police")
        db.session.add(org)
        db.session.flush()
        deciders = (people["practitioner"].id, other.id)
        for n, (urgency, level, hours) in enumerate(itertools.product(URGENCIES, (1, 2, 3, 4), (30, 6, 6, 2))):
            accepted, decided_at, by = NOW - timedelta(days=3), NOW - timedelta(hours=hours), deciders[n % 2]
            db.session.add(Contact(id=f"r{n:03d}", organisation_id=org.id, partner_reference=f"q{n}", source_code="6",
                                   primary_concern="neglect", received_at=accepted, accepted_at=accepted,
                                   status="awaiting_review", urgency=urgency, payload={},
                                   created_by_id=people["practitioner"].id))
            db.session.flush()
            decision = Decision(contact_id=f"r{n:03d}", level=level, rationale="r", decided_by_id=by,
                                decided_at=decided_at)
            db.session.add(decision)
            db.session.flush()
            keep_latest(db.session.get(Contact, f"r{n:03d}"), decision)  # as services/decisions.py does
        db.session.commit()
    return deciders


@pytest.mark.parametrize("per_page", [1, 4, 50])
@pytest.mark.parametrize("who", ["manager", "practitioner"])
def test_awaiting_review_read_in_parts_is_the_whole_queue_in_its_order(app, people, reviews, per_page, who):
    with app.app_context():
        user = db.session.get(User, people[who].id)
        mine = Contact.latest_decided_by_id == user.id
        whole = db.session.scalars(select(Contact.id).where(Contact.status == "awaiting_review",
                                                            ~mine if who == "manager" else mine)
                                   .order_by(*queues.awaiting_review_order(LEVEL_URGENCY).order_by())).all()
        assert len(whole) == (64 if who == "manager" else 32)

        def read(now, cursor, size):
            return queues.awaiting_review(user, now, cursor, size, level_urgency=LEVEL_URGENCY)

        assert _walk(read, per_page) == whole
