"""The improvement board's pack: the front door's figures for a six-week period, each against the periods before.

Under the improvement notice the board meets every six weeks and must receive "data, analysis and
recommendations supported by evidence of the impact of improvements on the quality of practice".
For a period of six weeks (42 London days from ``first``) and the ``PREVIOUS`` periods before it,
each figure is counted the same way:

- **demand by source**: contacts the front door accepted (its clock, ``accepted_at``), by source;
- **police domestic abuse share**: police (source 6) contacts about domestic abuse, of all contacts;
- **contacts to referrals**: contacts whose confirmed level (after a manager's review) is 3 or 4, of
  the contacts with a confirmed level;
- **re-referrals within 12 months**: referrals about a child (or a record linked to it) referred in
  the 12 months before, of the referrals;
- **inappropriate referrals as the audits judge them**: of the audited contacts decided at 3 or 4,
  those the auditor would have decided below 3;
- **decisions on time**: first decisions made by the contact's deadline, of the first decisions;
  **reviews on time**: first reviews within ``REVIEW_WORKING_DAYS`` working day(s) of the decision;
- **checks answered on time, by agency**: checks asked in the period answered by their due time, of
  those asked (a check not answered yet counts as not on time once its time has run out, and is left
  out while it has not);
- **partner contact quality**: contacts missing information the guidance needs, and contacts sent
  more than a working day after the partner recorded them (late notifications), by partner;
- **departures**: latest decisions at a level other than the recommendation's, of decisions with a
  recommendation; **below the guidance floor**: latest decisions below the floor, of decisions with one;
- **model agreement**: confirmed levels equal to the recommended level, of confirmed contacts with one;
- **audit grades**: the quality audit's grades on contacts accepted in the period, and the share
  graded good or outstanding.

A contact belongs to the period it was accepted in. Honest with small numbers: a share is given
as a percentage only when it is of 10 or more (``MIN_FOR_PERCENT``); otherwise the counts alone, and
the summary says there are too few to judge. The summary compares the period with the one before,
figure by figure, in plain words, and only calls a change an improvement or a decline when both
periods have 10 or more and the share moved by at least ``CHANGE_POINTS`` percentage points.

``load`` reads the store once (``reports.load_facts``, plus decisions' floors, checks and audit
findings); ``board_pack`` is plain Python over those rows, so every figure can be checked by hand:
it is the definition. The pages and the API count the same figures in SQL (``board_counts``, a
few grouped statements instead of a Python object per contact of a year and a half); both end in
``assemble``, and the tests check the two packs are equal.
``pdf`` turns the pack's HTML into a PDF with WeasyPrint (no browser).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from triage.engine.guidance_config import REFERRAL_LEVEL
from triage.engine.words import SOURCE_NAMES
from triage.engine.workdays import london_date, london_days
from triage.extensions import db
from triage.record.tables import AuditAssignment, AuditFinding, CheckRequest, CheckResponse, Decision
from triage.reporting.reports import ContactFacts, load_facts
from triage.services.timeliness import REVIEW_WORKING_DAYS, measure

PERIOD_DAYS = 42
PREVIOUS = 3  # the periods before the one asked for, for the trends
MIN_FOR_PERCENT = 10
CHANGE_POINTS = 5
TWELVE_MONTHS = timedelta(days=365)
GRADES = ("outstanding", "good", "requires_improvement", "inadequate")
GRADE_WORDS = {"outstanding": "Outstanding", "good": "Good", "requires_improvement": "Requires improvement",
               "inadequate": "Inadequate"}


@dataclass(frozen=True)
class CheckFacts:
    agency: str
    due_at: datetime
    requested_at: datetime
    answered_at: datetime | None
    late: bool | None


@dataclass(frozen=True)
class AuditFacts:
    decided_level: int
    audited_level: int
    grade: str


@dataclass(frozen=True)
class BoardRow:
    """One contact with what the pack needs beyond the dashboard's facts."""

    facts: ContactFacts
    floor_level: int | None = None  # the latest decision's guidance floor
    checks: tuple[CheckFacts, ...] = ()
    audit: AuditFacts | None = None
    rereferral: bool = False  # a referral about a child referred in the 12 months before


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @property
    def label(self) -> str:
        return f"{self.first:%d %b %Y} to {self.last:%d %b %Y}"

    @property
    def short(self) -> str:
        return f"{self.first:%d %b} to {self.last:%d %b %y}"

    def bounds(self) -> tuple[datetime, datetime]:
        return london_days(self.first, self.last)


