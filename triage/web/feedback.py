"""The feedback and reporting pages: partners' feedback and report, managers' dashboard and exports.

Thin like the other pages: read the query (``triage.http.args``) or form, call
``services.feedback`` / ``reporting`` (the same functions as the API, so a page and the API never
disagree on a figure), and render. Partners see their own organisation only; everything else here is for managers.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from triage.engine.errors import DomainError
from triage.engine.workdays import london_date, london_today
from triage.extensions import db
from triage.http import downloads
from triage.http.args import MAX_RANGE_DAYS, date_arg, date_range, month_arg, page_args
from triage.http.current import guidance
from triage.http.problems import Problem, problem_from
from triage.record import audit
from triage.record.queries import get_visible_contact, get_visible_organisation
from triage.record.tables import Contact, Organisation
from triage.reporting import dashboard as management_dashboard
from triage.reporting import reports
from triage.reporting.partner_report import organisation_report, partners_in
from triage.services import feedback, partner_view
from triage.services.queues import time_left
from triage.web.present import SOURCE_NAMES

bp = Blueprint("reports", __name__)

#: Feedback on our contacts, a page at a time (newest first).
FEEDBACK_PAGE_SIZE = 10
#: The most feedback the page counts (and pages through) for one choice of dates and level: a
#: police force's years of releases cost their number to count; older ones are found by date.
FEEDBACK_COUNTED_UP_TO = 1_000
#: The dashboard's lists of departures and of managers' changes show at most this many rows, so
#: the page's size does not grow with the number of contacts in the range (the figures cover all).
DASHBOARD_TABLE_ROWS = 20


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
        first, last = date_arg("from"), date_arg("to")
    except Problem as exc:
        errors = _query_errors(exc)
    level = request.args.get("level", "")
    if level and level not in {str(n) for n in guidance().levels}:
        errors.append({"text": "Select a level from the list", "href": "#level"})
        level = ""
    raw_page = request.args.get("page", "1") or "1"
    page_number = int(raw_page) if raw_page.isdigit() and int(raw_page) >= 1 else None
    if page_number is None:
        errors.append({"text": "Enter a page number, like 2", "href": "#feedback-pages"})
        page_number = 1
    shown, total, page_number = feedback.released_page(
        g.user.organisation_id, first, last, level=int(level) if level else None, page=page_number,
        per_page=FEEDBACK_PAGE_SIZE, count_up_to=FEEDBACK_COUNTED_UP_TO)
    capped = FEEDBACK_COUNTED_UP_TO if total > FEEDBACK_COUNTED_UP_TO else 0
    pages = max(1, -(-min(total, FEEDBACK_COUNTED_UP_TO) // FEEDBACK_PAGE_SIZE))
    query = {k: v for k, v in (("from", request.args.get("from", "")), ("to", request.args.get("to", "")),
                               ("level", level)) if v}
    # The last page counted: older feedback is the same list up to the day of the oldest shown.
    older = london_date(shown[-1].released_at) if capped and page_number == pages and shown else None
    older_href = url_for("reports.feedback_list", **(query | {"to": older.isoformat()})) if older else None
    return render_template(
        "feedback/list.html", page_title="Feedback on our contacts", error_list=errors,
        items=[feedback.release_json(r) for r in shown], total=total, capped=capped, older=older,
        older_href=older_href, page=page_number, pages=pages, page_size=FEEDBACK_PAGE_SIZE, query=query,
        level=level, levels=guidance().levels,
        first=request.args.get("from", ""), last=request.args.get("to", ""), nav_active="feedback",
        organisation=g.user.organisation.name if g.user.organisation else "",
    ), 200 if not errors else 400


# -- Partners: our contacts, where each is and when it is due ------------------------------------

#: Our contacts, a page at a time (newest received first).
OUR_CONTACTS_PAGE_SIZE = 25


@bp.get("/our-contacts")
def our_contacts():
    """The contacts the partner's organisation sent: status and decision deadline, never a recommendation."""
    cursor, per_page = page_args(OUR_CONTACTS_PAGE_SIZE)
    rows = partner_view.our_contacts(g.user, cursor, per_page)
    return render_template("feedback/our_contacts.html", page_title="Our contacts", rows=rows,
                           nav_active="our-contacts", bodyClasses="app-wide",
                           organisation=g.user.organisation.name if g.user.organisation else "")


