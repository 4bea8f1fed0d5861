"""Recording decisions, management oversight and requests for information.

One set of service functions for the API and the pages, so the rules are enforced once:
a rationale that says something, a reason whenever the worker departs from the
recommendation, only a manager below the guidance floor, and never one's own decision
reviewed. Each function checks the state machine (``workflow``), writes its append-only row
and the matching audit event and moves the contact, all in one transaction. Two people
acting on the same contact at once: the contact's version column lets exactly one win; the
other gets 409 and nothing of theirs is stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from triage.engine.errors import Conflict, Invalid, NotAllowed
from triage.engine.guidance_config import LEVELS
from triage.extensions import db
from triage.record import audit, workflow
from triage.record.queries import latest_decision
from triage.record.tables import CONSENT_POSITIONS, Contact, Decision, InformationRequest, Review, User
from triage.services import timeliness

MIN_RATIONALE = 40
#: The longest free text a decision, review or information request keeps: one source for the API
#: and the pages. A rationale is a few paragraphs; 5,000 characters is about a page of A4.
MAX_RATIONALE = 5000
MAX_NOTE = 2000
OUTCOMES = ("confirmed", "changed")
MAX_INFORMATION_FIELDS = 30
FLOOR_RULE = "Only a manager may record a level below the guidance floor, with a reason."
CONFLICT = ("Someone else changed this contact while you were working on it, so nothing was "
            "recorded. Reload it to see what they did, then decide again if you still need to.")


def substantive(text: str | None) -> str:
    """The text with runs of whitespace collapsed and the ends stripped (what counts as said)."""
    return " ".join((text or "").split())


def rationale_errors(text: str | None, what: str = "the decision") -> list[str]:
    """Why a rationale is not enough, or nothing: 40 characters of words, not padding."""
    said = substantive(text)
    if not said:
        return [f"Write a rationale for {what}."]
    if len(said) < MIN_RATIONALE:
        return [f"Write at least {MIN_RATIONALE} characters explaining {what} "
                f"(you wrote {len(said)})."]
    if sum(ch.isalpha() for ch in said) < MIN_RATIONALE // 2:
        return [f"Explain {what} in words."]
    return []


def length_errors(text: str | None, limit: int) -> list[str]:
    """A message when ``text`` is longer than ``limit`` characters, or nothing."""
    if text is not None and len(text) > limit:
        return [f"Shorten this to {limit:,} characters or fewer (it has {len(text):,})."]
    return []


def offered_drafts(contact: Contact) -> dict[str, str]:
    """The suggested wording the service offered for each level ("1".."4") on this contact.

    Contacts scored before drafts were kept for every level have only the recommended level's.
    """
    rec = contact.recommendation or {}
    drafts = dict(rec.get("rationale_drafts") or {})
    if rec.get("rationale_draft") and rec.get("level"):
        drafts.setdefault(str(rec["level"]), rec["rationale_draft"])
    return drafts


def own_words_errors(text: str | None, drafts: dict[str, str], level: int | None) -> list[str]:
    """Refuse machine wording recorded as a person's reasoning (the inspection's first finding).

    A draft written for another level argues for that level, so it may not appear at all; the
    draft for the chosen level may be a starting point, with at least ``MIN_RATIONALE``
    characters of the person's own words added.
    """
    said = substantive(text)
    for drafted, draft in sorted(drafts.items()):
        wording = substantive(draft)
        if not wording or wording not in said:
            continue
        if drafted != str(level):
            chosen = f"level {level}" if level else "the level you chose"
            return [f"Your rationale contains the suggested wording for level {drafted}, but you chose "
                    f"{chosen}. Write your own reasons for {chosen}."]
        if len(substantive(said.replace(wording, "", 1))) < MIN_RATIONALE:
            return ["Write the rationale in your own words. The suggested wording can help, but it is "
                    f"not your reasoning: add at least {MIN_RATIONALE} characters of what you weighed and why."]
    return []


def level_errors(level: object) -> list[str]:
    if level is None:
        return ["Choose a threshold level."]
    if isinstance(level, bool) or not isinstance(level, int) or level not in LEVELS:
        return [f"Choose a threshold level from {LEVELS[0]} to {LEVELS[-1]}."]
    return []


def _optional(text: str | None) -> str | None:
    return text.strip() if substantive(text) else None


def check_version(contact: Contact, expected_version: int | None) -> None:
    """409 when the person acted on an older copy of the contact than the one stored."""
    if expected_version is not None and expected_version != contact.version:
        db.session.rollback()
        raise Conflict(CONFLICT, extra={"expected_version": expected_version})


def _refuse(errors: dict[str, list[str]], detail: str) -> None:
    if errors:
        db.session.rollback()
        raise Invalid(detail, errors=errors, title="Not recorded")


#: The contact column naming its newest row of each kind, so queues and reports find it directly.
LATEST_COLUMNS = {Decision: "latest_decision_id", Review: "latest_review_id"}


def keep_latest(contact: Contact, row) -> None:
    """Point the contact at its new decision or review (the newest: a correction is a new row).

    Written beside the status change in the same transaction, as a plain UPDATE so the contact's
    version moves once per action, as it always has.
    """
    values = latest_facts(contact, row)
    if values:
        keep_facts(contact, values)


def latest_facts(contact: Contact, row) -> dict:
    """The columns ``keep_latest`` writes for a new decision or review (the batch loader sets them on its rows)."""
    column = LATEST_COLUMNS.get(type(row))
    if column is None:
        return {}
    values = {column: row.id, **first_facts(contact, row)}
    if isinstance(row, Decision):  # what the review queues order and filter by
        values.update(latest_decision_level=row.level, latest_decided_at=row.decided_at,
                      latest_decided_by_id=row.decided_by_id)
    if isinstance(row, Review):  # a confirmed outcome the partner has not had feedback on yet
        values["feedback_waiting_since"] = row.reviewed_at
    return values


def keep_facts(contact: Contact, values: dict) -> None:
    """Write columns the service keeps on the contact for its queries (never the sealed content) as a
    plain UPDATE, so the contact's version, which guards decisions and reviews, does not move for them."""
    db.session.execute(update(Contact.__table__).where(Contact.__table__.c.id == contact.id).values(values))
    for name, value in values.items():
        set_committed_value(contact, name, value)


