"""The improvement board's pack on the pages and as a PDF: any six-week period against the three before it.

Managers only. The figures are ``triage.reporting.board_pack``'s, counted by the database
(``board_counts``) once and shown on the page and in the PDF alike; the PDF is the same content
through WeasyPrint, no browser involved. The pack holds counts and partner names only, no
child-level data.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import Response, render_template, request
from markupsafe import Markup

from triage.engine.workdays import london_today
from triage.http.args import date_arg
from triage.http.problems import Problem
from triage.reporting import board_counts, board_pack
from triage.web.views import bp


def _first():
    """The period's first day (``from``); by default the six weeks ending yesterday."""
    return date_arg("from") or london_today() - timedelta(days=board_pack.PERIOD_DAYS)


def _pack(first) -> dict:
    pack = board_counts.board_pack_for(first, datetime.now(timezone.utc))
    pack["charts"] = {f["key"]: Markup(board_pack.share_chart(f)) for f in pack["figures"]}
    pack["charts"]["demand"] = Markup(board_pack.demand_chart(pack))
    pack["by_key"] = {f["key"]: f for f in pack["figures"]}
    return pack


@bp.get("/reports/board-pack")
def board_pack_page():
    errors = []
    try:
        first = _first()
    except Problem as exc:
        errors = [{"text": m, "href": f"#{k}"} for k, ms in (exc.errors or {}).items() for m in ms]
        first = london_today() - timedelta(days=board_pack.PERIOD_DAYS)
    pack = _pack(first)
    return render_template("board_pack/page.html", page_title="Improvement board pack", nav_active="reports",
                           pack=pack, first=request.args.get("from") or first.isoformat(), error_list=errors,
                           share_text=board_pack.share_text), 400 if errors else 200


@bp.get("/reports/board-pack.pdf")
def board_pack_pdf():
    first = _first()
    html = render_template("board_pack/pdf.html", pack=_pack(first), share_text=board_pack.share_text)
    return Response(board_pack.pdf(html), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="board-pack-{first.isoformat()}.pdf"',
        "Cache-Control": "no-store"})
