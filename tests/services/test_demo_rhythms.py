"""The demo covers the rhythms: two board periods, last month's quality audit and this morning's meeting."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from triage.engine.workdays import london_date
from triage.extensions import db
from triage.record import audit
from triage.record.tables import AuditFinding, AuditSample, Contact, Meeting
from triage.reporting import board_pack
from triage.services import demo


def test_the_demo_has_a_meeting_an_audit_month_and_two_board_periods(app):
    now = datetime.now(timezone.utc)  # the demo day's own outcomes are recorded at the real time
    with app.app_context():
        lines = demo.seed(app.extensions["recommender"], count=20, now=now)
        assert any(line.startswith("board periods: 60") for line in lines), lines
        meeting = db.session.scalar(select(Meeting))
        assert meeting.closed_at is not None and meeting.items
        outcomes = [i.outcome for i in meeting.items]
        assert outcomes[0] in ("decided", "discussed") and sum(len(i.actions) for i in meeting.items) >= 2
        sample = db.session.scalar(select(AuditSample))
        assert sample.month == (london_date(now).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        assert sample.seed == demo.AUDIT_SEED
        findings = db.session.scalar(select(func.count()).select_from(AuditFinding))
        assert findings == len(sample.assignments) - demo.AUDIT_LEFT_OPEN > 0
        first = london_date(now) - timedelta(days=board_pack.PERIOD_DAYS)
        spans = board_pack.periods(first)
        pack = board_pack.board_pack(board_pack.load(spans[0], spans[-1]), first, now)
        assert pack["demand"][-2] >= demo.BOARD_CONTACTS and pack["demand"][-1] >= demo.BOARD_CONTACTS
        on_time = next(f for f in pack["figures"] if f["key"] == "decisions_on_time")
        assert on_time["verdict"]["kind"] == "improved"  # the newer period was run better
        board = [c for c in db.session.scalars(select(Contact)) if c.partner_reference.startswith("DEMO-BOARD-")]
        assert len(board) == 2 * demo.BOARD_CONTACTS
        assert audit.verify().ok, audit.verify().summary()
