"""An export's stored list keyed by a small list number, not by the export's 36-character id (issue 19).

Every export stores its list before the file's first byte; on SQLite every intake waits for that
write. Each row of ``export_contacts`` held the export's id (36 characters) beside the contact's.
Keyed by a number (``export_lists``: one row an export, taken with its first event), a year's list
(40,000 ids, bare ``sqlite3``, ``benchmarks/bench_export_list_pages.py``) is 522 WAL pages and
25 ms against 912 pages and 42 ms. The export is still known everywhere else by its id: its stream,
its events and the file's header name it as before.

Both tables are append-only (triggers, as 0009). ``export_contacts`` is rebuilt on both databases:
its key's first column changes. Every stored list is copied, numbered in the order of the export
ids; its positions, and so the digest each ``exported`` event holds, are unchanged.

Revision ID: 0029_export_list_numbers
Revises: 0028_contact_indexes_pruned
Create Date: 2026-12-06
"""

from alembic import op

revision = "0029_export_list_numbers"
down_revision = "0028_contact_indexes_pruned"
branch_labels = None
depends_on = None


def _append_only(table: str, postgresql: bool) -> None:
    """The triggers that refuse to change or remove a row of ``table`` (as migration 0009 makes them)."""
    if postgresql:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION triage_append_only()")
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                   f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def _rebuild(key: str, copy: str, postgresql: bool) -> None:
    """``export_contacts`` made again keyed by ``key`` (``list_id`` or ``export_id``), rows from ``copy``."""
    kind = "" if postgresql else " WITHOUT ROWID"
    column = "list_id INTEGER" if key == "list_id" else "export_id VARCHAR(36)"
    op.execute(f"CREATE TABLE export_contacts_new ({column} NOT NULL, position INTEGER NOT NULL, "
               f"contact_id VARCHAR(36) NOT NULL, CONSTRAINT export_contacts_new_pkey "
               f"PRIMARY KEY ({key}, contact_id)){kind}")
    op.execute(f"INSERT INTO export_contacts_new ({key}, position, contact_id) {copy}")
    op.execute("DROP TABLE export_contacts")  # its triggers go with it
    op.execute("ALTER TABLE export_contacts_new RENAME TO export_contacts")
    if postgresql:
        op.execute("ALTER TABLE export_contacts RENAME CONSTRAINT export_contacts_new_pkey TO export_contacts_pkey")
    _append_only("export_contacts", postgresql)


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    number = "SERIAL" if postgresql else "INTEGER"
    op.execute(f"CREATE TABLE export_lists (id {number} NOT NULL, export_id VARCHAR(36) NOT NULL, "
               "CONSTRAINT export_lists_pkey PRIMARY KEY (id), "
               "CONSTRAINT export_lists_export_id_key UNIQUE (export_id))")
    op.execute("INSERT INTO export_lists (export_id) SELECT DISTINCT export_id FROM export_contacts ORDER BY export_id")
    _rebuild("list_id", "SELECT l.id, c.position, c.contact_id FROM export_contacts c "
                        "JOIN export_lists l ON l.export_id = c.export_id ORDER BY l.id, c.contact_id", postgresql)
    _append_only("export_lists", postgresql)


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    _rebuild("export_id", "SELECT l.export_id, c.position, c.contact_id FROM export_contacts c "
                          "JOIN export_lists l ON l.id = c.list_id ORDER BY l.export_id, c.contact_id", postgresql)
    op.execute("DROP TABLE export_lists")  # its triggers go with it
