"""The monthly quality audit on the pages: draw a month's sample, audit the decisions assigned to you, see the results.

Managers only. The rules (the stratified, seeded draw; never one's own decision; Ofsted's grades)
are ``triage.services.quality_audit``'s. Opening a decision to audit it is recorded as a read, and
the CSV download as a read of every contact in it.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from triage.engine.errors import DomainError, Invalid, NotAllowed
from triage.engine.workdays import london_today
from triage.extensions import db
from triage.http import downloads
from triage.http.problems import problem_from
from triage.record import audit
from triage.reporting.spreadsheet import to_csv
from triage.services import quality_audit as qa
from triage.web.present import level_table
from triage.web.views import bp


def _errors(exc: DomainError) -> list[dict]:
    return [{"text": m, "href": f"#{k}"} for k, ms in (exc.errors or {}).items() for m in ms] or \
        [{"text": exc.detail, "href": "#main-content"}]


def _this_month() -> str:
    return london_today().strftime("%Y-%m")


def _last_month() -> str:
    today = london_today().replace(day=1)
    return f"{today.year - (today.month == 1)}-{(today.month - 2) % 12 + 1:02d}"


@bp.get("/quality-audit")
def quality_audit_home(given: dict | None = None, errors: list | None = None, status: int = 200):
    mine = [a for a in qa.my_assignments(g.user) if a.finding is None]
    return render_template("quality_audit/home.html", page_title="Quality audit", nav_active="quality-audit",
                           samples=qa.samples(), mine=mine, strata=qa.STRATA,
                           given=given or {"month": _last_month(), "seed": "", "per_practitioner": str(qa.DEFAULT_PER_PRACTITIONER)},
                           error_list=errors or []), status


@bp.post("/quality-audit")
def quality_audit_draw():
    given = {k: request.form.get(k, "").strip() for k in ("month", "seed", "per_practitioner")}
    try:
        seed = int(given["seed"]) if given["seed"] else None
    except ValueError:
        return quality_audit_home(given, [{"text": "Enter the seed as a whole number, or leave it empty.",
                                           "href": "#seed"}], 422)
    try:
        per = int(given["per_practitioner"] or qa.DEFAULT_PER_PRACTITIONER)
    except ValueError:
        per = -1
    try:
        sample = qa.draw_sample(given["month"], g.user, seed=seed, per_practitioner=per)
    except DomainError as exc:
        db.session.rollback()
        return quality_audit_home(given, _errors(exc), problem_from(exc).status)
    flash(f"Sample drawn for {sample.month}: {len(sample.assignments)} decisions (seed {sample.seed}).")
    return redirect(url_for("web.quality_audit_sample", month=sample.month))


@bp.get("/quality-audit/samples/<month>")
def quality_audit_sample(month: str):
    sample = qa.get_sample(month)
    return render_template("quality_audit/sample.html", page_title=f"Quality audit sample {sample.month}",
                           nav_active="quality-audit", sample=sample, rows=qa.results_rows(sample.month, sample.month),
                           strata=qa.STRATA, grades=qa.GRADES)


def _render_audit(assignment, *, given=None, errors=None, status=200, notice=None):
    qa.record_read(assignment, g.user)
    return render_template("quality_audit/audit.html", page_title=f"Audit {assignment.contact.partner_reference}",
                           nav_active="quality-audit", a=assignment, grades=qa.GRADES, levels=level_table(),
                           strata=qa.STRATA, given=given or {}, error_list=errors or [], notice=notice,
                           took_part=qa.took_part(assignment, g.user)), status


@bp.route("/quality-audit/audits/<int:assignment_id>", methods=["GET", "POST"])
def quality_audit_audit(assignment_id: int):
    assignment = qa.get_assignment(assignment_id)
    if request.method == "GET":
        return _render_audit(assignment)
    given = {k: request.form.get(k, "") for k in ("level", "grade", "learning")}
    try:
        level = int(given["level"]) if given["level"] else None
    except ValueError:
        level = 0
    try:
        qa.record_finding(assignment, g.user, level=level, grade=given["grade"] or None, learning=given["learning"])
    except DomainError as exc:
        db.session.rollback()
        problem = problem_from(exc)
        notice = problem if isinstance(exc, NotAllowed) or not isinstance(exc, Invalid) else None
        return _render_audit(qa.get_assignment(assignment_id), given=given,
                             errors=[] if notice else _errors(exc), status=problem.status, notice=notice)
    flash(f"Audit of {assignment.contact.partner_reference} recorded.")
    return redirect(url_for("web.quality_audit_home"))


def _range() -> tuple[str, str]:
    first = request.args.get("from") or _last_month()
    last = request.args.get("to") or first
    return first, last


@bp.get("/quality-audit/results")
def quality_audit_results():
    first, last = _range()
    try:
        result = qa.results(first, last)
    except DomainError as exc:
        return render_template("quality_audit/results.html", page_title="Quality audit results",
                               nav_active="quality-audit", result=None, first=first, last=last,
                               grades=qa.GRADES, error_list=_errors(exc)), 400
    return render_template("quality_audit/results.html", page_title="Quality audit results", nav_active="quality-audit",
                           result=result, first=first, last=last, grades=qa.GRADES, error_list=[])


@bp.get("/quality-audit/results.csv")
def quality_audit_csv():
    first, last = _range()
    rows = qa.results_rows(first, last)
    audit.record_export("quality-audit", (r["contact_id"] for r in rows), g.user)
    db.session.commit()
    return downloads.attachment(to_csv(qa.CSV_HEADINGS, qa.csv_rows(rows)), f"quality-audit-{first}-to-{last}.csv")
