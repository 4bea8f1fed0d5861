"""The monthly quality audit: a reproducible, stratified sample of decisions, audited by managers who took no part.

Leaders must use "performance management and quality management" well. Each month a manager
draws a sample of the month's decisions (the latest decision on each contact, decided in that
London month):

- **Every practitioner** with decisions that month has up to ``per_practitioner`` of theirs drawn.
- **Weighted** towards the decisions most worth a second look: a decision departing from the
  recommendation (weight +2), one below the level the partner asked for (+2), and one about a child
  the front door had met in the 12 months before (a re-contact, +1); every other decision weighs 1.
- **Reproducible**: the draw is a weighted sample without replacement (Efraimidis and Spirakis:
  each decision gets the key ``u ** (1 / weight)`` from ``random.Random(seed)`` and the largest keys
  are taken), over the decisions in id order, practitioners in id order. The seed is recorded on
  the sample and in its ``audit_sample_drawn`` event, so ``draw`` gives the same sample again.
- **Never one's own**: each drawn decision is assigned to an active manager who neither made it
  nor reviewed it, the one with the fewest assignments so far (then the lowest id).

The auditor records the level they would have decided, a grade for the decision and its recorded
rationale in Ofsted's words (outstanding, good, requires improvement, inadequate) and the
learning; ``quality_audited`` events vouch for each finding. ``results`` turns the findings into
agreement rates, grades by month and by practitioner, and what the audits found; ``results_csv``
is the same in a spreadsheet (``reporting/spreadsheet.py``'s writer).
"""

from __future__ import annotations

import random
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import select

from triage.engine.errors import Conflict, Invalid, NotAllowed, NotFound
from triage.engine.workdays import london_days
from triage.extensions import db
from triage.record import audit
from triage.record.tables import AuditAssignment, AuditFinding, AuditSample, Contact, Decision, Review, User
from triage.services import decisions as decision_rules
from triage.services.children import known_history

#: Ofsted's four grades, best first, as the auditor chooses them.
GRADES = {"outstanding": "Outstanding", "good": "Good", "requires_improvement": "Requires improvement",
          "inadequate": "Inadequate"}
#: Why a decision weighs more in the draw, and by how much (added to 1).
STRATA = {"departure": ("Departs from the recommendation", 2),
          "below_request": ("Below what the partner asked for", 2),
          "recontact": ("A child the front door met in the 12 months before", 1)}
#: What the partner asked for, as the level it corresponds to (contract: referrer_request).
REQUESTED_LEVEL = {"information_only": 1, "early_help": 2, "assessment": 3, "urgent_protection": 4}
DEFAULT_PER_PRACTITIONER = 2
MAX_PER_PRACTITIONER = 20
MAX_SEED = 2**31 - 1
MIN_LEARNING = 20


@dataclass(frozen=True)
class Candidate:
    """A decision that may be drawn: who made it, who reviewed it, and why it weighs what it does."""

    decision_id: int
    contact_id: str
    decided_by_id: int
    reviewer_ids: frozenset[int]
    strata: tuple[str, ...]

    @property
    def weight(self) -> int:
        return 1 + sum(STRATA[s][1] for s in self.strata)


def parse_month(value: object) -> date:
    """``YYYY-MM`` as the month's first day, or ``Invalid``."""
    try:
        year, month = str(value).split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError
        return date(int(year), int(month), 1)
    except ValueError:
        raise Invalid("Nothing was recorded; see errors.", errors={"month": ["Enter the month as YYYY-MM, "
                                                                           "for example 2026-11."]}) from None


def month_bounds(first: date) -> tuple[datetime, datetime]:
    last = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return london_days(first, last)[0], london_days(last, last)[0]


def strata_of(decision: Decision, contact: Contact) -> tuple[str, ...]:
    found = []
    if decision.recommended_level is not None and decision.level != decision.recommended_level:
        found.append("departure")
    asked = REQUESTED_LEVEL.get((contact.payload or {}).get("referrer_request") or "")
    if asked is not None and decision.level < asked:
        found.append("below_request")
    children = [c.child_id for c in contact.children if c.child_id]
    if children and known_history(children, before=contact.accepted_at, exclude=contact.id).contacts_12m > 0:
        found.append("recontact")
    return tuple(found)


