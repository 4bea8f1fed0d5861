"""The one CSV writer: every file the service exports is safe to open in a spreadsheet.

Partners write free text (a child's reference, a team name) that ends up in files a manager
opens in Excel or LibreOffice. A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is read there as a formula, so ``=HYPERLINK("http://evil.example","x")`` would
arrive live. OWASP's CSV injection guidance: put a single quote in front of such a cell, which
the spreadsheet shows as plain text. Numbers are left as numbers (a negative count is not text a
partner wrote). Every CSV goes through ``to_csv`` so no export can forget.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

#: What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """``value``, with a leading single quote if it is text a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(headings: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """A CSV document (headings, then rows) with every cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(cell) for cell in headings])
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return out.getvalue()


def csv_chunks(headings: Sequence[object], rows: Iterable[Sequence[object]], batch: int = 500) -> Iterator[str]:
    """``to_csv`` a piece at a time, for a streamed download: the headings at once, then ``batch`` rows each.

    The pieces joined are exactly ``to_csv(headings, rows)``; memory holds one batch, not the file.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(cell) for cell in headings])
    for count, row in enumerate(rows, start=1):
        writer.writerow([neutralise(cell) for cell in row])
        if count % batch == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
