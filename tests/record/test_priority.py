"""A thread lowered for bulk reading takes its own priority back, and holds it while it may hold the write lock.

``priority.lower`` adds to this thread's nice value until ``restore``; a lowered thread that takes
SQLite's write turn runs at its own priority until it gives the turn back (a writer starved of the
CPU would hold up every other writer), then is lowered again.
"""

from __future__ import annotations

import os
import sqlite3
import threading

import pytest

from triage.record import priority
from triage.record.write_turns import TurnTakingConnection

pytestmark = pytest.mark.skipif(not priority.can_restore(), reason="this process may not raise a thread's priority")


def _now() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.fixture(autouse=True)
def own():
    """This thread's priority before the test, and after it whatever happened.

    An earlier test's export answer that was never closed leaves the thread lowered until its next
    request (``bulk_priority`` restores it then), so the test starts where a request would.
    """
    priority.restore()
    before = _now()
    yield before
    priority.restore()
    if _now() != before:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), before)


def test_lowered_until_restored_and_lowering_twice_keeps_the_first_own(own):
    priority.lower(5)
    assert _now() == min(own + 5, 19)
    priority.lower(19)  # already lowered: nothing changes, and restore still knows the first
    assert _now() == min(own + 5, 19)
    priority.restore()
    assert _now() == own
    priority.restore()  # nothing lowered: nothing to do
    assert _now() == own


def test_a_nice_of_zero_lowers_nothing(own):
    priority.lower(0)
    assert _now() == own


def test_a_lowered_thread_holds_its_own_priority_while_it_holds_the_write_turn(own, tmp_path):
    connection = sqlite3.connect(tmp_path / "store.db", factory=TurnTakingConnection, isolation_level=None)
    try:
        priority.lower(19)
        connection.take_turn()
        assert _now() == own
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("CREATE TABLE t (x)")
        connection.commit()  # the turn given back: lowered again
        assert _now() == min(own + 19, 19)
        connection.take_turn()
        assert _now() == own
        connection.rollback()
        assert _now() == min(own + 19, 19)
    finally:
        connection.close()
    priority.restore()
    assert _now() == own


def test_a_thread_never_lowered_is_untouched_by_the_write_turn(own, tmp_path):
    connection = sqlite3.connect(tmp_path / "store.db", factory=TurnTakingConnection, isolation_level=None)
    try:
        connection.take_turn()
        assert _now() == own
        connection.commit()
        assert _now() == own
    finally:
        connection.close()
