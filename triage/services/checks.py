"""Multi-agency checks (spec section 10): ask, answer, and score the contact again when they are in.

A front door that cannot settle a contact asks the police, health, education, probation or
housing hub workers what their own systems hold, within hours set by the contact's RAG rating.
Each request and each answer is an append-only row vouched for by its audit event. When every
check on a contact is answered, or its due time has passed, the contact goes back to the
decision queue with a recommendation scored again on what the checks found (``after_checks``);
the screening one is kept on the contact and both are in the history.

Due times pass without anyone acting, so expiry is evaluated lazily: whenever a queue, a
contact or the checks list is read (``settle_due``), and by ``flask triage settle-checks`` for
a scheduler. Answers after the due time are still recorded (``late``) and shown.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from triage.engine.contract import rfc3339 as iso
from triage.engine.errors import Conflict, Invalid, NotFound
from triage.engine.guidance_config import CHECK_AGENCIES
from triage.engine.recommend import Recommender
from triage.extensions import db
from triage.record import audit, txn, workflow
from triage.record.tables import CONSENT_POSITIONS, CheckRequest, CheckResponse, Contact, User, utcnow
from triage.services.children import known_history
from triage.services.decisions import CONFLICT, MAX_NOTE, length_errors, substantive

OPEN = "open"
ANSWERED = "answered"
WITHOUT_CONSENT = ("Say why the agencies are asked without the family's consent (for example, asking would "
                   "put a child at risk of significant harm). Sharing without consent must be recorded with its reason.")


# ---- asking ---------------------------------------------------------------------------------

def _request_errors(agencies: object, reason: str | None, consent: str | None,
                    without_consent_reason: str | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(agencies, list) or not agencies:
        errors["agencies"] = ["Choose at least one agency to ask."]
    else:
        for i, agency in enumerate(agencies):
            if agency not in CHECK_AGENCIES:
                errors[f"agencies.{i}"] = [f"Not an agency the front door can ask: choose from {', '.join(CHECK_AGENCIES)}."]
        if len(set(agencies)) != len(agencies):
            errors.setdefault("agencies", []).append("Name each agency once.")
    if not substantive(reason):
        errors["reason"] = ["Say what the front door needs to know from the agencies."]
    elif problems := length_errors(reason, MAX_NOTE):
        errors["reason"] = problems
    if consent not in CONSENT_POSITIONS:
        errors["consent"] = [f"Choose the consent position: {', '.join(CONSENT_POSITIONS)}."]
    elif consent != "obtained" and not substantive(without_consent_reason):
        errors["without_consent_reason"] = [WITHOUT_CONSENT]
    if problems := length_errors(without_consent_reason, MAX_NOTE):
        errors["without_consent_reason"] = problems
    return errors


def _why(contact: Contact, agency: str) -> str:
    """The recommendation's reason for asking this agency, or a plain one when it did not name it."""
    for check in (contact.recommendation or {}).get("checks") or []:
        if check.get("agency") == agency:
            return check["why"]
    return "The practitioner asked what this agency holds that bears on the children's safety."


def request_checks(contact: Contact, user: User, recommender: Recommender, *, agencies: list[str], reason: str,
                   consent: str, without_consent_reason: str | None = None,
                   now: datetime | None = None) -> list[CheckRequest]:
    """Ask each agency once; the contact waits in ``checks_requested``. 422 changes nothing."""
    target = workflow.check(contact.status, workflow.REQUEST_CHECKS, user.role)
    errors = _request_errors(agencies, reason, consent, without_consent_reason)
    if errors:
        db.session.rollback()
        raise Invalid("The checks were not requested; see errors.", errors=errors, title="Not recorded")
    now = now or utcnow()
    urgency = contact.urgency or "red"
    due = recommender.checks_config.due_at(urgency, now, contact.decision_due_at)
    rows = [CheckRequest(contact_id=contact.id, agency=agency, why=_why(contact, agency), reason=reason.strip(),
                         consent=consent, due_at=due, requested_by_id=user.id, requested_at=now,
                         without_consent_reason=(without_consent_reason or "").strip() or None)
            for agency in agencies]
    try:
        contact.status = target
        db.session.flush()
        for row in rows:
            db.session.add(row)
            db.session.flush()
            audit.record("checks_requested", contact_id=contact.id, user=user, at=now, data={
                "check_id": row.id, "agency": row.agency, "why": row.why, "reason": row.reason,
                "consent": row.consent, "without_consent_reason": row.without_consent_reason,
                "due_at": row.due_at, "urgency": urgency})
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(CONFLICT) from None
    return rows


