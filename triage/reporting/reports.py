"""Performance figures: a monthly report for each partner and a dashboard for managers.

Why: the inspection found that leaders did not use performance data to respond to demand at
the front door, and that partners, the police above all, sent many contacts that did not meet
the thresholds, with weak information. A partner sees, month by month, how many of its contacts
met the referral threshold against all partners, how complete its information was and whether
consent was sought and the DASH completed; a manager sees demand by day and source, conversion,
timeliness, departures from the recommendation and whether the model still agrees with the
confirmed decisions.

``load_facts`` reads the store once into plain ``ContactFacts``; everything after it
(``partner_report``, the CSV) is plain Python over those rows, so every figure can be checked
against a hand-computed one. The manager's dashboard is counted in SQL (``dashboard.py``). A contact's outcome counts only once a manager has
reviewed it (``confirmed_level``); undecided contacts are counted as sent but not in the shares
of levels.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from triage.engine.contract import CONSENT
from triage.engine.guidance_config import LEVELS, REFERRAL_LEVEL
from triage.engine.words import gap_label, gap_pattern
from triage.engine.workdays import LONDON, london_midnight
from triage.extensions import db
from triage.record.tables import Child, Contact, Decision, Organisation, Review, User
from triage.record.workflow import Status
from triage.reporting.spreadsheet import to_csv
from triage.services.children import same_child_ids
from triage.services.timeliness import notification_delay

TREND_MONTHS = 6
TOP_GAPS = 5


# ---------------------------------------------------------------------------------------------
# The rows
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionFacts:
    id: int
    level: int
    recommended_level: int | None
    override_reason: str | None
    marac_referral: bool
    decided_at: datetime
    decided_by: str


@dataclass(frozen=True)
class ReviewFacts:
    id: int
    decision_id: int
    outcome: str
    level: int
    rationale: str
    reviewed_at: datetime
    reviewed_by: str


@dataclass(frozen=True)
class ChildFacts:
    child_reference: str
    age_years: int | None
    unborn: bool
    sex: str | None
    ethnicity: str | None
    #: The service's record of the child, and the one standing for its whole linked group.
    child_id: str | None = None
    same_child: str | None = None


@dataclass(frozen=True)
class ContactFacts:
    """One contact as the figures need it; built by ``load_facts`` or directly in tests."""

    id: str
    organisation_id: int
    organisation: str
    source_code: str
    received_at: datetime
    status: str
    primary_concern: str = "other"
    team: str | None = None
    #: When the front door's clock started (spec section 8); every figure here counts from it.
    accepted_at: datetime | None = None
    decision_due_at: datetime | None = None
    recommended_level: int | None = None
    marac_recommended: bool = False
    marac_criteria: tuple[str, ...] = ()
    dash_risk: str | None = None
    model_version: str | None = None
    consent: str | None = None
    dash_completed: bool | None = None
    gap_fields: tuple[str, ...] | None = None
    children: tuple[ChildFacts, ...] = ()
    first_decided_at: datetime | None = None
    first_reviewed_at: datetime | None = None
    decision: DecisionFacts | None = None
    review: ReviewFacts | None = None
    payload: dict | None = field(default=None, compare=False, repr=False)

    @property
    def confirmed_level(self) -> int | None:
        """The level a manager confirmed or changed on review of the latest decision, else None."""
        if self.status != Status.DECIDED or self.review is None or self.decision is None:
            return None
        return self.review.level if self.review.decision_id == self.decision.id else None

    @property
    def is_referral(self) -> bool:
        level = self.confirmed_level
        return level is not None and level >= REFERRAL_LEVEL

    @property
    def is_domestic_abuse(self) -> bool:
        return self.primary_concern == "domestic_abuse"

    @property
    def accepted(self) -> datetime:
        """The front door's clock; rows built without one (older tests) ran on ``received_at``."""
        return self.accepted_at or self.received_at

    @property
    def late_by(self) -> timedelta | None:
        """How late the partner sent it (``timeliness.notification_delay``), or None if in time."""
        return notification_delay(self.received_at, self.accepted)


