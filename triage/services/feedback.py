"""Feedback to a partner on one contact: how the threshold guidance applied, in plain English.

Why this exists: inspectors found that the police did not share the front door's understanding
of the thresholds, so they sent many contacts, and that the information in partner contacts was
mostly weak. Telling the officer who sent each contact what the outcome was, which indicators of
the council's guidance it met (and which it did not), what was missing and why that mattered,
and what to do differently next time is how that understanding is built.

Two rules shape everything here:

- Only a *confirmed* outcome is fed back: the level a manager confirmed or changed on review,
  never the service's recommendation and never a practitioner's unreviewed decision.
- The feedback is generated from the outcome level, the guidance and the partner's own contact.
  The front door's internal notes (the decision rationale, next steps, the reason for departing
  from the recommendation, the reviewer's rationale, who decided) never reach it.

``build_feedback`` is pure (no store, no Flask); the functions below it read and write the store
for the API and the pages: ``confirmed_outcome``, ``preview``, ``release``, ``awaiting_release`` (the
managers' list) and ``released_feedback`` (the partner's; ``released_keyset_page`` and
``released_page`` read it a page at a time, from indexes migration 0016 added).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased, joinedload

from triage.engine.contract import rfc3339
from triage.engine.errors import Conflict
from triage.engine.guidance import Guidance
from triage.engine.guidance_config import REFERRAL_LEVEL
from triage.engine.words import gap_label
from triage.engine.workdays import london_midnight
from triage.extensions import db
from triage.record import audit
from triage.record.paging import COUNT_LIMIT, DEFAULT_PER_PAGE, Ordering, Page, count, keyset, split
from triage.record.queries import latest, latest_decision, latest_review
from triage.record.tables import Contact, Decision, FeedbackRelease, Review, User
from triage.record.workflow import Status
from triage.services import decisions, guidance_versions

# What the referrer asked for, as the level it corresponds to (contract: referrer_request).
REQUESTED_LEVEL = {"information_only": 1, "early_help": 2, "assessment": 3, "urgent_protection": 4}
REQUEST_WORDS = {
    "information_only": "information only",
    "early_help": "early help",
    "assessment": "an assessment",
    "urgent_protection": "urgent protection",
}

CONSENT_WORDS = {
    "obtained": "The family agreed to this contact being shared.",
    "refused": "The family refused consent.",
    "not_sought": "Consent was not sought from a parent or carer.",
    "not_required": "You judged that asking for consent would put a child at risk.",
}

MARAC_WORDS = {
    "visible_high_risk": "14 or more yes answers on the DASH (visible high risk)",
    "professional_judgement": "your professional judgement of high risk",
    "potential_escalation": "three or more incidents in the last 12 months (potential escalation)",
    "repeat": "MARAC was recommended for a child on this contact in the last 12 months (repeat)",
}

# "Not known" answers on the DASH at or above this many make the count unreliable.
MANY_NOT_KNOWN = 5

def _join(parts: Sequence[str]) -> str:
    """"a", "a and b", "a; b; and c" (semicolons, because the parts may contain commas)."""
    parts = list(parts)
    if len(parts) <= 2:
        return " and ".join(parts)
    return "; ".join(parts[:-1]) + "; and " + parts[-1]


@dataclass(frozen=True)
class FeedbackInput:
    """What feedback is generated from: the partner's contact, the recommendation, the outcome."""

    contact_id: str
    partner_reference: str
    received_at: datetime
    payload: dict
    recommendation: dict | None
    level: int
    marac_referral: bool
    #: The consent position the decision recorded (obtained, refused, not_sought), if it recorded one.
    decided_consent: str | None = None


DECIDED_CONSENT_WORDS = {
    "obtained": "The front door's decision records that the family's consent was sought and obtained.",
    "refused": "The front door's decision records that the family's consent was sought and refused.",
    "not_sought": "The front door's decision records that the family's consent was not sought, with the reason.",
}


# ---------------------------------------------------------------------------------------------
# Building the feedback (pure)
# ---------------------------------------------------------------------------------------------


def _indicators_not_met(guidance: Guidance, level: int, met_ids: set[str]) -> list[dict]:
    """The next level's hard-rule indicators this contact did not meet: what would have raised it."""
    if level >= 4:
        return []
    return [
        {"id": rule.id, "level": rule.level, "text": rule.text}
        for rule in guidance.config.indicators
        if rule.level == level + 1 and rule.floor and rule.id not in met_ids
    ]


