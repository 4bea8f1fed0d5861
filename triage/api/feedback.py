"""Partner feedback, reports and exports: ``/api/v1/feedback``, ``/reports``, ``/exports``.

Thin on purpose: parse the query, call ``feedback``, ``reports`` or ``exports``, shape the
answer. Who may call what is in ``access.POLICY``; on top of it, a partner reads only its own
organisation's feedback and report (another organisation's is answered 404, never 403, so its
existence is not disclosed). Exports are for managers only: they are child-level data.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from flask import Response, current_app, g, jsonify, request
from flask_smorest import Blueprint
from sqlalchemy import func, select

from triage.api.contacts import get_visible_contact
from triage.engine.guidance import Guidance
from triage.engine.workdays import LONDON
from triage.extensions import db
from triage.http.problems import Problem
from triage.record import audit
from triage.record.tables import Contact, Organisation
from triage.reporting import exports, reports
from triage.services import feedback
from triage.services.children import known_history
from triage.services.queues import iso

blp = Blueprint(
    "feedback", __name__, url_prefix="/api/v1",
    description="Feedback to partners on their contacts, performance reports and inspection exports.",
)

DEFAULT_DASHBOARD_DAYS = 30
# Ofsted's Annex A covers the months before an inspection; six is the usual window.
DEFAULT_EXPORT_MONTHS = 6


def guidance() -> Guidance:
    return current_app.extensions["recommender"].guidance


def today() -> date:
    return datetime.now(timezone.utc).astimezone(LONDON).date()


def date_arg(name: str) -> date | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Problem(422, "Some query parameters are not valid; see errors.", title="Invalid query",
                      errors={name: ["Must be a date written YYYY-MM-DD, for example 2026-11-20."]}) from None


def date_range(default_days: int) -> tuple[date, date]:
    """``from`` and ``to`` as London days, both included; ``to`` defaults to today."""
    last = date_arg("to") or today()
    first = date_arg("from") or last - timedelta(days=default_days - 1)
    if first > last:
        raise Problem(422, "The date range is empty: 'from' is after 'to'.", title="Invalid query",
                      errors={"from": ["Must be on or before 'to'."]})
    return first, last


def _csv(text: str, filename: str) -> Response:
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


# ---------------------------------------------------------------------------------------------
# Feedback
# ---------------------------------------------------------------------------------------------


@blp.route("/feedback", methods=["GET"])
@blp.doc(summary="Feedback on your organisation's contacts, newest first", parameters=[
    {"in": "query", "name": "from", "schema": {"type": "string", "format": "date"},
     "description": "Released on or after this day (London), YYYY-MM-DD."},
    {"in": "query", "name": "to", "schema": {"type": "string", "format": "date"},
     "description": "Released on or before this day (London), YYYY-MM-DD."},
])
def list_feedback():
    """Released feedback only: a contact appears once a manager confirmed its outcome and released it."""
    first, last = date_arg("from"), date_arg("to")
    rows = feedback.released_feedback(
        g.user.organisation_id,
        released_from=reports.london_midnight(first) if first else None,
        released_to=reports.london_midnight(last + timedelta(days=1)) if last else None,
    )
    return jsonify({"items": [feedback.release_json(r) for r in rows], "total": len(rows)})


@blp.route("/contacts/<contact_id>/feedback/preview", methods=["GET"])
@blp.doc(summary="The feedback the partner would read, before it is released")
def preview_feedback(contact_id: str):
    contact = get_visible_contact(contact_id, g.user)
    content = feedback.preview(contact, guidance())
    previous = feedback.latest_release(contact.id)
    return jsonify({"feedback": content,
                    "released": previous is not None and previous.content == content,
                    "last_released_at": iso(previous.released_at) if previous else None})


@blp.route("/contacts/<contact_id>/feedback/release", methods=["POST"])
@blp.doc(summary="Release the feedback on a decided contact to the partner who sent it")
def release_feedback(contact_id: str):
    contact = get_visible_contact(contact_id, g.user)
    row = feedback.release(contact, g.user, guidance())
    response = jsonify(feedback.release_json(row))
    response.status_code = 201
    return response


# ---------------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------------


def visible_organisation(organisation_id: int) -> Organisation:
    """The organisation, or 404; a partner sees only its own."""
    org = db.session.get(Organisation, organisation_id)
    if org is None or (g.user.role == "partner" and g.user.organisation_id != org.id):
        raise Problem(404, "No organisation with that id is visible to you.")
    return org


def month_arg() -> date:
    value = request.args.get("month")
    if not value:
        return today().replace(day=1)
    try:
        return reports.parse_month(value)
    except ValueError as exc:
        raise Problem(422, "Some query parameters are not valid; see errors.", title="Invalid query",
                      errors={"month": [f"{str(exc)[0].upper()}{str(exc)[1:]}."]}) from None


def build_partner_report(org: Organisation, month: date, team: str | None) -> dict:
    start, end = reports.report_window(month)
    return reports.partner_report(reports.load_facts(start, end), organisation_id=org.id,
                                  organisation=org.name, month=month, team=team,
                                  levels=guidance().levels)


@blp.route("/reports/partners", methods=["GET"])
@blp.doc(summary="Partner organisations with contacts, for choosing a report")
def list_partner_organisations():
    rows = db.session.execute(
        select(Organisation.id, Organisation.name, func.count(Contact.id))
        .join(Contact, Contact.organisation_id == Organisation.id)
        .group_by(Organisation.id, Organisation.name).order_by(Organisation.name)
    ).all()
    return jsonify({"items": [{"id": i, "name": n, "contacts": c} for i, n, c in rows]})


@blp.route("/reports/partners/<int:organisation_id>", methods=["GET"])
@blp.doc(summary="A partner's monthly report (JSON, or CSV with ?format=csv)", parameters=[
    {"in": "query", "name": "month", "schema": {"type": "string"}, "description": "YYYY-MM; default this month."},
    {"in": "query", "name": "team", "schema": {"type": "string"}, "description": "Only this team's contacts."},
    {"in": "query", "name": "format", "schema": {"type": "string", "enum": ["json", "csv"]}},
])
def partner_report(organisation_id: int):
    org = visible_organisation(organisation_id)
    month = month_arg()
    report = build_partner_report(org, month, request.args.get("team") or None)
    if request.args.get("format") == "csv":
        return _csv(reports.partner_report_csv(report), f"partner-report-{org.id}-{report['month']}.csv")
    return jsonify(report)


def build_dashboard(first: date, last: date) -> dict:
    start, end = reports.day_range(first, last)
    return reports.dashboard(reports.load_facts(start, end), first=first, last=last,
                             now=datetime.now(timezone.utc), levels=guidance().levels)


@blp.route("/reports/dashboard", methods=["GET"])
@blp.doc(summary="The management dashboard for contacts received in a date range", parameters=[
    {"in": "query", "name": "from", "schema": {"type": "string", "format": "date"}},
    {"in": "query", "name": "to", "schema": {"type": "string", "format": "date"}},
])
def dashboard():
    first, last = date_range(DEFAULT_DASHBOARD_DAYS)
    return jsonify(build_dashboard(first, last))


# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------


def export_window() -> tuple[date, date, datetime, datetime]:
    first, last = date_range(DEFAULT_EXPORT_MONTHS * 31)
    start, end = reports.day_range(first, last)
    return first, last, start, end


def annex_a_export(list_number: int) -> Response:
    """Annex A List 1 or List 3 as a CSV download for the ``from``/``to`` days (default: six months)."""
    first, last, start, end = export_window()
    if list_number == 1:
        facts = reports.load_facts(start, end)
        text = exports.to_csv(exports.LIST_1_HEADINGS, exports.list_1_rows(facts, start, end))
    else:  # referral counts look back twelve months before the window
        facts = reports.load_facts(start - exports.TWELVE_MONTHS, end)
        text = exports.to_csv(exports.LIST_3_HEADINGS, exports.list_3_rows(facts, start, end))
    shown = exports.contacts_in(facts, start, end, referrals_only=list_number == 3)
    audit.record_export(f"annex-a-list-{list_number}", (f.id for f in shown), g.user)
    db.session.commit()
    return _csv(text, f"annex-a-list-{list_number}-{first}-to-{last}.csv")


def training_export_response() -> Response:
    """Every confirmed decision on contacts received in the range (default: ten years) as JSON lines."""
    first, last = date_range(3650)
    start, end = reports.day_range(first, last)
    facts = reports.load_facts(start, end, with_payload=True)
    records = exports.training_records(
        facts, lambda f: known_history([c.child_id for c in f.children if c.child_id],
                                       before=f.accepted, exclude=f.id).marac_12m)
    audit.record_export("confirmed-decisions", (f.id for f in exports.confirmed(facts)), g.user)
    db.session.commit()
    return Response(exports.to_jsonl(records), mimetype="application/x-ndjson", headers={
        "Content-Disposition": f'attachment; filename="confirmed-decisions-{first}-to-{last}.jsonl"',
        "Cache-Control": "no-store"})


@blp.route("/exports/annex-a/list-1.csv", methods=["GET"])
@blp.doc(summary="Ofsted Annex A List 1 (contacts): one row per child per contact")
def annex_a_list_1():
    return annex_a_export(1)


@blp.route("/exports/annex-a/list-3.csv", methods=["GET"])
@blp.doc(summary="Ofsted Annex A List 3 (referrals: confirmed level 3 or 4): one row per child per referral")
def annex_a_list_3():
    return annex_a_export(3)


@blp.route("/exports/training.jsonl", methods=["GET"])
@blp.doc(summary="Confirmed decisions as training data (python -m training train --data ...)")
def training_export():
    return training_export_response()
