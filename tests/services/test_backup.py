"""Backup and restore (issue 18 item 13): ``flask triage backup FILE`` and ``triage restore FILE``.

On this run's database (SQLite file, or PostgreSQL through pg_dump/pg_restore): a backup taken
with contacts, a decision, a review and their record; work done after it; a restore that refuses
to overwrite the database until told to, then puts back exactly what was backed up, row for row,
with ``audit-verify`` intact on the restored copy. Refusals are one line and change nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_URL, TABLES
from tests.decision_support import decision_body, review_body
from tests.factories import contact_payload
from triage.app import create_app
from triage.extensions import db


def rows(url: str) -> dict[str, int]:
    """Every table's row count: the restored copy must hold what the backup did, table by table."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
    finally:
        engine.dispose()


def some_work(client, people) -> None:
    partner, practitioner, manager = people["partner"], people["practitioner"], people["manager"]
    ids = [client.post("/api/v1/contacts", json=contact_payload(), headers=partner.headers).get_json()["id"]
           for _ in range(3)]
    level = client.get(f"/api/v1/contacts/{ids[0]}", headers=practitioner.headers).get_json()["recommendation"]["level"]
    assert client.post(f"/api/v1/contacts/{ids[0]}/decision", json=decision_body(level=level),
                       headers=practitioner.headers).status_code == 201
    assert client.post(f"/api/v1/contacts/{ids[0]}/review", json=review_body(),
                       headers=manager.headers).status_code == 201


def invoke(runner, *args):
    return runner.invoke(args=["triage", *args])


def test_a_restore_puts_back_exactly_what_was_backed_up_and_the_record_verifies(app, client, people, runner,
                                                                                 tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    some_work(client, people)
    before = rows(url)
    file = tmp_path / "triage.backup"
    made = invoke(runner, "backup", str(file))
    assert made.exit_code == 0, made.output
    assert file.stat().st_size > 0

    client.post("/api/v1/contacts", json=contact_payload(), headers=people["partner"].headers)  # after the backup
    after = rows(url)
    assert after["contacts"] == before["contacts"] + 1

    refused = invoke(runner, "restore", str(file))
    assert refused.exit_code != 0
    assert "Refused: the database is not empty" in refused.output and "--force" in refused.output
    assert len(refused.output.strip().splitlines()) == 1
    assert rows(url) == after  # nothing changed

    restored = invoke(runner, "restore", str(file), "--force")
    assert restored.exit_code == 0, restored.output
    assert "audit chain intact" in restored.output
    assert rows(url) == before
    verified = invoke(runner, "audit-verify")
    assert verified.exit_code == 0 and "intact" in verified.output


def test_a_backup_restores_into_an_empty_database_without_force(app, client, people, runner, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    some_work(client, people)
    before = rows(url)
    file = tmp_path / "triage.backup"
    assert invoke(runner, "backup", str(file)).exit_code == 0
    if PG_URL:  # the same server database, emptied: no tables at all
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        target = app
    else:  # a new SQLite file that does not exist yet
        target = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'new' / 'restored.db'}",
                             "TESTING": True})
    restored = target.test_cli_runner().invoke(args=["triage", "restore", str(file)])
    assert restored.exit_code == 0, restored.output
    assert "audit chain intact" in restored.output
    assert rows(target.config["SQLALCHEMY_DATABASE_URI"]) == before


@pytest.mark.parametrize("content, says", [
    (None, "There is no backup file"),
    (b"contact,level\n1,2\n", "not a"),
])
def test_a_restore_from_something_that_is_not_a_backup_is_refused_in_one_line(app, client, people, runner, tmp_path,
                                                                               content, says):
    some_work(client, people)
    before = rows(app.config["SQLALCHEMY_DATABASE_URI"])
    file = tmp_path / "not-a-backup"
    if content is not None:
        file.write_bytes(content)
    refused = invoke(runner, "restore", str(file), "--force")
    assert refused.exit_code != 0 and says in refused.output
    assert len(refused.output.strip().splitlines()) == 1
    assert rows(app.config["SQLALCHEMY_DATABASE_URI"]) == before


def test_a_backup_into_a_folder_that_does_not_exist_is_refused(runner, tmp_path):
    refused = invoke(runner, "backup", str(tmp_path / "missing" / "triage.backup"))
    assert refused.exit_code != 0 and "does not exist" in refused.output