def _dash_completed(payload: dict) -> bool | None:
    """For a domestic abuse contact: did a DASH come with its answers? None for other contacts."""
    if payload.get("primary_concern") != "domestic_abuse":
        return None
    dash = (payload.get("domestic_abuse") or {}).get("dash") or {}
    return bool(dash.get("answers"))


def _decision_facts(row: Decision, users: dict[int, str]) -> DecisionFacts:
    return DecisionFacts(row.id, row.level, row.recommended_level, row.override_reason,
                         bool(row.marac_referral), row.decided_at, users.get(row.decided_by_id, ""))


def _review_facts(row: Review, users: dict[int, str]) -> ReviewFacts:
    return ReviewFacts(row.id, row.decision_id, row.outcome, row.level, row.rationale,
                       row.reviewed_at, users.get(row.reviewed_by_id, ""))


def _facts(c: Contact, decisions: list[Decision], reviews: list[Review], users: dict[int, str],
           with_payload: bool, same: dict[str, str]) -> ContactFacts:
    rec = c.recommendation or {}
    first_decision = decisions[0] if decisions else None
    first_review = next((r for r in reviews if first_decision and r.decision_id == first_decision.id), None)
    gaps = rec.get("information_gaps")
    return ContactFacts(
        id=c.id, organisation_id=c.organisation_id, organisation=c.organisation.name,
        source_code=c.source_code, received_at=c.received_at, accepted_at=c.accepted_at, status=c.status,
        primary_concern=c.primary_concern, team=c.source_team, decision_due_at=c.decision_due_at,
        recommended_level=c.recommended_level, marac_recommended=bool(c.marac_recommended),
        marac_criteria=tuple((rec.get("marac") or {}).get("criteria") or ()), dash_risk=c.dash_risk,
        model_version=c.model_version, consent=c.payload.get("consent"),
        dash_completed=_dash_completed(c.payload),
        gap_fields=None if gaps is None else tuple(g["field"] for g in gaps),
        children=tuple(ChildFacts(ch.child_reference, ch.age_years, bool(ch.unborn), ch.sex, ch.ethnicity,
                                  ch.child_id, same.get(ch.child_id, ch.child_id))
                       for ch in c.children),
        first_decided_at=first_decision.decided_at if first_decision else None,
        first_reviewed_at=first_review.reviewed_at if first_review else None,
        decision=_decision_facts(decisions[-1], users) if decisions else None,
        review=_review_facts(reviews[-1], users) if reviews else None,
        payload=c.payload if with_payload else None,
    )