def _reason(level: int, levels: dict, met: list[dict], not_met: list[dict]) -> str:
    """The plain-English reason, citing the guidance's indicators (never a worker's notes)."""
    name, description = levels[level]["name"], levels[level]["description"]
    sentences = [f"The front door decided this contact is at level {level}, {name}: {description}"]
    at_level = [i for i in met if i["level"] == level]
    above = [i for i in met if i["level"] > level]
    below = [i for i in met if i["level"] < level]
    if at_level:
        sentences.append("The threshold guidance puts it at this level because: "
                         + _join(i["text"] for i in at_level))
    elif below:
        top = max(i["level"] for i in below)
        sentences.append(
            f"What the contact told us met the guidance's indicators for level {top} "
            f"({levels[top]['name']}); the front door decided on a higher level after weighing the "
            "whole picture, including what it already knew about the family."
        )
    elif level > 1:
        sentences.append("The front door decided on this level after weighing the whole picture, "
                         "including what it already knew about the family.")
    else:
        sentences.append("What the contact told us did not meet any of the guidance's indicators "
                         "for early help or above.")
    if above:
        top = max(i["level"] for i in above)
        sentences.append(
            f"The contact also met indicators for level {top} ({levels[top]['name']}); having checked "
            "them against everything the front door knows, it decided this level instead."
        )
    if not_met:
        nxt = level + 1
        sentences.append(
            f"It did not meet level {nxt} ({levels[nxt]['name']}): none of that level's indicators, "
            "listed below, applied."
        )
    return " ".join(s if s.endswith(".") else s + "." for s in sentences)


def _dash_summary(dash: dict | None) -> dict | None:
    if not dash:
        return None
    return {key: dash.get(key) for key in ("version", "yes_count", "not_known_count", "risk",
                                           "officer_grading")}


def _next_time(inp: FeedbackInput, levels: dict, gaps: list[dict], dash: dict | None) -> list[str]:
    """What the partner could do differently next time, from the outcome, the gaps and consent."""
    tips = []
    if gaps:
        labels = list(dict.fromkeys(gap_label(g["field"]) for g in gaps))
        tips.append("Include " + _join(labels) + ": the front door needed this to decide "
                    "(see what was missing, and why it mattered).")
    consent = inp.payload.get("consent")
    if consent == "not_sought" and inp.level in (2, 3):
        tips.append(
            "Ask a parent or carer for consent before sending, or say why asking would put a "
            "child at risk (say that consent is not required, and why): "
            + ("early help is voluntary and cannot start without it." if inp.level == 2
               else "an assessment should start with the family's agreement where it is safe.")
        )
    if dash and (dash.get("not_known_count") or 0) >= MANY_NOT_KNOWN:
        tips.append(
            f"{dash['not_known_count']} DASH questions were answered \"not known\". Where it is "
            "safe, ask the victim each question: the number of yes answers decides the risk level "
            "and whether MARAC is needed."
        )
    requested = inp.payload.get("referrer_request")
    asked = REQUESTED_LEVEL.get(requested)
    if asked is not None and asked > inp.level:
        tips.append(
            f"You asked for {REQUEST_WORDS[requested]}; this contact was at level {inp.level} "
            f"({levels[inp.level]['name']}). The indicators for the higher levels are in the "
            "council's threshold guidance; the ones listed above are what the front door looks for."
        )
    elif asked is not None and asked < inp.level:
        tips.append(
            f"You asked for {REQUEST_WORDS[requested]}, but this contact needed level {inp.level} "
            f"({levels[inp.level]['name']}). When you see what is listed above as met, ask for more."
        )
    if inp.level == 1 and not gaps:
        tips.append(
            f"Contacts like this one, meeting no indicator for early help or above, are for "
            f"{levels[1]['name'].lower()} services: {levels[1]['description']} Share the concern "
            "with the child's school or GP and give the family information about local support; "
            "call the front door if you are unsure."
        )
    if not tips:
        tips.append("Nothing to change: this contact gave the front door what it needed to decide.")
    return tips


