"""On SQLite, ``export_contacts`` is its key and nothing else (``WITHOUT ROWID``): a list is one B-tree to store, not two (issue 19).

Since 0026 the table is keyed by (export, contact). On SQLite an ordinary table is still two
B-trees: the rows by a hidden ``rowid``, and the key as an index beside them, each entry holding
both ids again. Every export stores its list before the file's first byte, and on SQLite intake
waits for that write. A ``WITHOUT ROWID`` table is stored in its key's B-tree alone.

Measured with bare ``sqlite3`` (a 40,000-id list stored by one ``INSERT ... SELECT ... FROM
json_each`` after 12 others, in WAL mode; ``benchmarks/bench_export_list_pages.py``): 1,772-1,780
WAL pages a list against 911-912, and 80-84 ms against 51-54 ms (medians of 12, two runs; 126-215
against 78-115 ms while a store loaded beside it). ``benchmarks/bench_export_repeats.py`` has the
service's own figures.

SQLite cannot change a table's kind in place: the table is rebuilt (every stored list copied) and
its append-only triggers made again. PostgreSQL has no such kind of table (its rows are a heap and
its key an index, as before); nothing changes there.

Revision ID: 0027_export_lists_without_rowid
Revises: 0026_export_lists_by_contact
Create Date: 2026-12-06
"""

from alembic import op

revision = "0027_export_lists_without_rowid"
down_revision = "0026_export_lists_by_contact"
branch_labels = None
depends_on = None


def _rebuild_on_sqlite(kind: str) -> None:
    """A new export_contacts of ``kind`` ("" or " WITHOUT ROWID"), every row copied in key order, triggers made again."""
    op.execute("CREATE TABLE export_contacts_new (export_id VARCHAR(36) NOT NULL, position INTEGER NOT NULL, "
               f"contact_id VARCHAR(36) NOT NULL, PRIMARY KEY (export_id, contact_id)){kind}")
    op.execute("INSERT INTO export_contacts_new (export_id, position, contact_id) "
               "SELECT export_id, position, contact_id FROM export_contacts ORDER BY export_id, contact_id")
    op.execute("DROP TABLE export_contacts")  # its triggers go with it
    op.execute("ALTER TABLE export_contacts_new RENAME TO export_contacts")
    for action in ("UPDATE", "DELETE"):  # as 0009
        op.execute(f"CREATE TRIGGER export_contacts_no_{action.lower()} BEFORE {action} ON export_contacts "
                   "BEGIN SELECT RAISE(ABORT, 'export_contacts is append-only'); END")


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_on_sqlite(" WITHOUT ROWID")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_on_sqlite("")
