"""Every change the dashboard counts moves the day's fingerprint (``daysum.fingerprints``), never back.

The summaries trust a day while its fingerprint is the one it was counted at, so this is what
their correctness rests on: a decision, a review (confirmed or changed), a status change, a
replaced recommendation, a correction and a new contact each move it. (A link between two children's
records, ``child_links``, is a row of its own that the dashboard does not read, so it need not.)
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import select

from tests.decision_support import submit
from tests.reporting.test_dashboard import _decide, _review, timed_store  # noqa: F401 (a fixture)
from triage.extensions import db
from triage.record.tables import Contact, User
from triage.reporting.daysum import fingerprints

DAY = date(2025, 12, 1)  # T-8: undecided


def _print() -> tuple:
    return fingerprints(DAY, DAY)[DAY].key


def _contact() -> Contact:
    return db.session.scalar(select(Contact).where(Contact.partner_reference == "T-8"))


def test_each_change_moves_the_fingerprint_and_it_only_grows(app, client, people, timed_store):  # noqa: F811
    seen = []
    with app.app_context():
        worker = db.session.get(User, people["practitioner"].id)
        manager = db.session.get(User, people["manager"].id)
        seen.append(_print())
        version = _contact().version
        _decide(_contact(), worker, datetime(2025, 12, 1, 15, 0, tzinfo=timezone.utc), None)
        assert _contact().version > version  # a decision moves the version (the status changes)
        seen.append(_print())
        version = _contact().version
        _review(_contact(), manager, datetime(2025, 12, 2, 10, 0, tzinfo=timezone.utc), 4)
        assert _contact().version > version  # so does a review
        seen.append(_print())
        contact = _contact()
        contact.status = "awaiting_decision"
        db.session.commit()
        seen.append(_print())
        _decide(_contact(), worker, datetime(2025, 12, 3, 10, 0, tzinfo=timezone.utc), 4)  # a correction
        seen.append(_print())
        contact = _contact()
        contact.recommendation = {**(contact.recommendation or {}), "marac": {"recommended": True,
                                                                              "criteria": ["repeat"]}}
        db.session.commit()
        seen.append(_print())
    submit(client, people["practitioner"], received_at="2025-12-01T12:00:00+00:00", partner_reference="T-more")
    with app.app_context():
        seen.append(_print())
    assert len(set(seen)) == len(seen)  # every change moved it
    for before, after in zip(seen, seen[1:], strict=False):  # and never back
        assert all(a <= b for a, b in zip(before, after, strict=True))