def build_feedback(inp: FeedbackInput, guidance: Guidance) -> dict:
    """The feedback document for one contact at its confirmed level.

    Uses the recommendation stored with the contact (what the front door saw when it decided);
    when scoring failed at intake, the guidance is applied to the contact now instead. The
    consent position is the guidance's for the *confirmed* level, which may differ from the
    recommended one.
    """
    levels = guidance.levels
    result = guidance.evaluate(inp.payload, received_at=inp.received_at)
    rec = inp.recommendation or {}
    met = rec.get("indicators") if rec.get("indicators") is not None else result.indicators
    gaps = rec.get("information_gaps") if rec.get("information_gaps") is not None else result.information_gaps
    dash = rec.get("dash") if rec else result.dash
    marac = rec.get("marac") if rec.get("marac") is not None else result.marac
    not_met = _indicators_not_met(guidance, inp.level, {i["id"] for i in met})
    consent = result.consent_position(inp.level)
    given = inp.payload.get("consent")
    return {
        "contact_id": inp.contact_id,
        "partner_reference": inp.partner_reference,
        "received_at": rfc3339(inp.received_at),
        "primary_concern": inp.payload.get("primary_concern"),
        "team": (inp.payload.get("source") or {}).get("team"),
        "level": inp.level,
        "level_name": levels[inp.level]["name"],
        "level_description": levels[inp.level]["description"],
        "referral": inp.level >= REFERRAL_LEVEL,
        "reason": _reason(inp.level, levels, met, not_met),
        "indicators_met": [{"id": i["id"], "level": i["level"], "text": i["text"]} for i in met],
        "indicators_not_met": not_met,
        "information_gaps": [{"field": g["field"], "label": gap_label(g["field"]), "why": g["why"]}
                             for g in gaps],
        "consent": {"given": given, "summary": CONSENT_WORDS.get(given, ""),
                    "ok": consent["ok"], "note": consent["note"],
                    "decided": inp.decided_consent, "decided_summary": DECIDED_CONSENT_WORDS.get(inp.decided_consent, "")},
        "dash": _dash_summary(dash),
        "marac": {"criteria_met": [MARAC_WORDS.get(c, c) for c in marac.get("criteria", [])],
                  "referred": inp.marac_referral},
        "next_time": _next_time(inp, levels, gaps, dash),
    }


# ---------------------------------------------------------------------------------------------
# The store: the confirmed outcome, preview, release, and what a partner reads
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """A contact's confirmed outcome: the latest review of its latest decision."""

    level: int
    decision: Decision
    review: Review


def confirmed_outcome(contact: Contact) -> Outcome | None:
    """The manager-reviewed outcome, or None while the contact is not decided."""
    if contact.status != Status.DECIDED:
        return None
    review = latest_review(contact.id)
    decision = latest_decision(contact.id)
    if review is None or decision is None or review.decision_id != decision.id:
        return None
    return Outcome(level=review.level, decision=decision, review=review)


def feedback_input(contact: Contact, outcome: Outcome) -> FeedbackInput:
    return FeedbackInput(
        contact_id=contact.id,
        partner_reference=contact.partner_reference,
        received_at=contact.received_at,
        payload=contact.payload,
        recommendation=contact.recommendation,
        level=outcome.level,
        marac_referral=bool(outcome.decision.marac_referral),
        decided_consent=outcome.decision.consent,
    )


def preview(contact: Contact, guidance: Guidance) -> dict:
    """The feedback as it would be released now; 409 until a manager has reviewed the decision."""
    outcome = confirmed_outcome(contact)
    if outcome is None:
        raise Conflict("Feedback can only be prepared once a manager has confirmed or changed "
                           "the decision on this contact.", slug="not-confirmed")
    return content_for(contact, outcome, guidance)


def content_for(contact: Contact, outcome: Outcome, guidance: Guidance) -> dict:
    """The feedback on ``contact`` at its confirmed ``outcome`` (``preview`` once the outcome is found)."""
    # In the words of the guidance the contact was scored under, even after another is adopted (issue 16).
    scored_under = guidance_versions.guidance_for(contact.recommendation, guidance)
    return build_feedback(feedback_input(contact, outcome), scored_under)


def latest_release(contact_id: str) -> FeedbackRelease | None:
    return latest(FeedbackRelease, contact_id)


