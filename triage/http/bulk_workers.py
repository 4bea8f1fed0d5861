"""A gunicorn worker serving a report or an export takes no new connections until it has answered.

gunicorn's gthread worker (the default shape, 4 workers x 2 threads) goes on accepting connections
while its threads are busy and queues them inside. An intake that lands in the worker serving a
year's export waited there, for a thread and for that process's interpreter lock, while other
workers sat idle. So while a worker serves a path under ``BULK_PATHS`` it stops accepting
(connections it already holds are still served) and the operating system hands new connections
to the other workers; it accepts again once the answer is closed, its last streamed byte sent.

At least one worker always accepts: a worker whose every sibling is already serving a report or
an export goes on accepting, as before, so any number of exports at once never stops intake.
Which workers have stopped is kept in memory shared by the arbiter and its workers (made before
they fork), and a worker that dies is struck off by the arbiter (``exited``), so a worker killed
mid-export never leaves the others believing it is busy. The note's lock is a POSIX record lock on
a file, which the kernel releases when its holder dies: with a ``multiprocessing`` lock, a worker
killed while holding it (the OOM killer, gunicorn's own timeout) left it held for ever, and the
arbiter, striking that worker off, waited for it for ever: no worker was started again and the
server could not be stopped (seen once: the kill test's hung arbiter sat in ``exited``, waiting on
the semaphore of a worker it had lost).

This reaches into gunicorn's ``ThreadWorker``: its loop accepts while ``nr_conns <
worker_connections`` and is woken through ``method_queue`` (gunicorn 27, pinned in requirements.txt; ``tests/http/test_bulk_workers.py``
runs it). A worker without that attribute (the sync worker, one thread) takes one connection at a
time anyway and is left alone.

Measured on 2 cores, SQLite, 40,000 contacts (``benchmarks/bench_export_phases.py --rounds 2``,
``TRIAGE_BULK_ALONE`` 0 and 1): docs/architecture.md, "A worker busy with a report or an export".
"""

from __future__ import annotations

import fcntl
import multiprocessing
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from triage.http.bulk_priority import BULK_PATHS

#: Most workers one server runs (gunicorn's TTIN can add workers; beyond this many they accept as before).
SLOTS = 64


def _stop_listening_now(worker) -> None:
    """Have the worker's loop stop listening at once, not after the next connection wakes it (up to a second later).

    The loop checks whether it may accept only between waits: it was already waiting, listening,
    and took one more connection before it looked. ``method_queue.defer`` runs a call on the loop's
    own thread and wakes it (as gunicorn's own shutdown does).
    """
    queue = getattr(worker, "method_queue", None)
    if queue is not None and hasattr(worker, "set_accept_enabled"):
        queue.defer(worker.set_accept_enabled, False)


class BulkWorkers:
    """Made in gunicorn's arbiter (config/gunicorn.conf.py), before it forks; its hooks run in the workers."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._closed = multiprocessing.RawArray("i", SLOTS)  # pids of workers not accepting; 0 is a free slot
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - open for the server's life: the note's lock
        self._in_process = threading.Lock()  # a record lock is the process's: its threads take turns first
        self._lock = threading.Lock()
        self._serving: dict[int, int] = {}  # bulk answers in progress, by worker pid (a worker sees only its own)

    def started(self, worker, path: str) -> None:
        """gunicorn's ``pre_request``: a bulk answer begins in ``worker``; it stops accepting if another still does."""
        if not self._applies(worker, path):
            return
        with self._lock:
            self._serving[worker.pid] = self._serving.get(worker.pid, 0) + 1
            if self._serving[worker.pid] == 1 and self._claim(worker.pid, worker.cfg.workers):
                worker.worker_connections = 0
                _stop_listening_now(worker)

    def finished(self, worker, path: str) -> None:
        """gunicorn's ``post_request`` (after the answer is closed): the worker accepts again after its last one."""
        if not self._applies(worker, path):
            return
        with self._lock:
            left = self._serving.pop(worker.pid, 0) - 1  # 0 if pre_request failed before counting this one
            if left > 0:
                self._serving[worker.pid] = left
                return
            worker.worker_connections = worker.cfg.worker_connections
            self.exited(worker.pid)

    def exited(self, pid: int) -> None:
        """gunicorn's ``child_exit`` (in the arbiter): a worker gone, or accepting again, no longer counts as stopped."""
        with self.locked():
            for slot, held in enumerate(self._closed):
                if held == pid:
                    self._closed[slot] = 0

    def stopped(self) -> list[int]:
        """The pids of the workers not accepting now."""
        with self.locked():
            return [pid for pid in self._closed if pid]

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The note to this thread alone, across the arbiter and its workers; released if its holder dies."""
        with self._in_process:
            fcntl.lockf(self._file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.lockf(self._file, fcntl.LOCK_UN)

    def _applies(self, worker, path: str) -> bool:
        return self.enabled and path.startswith(BULK_PATHS) and hasattr(worker, "worker_connections")

    def _claim(self, pid: int, workers: int) -> bool:
        """Note ``pid`` as stopped unless that would leave no worker accepting (or no slot is free)."""
        with self.locked():
            held = [slot for slot, other in enumerate(self._closed) if other]
            free = [slot for slot, other in enumerate(self._closed) if not other]
            if len(held) + 1 >= workers or not free:
                return False
            self._closed[free[0]] = pid
            return True