def first_facts(contact: Contact, row) -> dict:
    """The contact's first decision and that decision's first review, as the dashboard counts them.

    Only the first decision has a deadline and only its first review is measured against one
    (``timeliness.measure``), so these are written once, when that happens, and never again.
    """
    if isinstance(row, Decision) and contact.first_decision_id is None:
        return {"first_decision_id": row.id, **timeliness.first_decision_facts(contact.accepted_at, row.decided_at)}
    if isinstance(row, Review) and row.decision_id == contact.first_decision_id and contact.first_reviewed_at is None:
        return {"first_reviewed_at": row.reviewed_at}
    return {}


def _record(contact: Contact, target: str, row, kind: str, user: User, data, at: datetime | None = None) -> None:
    """Move the contact, add the row and its event, commit; a lost race becomes 409.

    The contact is flushed first so its row lock (PostgreSQL) or version check is taken
    before anything else is written; ``data`` is called once the row has its id.
    """
    try:
        contact.status = target
        db.session.flush()
        db.session.add(row)
        db.session.flush()
        keep_latest(contact, row)
        audit.record(kind, contact_id=contact.id, user=user, data=data(row), at=at)
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(CONFLICT) from None


def _decision_errors(contact: Contact, level: int, rationale: str, override_reason: str | None,
                     next_steps: str | None) -> dict:
    errors: dict[str, list[str]] = {}
    if problems := level_errors(level):
        errors["level"] = problems
    if problems := (length_errors(rationale, MAX_RATIONALE) or rationale_errors(rationale)
                    or own_words_errors(rationale, offered_drafts(contact), level)):
        errors["rationale"] = problems
    for name, text in (("override_reason", override_reason), ("next_steps", next_steps)):
        if problems := length_errors(text, MAX_NOTE):
            errors[name] = problems
    recommended = contact.recommended_level
    if "level" not in errors and "override_reason" not in errors and recommended is not None \
            and level != recommended and not substantive(override_reason):
        errors["override_reason"] = [
            f"Say why you chose level {level} when the recommendation was level {recommended}."
        ]
    return errors


EARLY_HELP = 2
NOT_REQUIRED_REASON = "The referrer recorded that asking for consent would put a child at risk of significant harm."


def consent_position(contact: Contact, consent: str | None, consent_reason: str | None) -> tuple[str | None, str | None]:
    """The decision's consent (obtained, refused, not_sought) and reason; the contact's when none is given.

    The contact's ``not_required`` (asking would put a child at risk) is a consent not sought, with
    that as its reason.
    """
    reason = _optional(consent_reason)
    if consent is not None:
        return consent, reason
    given = (contact.payload or {}).get("consent")
    if given == "not_required":
        return "not_sought", reason or NOT_REQUIRED_REASON
    return (given if given in CONSENT_POSITIONS else None), reason


