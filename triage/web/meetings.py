"""The morning domestic-abuse meeting on the pages: start it, take each contact, agree actions, print the papers.

Thin like the other pages: the rules (who attends, the agenda, carry-over, the decision path)
are ``triage.services.meetings``'s. The agenda (before) and the minutes (after) are pages laid
out for printing; showing either is recorded as a read of every contact on it.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from triage.engine.errors import Conflict, DomainError, NotAllowed
from triage.extensions import db
from triage.http.problems import problem_from
from triage.services import meetings
from triage.web.forms import attach_errors, error_list
from triage.web.present import level_table
from triage.web.views import _decision_form, bp

ATTENDEE_ROWS = 8
#: The usual table, offered on the start form (people change the roles; no one is named).
DEFAULT_ATTENDEES = (
    ("front_door", "Team manager", "Front door"),
    ("police", "Domestic abuse officer", "Police"),
    ("health", "Safeguarding nurse", "Health"),
    ("domestic_abuse_service", "Independent domestic violence adviser", "Domestic abuse service"),
)


def _attendees_from_form() -> list[dict]:
    rows = []
    for i in range(ATTENDEE_ROWS):
        agency, role, org = (request.form.get(f"attendee-{i}-{k}", "").strip() for k in ("agency", "role", "organisation"))
        if agency or role or org:
            rows.append({"agency": agency, "role": role, "organisation": org})
    return rows


def _attendee_rows(given: list[dict] | None = None) -> list[dict]:
    rows = list(given) if given is not None else [
        {"agency": a, "role": r, "organisation": o} for a, r, o in DEFAULT_ATTENDEES]
    return rows + [{"agency": "", "role": "", "organisation": ""}] * (ATTENDEE_ROWS - len(rows))


def _errors(exc: DomainError) -> list[dict]:
    return [{"text": m, "href": "#" + k.replace(".", "-")} for k, ms in (exc.errors or {}).items() for m in ms] or \
        [{"text": exc.detail, "href": "#main-content"}]


@bp.get("/meetings")
def meetings_list(attendees: list[dict] | None = None, errors: list | None = None, status: int = 200):
    return render_template("meetings/list.html", page_title="Domestic abuse meeting", nav_active="meetings",
                           running=meetings.open_meeting(), recent=meetings.recent_meetings(),
                           rows=_attendee_rows(attendees), agencies=meetings.AGENCIES, error_list=errors or []), status


@bp.post("/meetings")
def start_meeting():
    given = _attendees_from_form()
    try:
        meeting = meetings.start_meeting(g.user, given)
    except DomainError as exc:
        db.session.rollback()
        return meetings_list(given, _errors(exc), problem_from(exc).status)
    flash(f"Meeting started with {len(meeting.items)} contacts on the agenda.")
    return redirect(url_for("web.meeting", meeting_id=meeting.id))


@bp.get("/meetings/<int:meeting_id>")
def meeting(meeting_id: int):
    row = meetings.get_meeting(meeting_id)
    return render_template("meetings/meeting.html", page_title=f"Domestic abuse meeting {row.id}",
                           nav_active="meetings", meeting=meetings.minutes(row))


@bp.get("/meetings/<int:meeting_id>/agenda")
def meeting_agenda(meeting_id: int):
    row = meetings.get_meeting(meeting_id)
    meetings.record_read(row, g.user, "agenda")
    return render_template("meetings/paper.html", page_title=f"Agenda: domestic abuse meeting {row.id}",
                           nav_active="meetings", meeting=meetings.minutes(row), kind="agenda")


@bp.get("/meetings/<int:meeting_id>/minutes")
def meeting_minutes(meeting_id: int):
    row = meetings.get_meeting(meeting_id)
    meetings.record_read(row, g.user, "minutes")
    return render_template("meetings/paper.html", page_title=f"Minutes: domestic abuse meeting {row.id}",
                           nav_active="meetings", meeting=meetings.minutes(row), kind="minutes")


def _render_item(row, item, *, form=None, status=200, errors=None, notice=None, action=None, note=None):
    meetings.record_read_item(item, g.user)
    contact = item.contact
    return render_template(
        "meetings/item.html", page_title=f"Meeting {row.id}: {contact.partner_reference}", nav_active="meetings",
        meeting=meetings.minutes(row), item=next(i for i in meetings.minutes(row)["items"] if i["id"] == item.id),
        contact=contact, form=form or _decision_form(contact), levels=level_table(),
        kinds=meetings.ACTION_KINDS, owners=[f"{a.role}, {a.organisation}" for a in row.attendees],
        action=action or {}, note=note or "", error_list=errors or [], notice=notice), status


@bp.get("/meetings/<int:meeting_id>/items/<int:item_id>")
def meeting_item(meeting_id: int, item_id: int):
    row = meetings.get_meeting(meeting_id)
    return _render_item(row, meetings.get_item(row, item_id))


def _refused(row, item, exc: DomainError, **kwargs):
    db.session.rollback()
    problem = problem_from(exc)
    notice = problem if isinstance(exc, NotAllowed | Conflict) else None
    return _render_item(row, meetings.get_item(row, item.id), status=problem.status, errors=_errors(exc) if not notice else [],
                        notice=notice, **kwargs)


@bp.post("/meetings/<int:meeting_id>/items/<int:item_id>/decision")
def meeting_decide(meeting_id: int, item_id: int):
    row = meetings.get_meeting(meeting_id)
    item = meetings.get_item(row, item_id)
    form = _decision_form(item.contact)
    if not form.validate():
        return _render_item(row, item, form=form, status=422, errors=error_list(form))
    try:
        meetings.decide_item(
            row, item, g.user, level=form.level.data, rationale=form.rationale.data or "",
            marac_referral=bool(form.marac_referral.data), next_steps=form.next_steps.data or None,
            override_reason=form.override_reason.data or None, consent=form.consent.data or None,
            consent_reason=form.consent_reason.data or None)
    except DomainError as exc:
        attach_errors(form, exc.errors)
        return _refused(row, item, exc, form=form)
    flash(f"Decision recorded for {item.contact.partner_reference}. It now awaits a manager's review.")
    return redirect(url_for("web.meeting_item", meeting_id=row.id, item_id=item.id))


@bp.post("/meetings/<int:meeting_id>/items/<int:item_id>/discussed")
def meeting_discussed(meeting_id: int, item_id: int):
    row = meetings.get_meeting(meeting_id)
    item = meetings.get_item(row, item_id)
    note = request.form.get("note", "")
    try:
        meetings.discuss_item(row, item, g.user, note=note)
    except DomainError as exc:
        return _refused(row, item, exc, note=note)
    flash(f"Recorded that the meeting discussed {item.contact.partner_reference}.")
    return redirect(url_for("web.meeting", meeting_id=row.id))


@bp.post("/meetings/<int:meeting_id>/items/<int:item_id>/actions")
def meeting_action(meeting_id: int, item_id: int):
    row = meetings.get_meeting(meeting_id)
    item = meetings.get_item(row, item_id)
    owner = request.form.get("owner", "")
    role, _, organisation = owner.rpartition(", ")
    given = {"kind": request.form.get("kind", ""), "description": request.form.get("description", ""), "owner": owner}
    try:
        meetings.add_action(row, item, g.user, kind=given["kind"], description=given["description"],
                            owner_role=role, owner_organisation=organisation)
    except DomainError as exc:
        if exc.errors and ("owner_role" in exc.errors or "owner_organisation" in exc.errors):
            exc.errors["owner"] = ["Choose who owns the action."]
            exc.errors.pop("owner_role", None)
            exc.errors.pop("owner_organisation", None)
        return _refused(row, item, exc, action=given)
    flash("Action recorded.")
    return redirect(url_for("web.meeting_item", meeting_id=row.id, item_id=item.id))


@bp.post("/meetings/<int:meeting_id>/close")
def meeting_close(meeting_id: int):
    row = meetings.get_meeting(meeting_id)
    meetings.close_meeting(row, g.user)
    left = sum(1 for i in row.items if i.outcome == "not_reached")
    flash(f"Meeting closed. {left} contact{'' if left == 1 else 's'} not reached will carry over to the next meeting.")
    return redirect(url_for("web.meeting_minutes", meeting_id=row.id))