def checks_on(contact_id: str) -> list[CheckRequest]:
    return list(db.session.scalars(select(CheckRequest).where(CheckRequest.contact_id == contact_id)
                                   .order_by(CheckRequest.id)))


# ---- answering ------------------------------------------------------------------------------

def visible_check(check_id: int, user: User) -> CheckRequest:
    """A check addressed to the caller's agency type, or 404 (another agency's is not disclosed)."""
    agency = user.organisation.agency_type if user.organisation else None
    row = db.session.get(CheckRequest, check_id)
    if row is None or agency is None or row.agency != agency:
        raise NotFound("No check with that id is addressed to your agency.")
    return row


def _answer_errors(agency: str, known: object, findings: object, summary: str | None,
                   recommender: Recommender) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(known, bool):
        errors["known"] = ["Say whether your agency knows the household: true or false."]
    codes = recommender.checks_config.agencies[agency].findings
    if not isinstance(findings, list):
        errors["findings"] = ["List the finding codes, or an empty list."]
    else:
        for i, code in enumerate(findings):
            if code not in codes:
                errors[f"findings.{i}"] = [f"Not a {agency} finding code: choose from {', '.join(codes)}."]
        if findings and known is False:
            errors["findings"] = ["Findings need known: true."]
    if problems := length_errors(summary, MAX_NOTE):
        errors["summary"] = problems
    return errors


