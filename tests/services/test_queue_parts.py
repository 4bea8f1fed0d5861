"""The undecided queues read in parts (a status and an urgency each, ``paging.keyset_merged``) are the same
queues, page by page, as one sorted query over the whole backlog.

Contacts across every undecided status and urgency (none included), with deadlines shared, missing and
past, and times accepted shared, walked at several page sizes by the cursor each page hands out.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from triage.extensions import db
from triage.record.tables import Contact, Organisation
from triage.services import queues

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
    ids, cursor = [], None
    while True:
        page = read(NOW, cursor, per_page)
        ids += [item.contact.id for item in page]
        cursor = page.next_cursor
        if cursor is None:
            return ids


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