def release(contact: Contact, user: User, guidance: Guidance, *, now: datetime | None = None) -> FeedbackRelease:
    """Release the feedback to the partner: a new FeedbackRelease and a ``feedback_released`` event.

    The contact row is locked first so two managers releasing at once cannot both add one.
    Releasing the same text again is refused (409); after a corrected review the new text is a
    new release, and the partner reads the newest.
    """
    db.session.execute(select(Contact.id).where(Contact.id == contact.id).with_for_update())
    previous = latest_release(contact.id)
    row = new_release(contact, user, preview(contact, guidance), previous, now=now)
    db.session.add(row)
    db.session.flush()
    decisions.keep_facts(contact, {"feedback_waiting_since": None})  # off the managers' list to release
    audit.record("feedback_released", contact_id=contact.id, user=user, data=released_event(contact, row, previous),
                 at=now)
    db.session.commit()
    return row


def new_release(contact: Contact, user: User, content: dict, previous: FeedbackRelease | None, *,
                now: datetime | None = None) -> FeedbackRelease:
    """The release's row (nothing stored); 409 when ``previous`` (the latest release) has the same text."""
    if previous is not None and previous.content == content:
        raise Conflict("This feedback has already been released to the partner.",
                      slug="already-released")
    return FeedbackRelease(contact_id=contact.id, organisation_id=contact.organisation_id, content=content,
                           released_by_id=user.id, supersedes_id=previous.id if previous else None,
                           **({"released_at": now} if now else {}))


def released_event(contact: Contact, row: FeedbackRelease, previous: FeedbackRelease | None) -> dict:
    """The ``feedback_released`` event's data for a stored release (it has its id)."""
    return {"release_id": row.id, "level": row.content["level"], "organisation_id": contact.organisation_id,
            "supersedes": previous.id if previous else None}


#: The managers' feedback to release: waiting longest first (``ix_contacts_feedback_waiting``).
WAITING_LONGEST_FIRST = Ordering("to-release", ((Contact.feedback_waiting_since, False), (Contact.id, False)))


def awaiting_release(cursor: str | None = None, per_page: int = DEFAULT_PER_PAGE) -> Page:
    """Confirmed outcomes whose feedback the partner has not had, oldest first, a page at a time:
    (contact, when it was reviewed) items, ``total`` all that are waiting.

    A contact is waiting when a manager has reviewed its decision and no feedback was released
    since that review (never released, or released before a later review changed the outcome):
    ``contacts.feedback_waiting_since``, set by the review and cleared by the release, read from its
    index, so the list costs a page, not every review and release ever made (0.8 s at 200,000).
    """
    query = keyset(_waiting(Contact, Contact.feedback_waiting_since).options(joinedload(Contact.organisation)),
                   WAITING_LONGEST_FIRST, cursor, per_page)
    rows, next_cursor = split(db.session.execute(query).all(), WAITING_LONGEST_FIRST, per_page)
    return Page(rows, next_cursor, awaiting_release_count(COUNT_LIMIT), COUNT_LIMIT)


def awaiting_release_count(up_to: int | None = None) -> int:
    """How many confirmed outcomes are waiting for their feedback to be released (the index alone);
    with ``up_to``, counted to one past it and no further."""
    return count(_waiting(Contact.id), up_to=up_to)


def _waiting(*columns):
    return select(*columns).where(Contact.feedback_waiting_since.is_not(None), Contact.status == Status.DECIDED)


#: How a partner reads its feedback: the latest released first (the id breaks a tie in time), the
#: order of ``ix_feedback_releases_org_newest`` so a page is read straight from the index.
NEWEST_FIRST = Ordering("feedback", ((FeedbackRelease.released_at, True), (FeedbackRelease.id, True)))


def released_feedback(organisation_id: int, *, released_from: datetime | None = None,
                      released_to: datetime | None = None) -> list[FeedbackRelease]:
    """The newest release per contact of one organisation, newest first (half-open date range), all of them."""
    return list(db.session.scalars(_newest_releases(organisation_id, released_from, released_to)
                                   .order_by(*NEWEST_FIRST.order_by())))


def _newest_releases(organisation_id: int, released_from: datetime | None, released_to: datetime | None,
                     level: int | None = None):
    """The query (unordered) for the newest release per contact of one organisation, filtered.

    "Newest per contact" is "no later release names it" (``supersedes_id``; an anti-join its index
    answers per row), so walking the organisation's index reads a page, not every release.
    """
    later = aliased(FeedbackRelease)
    return select(FeedbackRelease).where(
        *_in_range(FeedbackRelease, organisation_id, released_from, released_to, level),
        ~exists().where(later.organisation_id == FeedbackRelease.organisation_id,
                        later.supersedes_id == FeedbackRelease.id))