def load_facts(start: datetime, end: datetime, *, organisation_id: int | None = None,
               with_payload: bool = False) -> list[ContactFacts]:
    """Contacts accepted in ``[start, end)`` with their decisions and reviews, oldest first.

    Only the columns the figures use are read (the few JSON fields they need picked out by the
    database, never the whole payload or recommendation unless ``with_payload``); the latest
    decision and review come through ``contacts.latest_decision_id`` / ``latest_review_id`` and
    the first ones through one grouped query each, so the cost is the window, not the store.
    """
    window = [Contact.accepted_at >= start, Contact.accepted_at < end]
    if organisation_id is not None:
        window.append(Contact.organisation_id == organisation_id)
    in_range = select(Contact.id).where(*window)
    first_decision = (select(Decision.contact_id, func.min(Decision.id).label("id"))
                      .where(Decision.contact_id.in_(in_range)).group_by(Decision.contact_id).subquery())
    first_review = (select(Review.decision_id, func.min(Review.id).label("id"))
                    .where(Review.contact_id.in_(in_range)).group_by(Review.decision_id).subquery())
    latest_d, latest_r, first_d, first_r = aliased(Decision), aliased(Review), aliased(Decision), aliased(Review)
    columns = [
        Contact.id, Contact.organisation_id, Organisation.name, Contact.source_code, Contact.received_at,
        Contact.accepted_at, Contact.status, Contact.primary_concern, Contact.source_team, Contact.decision_due_at,
        Contact.recommended_level, Contact.marac_recommended, Contact.dash_risk, Contact.model_version,
        Contact.recommendation[("marac", "criteria")], Contact.payload["consent"].as_string(),
        Contact.payload[("domestic_abuse", "dash", "answers")], Contact.recommendation["information_gaps"],
        first_d.decided_at, first_r.reviewed_at,
        latest_d.id, latest_d.level, latest_d.recommended_level, latest_d.override_reason, latest_d.marac_referral,
        latest_d.decided_at, latest_d.decided_by_id,
        latest_r.id, latest_r.decision_id, latest_r.outcome, latest_r.level, latest_r.rationale,
        latest_r.reviewed_at, latest_r.reviewed_by_id,
    ]
    if with_payload:
        columns.append(Contact.payload)
    query = (select(*columns).join(Organisation, Organisation.id == Contact.organisation_id)
             .outerjoin(latest_d, latest_d.id == Contact.latest_decision_id)
             .outerjoin(latest_r, latest_r.id == Contact.latest_review_id)
             .outerjoin(first_decision, first_decision.c.contact_id == Contact.id)
             .outerjoin(first_d, first_d.id == first_decision.c.id)
             .outerjoin(first_review, first_review.c.decision_id == first_decision.c.id)
             .outerjoin(first_r, first_r.id == first_review.c.id)
             .where(*window).order_by(Contact.accepted_at, Contact.id))
    users = dict(db.session.execute(select(User.id, User.email)).all())
    same = same_child_ids()
    children: dict[str, list[ChildFacts]] = defaultdict(list)
    for contact_id, *child in db.session.execute(
            select(Child.contact_id, Child.child_reference, Child.age_years, Child.unborn, Child.sex, Child.ethnicity,
                   Child.child_id).where(Child.contact_id.in_(in_range)).order_by(Child.contact_id, Child.position)):
        ref, age, unborn, sex, ethnicity, child_id = child
        children[contact_id].append(ChildFacts(ref, age, bool(unborn), sex, ethnicity, child_id,
                                               same.get(child_id, child_id)))
    return [_lean_facts(row, children[row[0]], users, with_payload) for row in db.session.execute(query)]


def _lean_facts(row, children: list[ChildFacts], users: dict[int, str], with_payload: bool) -> ContactFacts:
    """One row of ``load_facts``'s query as ``ContactFacts`` (what ``_facts`` makes from ORM objects)."""
    (cid, org_id, org_name, source, received, accepted, status, concern, team, due, recommended, marac, dash_risk,
     model, criteria, consent, dash_answers, gaps, first_decided, first_reviewed,
     d_id, d_level, d_recommended, d_override, d_marac, d_at, d_by,
     r_id, r_decision, r_outcome, r_level, r_rationale, r_at, r_by, *payload) = row
    return ContactFacts(
        id=cid, organisation_id=org_id, organisation=org_name, source_code=source, received_at=received,
        accepted_at=accepted, status=status, primary_concern=concern, team=team, decision_due_at=due,
        recommended_level=recommended, marac_recommended=bool(marac), marac_criteria=tuple(criteria or ()),
        dash_risk=dash_risk, model_version=model, consent=consent,
        dash_completed=bool(dash_answers) if concern == "domestic_abuse" else None,
        gap_fields=None if gaps is None else tuple(g["field"] for g in gaps),
        children=tuple(children), first_decided_at=first_decided, first_reviewed_at=first_reviewed,
        decision=None if d_id is None else DecisionFacts(d_id, d_level, d_recommended, d_override, bool(d_marac),
                                                         d_at, users.get(d_by, "")),
        review=None if r_id is None else ReviewFacts(r_id, r_decision, r_outcome, r_level, r_rationale, r_at,
                                                     users.get(r_by, "")),
        payload=payload[0] if with_payload else None,
    )