def periods(first: date, previous: int = PREVIOUS) -> list[Period]:
    """The six-week period starting ``first`` and the ``previous`` before it, oldest first."""
    out = []
    for back in range(previous, -1, -1):
        start = first - timedelta(days=PERIOD_DAYS * back)
        out.append(Period(start, start + timedelta(days=PERIOD_DAYS - 1)))
    return out


# ---------------------------------------------------------------------------------------------
# Reading the store
# ---------------------------------------------------------------------------------------------


def _child_keys(facts: ContactFacts) -> set[str]:
    return {c.same_child or c.child_id or c.child_reference for c in facts.children}


def _rereferrals(facts: Sequence[ContactFacts]) -> set[str]:
    """Referrals about a child (or its linked records) referred on an earlier contact in the 12 months before."""
    referred: dict[str, list[datetime]] = defaultdict(list)
    for f in facts:
        if f.is_referral:
            for key in _child_keys(f):
                referred[key].append(f.accepted)
    out = set()
    for f in facts:
        if f.is_referral and any(f.accepted - TWELVE_MONTHS <= when < f.accepted
                                 for key in _child_keys(f) for when in referred[key]):
            out.add(f.id)
    return out


def load(first_period: Period, last_period: Period) -> list[BoardRow]:
    """Every contact accepted from the first period's start to the last's end, with floors, checks and audits.

    Reads 12 months further back for the re-referral count, and returns only the periods' contacts.
    """
    start, _ = first_period.bounds()
    _, end = last_period.bounds()
    facts = load_facts(start - TWELVE_MONTHS, end)
    again = _rereferrals(facts)
    facts = [f for f in facts if start <= f.accepted < end]
    ids = [f.id for f in facts]
    floors: dict[str, int | None] = {}
    checks: dict[str, list[CheckFacts]] = defaultdict(list)
    audits: dict[str, AuditFacts] = {}
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for decision in db.session.scalars(select(Decision).where(Decision.contact_id.in_(chunk)).order_by(Decision.id)):
            floors[decision.contact_id] = decision.floor_level
        query = (select(CheckRequest, CheckResponse).outerjoin(CheckResponse, CheckResponse.check_id == CheckRequest.id)
                 .where(CheckRequest.contact_id.in_(chunk)).order_by(CheckRequest.id))
        for request, response in db.session.execute(query):
            checks[request.contact_id].append(CheckFacts(request.agency, request.due_at, request.requested_at,
                                                         response.answered_at if response else None,
                                                         response.late if response else None))
        query = (select(AuditFinding, AuditAssignment, Decision)
                 .join(AuditAssignment, AuditAssignment.id == AuditFinding.assignment_id)
                 .join(Decision, Decision.id == AuditAssignment.decision_id)
                 .where(AuditFinding.contact_id.in_(chunk)).order_by(AuditFinding.id))
        for finding, _assignment, decision in db.session.execute(query):
            audits[finding.contact_id] = AuditFacts(decision.level, finding.level, finding.grade)
    return [BoardRow(f, floors.get(f.id), tuple(checks.get(f.id, ())), audits.get(f.id), f.id in again)
            for f in facts]


# ---------------------------------------------------------------------------------------------
# The figures (plain Python over the rows)
# ---------------------------------------------------------------------------------------------


def share(count: int, of: int) -> dict:
    """A share with its counts; a percentage only of 10 or more."""
    return {"count": count, "of": of,
            "percent": round(100 * count / of, 1) if of >= MIN_FOR_PERCENT else None}


def share_text(s: dict) -> str:
    if s["of"] == 0:
        return "none to count"
    if s["percent"] is None:
        return f"{s['count']} of {s['of']}"
    return f"{s['percent']:g}% ({s['count']} of {s['of']})"


def _ratio(rows: Sequence[BoardRow], base: Callable[[BoardRow], bool], hit: Callable[[BoardRow], bool]) -> dict:
    pool = [r for r in rows if base(r)]
    return share(sum(1 for r in pool if hit(r)), len(pool))


def _decided(r: BoardRow) -> bool:
    return r.facts.decision is not None


def _timeliness(r: BoardRow):
    f = r.facts
    return measure(f.accepted, f.decision_due_at, f.first_decided_at, f.first_reviewed_at)


def _checks_share(rows: Sequence[BoardRow], now: datetime, agency: str | None = None) -> dict:
    asked = [c for r in rows for c in r.checks if agency is None or c.agency == agency]
    settled = [c for c in asked if c.answered_at is not None or c.due_at <= now]
    return share(sum(1 for c in settled if c.answered_at is not None and not c.late), len(settled))