def _in_range(release, organisation_id: int, released_from: datetime | None, released_to: datetime | None,
              level: int | None) -> list:
    """The conditions on a release (``release``: the table or an alias of it) of one organisation, filtered."""
    conditions = [release.organisation_id == organisation_id]
    if released_from is not None:
        conditions.append(release.released_at >= released_from)
    if released_to is not None:
        conditions.append(release.released_at < released_to)
    if level is not None:
        conditions.append(release.content["level"].as_integer() == level)
    return conditions


def _count_newest(organisation_id: int, released_from: datetime | None, released_to: datetime | None,
                  level: int | None, *, up_to: int | None) -> int:
    """How many releases ``_newest_releases`` gives, counted to one past ``up_to`` (None: all).

    The organisation's releases in range less those a later release replaced. Each replaced one
    is named by exactly one later release (the next, stored under the contact's lock), and those
    are the organisation's few corrections, read from ``ix_feedback_releases_supersedes``; the rest
    is one range of the organisation's index, counted with no probe per release (the anti-join
    made PostgreSQL hash every release in the store to count a police force's list).
    """
    replaced, later = aliased(FeedbackRelease), aliased(FeedbackRelease)
    corrections = count(select(later.id).where(
        later.organisation_id == organisation_id, later.supersedes_id.is_not(None),
        exists().where(replaced.id == later.supersedes_id,
                       *_in_range(replaced, organisation_id, released_from, released_to, level))))
    every = count(select(FeedbackRelease.id).where(
        *_in_range(FeedbackRelease, organisation_id, released_from, released_to, level)),
        up_to=None if up_to is None else up_to + corrections)
    return every - corrections


def released_page(organisation_id: int, first: date | None, last: date | None, *, level: int | None,
                  page: int, per_page: int, count_up_to: int | None = None) -> tuple[list[FeedbackRelease], int, int]:
    """One page of ``released_feedback`` (London days ``first`` to ``last``) at ``level`` (None: any),
    newest first: (rows, how many in all, page shown).

    Counted and sliced by the database, so the partner's page reads one page of releases, not every
    release its organisation was ever sent (at 200,000 contacts that was 4 s and 670 MB a worker).
    With ``count_up_to``, counted to one past it and no further (more than it: its pages only, as
    counting a large police force's years of releases costs their number). A page past the last
    shows the last.
    """
    window = _london_days(first, last)
    query = _newest_releases(organisation_id, *window, level)
    total = _count_newest(organisation_id, *window, level, up_to=count_up_to)
    reachable = total if count_up_to is None else min(total, count_up_to)
    page = max(1, min(page, -(-reachable // per_page)))
    rows = db.session.scalars(query.order_by(*NEWEST_FIRST.order_by()).offset((page - 1) * per_page)
                              .limit(per_page))
    return list(rows), total, page


def released_keyset_page(organisation_id: int, first: date | None, last: date | None, *, cursor: str | None,
                         per_page: int) -> Page:
    """The partner's list for the API: ``per_page`` releases after ``cursor``, newest first.

    A page costs the size of the page however much feedback the organisation has had (keyset on
    the organisation's index); ``total`` is counted up to one past ``COUNT_LIMIT``, so more says capped.
    """
    window = _london_days(first, last)
    query = _newest_releases(organisation_id, *window)
    counted = _count_newest(organisation_id, *window, None, up_to=COUNT_LIMIT)
    rows, next_cursor = split(db.session.execute(keyset(query, NEWEST_FIRST, cursor, per_page)).all(),
                              NEWEST_FIRST, per_page)
    return Page([row for (row,) in rows], next_cursor, counted)


def _london_days(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """London days ``first`` to ``last`` (both included; None: open) as a half-open range of instants."""
    return (london_midnight(first) if first else None,
            london_midnight(last + timedelta(days=1)) if last else None)


def release_json(row: FeedbackRelease) -> dict:
    """What a partner reads: the released content with when it was released (never by whom)."""
    doc = {"id": row.id, "released_at": rfc3339(row.released_at)}
    doc.update(row.content)
    return doc