# ---------------------------------------------------------------------------------------------
# Dates: months and days are London's, the store's times are UTC
# ---------------------------------------------------------------------------------------------


def parse_month(text: str) -> date:
    """``2026-11`` -> 1 November 2026; ValueError for anything else."""
    year, _, month = text.partition("-")
    if len(year) != 4 or len(month) != 2 or not (year + month).isdigit():
        raise ValueError("a month is written YYYY-MM, for example 2026-11")
    return date(int(year), int(month), 1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_key(when: datetime) -> str:
    return when.astimezone(LONDON).strftime("%Y-%m")


def _share(part: int, whole: int) -> float | None:
    """A share rounded for reading (4 places: 0.1235 = 12.35%); None when there is nothing to divide."""
    return round(part / whole, 4) if whole else None


# ---------------------------------------------------------------------------------------------
# The partner report
# ---------------------------------------------------------------------------------------------


def _gap_summary(rows: Sequence[ContactFacts]) -> list[dict]:
    """The most common gaps: how many contacts had each (a contact counts once per kind of gap)."""
    counts: Counter[str] = Counter()
    for row in rows:
        counts.update({gap_pattern(f) for f in row.gap_fields or ()})
    return [{"field": pattern, "label": gap_label(pattern), "contacts": n, "share": _share(n, len(rows))}
            for pattern, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_GAPS]]


def month_figures(rows: Sequence[ContactFacts]) -> dict:
    """The figures for one set of contacts (one organisation or team in one month)."""
    decided = [r for r in rows if r.confirmed_level is not None]
    level_counts = Counter(r.confirmed_level for r in decided)
    scored = [r for r in rows if r.gap_fields is not None]
    consent = Counter(r.consent for r in rows)
    da = [r for r in rows if r.dash_completed is not None]
    sought = consent["obtained"] + consent["refused"]
    return {
        "contacts": len(rows),
        "late_notifications": sum(1 for r in rows if r.late_by is not None),
        "decided": len(decided),
        "awaiting_outcome": len(rows) - len(decided),
        "levels": {str(n): {"contacts": level_counts[n], "share": _share(level_counts[n], len(decided))}
                   for n in LEVELS},
        "referrals": sum(1 for r in decided if r.is_referral),
        "referral_share": _share(sum(1 for r in decided if r.is_referral), len(decided)),
        "information": {
            "assessed": len(scored),
            "no_gaps": sum(1 for r in scored if not r.gap_fields),
            "no_gaps_share": _share(sum(1 for r in scored if not r.gap_fields), len(scored)),
            "common_gaps": _gap_summary(scored),
        },
        "consent": {
            "counts": {value: consent[value] for value in CONSENT},
            "sought": sought,
            "sought_share": _share(sought, len(rows)),
        },
        "dash": {
            "domestic_abuse_contacts": len(da),
            "completed": sum(1 for r in da if r.dash_completed),
            "completed_share": _share(sum(1 for r in da if r.dash_completed), len(da)),
        },
    }


def _trend_point(month: str, rows: Sequence[ContactFacts]) -> dict:
    figures = month_figures(rows)
    return {"month": month, "contacts": figures["contacts"], "decided": figures["decided"],
            "referral_share": figures["referral_share"],
            "no_gaps_share": figures["information"]["no_gaps_share"],
            "consent_sought_share": figures["consent"]["sought_share"],
            "dash_completed_share": figures["dash"]["completed_share"]}