def candidates(first: date) -> list[Candidate]:
    """The month's decisions that may be drawn: the latest on each contact, decided in the London month."""
    start, end = month_bounds(first)
    rows = db.session.scalars(select(Decision).where(Decision.decided_at >= start, Decision.decided_at < end)
                              .order_by(Decision.id)).all()
    superseded = set(db.session.scalars(select(Decision.corrects_id).where(Decision.corrects_id.is_not(None))))
    reviewers: dict[int, set[int]] = defaultdict(set)
    for decision_id, reviewer in db.session.execute(select(Review.decision_id, Review.reviewed_by_id)):
        reviewers[decision_id].add(reviewer)
    out = []
    for row in rows:
        if row.id in superseded:
            continue
        contact = db.session.get(Contact, row.contact_id)
        out.append(Candidate(row.id, row.contact_id, row.decided_by_id, frozenset(reviewers[row.id]),
                             strata_of(row, contact)))
    return out


def draw(pool: Iterable[Candidate], seed: int, per_practitioner: int) -> list[Candidate]:
    """The sample: up to ``per_practitioner`` per decider, weighted, from ``random.Random(seed)``.

    Pure and deterministic: the same pool, seed and size always give the same decisions.
    """
    rng = random.Random(seed)
    by_person: dict[int, list[Candidate]] = defaultdict(list)
    for candidate in sorted(pool, key=lambda c: c.decision_id):
        by_person[candidate.decided_by_id].append(candidate)
    chosen = []
    for person in sorted(by_person):
        keyed = [(rng.random() ** (1.0 / c.weight), c) for c in by_person[person]]
        keyed.sort(key=lambda pair: (-pair[0], pair[1].decision_id))
        chosen += sorted((c for _, c in keyed[:per_practitioner]), key=lambda c: c.decision_id)
    return chosen


def assign(sample: list[Candidate], managers: list[User]) -> list[tuple[Candidate, int]]:
    """Each drawn decision with an auditor who neither made nor reviewed it; the least loaded first."""
    load: Counter[int] = Counter()
    out = []
    for candidate in sample:
        eligible = [m.id for m in managers if m.id != candidate.decided_by_id and m.id not in candidate.reviewer_ids]
        if not eligible:
            raise Conflict("No manager took no part in one of the drawn decisions, so it cannot be audited "
                           "independently. Add a manager account, then draw the sample.")
        auditor = min(eligible, key=lambda m: (load[m], m))
        load[auditor] += 1
        out.append((candidate, auditor))
    return out


def auditors() -> list[User]:
    return list(db.session.scalars(select(User).where(User.role == "manager", User.is_active.is_(True))
                                   .order_by(User.id)))


def draw_sample(month: str, user: User, *, seed: int | None = None,
                per_practitioner: int = DEFAULT_PER_PRACTITIONER, now: datetime | None = None) -> AuditSample:
    """Draw and record a month's sample (one per month); the seed is chosen at random unless given."""
    if user.role != "manager":
        raise NotAllowed("Only a manager draws the quality audit sample.")
    first = parse_month(month)
    errors: dict[str, list[str]] = {}
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED):
        errors["seed"] = [f"Enter a whole number from 0 to {MAX_SEED:,}, or leave it empty."]
    if isinstance(per_practitioner, bool) or not isinstance(per_practitioner, int) \
            or not 1 <= per_practitioner <= MAX_PER_PRACTITIONER:
        errors["per_practitioner"] = [f"Choose from 1 to {MAX_PER_PRACTITIONER} decisions per practitioner."]
    if errors:
        raise Invalid("The sample was not drawn; see errors.", errors=errors, title="Not recorded")
    label = first.strftime("%Y-%m")
    if db.session.scalar(select(AuditSample).where(AuditSample.month == label)) is not None:
        raise Conflict(f"The sample for {first:%B %Y} has already been drawn.")
    pool = candidates(first)
    if not pool:
        raise Invalid("The sample was not drawn; see errors.", title="Not recorded",
                      errors={"month": [f"No decisions were made in {first:%B %Y}."]})
    seed = secrets.randbelow(MAX_SEED) if seed is None else seed
    pairs = assign(draw(pool, seed, per_practitioner), auditors())
    now = now or datetime.now(timezone.utc)
    sample = AuditSample(month=label, seed=seed, per_practitioner=per_practitioner, drawn_by_id=user.id, drawn_at=now)
    db.session.add(sample)
    db.session.flush()
    for candidate, auditor in pairs:
        db.session.add(AuditAssignment(sample_id=sample.id, contact_id=candidate.contact_id,
                                       decision_id=candidate.decision_id, strata=list(candidate.strata),
                                       auditor_id=auditor))
    db.session.flush()
    audit.record("audit_sample_drawn", user=user, at=now, data={
        "sample_id": sample.id, "month": label, "seed": seed, "per_practitioner": per_practitioner,
        "practitioners": len({c.decided_by_id for c in pool}), "decisions_in_month": len(pool),
        "drawn": [{"decision_id": c.decision_id, "contact_id": c.contact_id, "strata": list(c.strata),
                   "auditor_id": a} for c, a in pairs]})
    db.session.commit()
    return sample


