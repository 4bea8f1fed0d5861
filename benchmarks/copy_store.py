"""Copy a loaded store into another database (e.g. SQLite -> PostgreSQL), row for row, to time both on the same data.

    .venv/bin/python benchmarks/copy_store.py --source sqlite:////tmp/scale.db \
        --target postgresql+psycopg://postgres@127.0.0.1:5432/scale_bench

Run from the checkout whose migrations the source store is at. The target's schema is dropped
and migrated to the source's revision first; then every table is copied in dependency order
through the project's own table definitions (so times and JSON read and write as the service
does), and PostgreSQL's id sequences are moved past the copied rows.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.getcwd())
os.environ.setdefault("TRIAGE_ENV", "development")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True)
    parser.add_argument("--target", required=True)
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text

    from triage.app import MIGRATIONS, create_app
    from triage.extensions import db

    source = create_engine(args.source)
    with source.connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    target = create_engine(args.target)
    with target.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.target})
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=revision)
        tables = db.metadata.sorted_tables
    with source.connect() as read, target.begin() as write:
        for table in tables:
            if table.name == "audit_head":
                write.execute(table.delete())
            rows = [dict(row._mapping) for row in read.execute(table.select())]
            for i in range(0, len(rows), 2000):
                write.execute(table.insert(), rows[i:i + 2000])
            if "id" in table.c and table.c.id.autoincrement is not False and str(table.c.id.type) == "INTEGER":
                write.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                   f"GREATEST((SELECT max(id) FROM {table.name}), 1))"))
            print(f"{table.name}: {len(rows)} rows", flush=True)
        write.execute(text("ANALYZE"))


if __name__ == "__main__":
    main()