def consent_errors(level: int, consent: str | None, reason: str | None, *, stated: bool = True) -> dict[str, list[str]]:
    """The inspection's ask: consent recorded with its outcome; early help only with consent or a reason.

    ``stated``: the worker recorded the position (a "not sought" then needs its reason); otherwise
    it is the referrer's, already on the contact.
    """
    errors: dict[str, list[str]] = {}
    if consent is not None and consent not in CONSENT_POSITIONS:
        errors["consent"] = [f"Choose the consent position: {', '.join(CONSENT_POSITIONS)}."]
    elif stated and consent == "not_sought" and not reason:
        errors["consent_reason"] = ["Say why consent was not sought."]
    elif level == EARLY_HELP and consent != "obtained" and not reason:
        errors["consent_reason"] = [
            "Early help is offered with the family's consent, and it was not obtained "
            f"({(consent or 'not recorded').replace('_', ' ')}). Record why you decide early help without it, "
            "or choose another level."]
    if problems := length_errors(reason, MAX_NOTE):
        errors["consent_reason"] = problems
    return errors


def _check_floor(contact: Contact, user: User, level: int) -> None:
    floor = contact.floor_level
    if floor is not None and level < floor and user.role != "manager":
        db.session.rollback()
        raise NotAllowed(f"{FLOOR_RULE} The guidance floor for this contact is level {floor}.",
                      errors={"level": [FLOOR_RULE]}, title="Not recorded")


def _against(contact: Contact) -> dict:
    """What the decision was made against, said plainly when there was no recommendation."""
    if contact.recommended_level is None:
        return {"recommendation": None, "note": "No recommendation was available (the recommendation "
                "step did not produce one), so no override reason was required."}
    return {"recommendation": {"level": contact.recommended_level, "floor_level": contact.floor_level,
                               "model_version": contact.model_version,
                               "stage": (contact.recommendation or {}).get("stage"),
                               "next_step": (contact.recommendation or {}).get("next_step")}}


def record_decision(contact: Contact, user: User, *, level: int, rationale: str, marac_referral: bool = False,
                    next_steps: str | None = None, override_reason: str | None = None,
                    expected_version: int | None = None, consent: str | None = None,
                    consent_reason: str | None = None, now: datetime | None = None) -> Decision:
    """Record a worker's threshold decision; the contact then awaits a manager's review.

    ``now`` is when it was made (default: now); only the demo day passes an earlier time.

    The decision records which recommendation it was made against (screening or after checks)
    and the consent position (the contact's, unless the worker records another). ``now``: when it
    was decided (the demo's earlier weeks); the present by default.
    """
    target = workflow.check(contact.status, workflow.DECIDE, user.role)
    check_version(contact, expected_version)
    decision = new_decision(contact, user, level=level, rationale=rationale, marac_referral=marac_referral,
                            next_steps=next_steps, override_reason=override_reason, consent=consent,
                            consent_reason=consent_reason, now=now,
                            corrects=latest_decision(contact.id))
    _record(contact, target, decision, "decided", user, lambda row: decided_event(contact, row), at=now)
    return decision


def new_decision(contact: Contact, user: User, *, level: int, rationale: str, marac_referral: bool = False,
                 next_steps: str | None = None, override_reason: str | None = None, consent: str | None = None,
                 consent_reason: str | None = None, now: datetime | None = None,
                 corrects: Decision | None = None) -> Decision:
    """The decision's row after every rule of ``record_decision`` (errors raised as there); nothing stored.

    ``corrects``: the contact's latest decision, if any. ``record_decision`` stores the row; the
    batch loader (``services.volume``) stores many, with ``decided_event`` for each.
    """
    errors = _decision_errors(contact, level, rationale, override_reason, next_steps)
    stated = consent is not None
    consent, consent_reason = consent_position(contact, consent, consent_reason)
    if "level" not in errors:
        errors.update(consent_errors(level, consent, consent_reason, stated=stated))
    _refuse(errors, "The decision was not recorded; see errors.")
    _check_floor(contact, user, level)
    return Decision(
        contact_id=contact.id, level=level, rationale=rationale.strip(),
        marac_referral=bool(marac_referral), next_steps=_optional(next_steps), override_reason=_optional(override_reason),
        recommended_level=contact.recommended_level, floor_level=contact.floor_level,
        model_version=contact.model_version, decided_by_id=user.id,
        corrects_id=getattr(corrects, "id", None),
        recommendation_stage=(contact.recommendation or {}).get("stage") if contact.recommendation else None,
        consent=consent, consent_reason=consent_reason, **({"decided_at": now} if now else {}),
    )


def decided_event(contact: Contact, row: Decision) -> dict:
    """The ``decided`` event's data for a stored decision (it has its id)."""
    return {
        "decision_id": row.id, "level": row.level, "rationale": row.rationale,
        "marac_referral": row.marac_referral, "next_steps": row.next_steps,
        "override_reason": row.override_reason, "corrects": row.corrects_id,
        "below_floor": row.floor_level is not None and row.level < row.floor_level,
        "recommendation_stage": row.recommendation_stage, "consent": row.consent,
        "consent_reason": row.consent_reason,
        **_against(contact),
    }