def _by(rows: Sequence[BoardRow], key: Callable[[BoardRow], str]) -> dict[str, list[BoardRow]]:
    out: dict[str, list[BoardRow]] = defaultdict(list)
    for r in rows:
        out[key(r)].append(r)
    return out


#: Each trend figure: key, title, what is counted (plain words), which way is better
#: ("down", "up" or None: neither), and the share for one period's rows.
SHARES: tuple[tuple[str, str, str, str | None, Callable[[Sequence[BoardRow], datetime], dict]], ...] = (
    ("police_da", "Police domestic abuse contacts",
     "police contacts about domestic abuse, of all contacts", None,
     lambda rows, now: _ratio(rows, lambda r: True,
                              lambda r: r.facts.source_code == "6" and r.facts.is_domestic_abuse)),
    ("conversion", "Contacts that became referrals",
     "contacts confirmed at level 3 or 4, of contacts with a confirmed level", None,
     lambda rows, now: _ratio(rows, lambda r: r.facts.confirmed_level is not None, lambda r: r.facts.is_referral)),
    ("rereferrals", "Re-referrals within 12 months",
     "referrals about a child referred in the 12 months before, of referrals", "down",
     lambda rows, now: _ratio(rows, lambda r: r.facts.is_referral, lambda r: r.rereferral)),
    ("inappropriate", "Inappropriate referrals, as the quality audit judged them",
     "audited contacts decided at level 3 or 4 that the auditor would have decided below 3, of audited "
     "contacts decided at 3 or 4", "down",
     lambda rows, now: _ratio(rows, lambda r: r.audit is not None and r.audit.decided_level >= REFERRAL_LEVEL,
                              lambda r: r.audit.audited_level < REFERRAL_LEVEL)),
    ("decisions_on_time", "Decisions made on time",
     "first decisions made by the contact's deadline, of first decisions", "up",
     lambda rows, now: _ratio(rows, _decided, lambda r: bool(_timeliness(r).decided_on_time))),
    ("reviews_on_time", "Reviews made on time",
     f"first reviews within {REVIEW_WORKING_DAYS} working day of the decision, of first reviews", "up",
     lambda rows, now: _ratio(rows, lambda r: r.facts.first_reviewed_at is not None and r.facts.first_decided_at
                              is not None, lambda r: bool(_timeliness(r).reviewed_on_time))),
    ("checks_on_time", "Checks answered on time (all agencies)",
     "checks answered by their due time, of checks answered or past their due time", "up",
     lambda rows, now: _checks_share(rows, now)),
    ("missing_information", "Contacts missing information",
     "contacts missing at least one item the guidance needs, of all contacts", "down",
     lambda rows, now: _ratio(rows, lambda r: r.facts.gap_fields is not None, lambda r: bool(r.facts.gap_fields))),
    ("late_notifications", "Late notifications",
     "contacts sent more than a working day after the partner recorded them, of all contacts", "down",
     lambda rows, now: _ratio(rows, lambda r: True, lambda r: r.facts.late_by is not None)),
    ("departures", "Decisions departing from the recommendation",
     "latest decisions at another level than recommended, of decisions with a recommendation", None,
     lambda rows, now: _ratio(rows, lambda r: _decided(r) and r.facts.decision.recommended_level is not None,
                              lambda r: r.facts.decision.level != r.facts.decision.recommended_level)),
    ("below_floor", "Decisions below the guidance floor",
     "latest decisions below the guidance floor, of decisions where the guidance set one", "down",
     lambda rows, now: _ratio(rows, lambda r: _decided(r) and r.floor_level is not None,
                              lambda r: r.facts.decision.level < r.floor_level)),
    ("model_agreement", "Recommendation agreed with the confirmed decision",
     "confirmed levels equal to the recommended level, of confirmed contacts with a recommendation", None,
     lambda rows, now: _ratio(rows, lambda r: r.facts.confirmed_level is not None
                              and r.facts.recommended_level is not None,
                              lambda r: r.facts.confirmed_level == r.facts.recommended_level)),
    ("good_or_better", "Audited decisions graded good or outstanding",
     "audited decisions graded good or outstanding, of audited decisions", "up",
     lambda rows, now: _ratio(rows, lambda r: r.audit is not None,
                              lambda r: r.audit.grade in ("outstanding", "good"))),
)


def _table(periods_: Sequence[Period], groups: Sequence[dict[str, object]], name: Callable[[str], str],
           empty: object) -> dict:
    """One row per key met in any period (sorted by its name), its value in each period (``empty`` where absent)."""
    keys = sorted({k for g in groups for k in g}, key=name)
    return {"columns": [p.short for p in periods_],
            "rows": [{"name": name(k), "values": [g.get(k, empty) for g in groups]} for k in keys]}


