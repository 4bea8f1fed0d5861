"""A window's checks found by when they were asked: ``ix_check_requests_requested_at`` (issues 15 and 19).

The dashboard's and the partner report's checks by agency joined every contact of the window to
``check_requests``: SQLite probed it once per contact, some 7.6 ms of a year's dashboard of
40,000 contacts with no checks at all. A check is asked after its contact is accepted, so the
window's checks were all asked since the window began; read by that time, a window costs its
checks, not its contacts (``reporting/checks_report.py``).

Revision ID: 0019_checks_by_time
Revises: 0018_review_queue_facts
Create Date: 2026-12-04
"""

from alembic import op

revision = "0019_checks_by_time"
down_revision = "0018_review_queue_facts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_check_requests_requested_at", "check_requests", ["requested_at"])


def downgrade():
    op.drop_index("ix_check_requests_requested_at", table_name="check_requests")
