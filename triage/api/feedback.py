"""Partner feedback, reports and exports: ``/api/v1/feedback``, ``/reports``, ``/exports``.

Thin on purpose: parse the query (``triage.http.args``), call ``feedback``, ``reports`` or
``exports``, shape the answer; the pages call the same functions. Who may call what is in
``access.POLICY``; on top of it, a partner reads only its own organisation's feedback and
report (another organisation's is answered 404, never 403, so its existence is not disclosed).
Exports are for managers only: they are child-level data.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import g, jsonify, request
from flask_smorest import Blueprint

from triage.engine.contract import rfc3339
from triage.http import downloads
from triage.http.args import date_arg, date_range, month_arg
from triage.http.current import guidance
from triage.record.queries import get_visible_contact, get_visible_organisation, organisations_with_contacts
from triage.reporting import reports
from triage.services import feedback

blp = Blueprint(
    "feedback", __name__, url_prefix="/api/v1",
    description="Feedback to partners on their contacts, performance reports and inspection exports.",
)


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
    rows = feedback.released_on_days(g.user.organisation_id, date_arg("from"), date_arg("to"))
    return jsonify({"items": [feedback.release_json(r) for r in rows], "total": len(rows)})


@blp.route("/contacts/<contact_id>/feedback/preview", methods=["GET"])
@blp.doc(summary="The feedback the partner would read, before it is released")
def preview_feedback(contact_id: str):
    contact = get_visible_contact(contact_id, g.user)
    content = feedback.preview(contact, guidance())
    previous = feedback.latest_release(contact.id)
    return jsonify({"feedback": content,
                    "released": previous is not None and previous.content == content,
                    "last_released_at": rfc3339(previous.released_at) if previous else None})


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


@blp.route("/reports/partners", methods=["GET"])
@blp.doc(summary="Partner organisations with contacts, for choosing a report")
def list_partner_organisations():
    rows = organisations_with_contacts()
    return jsonify({"items": [{"id": i, "name": n, "contacts": c} for i, n, c in rows]})


@blp.route("/reports/partners/<int:organisation_id>", methods=["GET"])
@blp.doc(summary="A partner's monthly report (JSON, or CSV with ?format=csv)", parameters=[
    {"in": "query", "name": "month", "schema": {"type": "string"}, "description": "YYYY-MM; default this month."},
    {"in": "query", "name": "team", "schema": {"type": "string"}, "description": "Only this team's contacts."},
    {"in": "query", "name": "format", "schema": {"type": "string", "enum": ["json", "csv"]}},
])
def partner_report(organisation_id: int):
    org = get_visible_organisation(organisation_id, g.user)
    report = reports.organisation_report(org, month_arg(), request.args.get("team") or None, guidance().levels)
    if request.args.get("format") == "csv":
        return downloads.attachment(reports.partner_report_csv(report),
                                    f"partner-report-{org.id}-{report['month']}.csv")
    return jsonify(report)


@blp.route("/reports/dashboard", methods=["GET"])
@blp.doc(summary="The management dashboard for contacts received in a date range", parameters=[
    {"in": "query", "name": "from", "schema": {"type": "string", "format": "date"}},
    {"in": "query", "name": "to", "schema": {"type": "string", "format": "date"}},
])
def dashboard():
    first, last = date_range(reports.DASHBOARD_DAYS)
    return jsonify(reports.dashboard_for(first, last, datetime.now(timezone.utc), guidance().levels))


# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------


@blp.route("/exports/annex-a/list-1.csv", methods=["GET"])
@blp.doc(summary="Ofsted Annex A List 1 (contacts): one row per child per contact")
def annex_a_list_1():
    return downloads.annex_a(1)


@blp.route("/exports/annex-a/list-3.csv", methods=["GET"])
@blp.doc(summary="Ofsted Annex A List 3 (referrals: confirmed level 3 or 4): one row per child per referral")
def annex_a_list_3():
    return downloads.annex_a(3)


@blp.route("/exports/training.jsonl", methods=["GET"])
@blp.doc(summary="Confirmed decisions as training data (python -m training train --data ...)")
def training_export():
    return downloads.training_data()
