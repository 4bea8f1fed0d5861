"""Partner feedback, reports and exports: ``/api/v1/feedback``, ``/reports``, ``/exports``.

Thin on purpose: parse the query (``triage.http.args``), call ``feedback``, ``reports`` or
``exports``, shape the answer; the pages call the same functions. Who may call what is in
``access.POLICY``; on top of it, a partner reads only its own organisation's feedback and
report (another organisation's is answered 404, never 403, so its existence is not disclosed).
Exports are for managers only: they are child-level data.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import g, request

from triage.api.openapi import MONTH, PAGING, Blueprint, day_parameter
from triage.api.schemas import (
    BoardPackSchema,
    DashboardSchema,
    FeedbackListSchema,
    FeedbackPreviewSchema,
    PartnerOrganisationsSchema,
    PartnerReportSchema,
    ReleasedFeedbackSchema,
)
from triage.engine.contract import rfc3339
from triage.engine.workdays import london_today
from triage.http import downloads
from triage.http.args import MAX_RANGE_DAYS, choice_arg, date_arg, date_range, month_arg, only_args, page_args
from triage.http.current import guidance
from triage.record.paging import capped_total
from triage.record.queries import get_visible_contact, get_visible_organisation
from triage.reporting import board_counts, board_pack, reports
from triage.reporting import dashboard as management_dashboard
from triage.reporting.partner_report import organisation_report, partners_in
from triage.services import feedback

#: What a partner report answers as: JSON, or a CSV download.
REPORT_FORMATS = ("json", "csv")

blp = Blueprint(
    "feedback", __name__, url_prefix="/api/v1",
    description="Feedback to partners on their contacts, performance reports and inspection exports.",
)


# ---------------------------------------------------------------------------------------------
# Feedback
# ---------------------------------------------------------------------------------------------


@blp.route("/feedback", methods=["GET"])
@blp.doc(summary="Feedback on your organisation's contacts, newest first, a page at a time", parameters=[
    day_parameter("from", "Released on or after this day (London), YYYY-MM-DD."),
    day_parameter("to", "Released on or before this day (London), YYYY-MM-DD."),
    *PAGING,
])
@blp.response(200, FeedbackListSchema, description="One page of released feedback, newest first.")
@blp.problems(401, 403, 422)
def list_feedback():
    """Released feedback only: a contact appears once a manager confirmed its outcome and released it.

    Paged like the queues (``per_page``, ``next_cursor``): an organisation's whole history in one
    answer was 9 s and 949 MB a worker at 200,000 contacts.
    """
    only_args("from", "to", "cursor", "per_page")
    cursor, per_page = page_args()
    page = feedback.released_keyset_page(g.user.organisation_id, date_arg("from"), date_arg("to"),
                                         cursor=cursor, per_page=per_page)
    return {"items": [feedback.release_json(r) for r in page], "per_page": per_page,
            **capped_total(page.total), "next_cursor": page.next_cursor}


@blp.route("/contacts/<contact_id>/feedback/preview", methods=["GET"])
@blp.doc(summary="The feedback the partner would read, before it is released")
@blp.response(200, FeedbackPreviewSchema, description="The feedback as it would be released now.")
@blp.problems(401, 403, 404, 409)
def preview_feedback(contact_id: str):
    contact = get_visible_contact(contact_id, g.user)
    content = feedback.preview(contact, guidance())
    previous = feedback.latest_release(contact.id)
    return {"feedback": content, "released": previous is not None and previous.content == content,
            "last_released_at": rfc3339(previous.released_at) if previous else None}


@blp.route("/contacts/<contact_id>/feedback/release", methods=["POST"])
@blp.doc(summary="Release the feedback on a decided contact to the partner who sent it")
@blp.response(201, ReleasedFeedbackSchema, description="Released; the partner can read it now.")
@blp.problems(401, 403, 404, 409)
def release_feedback(contact_id: str):
    contact = get_visible_contact(contact_id, g.user)
    return feedback.release_json(feedback.release(contact, g.user, guidance()))


# ---------------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------------


@blp.route("/reports/partners", methods=["GET"])
@blp.doc(summary="Partner organisations with contacts, for choosing a report", parameters=[
    {"in": "query", "name": "month", "schema": MONTH, "allowEmptyValue": True,
     "description": "YYYY-MM: the month whose contacts are counted; default (or empty) this month."},
])
@blp.response(200, PartnerOrganisationsSchema, description="Organisations by name.")
@blp.problems(401, 403, 422)
def list_partner_organisations():
    """Every organisation that has ever sent a contact, with how many it sent in the month (the month
    its report opens at); counting every contact ever sent cost the size of the store."""
    only_args("month")
    month = month_arg()
    return {"month": f"{month:%Y-%m}", "items": [{"id": i, "name": n, "contacts": c} for i, n, c in partners_in(month)]}


@blp.route("/reports/partners/<int:organisation_id>", methods=["GET"])
@blp.doc(summary="A partner's monthly report (JSON, or CSV with ?format=csv)", parameters=[
    {"in": "query", "name": "month", "schema": MONTH, "allowEmptyValue": True,
     "description": "YYYY-MM; default (or empty) this month."},
    {"in": "query", "name": "team", "schema": {"type": "string"}, "description": "Only this team's contacts."},
    {"in": "query", "name": "format", "schema": {"type": "string", "enum": list(REPORT_FORMATS)},
     "allowEmptyValue": True, "description": "json (the default, also when empty) or csv."},
])
@blp.response(200, PartnerReportSchema, description="The report (JSON), or with ?format=csv a CSV download.")
@blp.alt_response(200, schema={"type": "string"}, content_type="text/csv", success=True)
@blp.problems(401, 403, 404, 422)
def partner_report(organisation_id: int):
    only_args("month", "team", "format")
    org = get_visible_organisation(organisation_id, g.user)
    answer_as = choice_arg("format", REPORT_FORMATS)
    report = organisation_report(org, month_arg(), request.args.get("team") or None, guidance().levels)
    if answer_as == "csv":
        return downloads.attachment(reports.partner_report_csv(report),
                                    f"partner-report-{org.id}-{report['month']}.csv")
    return report


@blp.route("/reports/dashboard", methods=["GET"])
@blp.doc(summary="The management dashboard for contacts received in a date range", parameters=[
    day_parameter("from", f"Contacts received on or after this day (London), YYYY-MM-DD; at most {MAX_RANGE_DAYS} "
                          "days before to, and by default four weeks."),
    day_parameter("to", "Contacts received on or before this day (London), YYYY-MM-DD; default today."),
])
@blp.response(200, DashboardSchema, description="The figures.")
@blp.problems(401, 403, 422)
def dashboard():
    only_args("from", "to")
    first, last = date_range(management_dashboard.DASHBOARD_DAYS)
    return management_dashboard.dashboard_for(first, last, datetime.now(timezone.utc), guidance().levels)


@blp.route("/reports/board-pack", methods=["GET"])
@blp.doc(summary="The improvement board pack: six weeks from a day, against the three six-week periods before",
         parameters=[day_parameter("from", "The period's first day (London), YYYY-MM-DD; by default the six "
                                           "weeks ending yesterday.")])
@blp.response(200, BoardPackSchema, description="The figures, their trends and the summary.")
@blp.problems(401, 403, 422)
def board_pack_figures():
    only_args("from")
    first = date_arg("from") or london_today() - timedelta(days=board_pack.PERIOD_DAYS)
    pack = board_counts.board_pack_for(first, datetime.now(timezone.utc))
    for period in pack["periods"]:
        period["first"], period["last"] = period["first"].isoformat(), period["last"].isoformat()
    return pack


# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------


_CSV = {"type": "string", "description": "CSV (RFC 4180), a heading row first."}
_WINDOW = [
    day_parameter("from", "Contacts received on or after this day (London), YYYY-MM-DD; from must not be "
                          "after to, and the range is bounded (a year; ten for the training export)."),
    day_parameter("to", "Contacts received on or before this day (London), YYYY-MM-DD; default today."),
]


@blp.route("/exports/annex-a/list-1.csv", methods=["GET"])
@blp.doc(summary="Ofsted Annex A List 1 (contacts): one row per child per contact", parameters=_WINDOW)
@blp.response(200, _CSV, content_type="text/csv", description="A CSV download with Annex A's headings.")
@blp.problems(401, 403, 422)
def annex_a_list_1():
    only_args("from", "to")
    return downloads.annex_a(1)


@blp.route("/exports/annex-a/list-3.csv", methods=["GET"])
@blp.doc(summary="Ofsted Annex A List 3 (referrals: confirmed level 3 or 4): one row per child per referral",
         parameters=_WINDOW)
@blp.response(200, _CSV, content_type="text/csv", description="A CSV download with Annex A's headings.")
@blp.problems(401, 403, 422)
def annex_a_list_3():
    only_args("from", "to")
    return downloads.annex_a(3)


@blp.route("/exports/training.jsonl", methods=["GET"])
@blp.doc(summary="Confirmed decisions as training data (python -m training train --data ...)", parameters=_WINDOW,
         description="expert_level is the monthly quality audit's level where the contact was audited, else the "
                     "manager-confirmed level; label_source says which (audited or practice).")
@blp.response(200, {"type": "string", "description": "One JSON object per line."},
              content_type="application/x-ndjson", description="A JSON-lines download.")
@blp.problems(401, 403, 422)
def training_export():
    only_args("from", "to")
    return downloads.training_data()