def get_sample(month: str) -> AuditSample:
    label = parse_month(month).strftime("%Y-%m")
    sample = db.session.scalar(select(AuditSample).where(AuditSample.month == label))
    if sample is None:
        raise NotFound(f"No sample has been drawn for {label}.")
    return sample


def get_assignment(assignment_id: int) -> AuditAssignment:
    row = db.session.get(AuditAssignment, assignment_id)
    if row is None:
        raise NotFound("There is no audit with that number.")
    return row


def took_part(assignment: AuditAssignment, user: User) -> bool:
    reviewers = set(db.session.scalars(select(Review.reviewed_by_id).where(Review.decision_id == assignment.decision_id)))
    return user.id == assignment.decision.decided_by_id or user.id in reviewers


def record_finding(assignment: AuditAssignment, user: User, *, level: object, grade: object, learning: object,
                   now: datetime | None = None) -> AuditFinding:
    """The assigned auditor's finding; never on a decision they made or reviewed; once per decision."""
    if user.role != "manager" or user.id != assignment.auditor_id:
        raise NotAllowed("This audit is assigned to another manager.")
    if took_part(assignment, user):
        raise NotAllowed("You made or reviewed this decision, so another manager must audit it.")
    if assignment.finding is not None:
        raise Conflict("This decision has already been audited; findings are part of the record and do not change.")
    errors: dict[str, list[str]] = {}
    if problems := decision_rules.level_errors(level):
        errors["level"] = ["Choose the level you would have decided."] if level is None else problems
    if grade not in GRADES:
        errors["grade"] = ["Choose a grade: outstanding, good, requires improvement or inadequate."]
    said = decision_rules.substantive(learning if isinstance(learning, str) else None)
    if len(said) < MIN_LEARNING:
        errors["learning"] = [f"Write the learning from this audit (at least {MIN_LEARNING} characters)."]
    elif problems := decision_rules.length_errors(learning, decision_rules.MAX_RATIONALE):
        errors["learning"] = problems
    if errors:
        raise Invalid("The audit was not recorded; see errors.", errors=errors, title="Not recorded")
    finding = AuditFinding(assignment_id=assignment.id, contact_id=assignment.contact_id, level=level, grade=grade,
                           learning=learning.strip(), audited_by_id=user.id, audited_at=now or datetime.now(timezone.utc))
    db.session.add(finding)
    db.session.flush()
    audit.record("quality_audited", contact_id=assignment.contact_id, user=user, at=finding.audited_at, data={
        "finding_id": finding.id, "assignment_id": assignment.id, "decision_id": assignment.decision_id,
        "level": finding.level, "grade": finding.grade, "learning": finding.learning,
        "decision_level": assignment.decision.level})
    db.session.commit()
    return finding


def record_read(assignment: AuditAssignment, user: User) -> None:
    audit.record("viewed", contact_id=assignment.contact_id, user=user,
                 data={"via": "quality audit", "assignment_id": assignment.id})
    db.session.commit()


def my_assignments(user: User) -> list[AuditAssignment]:
    return list(db.session.scalars(select(AuditAssignment).where(AuditAssignment.auditor_id == user.id)
                                   .order_by(AuditAssignment.id)))


def samples() -> list[AuditSample]:
    return list(db.session.scalars(select(AuditSample).order_by(AuditSample.month.desc())))


