"""``export_contacts`` keyed by (export, contact), with no index by position: a list is one index to store, not two (issue 19).

Every export stores its list before the file's first byte; on SQLite, intake waits for that
write. The table had a primary key by (export, position) and an index by (export, contact) (0024).
Stored in contact order, as it must be for the second, a list put its entries at scattered places
in the first. A contact is in an export once, so (export, contact) is the key itself, and the
position (the file's order, which the event's digest follows) is only read to hash the list, which
sorts it then.

Measured on a copy of a 200,000-contact SQLite store, a year's List 1 (40,000 ids) stored six
times by one ``INSERT ... SELECT ... FROM json_each`` (``benchmarks/bench_export_repeats.py`` has
the service's own figures): 117-184 ms with both indexes, 66-103 ms with the one; 2,300 WAL pages
a list against 1,760-1,790. Reading a list back by position costs a sort: 59 ms against 22-54 ms.

SQLite cannot change a primary key in place: the table is rebuilt (every stored list copied) and
its append-only triggers made again. On PostgreSQL the key is swapped in place.

Revision ID: 0026_export_lists_by_contact
Revises: 0025_sqlite_children_rules
Create Date: 2026-12-06
"""

from alembic import op

revision = "0026_export_lists_by_contact"
down_revision = "0025_sqlite_children_rules"
branch_labels = None
depends_on = None

_INDEX = "ix_export_contacts_export_contact"


def _rebuild_on_sqlite(key: str, index: str | None) -> None:
    """A new export_contacts with ``key`` (and ``index``), every row copied in key order, triggers made again."""
    op.execute("CREATE TABLE export_contacts_new (export_id VARCHAR(36) NOT NULL, position INTEGER NOT NULL, "
               f"contact_id VARCHAR(36) NOT NULL, PRIMARY KEY ({key}))")
    op.execute("INSERT INTO export_contacts_new (export_id, position, contact_id) "
               f"SELECT export_id, position, contact_id FROM export_contacts ORDER BY {key}")
    op.execute("DROP TABLE export_contacts")  # its triggers go with it
    op.execute("ALTER TABLE export_contacts_new RENAME TO export_contacts")
    if index:
        op.execute(f"CREATE INDEX {index} ON export_contacts (export_id, contact_id)")
    for action in ("UPDATE", "DELETE"):  # as 0009
        op.execute(f"CREATE TRIGGER export_contacts_no_{action.lower()} BEFORE {action} ON export_contacts "
                   "BEGIN SELECT RAISE(ABORT, 'export_contacts is append-only'); END")


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_on_sqlite("export_id, contact_id", None)
        return
    op.drop_constraint("export_contacts_pkey", "export_contacts", type_="primary")
    op.create_primary_key("export_contacts_pkey", "export_contacts", ["export_id", "contact_id"])
    op.drop_index(_INDEX, table_name="export_contacts")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_on_sqlite("export_id, position", _INDEX)
        return
    op.create_index(_INDEX, "export_contacts", ["export_id", "contact_id"])
    op.drop_constraint("export_contacts_pkey", "export_contacts", type_="primary")
    op.create_primary_key("export_contacts_pkey", "export_contacts", ["export_id", "position"])