@bp.get("/our-contacts/<contact_id>")
def our_contact(contact_id: str):
    """One of the partner's contacts: status, deadline, and the outcome once feedback is released."""
    contact = get_visible_contact(contact_id, g.user)
    audit.record("viewed", contact_id=contact.id, user=g.user, data={"via": "web"})
    db.session.commit()
    return render_template("feedback/our_contact.html", page_title=f"Contact {contact.partner_reference}",
                           contact=contact, view=partner_view.partner_view(contact), payload=contact.payload,
                           time=time_left(contact.decision_due_at, datetime.now(timezone.utc)),
                           nav_active="our-contacts")


# -- Managers: preview and release feedback on one contact ----------------------------------------


@bp.get("/feedback/to-release")
def feedback_to_release():
    """Managers: confirmed outcomes whose feedback the partner has not had yet, waiting longest first."""
    return render_template("feedback/to_release.html", page_title="Feedback to release",
                           rows=feedback.awaiting_release(*page_args()), nav_active="to-release")


def _preview_page(contact: Contact, *, problem: Problem | None = None, status: int = 200):
    content = released = None
    try:
        content = feedback.preview(contact, guidance())
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
        feedback.release(contact, g.user, guidance())
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
    month = london_today().replace(day=1)
    return render_template("reports/partners.html", page_title="Partner reports",
                           organisations=partners_in(month), month=month.strftime("%Y-%m"),
                           month_name=month.strftime("%B %Y"))


def _report_or_errors(organisation_id: int) -> tuple[Organisation, dict | None, list[dict[str, str]], date]:
    org = get_visible_organisation(organisation_id, g.user)
    try:
        month = month_arg()
    except Problem as exc:
        return org, None, _query_errors(exc), london_today().replace(day=1)
    report = organisation_report(org, month, request.args.get("team") or None, guidance().levels)
    return org, report, [], month


@bp.get("/reports/partners/<int:organisation_id>")
def partner_report(organisation_id: int):
    org, report, errors, month = _report_or_errors(organisation_id)
    return render_template(
        "reports/partner.html", page_title=f"{org.name}: contacts report", organisation=org, report=report,
        nav_active="partner-report" if g.user.role == "partner" else "reports",
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
    return downloads.attachment(reports.partner_report_csv(report), f"partner-report-{org.id}-{report['month']}.csv")


# -- The management dashboard and exports --------------------------------------------------------


@bp.get("/reports/dashboard")
def dashboard():
    errors: list[dict[str, str]] = []
    try:
        first, last = date_range(management_dashboard.DASHBOARD_DAYS)
    except Problem as exc:
        errors = _query_errors(exc)
        last = london_today()
        first = last - timedelta(days=management_dashboard.DASHBOARD_DAYS - 1)
    board = management_dashboard.dashboard_for(first, last, datetime.now(timezone.utc), guidance().levels)
    return render_template("reports/dashboard.html", page_title="Front door dashboard", board=board,
                           demand=management_dashboard.demand(board["per_day"]),
                           error_list=errors, source_names=SOURCE_NAMES, table_rows=DASHBOARD_TABLE_ROWS,
                           max_days=MAX_RANGE_DAYS,
                           first=request.args.get("from") or first.isoformat(),
                           last=request.args.get("to") or last.isoformat()), 200 if not errors else 400


@bp.get("/reports/exports/annex-a-list-1.csv")
def export_list_1():
    return downloads.annex_a(1)


@bp.get("/reports/exports/annex-a-list-3.csv")
def export_list_3():
    return downloads.annex_a(3)


@bp.get("/reports/exports/confirmed-decisions.jsonl")
def export_training():
    return downloads.training_data()