def audited_levels() -> dict[str, tuple[int, int]]:
    """Contact id -> (audited level, decision id) for every contact with a finding (the latest finding)."""
    out = {}
    rows = db.session.execute(select(AuditFinding.contact_id, AuditFinding.level, AuditAssignment.decision_id)
                              .join(AuditAssignment, AuditAssignment.id == AuditFinding.assignment_id)
                              .order_by(AuditFinding.id))
    for contact_id, level, decision_id in rows:
        out[contact_id] = (level, decision_id)
    return out


def share(part: int, whole: int) -> dict:
    """A share with its counts; no percentage of fewer than 10 (small numbers are shown as counts only)."""
    return {"count": part, "of": whole, "percent": round(100 * part / whole) if whole >= 10 else None}


def results_rows(first: str, last: str) -> list[dict]:
    """One row per drawn decision in the months ``first`` to ``last`` (YYYY-MM), audited or not."""
    a, b = parse_month(first).strftime("%Y-%m"), parse_month(last).strftime("%Y-%m")
    if a > b:
        raise Invalid("Nothing was shown; see errors.", errors={"to": ["The last month must not be before the first."]})
    emails = dict(db.session.execute(select(User.id, User.email)).all())
    rows = []
    query = (select(AuditAssignment).join(AuditSample, AuditSample.id == AuditAssignment.sample_id)
             .where(AuditSample.month >= a, AuditSample.month <= b).order_by(AuditSample.month, AuditAssignment.id))
    for row in db.session.scalars(query):
        review = db.session.scalar(select(Review).where(Review.decision_id == row.decision_id).order_by(Review.id.desc()))
        finding = row.finding
        rows.append({
            "assignment_id": row.id, "month": row.sample.month, "contact_id": row.contact_id,
            "partner_reference": row.contact.partner_reference, "partner": row.contact.organisation.name,
            "decided_by": emails.get(row.decision.decided_by_id, ""), "decided_level": row.decision.level,
            "recommended_level": row.decision.recommended_level,
            "confirmed_level": review.level if review else None, "strata": list(row.strata),
            "auditor": emails.get(row.auditor_id, ""),
            "audited_level": finding.level if finding else None, "grade": finding.grade if finding else None,
            "learning": finding.learning if finding else None,
            "agrees": None if finding is None else finding.level == row.decision.level,
        })
    return rows


def results(first: str, last: str) -> dict:
    """Agreement, grades by month and by practitioner, and the learning, from the findings."""
    rows = results_rows(first, last)
    done = [r for r in rows if r["audited_level"] is not None]

    def summary(group: list[dict]) -> dict:
        audited = [r for r in group if r["audited_level"] is not None]
        return {"drawn": len(group), "audited": len(audited),
                "agreement": share(sum(1 for r in audited if r["agrees"]), len(audited)),
                "grades": {g: sum(1 for r in audited if r["grade"] == g) for g in GRADES},
                "higher": sum(1 for r in audited if r["audited_level"] > r["decided_level"]),
                "lower": sum(1 for r in audited if r["audited_level"] < r["decided_level"])}

    by_month: dict[str, list[dict]] = defaultdict(list)
    by_person: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_month[r["month"]].append(r)
        by_person[r["decided_by"]].append(r)
    return {
        "first": first, "last": last, "overall": summary(rows),
        "by_month": [{"month": m, **summary(g)} for m, g in sorted(by_month.items())],
        "by_practitioner": [{"practitioner": p, **summary(g)} for p, g in sorted(by_person.items())],
        "learning": [{"month": r["month"], "partner_reference": r["partner_reference"], "grade": r["grade"],
                      "decided_level": r["decided_level"], "audited_level": r["audited_level"],
                      "learning": r["learning"]} for r in done],
        "rows": rows,
    }


CSV_HEADINGS = ("Month", "Contact", "Partner", "Decided by", "Recommended level", "Decided level", "Confirmed level",
                "Why drawn", "Auditor", "Audited level", "Agrees with the decision", "Grade", "Learning")


def csv_rows(rows: list[dict]) -> list[list]:
    def yes_no(value):
        return "" if value is None else ("Yes" if value else "No")
    return [[r["month"], r["partner_reference"], r["partner"], r["decided_by"], r["recommended_level"] or "",
             r["decided_level"], r["confirmed_level"] or "", "; ".join(STRATA[s][0] for s in r["strata"]),
             r["auditor"], r["audited_level"] or "", yes_no(r["agrees"]), GRADES.get(r["grade"] or "", ""),
             r["learning"] or ""] for r in rows]


