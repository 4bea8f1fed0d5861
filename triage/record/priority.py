"""A thread's CPU priority: lowered for bulk reading (reports, exports), its own while it may hold the write lock.

Linux keeps a nice value per thread (``setpriority`` on the thread's id), so one thread of a
worker can give way to the others on a busy machine while the rest run as before. A thread that
lowered itself must be able to take its old priority back: raising a priority needs root,
``CAP_SYS_NICE`` or a nice limit (``RLIMIT_NICE``, systemd's ``LimitNICE=``), and a thread left low
would serve every later request slowly. ``can_restore`` tries that once on a throwaway thread.

A lowered thread that takes SQLite's write lock (``write_turns``) runs at its own priority until
it gives the lock back: every writer waits for the holder, and a holder starved of the CPU would
make them all wait longer (priority inversion).
"""

from __future__ import annotations

import os
import threading
from functools import cache

_state = threading.local()  # per thread: own (its priority before lowering), lowered, holding


def _thread() -> int:
    return threading.get_native_id()


def _set(value: int) -> None:
    os.setpriority(os.PRIO_PROCESS, _thread(), value)


@cache
def can_restore() -> bool:
    """Whether a thread of this process may lower its priority and take it back (tried once, on a thread)."""
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return False
    answer: list[bool] = []

    def probe() -> None:
        own = os.getpriority(os.PRIO_PROCESS, _thread())
        try:
            _set(min(own + 1, 19))
            _set(own)
            answer.append(True)
        except OSError:
            answer.append(False)

    helper = threading.Thread(target=probe, name="priority-probe")
    helper.start()
    helper.join()
    return answer == [True]


def lower(nice: int) -> None:
    """Add ``nice`` to this thread's nice value until ``restore`` (nothing if it could not be taken back)."""
    if nice <= 0 or getattr(_state, "own", None) is not None or not can_restore():
        return
    own = os.getpriority(os.PRIO_PROCESS, _thread())
    _state.own, _state.lowered, _state.holding = own, min(own + nice, 19), False
    _set(_state.lowered)


def restore() -> None:
    """This thread's own priority again, if ``lower`` changed it."""
    own = getattr(_state, "own", None)
    if own is not None:
        _state.own = None
        _set(own)


def hold_own() -> None:
    """About to take the write lock: a lowered thread runs at its own priority until ``lower_again``."""
    if getattr(_state, "own", None) is not None and not _state.holding:
        _state.holding = True
        _set(_state.own)


def lower_again() -> None:
    """The write lock given back: a thread lowered before ``hold_own`` is lowered again."""
    if getattr(_state, "own", None) is not None and _state.holding:
        _state.holding = False
        _set(_state.lowered)