@dataclass(frozen=True)
class Counted:
    """What the pack is made of, period by period (oldest first): the figures' shares and the tables' counts.

    ``board_pack`` counts it in Python over ``BoardRow``s (the definition, checked by hand in the
    tests); ``board_counts.counted`` counts the same in SQL. ``assemble`` turns either into the pack.
    """

    demand: list[int]
    shares: dict[str, list[dict]]  # SHARES key -> a share per period
    by_source: list[dict[str, int]]  # source code -> contacts
    missing_by_partner: list[dict[str, dict]]  # partner name -> share
    late_by_partner: list[dict[str, dict]]
    checks_by_agency: dict[str, list[dict]]  # agency -> a share per period
    grades: dict[str, list[int]]  # grade -> audited contacts per period


def _counted(grouped: Sequence[Sequence[BoardRow]], now: datetime) -> Counted:
    """``Counted`` from each period's rows, in plain Python: the definition of every figure."""
    by_partner = [_by(g, lambda r: r.facts.organisation) for g in grouped]
    agencies = sorted({c.agency for g in grouped for r in g for c in r.checks})
    return Counted(
        demand=[len(g) for g in grouped],
        shares={key: [fn(g, now) for g in grouped] for key, _title, _counted, _better, fn in SHARES},
        by_source=[{k: len(v) for k, v in _by(g, lambda r: r.facts.source_code).items()} for g in grouped],
        missing_by_partner=[{k: share(sum(1 for r in v if r.facts.gap_fields), len(v)) for k, v in b.items()}
                            for b in by_partner],
        late_by_partner=[{k: share(sum(1 for r in v if r.facts.late_by is not None), len(v)) for k, v in b.items()}
                         for b in by_partner],
        checks_by_agency={a: [_checks_share(g, now, a) for g in grouped] for a in agencies},
        grades={grade: [sum(1 for r in g if r.audit and r.audit.grade == grade) for g in grouped]
                for grade in GRADES},
    )


def board_pack(rows: Iterable[BoardRow], first: date, now: datetime, previous: int = PREVIOUS) -> dict:
    """The pack for the six weeks from ``first`` and the ``previous`` periods before it, over ``rows``."""
    spans = periods(first, previous)
    grouped: list[list[BoardRow]] = [[] for _ in spans]
    for r in rows:
        day = london_date(r.facts.accepted)
        for i, p in enumerate(spans):
            if p.first <= day <= p.last:
                grouped[i].append(r)
    return assemble(spans, _counted(grouped, now))


def assemble(spans: Sequence[Period], counted: Counted) -> dict:
    """The pack from its counts: each figure with its trend and verdict, the tables, the summary."""
    figures = []
    for key, title, counted_words, better, _fn in SHARES:
        points = counted.shares[key]
        figures.append({"key": key, "title": title, "counted": counted_words, "better": better,
                        "points": [{"period": p.short, **s} for p, s in zip(spans, points, strict=True)],
                        "verdict": verdict(points[-2] if len(points) > 1 else None, points[-1], better)})
    columns = [p.short for p in spans]
    tables = {
        "demand_by_source": _table(spans, counted.by_source, lambda k: SOURCE_NAMES.get(k, k), 0),
        "missing_by_partner": _table(spans, counted.missing_by_partner, str, share(0, 0)),
        "late_by_partner": _table(spans, counted.late_by_partner, str, share(0, 0)),
        "checks_by_agency": {"columns": columns,
                             "rows": [{"name": a.capitalize(), "values": values}
                                      for a, values in sorted(counted.checks_by_agency.items())]},
        "grades": {"columns": columns,
                   "rows": [{"name": GRADE_WORDS[grade], "values": counted.grades[grade]} for grade in GRADES]},
    }
    demand = counted.demand
    return {"periods": [{"first": p.first, "last": p.last, "label": p.label, "short": p.short} for p in spans],
            "period": spans[-1].label, "demand": demand,
            "demand_verdict": _demand_words(demand), "figures": figures, "tables": tables,
            "summary": summary(figures, demand), "min_for_percent": MIN_FOR_PERCENT}