def partner_report(facts: Iterable[ContactFacts], *, organisation_id: int, organisation: str,
                   month: date, team: str | None = None, levels: dict[int, dict]) -> dict:
    """One partner's month, against all partners, with a six-month trend.

    The definition over ``ContactFacts``; the service counts the same figures in the database
    (``partner_report.organisation_report``), and the tests hold the two equal.

    ``facts`` must cover every organisation's contacts for the six months ending with ``month``
    (``report_window(month)``): the comparison is with all partners in the same month.
    """
    facts = list(facts)
    key = month.strftime("%Y-%m")
    months = [add_months(month, -i).strftime("%Y-%m") for i in range(TREND_MONTHS - 1, -1, -1)]
    own_all = [r for r in facts if r.organisation_id == organisation_id]
    own = [r for r in own_all if team is None or r.team == team]
    by_month: dict[str, list[ContactFacts]] = defaultdict(list)
    for row in own:
        by_month[month_key(row.accepted)].append(row)
    everyone = [r for r in facts if month_key(r.accepted) == key]
    everyone_figures = month_figures(everyone)
    return {
        "organisation": {"id": organisation_id, "name": organisation},
        "team": team,
        "teams": sorted({r.team for r in own_all if r.team}),
        "month": key,
        "level_names": {str(n): levels[n]["name"] for n in LEVELS},
        "referral_level": REFERRAL_LEVEL,
        "figures": month_figures(by_month[key]),
        "all_partners": {
            "contacts": everyone_figures["contacts"],
            "decided": everyone_figures["decided"],
            "referral_share": everyone_figures["referral_share"],
            "no_gaps_share": everyone_figures["information"]["no_gaps_share"],
            "consent_sought_share": everyone_figures["consent"]["sought_share"],
            "dash_completed_share": everyone_figures["dash"]["completed_share"],
        },
        "trend": [_trend_point(m, by_month[m]) for m in months],
    }


def report_window(month: date) -> tuple[datetime, datetime]:
    """What ``partner_report`` needs loaded: the six months ending with ``month``, London time."""
    return london_midnight(add_months(month, -(TREND_MONTHS - 1))), london_midnight(add_months(month, 1))


def _pct(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}"


def partner_report_csv(report: dict) -> str:
    """The report as a two-column CSV (measure, value; shares as percentages) a spreadsheet opens."""
    f, a = report["figures"], report["all_partners"]
    names = report["level_names"]
    rows: list[tuple[str, object]] = [
        ("Organisation", report["organisation"]["name"]),
        ("Team", report["team"] or "All teams"),
        ("Month", report["month"]),
        ("Contacts sent", f["contacts"]),
        ("Sent more than a working day after the partner recorded them", f["late_notifications"]),
        ("Contacts with a confirmed outcome", f["decided"]),
        ("Contacts awaiting an outcome", f["awaiting_outcome"]),
    ]
    for n in map(str, LEVELS):
        rows.append((f"Level {n} {names[n]}: contacts", f["levels"][n]["contacts"]))
        rows.append((f"Level {n} {names[n]}: % of confirmed", _pct(f["levels"][n]["share"])))
    rows += [
        (f"Met the referral threshold (level {report['referral_level']}+): % of confirmed", _pct(f["referral_share"])),
        ("All partners: met the referral threshold: % of confirmed", _pct(a["referral_share"])),
        ("No information missing: % of contacts", _pct(f["information"]["no_gaps_share"])),
        ("All partners: no information missing: % of contacts", _pct(a["no_gaps_share"])),
    ]
    for gap in f["information"]["common_gaps"]:
        rows.append((f"Missing: {gap['label']}: contacts", gap["contacts"]))
    rows += [
        ("Consent sought (obtained or refused): % of contacts", _pct(f["consent"]["sought_share"])),
        ("Domestic abuse contacts", f["dash"]["domestic_abuse_contacts"]),
        ("DASH completed: % of domestic abuse contacts", _pct(f["dash"]["completed_share"])),
    ]
    for point in report["trend"]:
        rows.append((f"Trend {point['month']}: contacts", point["contacts"]))
        rows.append((f"Trend {point['month']}: met the referral threshold %", _pct(point["referral_share"])))
        rows.append((f"Trend {point['month']}: no information missing %", _pct(point["no_gaps_share"])))
    return to_csv(["Measure", "Value"], rows)
