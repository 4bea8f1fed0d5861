"""Three indexes of ``contacts`` that nothing needs are dropped: each intake wrote every one (issue 19).

Every contact stored writes an entry into each index of ``contacts`` (twenty before this), and
intake is the one request whose time is held against ``/healthz``. Three of them serve no query:

- ``ix_contacts_received_at``: the leading column of ``ix_contacts_received_id`` (received_at, id),
  which serves every query it could;
- ``ix_contacts_organisation_id``: the leading column of ``uq_contacts_org_reference``,
  ``ix_contacts_org_received_id`` and ``ix_contacts_org_accepted``;
- ``ix_contacts_primary_concern``: no query filters on the concern alone, and the two that filter
  on it (the police domestic-abuse queue and the meeting's agenda) read a window of ``accepted_at``
  or a queue's range first. It was never scanned in a ``make bench-scale`` run
  (``pg_stat_user_indexes``).

``ix_contacts_source_code`` stays: the contact list filtered by a rare source (``?source_code=``)
counts and pages from it.

Revision ID: 0028_contact_indexes_pruned
Revises: 0027_export_lists_without_rowid
Create Date: 2026-12-06
"""

from alembic import op

revision = "0028_contact_indexes_pruned"
down_revision = "0027_export_lists_without_rowid"
branch_labels = None
depends_on = None

#: Each dropped index and its one column.
PRUNED = {"ix_contacts_received_at": "received_at", "ix_contacts_organisation_id": "organisation_id",
          "ix_contacts_primary_concern": "primary_concern"}


def upgrade():
    for name in PRUNED:
        op.drop_index(name, table_name="contacts")


def downgrade():
    for name, column in PRUNED.items():
        op.create_index(name, "contacts", [column])
