"""SQLite writers queue for the write lock (``triage/record/write_turns.py``); SQLite's lock still guards every write."""

from __future__ import annotations

import fcntl
import os
import threading

import pytest

from triage.extensions import db
from triage.record import write_turns
from triage.record.write_turns import Turns, turns_path

INSERT = ("INSERT INTO dashboard_days (day, layout, contacts, version_sum, decisions_sum, reviews_sum, counts, "
          "criteria, computed_at) VALUES (:day, 'turns', 0, 0, 0, 0, '{}', '{}', '2026-01-01 00:00:00')")


def held_elsewhere(path: str) -> bool:
    """True when some connection holds the turn (a fresh open file cannot take it)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def write(app, day: str, *, commit: bool = True, hold: threading.Event | None = None, began=None) -> None:
    with app.app_context(), db.engine.connect() as conn:
        conn.begin()
        if began is not None:
            began.set()
        conn.execute(db.text(INSERT), {"day": day})
        if hold is not None:
            hold.wait(10)
        conn.commit() if commit else conn.rollback()


def test_a_writer_waits_for_its_turn_and_takes_it_when_the_writer_before_it_commits(app, sqlite_path):
    first_began, let_go, second_began = threading.Event(), threading.Event(), threading.Event()
    first = threading.Thread(target=write, args=(app, "2026-01-01"), kwargs={"hold": let_go, "began": first_began})
    first.start()
    assert first_began.wait(10)
    assert held_elsewhere(turns_path(sqlite_path))
    second = threading.Thread(target=write, args=(app, "2026-01-02"), kwargs={"began": second_began})
    second.start()
    assert not second_began.wait(0.3)  # queued behind the first, asleep
    let_go.set()
    first.join(10)
    second.join(10)
    assert second_began.is_set()
    with app.app_context():
        assert db.session.execute(db.text("SELECT count(*) FROM dashboard_days WHERE layout = 'turns'")).scalar() == 2
    assert not held_elsewhere(turns_path(sqlite_path))


@pytest.mark.parametrize("commit", [True, False], ids=["commit", "rollback"])
def test_the_turn_is_given_back_when_the_transaction_ends(app, sqlite_path, commit):
    write(app, "2026-01-03", commit=commit)
    assert not held_elsewhere(turns_path(sqlite_path))


def test_reads_never_take_a_turn(app, sqlite_path, monkeypatch):
    from triage.record import txn

    taken = []
    monkeypatch.setattr(Turns, "take", lambda self, wait=None: taken.append(self) or True)
    with app.app_context():
        with txn.reading():
            assert db.session.execute(db.text("SELECT count(*) FROM contacts")).scalar() == 0
            db.session.rollback()
        assert taken == []
        db.session.execute(db.text(INSERT), {"day": "2026-01-05"})  # a write: one turn
        db.session.rollback()
        assert len(taken) == 1


def test_a_writer_whose_turn_does_not_come_waits_on_sqlites_lock_and_writes(app, sqlite_path, monkeypatch):
    monkeypatch.setattr(write_turns, "TURN_WAIT", 0.2)
    stuck = Turns(turns_path(sqlite_path))
    assert stuck.take(0)  # a turn never given back (its holder hung)
    try:
        write(app, "2026-01-04")
    finally:
        stuck.give_back()
        stuck.close()
    with app.app_context():
        assert db.session.execute(db.text("SELECT count(*) FROM dashboard_days WHERE layout = 'turns'")).scalar() == 1


def test_a_waiter_given_up_still_gives_the_turn_back_when_it_comes(tmp_path):
    path = str(tmp_path / "store.db-writers")
    holder, waiter = Turns(path), Turns(path)
    assert holder.take(0)
    assert not waiter.take(0.05)  # given up; its helper thread still queues
    holder.give_back()
    third = Turns(path)
    assert third.take(2)  # the helper took the turn and let it go at once
    for turns in (holder, waiter, third):
        turns.close()


@pytest.mark.parametrize("database", [":memory:", "", "file:store?mode=memory"])
def test_a_database_without_a_file_of_its_own_has_no_turns(database):
    assert turns_path(database) is None


def test_a_database_whose_directory_takes_no_lock_file_still_writes(tmp_path, monkeypatch):
    import sqlite3

    from triage.record.write_turns import TurnTakingConnection

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(write_turns, "Turns", refuse)
    connection = sqlite3.connect(str(tmp_path / "store.db"), factory=TurnTakingConnection, isolation_level=None)
    assert connection.turns is None
    connection.execute("CREATE TABLE t (x)")
    connection.take_turn()
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("INSERT INTO t VALUES (1)")
    connection.commit()
    assert connection.execute("SELECT count(*) FROM t").fetchone() == (1,)
    connection.close()
