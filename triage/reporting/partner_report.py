"""A partner's monthly report computed where the data is (issue 19 item 2).

Why: the report used to read every contact of the organisation's six months, and every
partner's month, into Python rows and count them there; at a large council's volume that is
seconds of work for a page. Here the counts are SQL aggregates: one grouped query for the
organisation's six months (one group per London month), one for every partner's month, and
only two narrow things read per contact, for the one organisation-month the figures show in
full: its two timestamps (whether the partner sent it late is working-day arithmetic with bank
holidays, kept in ``timeliness.notification_delay``, the one definition) and its list of
information gaps (the top gaps are named by ``words.gap_pattern``).

``reports.partner_report`` stays the definition over ``ContactFacts``: the tests check that this
module gives exactly its figures, JSON and CSV, on a varied store on both databases.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

from sqlalchemy import Text, and_, case, cast, func, select
from sqlalchemy.sql.elements import ColumnElement

from triage.engine.contract import CONSENT
from triage.engine.guidance_config import LEVELS, REFERRAL_LEVEL
from triage.engine.words import gap_label, gap_pattern
from triage.engine.workdays import london_midnight
from triage.extensions import db
from triage.record.tables import Contact, Organisation, Review
from triage.record.workflow import Status
from triage.reporting.checks_report import checks_figures
from triage.reporting.reports import TOP_GAPS, TREND_MONTHS, _share, add_months
from triage.services.timeliness import notification_delay

_DASH_ANSWERS = ("domestic_abuse", "dash", "answers")


def _postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def _json_at(column, path: Sequence[str]) -> ColumnElement:
    """PostgreSQL's JSON value at ``path`` (``#>``), as a JSON value, not text."""
    return column[tuple(path)] if len(path) > 1 else column[path[0]]


def _json_type(column, path: Sequence[str]) -> ColumnElement:
    """The JSON type name (``array``, ``object``...) at ``path``, the same words on both databases."""
    if _postgresql():
        return func.json_typeof(_json_at(column, path))
    return func.json_type(column, "$." + ".".join(path))


def _json_not_empty(column, path: Sequence[str]) -> ColumnElement:
    """The object or array at ``path`` has something in it (Python's ``bool`` of what the row held)."""
    if _postgresql():  # json keeps the sender's spacing: compare without it
        empty = func.regexp_replace(cast(_json_at(column, path), Text), r"\s", "", "g").in_(("{}", "[]"))
    else:  # SQLite's JSON functions write minified JSON: an empty one is exactly {} or []
        empty = func.json_extract(column, "$." + ".".join(path)).in_(("{}", "[]"))
    return and_(_json_type(column, path).in_(("object", "array")), ~empty)


def _gaps_kind() -> ColumnElement:
    """None: no list of gaps (not assessed); 0: an empty list; 1: some gaps (``contacts.gap_count``)."""
    return case((Contact.gap_count.is_(None), None), (Contact.gap_count == 0, 0), else_=1)


def _confirmed_level() -> ColumnElement:
    """The level of the review of the contact's latest decision, if there is one: a probe of ``reviews`` by id.

    Not a join: joined, PostgreSQL hashed the window's contacts, each carrying its payload for the
    consent and DASH columns, to match them against every review. Six months of one partner after
    a busy day (11,458 contacts, estimated at 5,720 from statistics taken before that day) outgrew
    ``work_mem``, and the hash split into 1,024 batches on disk: 1.78 s for the six months'
    counts, against 0.11 s a month earlier (200,000 contacts, ``EXPLAIN ANALYZE``).
    """
    return (select(Review.level).where(Review.id == Contact.latest_review_id,
                                       Review.decision_id == Contact.latest_decision_id)
            .correlate(Contact).scalar_subquery())


def _kinds() -> list[ColumnElement]:
    """What tells one contact from another in ``reports.month_figures``, one column each (grouped by).

    The confirmed level (None until a manager reviewed the latest decision), the consent answer,
    the gaps (None: not assessed, 0: none missing, 1: some), domestic abuse, and a DASH with answers.
    Grouping by these reads each contact's JSON once; the figures are sums over the groups.
    """
    confirmed = case((Contact.status == Status.DECIDED, _confirmed_level()))
    gaps = _gaps_kind()
    domestic_abuse = Contact.primary_concern == "domestic_abuse"
    return [confirmed, Contact.payload["consent"].as_string(), gaps, case((domestic_abuse, 1), else_=0),
            case((and_(domestic_abuse, _json_not_empty(Contact.payload, _DASH_ANSWERS)), 1), else_=0)]


def _figures(groups: Sequence[Sequence], late: int = 0, common_gaps: list[dict] | None = None) -> dict:
    """``reports.month_figures`` from the groups of one set of contacts: (``_kinds``..., how many)."""
    levels: Counter = Counter()
    consent: Counter = Counter()
    contacts = decided = referrals = assessed = no_gaps = domestic_abuse = completed = 0
    for confirmed, consent_given, gaps, is_da, dash_done, n in groups:
        contacts += n
        consent[consent_given] += n
        if confirmed is not None:
            decided += n
            levels[confirmed] += n
            referrals += n if confirmed >= REFERRAL_LEVEL else 0
        if gaps is not None:
            assessed += n
            no_gaps += n if gaps == 0 else 0
        domestic_abuse += n if is_da else 0
        completed += n if dash_done else 0
    sought = consent["obtained"] + consent["refused"]
    return {
        "contacts": contacts,
        "late_notifications": late,
        "decided": decided,
        "awaiting_outcome": contacts - decided,
        "levels": {str(n): {"contacts": levels[n], "share": _share(levels[n], decided)} for n in LEVELS},
        "referrals": referrals,
        "referral_share": _share(referrals, decided),
        "information": {"assessed": assessed, "no_gaps": no_gaps, "no_gaps_share": _share(no_gaps, assessed),
                        "common_gaps": common_gaps or []},
        "consent": {"counts": {value: consent[value] for value in CONSENT}, "sought": sought,
                    "sought_share": _share(sought, contacts)},
        "dash": {"domestic_abuse_contacts": domestic_abuse, "completed": completed,
                 "completed_share": _share(completed, domestic_abuse)},
    }


