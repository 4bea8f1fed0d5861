"""A partner's newest release per contact counted without probing every release (issue 19).

A partner's feedback is the newest release per contact; "newest" was "no later release of the
same contact", an anti-join. Counting a large police force's list (up to the API's 10,000) made
PostgreSQL hash every release in the store (65 ms at 200,000 contacts, 4.2 times its 20,000
figure). Each release now names the release it replaced (``feedback_releases.supersedes_id``, the
contact's previous one, as the ``feedback_released`` event already says): a list's count is the
organisation's releases in range less those a later release names, and the later ones are the
organisation's few corrections, read from ``ix_feedback_releases_supersedes`` (organisation,
then the release replaced).

Filled in here for the record already stored. ``feedback_releases`` is append-only, so its fill
lifts the update trigger for that one statement and puts it back (as 0016 did).

Revision ID: 0021_release_supersedes
Revises: 0020_queue_parts
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_release_supersedes"
down_revision = "0020_queue_parts"
branch_labels = None
depends_on = None

FILL = """
UPDATE feedback_releases SET supersedes_id = (
    SELECT max(earlier.id) FROM feedback_releases AS earlier
    WHERE earlier.contact_id = feedback_releases.contact_id AND earlier.id < feedback_releases.id)
WHERE EXISTS (
    SELECT 1 FROM feedback_releases AS earlier
    WHERE earlier.contact_id = feedback_releases.contact_id AND earlier.id < feedback_releases.id)
"""


def upgrade():
    # Plain ADD COLUMN (no table copy), so the append-only triggers stay as they are.
    op.add_column("feedback_releases", sa.Column("supersedes_id", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE feedback_releases DISABLE TRIGGER feedback_releases_append_only")
        op.execute(FILL)
        op.execute("ALTER TABLE feedback_releases ENABLE TRIGGER feedback_releases_append_only")
    else:
        op.execute("DROP TRIGGER feedback_releases_no_update")
        op.execute(FILL)
        op.execute("CREATE TRIGGER feedback_releases_no_update BEFORE UPDATE ON feedback_releases "
                   "BEGIN SELECT RAISE(ABORT, 'feedback_releases is append-only'); END")
    op.create_index("ix_feedback_releases_supersedes", "feedback_releases", ["organisation_id", "supersedes_id"])


def downgrade():
    op.drop_index("ix_feedback_releases_supersedes", table_name="feedback_releases")
    op.drop_column("feedback_releases", "supersedes_id")  # SQLite 3.35+ drops a plain column in place