def _review_errors(contact: Contact, decision: Decision, outcome: str, rationale: str, level: int | None) -> dict:
    errors: dict[str, list[str]] = {}
    if outcome not in OUTCOMES:
        errors["outcome"] = ["Choose confirmed or changed."]
    elif outcome == "changed":
        if problems := level_errors(level):
            errors["level"] = problems
        elif level == decision.level:
            errors["level"] = [f"The decision was already level {level}; choose the level you are "
                               "changing it to, or confirm it."]
    elif level is not None and level != decision.level:
        errors["level"] = [f"Confirming keeps level {decision.level}; choose changed to record a different level."]
    if problems := (length_errors(rationale, MAX_RATIONALE) or rationale_errors(rationale, "your review")
                    or _copied_errors(rationale, decision)
                    or own_words_errors(rationale, offered_drafts(contact),
                                        level if outcome == "changed" else decision.level)):
        errors["rationale"] = problems
    return errors


def _copied_errors(rationale: str, decision: Decision) -> list[str]:
    """Oversight is the manager's own view: the decision's rationale copied back is not one."""
    if substantive(rationale) == substantive(decision.rationale):
        return ["Write your own reasons for your review; this is the practitioner's rationale."]
    return []


def record_review(contact: Contact, user: User, *, outcome: str, rationale: str, level: int | None = None,
                  expected_version: int | None = None, now: datetime | None = None) -> Review:
    """A manager who did not make the decision confirms or changes it, with their own rationale (``now``: when)."""
    target = workflow.check(contact.status, workflow.REVIEW, user.role)
    check_version(contact, expected_version)
    decision = latest_decision(contact.id)
    review = new_review(contact, user, decision, outcome=outcome, rationale=rationale, level=level, now=now)
    _record(contact, target, review, "reviewed", user, lambda row: reviewed_event(contact, row, decision), at=now)
    return review


def new_review(contact: Contact, user: User, decision: Decision | None, *, outcome: str, rationale: str,
               level: int | None = None, now: datetime | None = None) -> Review:
    """The review's row of ``decision`` (the latest) after every rule of ``record_review``; nothing stored."""
    if decision is None:  # the state machine makes this unreachable unless the store was edited by hand
        raise Conflict("There is no decision on this contact to review.")
    if decision.decided_by_id == user.id:
        db.session.rollback()
        raise NotAllowed("You made this decision, so another manager must review it.", title="Not recorded")
    _refuse(_review_errors(contact, decision, outcome, rationale, level), "The review was not recorded; see errors.")
    return Review(
        contact_id=contact.id, decision_id=decision.id, outcome=outcome,
        level=level if outcome == "changed" else decision.level, rationale=rationale.strip(),
        reviewed_by_id=user.id, **({"reviewed_at": now} if now else {}),
    )


def reviewed_event(contact: Contact, row: Review, decision: Decision) -> dict:
    """The ``reviewed`` event's data for a stored review (it has its id) of ``decision``."""
    return {
        "review_id": row.id, "decision_id": row.decision_id, "outcome": row.outcome,
        "level": row.level, "decision_level": decision.level, "rationale": row.rationale,
        "below_floor": contact.floor_level is not None and row.level < contact.floor_level,
    }


def _information_errors(fields: list[str], message: str) -> dict:
    errors: dict[str, list[str]] = {}
    if not isinstance(fields, list) or not all(isinstance(f, str) and f.strip() for f in fields):
        errors["fields"] = ["List the information you need, one item per field."]
    elif len(fields) > MAX_INFORMATION_FIELDS:
        errors["fields"] = [f"Ask for at most {MAX_INFORMATION_FIELDS} items at once."]
    if not substantive(message):
        errors["message"] = ["Write the message the referrer will read."]
    elif problems := length_errors(message, MAX_NOTE):
        errors["message"] = problems
    return errors


def request_information(contact: Contact, user: User, *, fields: list[str], message: str) -> InformationRequest:
    """Ask the referrer for what is missing. The decision deadline stands: nothing is paused."""
    target = workflow.check(contact.status, workflow.REQUEST_INFORMATION, user.role)
    _refuse(_information_errors(fields, message), "The request was not sent; see errors.")
    asked = InformationRequest(
        contact_id=contact.id, fields=[f.strip() for f in fields], message=message.strip(),
        requested_by_id=user.id,
    )
    _record(contact, target, asked, "information_requested", user, lambda row: {
        "request_id": row.id, "fields": row.fields, "message": row.message,
        "decision_due_at": contact.decision_due_at.isoformat() if contact.decision_due_at else None,
    })
    return asked
