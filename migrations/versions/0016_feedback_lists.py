"""A partner's feedback and a manager's feedback to release, each read from one index (issue 19).

A partner reads its organisation's newest release per contact, newest first. Found through the
contacts table, every request grouped all the organisation's releases ever made (at 200,000
contacts the API's unpaginated list was 9 s and 949 MB a worker). With the organisation on the
release (``feedback_releases.organisation_id``, a copy of the contact's, which never changes) and
an index in the partner's order, a page is read straight from the index.

A manager's "feedback to release" (on the manager's home page too) grouped every review and every
release ever made to find the few outcomes not yet released: 0.8 s at 200,000 contacts with none
waiting. ``contacts.feedback_waiting_since`` is when the outcome the partner has not had was
confirmed (the latest review's time), cleared when the feedback is released; kept by
``services/decisions.py`` and ``services/feedback.py``.

Both are filled in here for the record already stored. ``feedback_releases`` is append-only, so
its fill lifts the update trigger for that one statement and puts it back.

Revision ID: 0016_feedback_lists
Revises: 0015_daysum_dashboard_days
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_feedback_lists"
down_revision = "0015_daysum_dashboard_days"
branch_labels = None
depends_on = None

FILL_ORGANISATION = (
    "UPDATE feedback_releases SET organisation_id = "
    "(SELECT contacts.organisation_id FROM contacts WHERE contacts.id = feedback_releases.contact_id)")

# Waiting: reviewed, and no feedback released since the latest review (the old grouped query's rule).
FILL_WAITING = """
UPDATE contacts SET feedback_waiting_since = (
    SELECT max(reviews.reviewed_at) FROM reviews WHERE reviews.contact_id = contacts.id)
WHERE EXISTS (SELECT 1 FROM reviews WHERE reviews.contact_id = contacts.id)
  AND NOT EXISTS (
    SELECT 1 FROM feedback_releases
    WHERE feedback_releases.contact_id = contacts.id
      AND feedback_releases.released_at >= (
        SELECT max(reviews.reviewed_at) FROM reviews WHERE reviews.contact_id = contacts.id))
"""


def upgrade():
    # Plain ADD COLUMN (no table copy), so the append-only triggers stay as they are. A copy, not
    # a constraint: the contact's foreign key already holds it, and SQLite cannot add one in place.
    op.add_column("feedback_releases", sa.Column("organisation_id", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE feedback_releases DISABLE TRIGGER feedback_releases_append_only")
        op.execute(FILL_ORGANISATION)
        op.execute("ALTER TABLE feedback_releases ENABLE TRIGGER feedback_releases_append_only")
    else:
        op.execute("DROP TRIGGER feedback_releases_no_update")
        op.execute(FILL_ORGANISATION)
        op.execute("CREATE TRIGGER feedback_releases_no_update BEFORE UPDATE ON feedback_releases "
                   "BEGIN SELECT RAISE(ABORT, 'feedback_releases is append-only'); END")
    op.create_index("ix_feedback_releases_org_newest", "feedback_releases",
                    ["organisation_id", "released_at", "id"])

    op.add_column("contacts", sa.Column("feedback_waiting_since", sa.DateTime(timezone=True), nullable=True))
    op.execute(FILL_WAITING)
    op.create_index("ix_contacts_feedback_waiting", "contacts", ["feedback_waiting_since", "id"])


def downgrade():
    op.drop_index("ix_contacts_feedback_waiting", table_name="contacts")
    op.drop_column("contacts", "feedback_waiting_since")  # SQLite 3.35+ drops a plain column in place
    op.drop_index("ix_feedback_releases_org_newest", table_name="feedback_releases")
    op.drop_column("feedback_releases", "organisation_id")