def verdict(before: dict | None, now: dict, better: str | None) -> dict:
    """How one figure moved from the period before: improved, declined, about the same, or too few to say."""
    if before is None:
        return {"word": "no earlier period", "kind": "none"}
    if before["of"] < MIN_FOR_PERCENT or now["of"] < MIN_FOR_PERCENT:
        return {"word": "too few to compare", "kind": "few"}
    change = 100 * now["count"] / now["of"] - 100 * before["count"] / before["of"]
    if abs(change) < CHANGE_POINTS:
        return {"word": "about the same", "kind": "same", "change": round(change, 1)}
    direction = "up" if change > 0 else "down"
    if better is None:
        return {"word": f"{direction} {abs(change):.0f} points", "kind": "moved", "change": round(change, 1)}
    good = direction == better
    return {"word": ("improved" if good else "worse") + f" ({direction} {abs(change):.0f} points)",
            "kind": "improved" if good else "worse", "change": round(change, 1)}


def _demand_words(demand: list[int]) -> str:
    if len(demand) < 2:
        return f"{demand[-1]} contacts"
    before, now = demand[-2], demand[-1]
    if before < MIN_FOR_PERCENT:
        return f"{now} contacts ({before} in the period before: too few for a percentage change)"
    change = 100 * (now - before) / before
    return (f"{now} contacts, {'up' if change > 0 else 'down'} {abs(change):.0f}% on the {before} in the period before"
            if abs(change) >= 1 else f"{now} contacts, about the same as the {before} in the period before")


def summary(figures: list[dict], demand: list[int]) -> list[str]:
    """The pack's plain-English summary, generated from the figures: what improved, what did not, what is too thin."""
    lines = [f"Demand: {_demand_words(demand)}."]
    improved = [f for f in figures if f["verdict"]["kind"] == "improved"]
    worse = [f for f in figures if f["verdict"]["kind"] == "worse"]
    same = [f for f in figures if f["verdict"]["kind"] == "same" and f["better"]]
    few = [f for f in figures if f["verdict"]["kind"] == "few"]

    def listed(group: list[dict]) -> str:
        return "; ".join(f"{f['title'].lower()} ({share_text(f['points'][-2])} before, {share_text(f['points'][-1])} now)"
                         for f in group)

    if improved:
        lines.append(f"Improved: {listed(improved)}.")
    if worse:
        lines.append(f"Did not improve (worse than the period before): {listed(worse)}.")
    if same:
        lines.append(f"About the same: {listed(same)}.")
    if few:
        lines.append("Too few to compare (fewer than 10 in one of the two periods): "
                     + "; ".join(f["title"].lower() for f in few) + ".")
    return lines


# ---------------------------------------------------------------------------------------------
# Charts (inline SVG beside each table) and the PDF
# ---------------------------------------------------------------------------------------------


def bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, float | None, str]]) -> str:
    """A small accessible SVG bar chart: (period, height from 0 to 1 or None for no bar, label) per bar.

    The bar's figure is written on it (colour is never the only signal) and the table beside it
    gives every figure; a share of fewer than 10 gets no bar, only its counts.
    """
    from html import escape

    width, height, top, bottom, left = 520, 170, 18, 34, 8
    slot = (width - left) / max(len(bars), 1)
    plot = height - top - bottom
    parts = [f'<svg class="app-board-chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'role="img" aria-labelledby="{chart_id}-title" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{chart_id}-title">{escape(title)} by period; the table gives the figures.</title>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#0b0c0c"/>']
    for i, (period, value, label) in enumerate(bars):
        x, w = left + i * slot + slot * 0.2, slot * 0.6
        h = plot * (value or 0)
        if value is not None:
            parts.append(f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{w:.1f}" height="{h:.1f}" '
                         'fill="#1d70b8"/>')
        parts.append(f'<text x="{x + w / 2:.1f}" y="{height - bottom - 4 - h:.1f}" text-anchor="middle" '
                     f'font-size="13" fill="#0b0c0c">{escape(label)}</text>')
        parts.append(f'<text x="{x + w / 2:.1f}" y="{height - 12}" text-anchor="middle" font-size="12" '
                     f'fill="#0b0c0c">{escape(period)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def share_chart(figure: dict) -> str:
    return bar_chart(f"chart-{figure['key']}", figure["title"],
                     [(p["period"], None if p["percent"] is None else p["percent"] / 100,
                       f"{p['percent']:g}%" if p["percent"] is not None else
                       (f"{p['count']} of {p['of']}" if p["of"] else "none")) for p in figure["points"]])


def demand_chart(pack: dict) -> str:
    top = max(pack["demand"]) or 1
    return bar_chart("chart-demand", "Contacts accepted",
                     [(p["short"], n / top, str(n)) for p, n in zip(pack["periods"], pack["demand"], strict=True)])


def pdf(html: str, base_url: str | None = None) -> bytes:
    """The pack's HTML as a PDF (WeasyPrint: HTML and CSS to PDF with Pango, no browser)."""
    from weasyprint import HTML

    return HTML(string=html, base_url=base_url).write_pdf()
