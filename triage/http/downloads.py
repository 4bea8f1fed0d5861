"""Files handed out by both edges: CSV and JSON-lines attachments, never cached.

The Annex A lists and the training export are the same file whether a manager downloads it
from the reports page or a script asks the API, so both edges answer with these.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response, g, stream_with_context

from triage.http.args import date_range
from triage.record import txn
from triage.reporting import exports


def _read_only(chunks: Iterator[str]) -> Iterator[str]:
    """Stream ``chunks`` reading without SQLite's write lock, however the server iterates the body.

    The rows are read after the view has returned, while the server sends the file; marking the
    stream itself read-only keeps a long download from holding the write lock (and so from stalling
    intake) on the embedded store. A no-op on PostgreSQL.
    """
    with txn.reading():
        yield from chunks


def attachment(text: str | Iterator[str], filename: str, mimetype: str = "text/csv") -> Response:
    """``text`` (or its pieces, streamed) as a download named ``filename``; no-store, as it may hold child-level data."""
    if not isinstance(text, str):
        text = stream_with_context(_read_only(text))
    return Response(text, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def annex_a(list_number: int) -> Response:
    """Annex A List 1 or List 3 as a CSV download for the ``from``/``to`` days (default: six months).

    Streamed: the contacts in it are recorded as read before the first byte, then the rows leave
    a batch at a time as they are read (constant memory, first bytes at once).
    """
    first, last = date_range(exports.ANNEX_A_DAYS)
    chunks = exports.annex_a_chunks(list_number, first, last, g.user)
    return attachment(chunks, f"annex-a-list-{list_number}-{first}-to-{last}.csv")


def training_data() -> Response:
    """Every confirmed decision on contacts received in the range (default: ten years) as JSON lines.

    Streamed like ``annex_a``: recorded as read before the first byte, then a batch of lines at a time.
    """
    first, last = date_range(exports.TRAINING_DAYS, exports.TRAINING_DAYS)
    return attachment(exports.training_chunks(first, last, g.user),
                      f"confirmed-decisions-{first}-to-{last}.jsonl", "application/x-ndjson")