def answer_check(check: CheckRequest, user: User, recommender: Recommender, *, known: bool, findings: list[str],
                 summary: str | None = None, now: datetime | None = None) -> CheckResponse:
    """Record the agency's one answer (a second is 409); then settle the contact if its checks are in."""
    errors = _answer_errors(check.agency, known, findings, summary, recommender)
    if errors:
        db.session.rollback()
        raise Invalid("The answer was not recorded; see errors.", errors=errors, title="Not recorded")
    if check.response is not None:
        raise Conflict("This check has already been answered; the first answer stands.")
    now = now or utcnow()
    row = CheckResponse(check_id=check.id, known=known, findings=list(dict.fromkeys(findings)),
                        summary=(summary or "").strip() or None, late=now > check.due_at,
                        answered_by_id=user.id, answered_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
        audit.record("check_answered", contact_id=check.contact_id, user=user, at=now, data={
            "response_id": row.id, "check_id": check.id, "agency": check.agency, "known": row.known,
            "findings": row.findings, "summary": row.summary, "late": row.late})
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("This check has already been answered; the first answer stands.") from None
    settle(check.contact, recommender, now=now)
    return row


def open_checks(user: User, status: str = OPEN) -> list[CheckRequest]:
    """The caller's agency's checks, due soonest first: open (unanswered) or answered."""
    agency = user.organisation.agency_type if user.organisation else None
    if agency is None:
        return []
    query = (select(CheckRequest).outerjoin(CheckResponse).where(CheckRequest.agency == agency)
             .order_by(CheckRequest.due_at, CheckRequest.id))
    query = query.where(CheckResponse.id.is_(None) if status == OPEN else CheckResponse.id.is_not(None))
    return list(db.session.scalars(query))


# ---- back to the decision queue -------------------------------------------------------------

def is_in(checks: list[CheckRequest], now: datetime) -> bool:
    """Every check answered, or its due time passed."""
    return bool(checks) and all(c.response is not None or c.due_at <= now for c in checks)


def answers_of(checks: list[CheckRequest]) -> dict[str, dict]:
    """agency -> {"known", "findings"} for the engine, from every answer recorded (late ones too)."""
    out: dict[str, dict] = {}
    for check in checks:
        if check.response is not None:
            seen = out.setdefault(check.agency, {"known": False, "findings": []})
            seen["known"] = seen["known"] or check.response.known
            seen["findings"] += [f for f in check.response.findings if f not in seen["findings"]]
    return out


def settle(contact: Contact, recommender: Recommender, *, now: datetime | None = None) -> bool:
    """Score the contact again and return it to the decision queue if its checks are in; True if it did."""
    now = now or utcnow()
    if contact.status != workflow.Status.CHECKS_REQUESTED:
        return False
    checks = checks_on(contact.id)
    if not is_in(checks, now):
        return False
    target = workflow.check(contact.status, workflow.CHECKS_IN, workflow.SYSTEM)
    answers = answers_of(checks)
    history = known_history([child.child_id for child in contact.children if child.child_id],
                            before=contact.accepted_at, exclude=contact.id)
    rec = recommender.recommend_after_checks(contact.payload, received_at=contact.accepted_at, answers=answers,
                                             history=history, asked=sorted({c.agency for c in checks}))
    with txn.writing():  # on a read-only SQLite request, this write takes the write lock on its own
        return _settle_write(contact, rec, checks, answers, target, now)


def _settle_write(contact, rec, checks, answers, target, now) -> bool:
    if contact.status != workflow.Status.CHECKS_REQUESTED:  # settled by someone else meanwhile
        return False
    try:
        if contact.screening_recommendation is None:
            contact.screening_recommendation = contact.recommendation
        contact.recommendation = rec
        contact.recommended_level = rec["level"]
        contact.urgency = rec["urgency"]
        contact.status = target
        db.session.flush()
        audit.record("rescored", contact_id=contact.id, at=now, data={
            "stage": rec["stage"], "level": rec["level"], "next_step": rec["next_step"], "urgency": rec["urgency"],
            "screening_level": (contact.screening_recommendation or {}).get("level"),
            "answered": sorted(answers), "not_answered": sorted({c.agency for c in checks if c.response is None}),
            "findings": {agency: a["findings"] for agency, a in answers.items()},
            "model_version": rec.get("model_version"), "recommendation": rec,
            "content_digest": audit.content_digest(contact)})
        db.session.commit()
    except StaleDataError:  # someone else settled it first
        db.session.rollback()
        return False
    return True


def settle_due(recommender: Recommender, *, now: datetime | None = None) -> int:
    """Settle every contact whose checks are in (lazily on reads, or from the CLI); how many moved."""
    now = now or utcnow()
    waiting = db.session.scalars(select(Contact).where(Contact.status == workflow.Status.CHECKS_REQUESTED)).all()
    return sum(settle(contact, recommender, now=now) for contact in waiting)


def check_json(check: CheckRequest, *, for_agency: bool = False) -> dict:
    """A check as its reader needs it. An agency gets only what the check needs: never the narrative."""
    contact = check.contact
    answer = check.response
    now = utcnow()
    out = {
        "id": check.id, "agency": check.agency, "why": check.why, "reason": check.reason,
        "consent": check.consent, "without_consent_reason": check.without_consent_reason,
        "due_at": iso(check.due_at), "requested_at": iso(check.requested_at),
        "overdue": answer is None and check.due_at <= now,
        "status": ANSWERED if answer is not None else OPEN,
        "answer": None if answer is None else {
            "known": answer.known, "findings": answer.findings, "summary": answer.summary, "late": answer.late,
            "answered_by": answer.answered_by.label, "answered_at": iso(answer.answered_at)},
    }
    if for_agency:
        out["contact"] = {
            "id": contact.id, "primary_concern": contact.primary_concern, "urgency": contact.urgency,
            "children": [{"child_reference": c.child_reference,
                          "age_years": None if c.unborn else c.age_years, "unborn": c.unborn}
                         for c in contact.children],
        }
    else:
        out["contact_id"] = contact.id
        out["requested_by"] = check.requested_by.label
    return out
