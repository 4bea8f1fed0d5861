"""The feedback and reporting pages: partners' feedback and report, managers' dashboard and exports.

Thin like the other pages: read the query or form, call ``triage.feedback`` / ``triage.reports``
(through the same helpers as the API, so a page and the API never disagree on a figure), and
render. Partners see their own organisation only; everything else here is for managers.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from triage.api import feedback as api
from triage.api.contacts import get_visible_contact
from triage.engine.errors import DomainError
from triage.extensions import db
from triage.http.problems import Problem, problem_from
from triage.record.tables import Contact, Organisation
from triage.reporting import reports
from triage.services import feedback
from triage.web.present import SOURCE_NAMES

bp = Blueprint("reports", __name__)

MAX_FEEDBACK_ITEMS = 100


def _query_errors(exc: Problem) -> list[dict[str, str]]:
    """A query Problem as the GOV.UK error summary's list, each message linking to its input."""
    return [{"text": message, "href": f"#{field}"}
            for field, messages in (exc.errors or {}).items() for message in messages]


# -- Partners: feedback on our contacts -----------------------------------------------------------


@bp.get("/feedback")
def feedback_list():
    """Feedback on our contacts: each released, confirmed outcome, newest first."""
    errors: list[dict[str, str]] = []
    first = last = None
    try:
        first, last = api.date_arg("from"), api.date_arg("to")
    except Problem as exc:
        errors = _query_errors(exc)
    rows = feedback.released_feedback(
        g.user.organisation_id,
        released_from=reports.london_midnight(first) if first else None,
        released_to=reports.london_midnight(last + timedelta(days=1)) if last else None,
    )
    return render_template(
        "feedback/list.html", page_title="Feedback on our contacts", error_list=errors,
        items=[feedback.release_json(r) for r in rows[:MAX_FEEDBACK_ITEMS]], total=len(rows),
        limit=MAX_FEEDBACK_ITEMS, first=request.args.get("from", ""), last=request.args.get("to", ""),
        organisation=g.user.organisation.name if g.user.organisation else "",
    ), 200 if not errors else 400


# -- Managers: preview and release feedback on one contact ----------------------------------------


def _preview_page(contact: Contact, *, problem: Problem | None = None, status: int = 200):
    content = released = None
    try:
        content = feedback.preview(contact, api.guidance())
        previous = feedback.latest_release(contact.id)
        released = previous if previous is not None and previous.content == content else None
    except DomainError as exc:
        problem = problem or problem_from(exc)
        status = problem.status if status == 200 else status
    return render_template("feedback/preview.html", page_title=f"Feedback on {contact.partner_reference}",
                           contact=contact, content=content, released=released, problem=problem), status


@bp.get("/contacts/<contact_id>/feedback")
def feedback_preview(contact_id: str):
    return _preview_page(get_visible_contact(contact_id, g.user))


@bp.post("/contacts/<contact_id>/feedback/release")
def feedback_release(contact_id: str):
    contact = get_visible_contact(contact_id, g.user)
    try:
        feedback.release(contact, g.user, api.guidance())
    except DomainError as exc:
        db.session.rollback()
        problem = problem_from(exc)
        return _preview_page(contact, problem=problem, status=problem.status)
    flash(f"Feedback on {contact.partner_reference} released to {contact.organisation.name}.")
    return redirect(url_for("reports.feedback_preview", contact_id=contact.id))


# -- Partner reports ---------------------------------------------------------------------------


@bp.get("/reports/partners")
def partner_reports():
    """Managers choose a partner and month; a partner goes straight to its own report."""
    if g.user.role == "partner":
        return redirect(url_for("reports.partner_report", organisation_id=g.user.organisation_id))
    organisations = db.session.execute(
        select(Organisation.id, Organisation.name, func.count(Contact.id))
        .join(Contact, Contact.organisation_id == Organisation.id)
        .group_by(Organisation.id, Organisation.name).order_by(Organisation.name)
    ).all()
    return render_template("reports/partners.html", page_title="Partner reports", organisations=organisations,
                           month=api.today().strftime("%Y-%m"))


def _report_or_errors(organisation_id: int) -> tuple[Organisation, dict | None, list[dict[str, str]], date]:
    org = api.visible_organisation(organisation_id)
    try:
        month = api.month_arg()
    except Problem as exc:
        return org, None, _query_errors(exc), api.today().replace(day=1)
    return org, api.build_partner_report(org, month, request.args.get("team") or None), [], month


@bp.get("/reports/partners/<int:organisation_id>")
def partner_report(organisation_id: int):
    org, report, errors, month = _report_or_errors(organisation_id)
    return render_template(
        "reports/partner.html", page_title=f"{org.name}: contacts report", organisation=org, report=report,
        error_list=errors, month=request.args.get("month") or month.strftime("%Y-%m"),
        team=request.args.get("team") or "",
        previous_month=reports.add_months(month, -1).strftime("%Y-%m"),
        next_month=reports.add_months(month, 1).strftime("%Y-%m"),
    ), 200 if report else 400


@bp.get("/reports/partners/<int:organisation_id>/report.csv")
def partner_report_csv(organisation_id: int):
    org, report, errors, _ = _report_or_errors(organisation_id)
    if report is None:
        raise Problem(422, errors[0]["text"], title="Invalid query")
    return Response(reports.partner_report_csv(report), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="partner-report-{org.id}-{report["month"]}.csv"',
        "Cache-Control": "no-store"})


# -- The management dashboard and exports --------------------------------------------------------


@bp.get("/reports/dashboard")
def dashboard():
    errors: list[dict[str, str]] = []
    try:
        first, last = api.date_range(api.DEFAULT_DASHBOARD_DAYS)
    except Problem as exc:
        errors = _query_errors(exc)
        last = api.today()
        first = last - timedelta(days=api.DEFAULT_DASHBOARD_DAYS - 1)
    board = api.build_dashboard(first, last)
    return render_template("reports/dashboard.html", page_title="Front door dashboard", board=board,
                           error_list=errors, source_names=SOURCE_NAMES,
                           first=request.args.get("from") or first.isoformat(),
                           last=request.args.get("to") or last.isoformat()), 200 if not errors else 400


@bp.get("/reports/exports/annex-a-list-1.csv")
def export_list_1():
    return api.annex_a_export(1)


@bp.get("/reports/exports/annex-a-list-3.csv")
def export_list_3():
    return api.annex_a_export(3)


@bp.get("/reports/exports/confirmed-decisions.jsonl")
def export_training():
    return api.training_export_response()
