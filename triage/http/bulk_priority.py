"""Reports and exports run at a lower CPU priority than intake, in the thread that serves them.

On a small server a year's export or dashboard keeps a core busy for seconds, and intake beside
it waited for the CPU. The thread serving a report or an export lowers its own priority (adds the
``BULK_NICE`` setting, 19 by default) for that request, streaming included, and takes its own
back when the server closes the answer (``record/priority.py``; while it holds SQLite's write lock
it runs at its own). Nothing is slower on an idle machine: a nice value only matters when threads
compete for a core.

Measured on 2 cores, 40,000 contacts, gunicorn's default 4 workers x 2 threads, intake p95 at 8
clients while a year's export and dashboard loop over the quiet p95
(``benchmarks/bench_intake_during_export.py --rounds 3``, four runs each way, alternating): on
PostgreSQL 1.73, 2.15, 1.74, 2.61 with this against 3.32, 3.21, 3.20, 4.29 without; on SQLite no
difference (2.84, 2.93 against 3.28, 2.94), where intake waits for something other than the CPU.

A process that may not raise a thread's priority again lowers nothing (``config/triage.service``
sets the nice limit that allows it).
"""

from __future__ import annotations

import logging

from flask import Flask, Response, request

from triage.record import priority

log = logging.getLogger(__name__)

#: Requests served at the lower priority: the reports and the exports, API and pages.
BULK_PATHS = ("/api/v1/exports/", "/api/v1/reports/", "/reports/")


def init_app(app: Flask) -> None:
    """Serve ``BULK_PATHS`` lowered by the ``BULK_NICE`` setting (``TRIAGE_BULK_NICE``; 0 turns it off)."""
    nice = app.config.get("BULK_NICE", 0)
    if nice <= 0:
        return
    if not priority.can_restore():
        log.warning("reports and exports run at intake's priority: this process may not raise a "
                    "thread's priority again (config/triage.service: LimitNICE)")
        return

    @app.before_request
    def _lower_for_bulk():
        priority.restore()  # no request starts lowered by an earlier one whose answer was never closed
        if request.path.startswith(BULK_PATHS):
            priority.lower(nice)
            request.environ["triage.lowered"] = True

    @app.after_request
    def _restore_when_closed(response: Response) -> Response:
        if request.environ.get("triage.lowered"):  # after the last streamed byte, when the server closes
            response.call_on_close(priority.restore)  # the answer on this thread (an error page's too)
        return response