def _short(figures: dict) -> dict:
    """The figures a trend point and the all-partners comparison show."""
    return {"contacts": figures["contacts"], "decided": figures["decided"],
            "referral_share": figures["referral_share"],
            "no_gaps_share": figures["information"]["no_gaps_share"],
            "consent_sought_share": figures["consent"]["sought_share"],
            "dash_completed_share": figures["dash"]["completed_share"]}


def _aggregate(where: list, bucket: ColumnElement | None = None) -> dict[int, list[tuple]]:
    """The groups (``_kinds`` and a count) of the contacts ``where`` says, by ``bucket`` (0 when none)."""
    keys = [*([bucket] if bucket is not None else []), *_kinds()]
    query = select(*keys, func.count(Contact.id)).select_from(Contact).where(*where).group_by(*keys)
    out: dict[int, list[tuple]] = {}
    for row in db.session.execute(query):
        key, rest = (int(row[0]), tuple(row[1:])) if bucket is not None else (0, tuple(row))
        out.setdefault(key, []).append(rest)
    return out


def _month_details(where: list) -> tuple[int, list[dict]]:
    """Late notifications and the top gaps for one organisation-month: two timestamps and the gaps per contact."""
    late, counts, assessed = 0, Counter(), 0
    rows = db.session.execute(select(Contact.received_at, Contact.accepted_at,
                                     Contact.recommendation["information_gaps"]).where(*where))
    for received, accepted, gaps in rows:
        late += notification_delay(received, accepted) is not None
        if gaps is not None:
            assessed += 1
            counts.update({gap_pattern(g["field"]) for g in gaps})
    top = [{"field": pattern, "label": gap_label(pattern), "contacts": n, "share": _share(n, assessed)}
           for pattern, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_GAPS]]
    return late, top


def partners_in(month: date) -> list[tuple[int, str, int]]:
    """Every organisation that has ever sent a contact, by name, with how many it sent in ``month``
    (London), the month its report opens at: ``(id, name, contacts)``.

    Counted per organisation over the month (``ix_contacts_org_accepted``); whether it ever sent
    one is a probe of its index. Counting every contact ever sent, as this list did, cost the size
    of the store on every list of partners.
    """
    start, end = london_midnight(month), london_midnight(add_months(month, 1))
    in_month = (select(func.count()).where(Contact.organisation_id == Organisation.id, Contact.accepted_at >= start,
                                           Contact.accepted_at < end).correlate(Organisation).scalar_subquery())
    sent = select(Contact.id).where(Contact.organisation_id == Organisation.id).correlate(Organisation).exists()
    return [tuple(row) for row in db.session.execute(
        select(Organisation.id, Organisation.name, in_month).where(sent).order_by(Organisation.name))]


def organisation_report(organisation: Organisation, month: date, team: str | None,
                        levels: dict[int, dict]) -> dict:
    """``reports.partner_report`` for one organisation's month, counted by the database.

    Same JSON as ``reports.partner_report`` over every contact of the six months, plus the
    checks figures (issue 13 item 7).
    """
    months = [add_months(month, -i) for i in range(TREND_MONTHS - 1, -1, -1)]
    bounds = [london_midnight(m) for m in (*months, add_months(month, 1))]
    start, end = bounds[0], bounds[-1]
    month_start = bounds[-2]
    ours = [Contact.organisation_id == organisation.id]
    teams = db.session.scalars(select(Contact.source_team).where(*ours, Contact.accepted_at >= start,
                                                                 Contact.accepted_at < end,
                                                                 Contact.source_team.is_not(None)).distinct()).all()
    if team is not None:
        ours.append(Contact.source_team == team)
    # The London month each contact's clock started in: the latest month boundary at or before it.
    bucket = case(*((Contact.accepted_at >= bounds[i], i) for i in range(len(months) - 1, 0, -1)), else_=0)
    by_month = _aggregate([*ours, Contact.accepted_at >= start, Contact.accepted_at < end], bucket)
    late, top = _month_details([*ours, Contact.accepted_at >= month_start, Contact.accepted_at < end])
    everyone = _aggregate([Contact.accepted_at >= month_start, Contact.accepted_at < end]).get(0, [])
    report = {
        "organisation": {"id": organisation.id, "name": organisation.name},
        "team": team,
        "teams": sorted(t for t in teams if t),
        "month": month.strftime("%Y-%m"),
        "level_names": {str(n): levels[n]["name"] for n in LEVELS},
        "referral_level": REFERRAL_LEVEL,
        "figures": _figures(by_month.get(len(months) - 1, []), late, top),
        "all_partners": _short(_figures(everyone)),
        "trend": [{"month": m.strftime("%Y-%m"), **_short(_figures(by_month.get(i, [])))}
                  for i, m in enumerate(months)],
    }
    report["checks"] = checks_figures(month_start, end, organisation_id=organisation.id)  # issue 13 item 7
    return report

