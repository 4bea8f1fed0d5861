"""The dashboard as it was computed before issue 19 item 2: plain Python over one ``ContactFacts`` per contact.

Kept in the tests only, as the reference the SQL dashboard (``triage/reporting/dashboard.py``) must
equal on a varied store; nothing in the service uses it. One change from the original: the lists of
departures and of managers' changes are the most recent ``LISTED`` (newest first), as the service's are.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from triage.engine.contract import rfc3339
from triage.engine.guidance_config import LEVELS, REFERRAL_LEVEL
from triage.engine.workdays import london_date
from triage.reporting.dashboard import DASH_BANDS, LISTED, week_start
from triage.reporting.reports import ContactFacts, _share
from triage.services.timeliness import REVIEW_WORKING_DAYS, measure


def _newest(rows: Sequence[ContactFacts]) -> list[ContactFacts]:
    """Rows come oldest first (``load_facts``'s order); the lists show the newest ``LISTED``."""
    return list(reversed(rows))[:LISTED]
def _per_day(rows: Sequence[ContactFacts], first: date, last: date) -> dict:
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for row in rows:
        counts[london_date(row.accepted)][row.source_code] += 1
    totals = Counter(r.source_code for r in rows)
    sources = sorted(totals, key=lambda code: (-totals[code], code))
    days = []
    day = first
    while day <= last:
        days.append({"date": day.isoformat(), "total": sum(counts[day].values()),
                     "by_source": {code: counts[day][code] for code in sources}})
        day += timedelta(days=1)
    return {"sources": sources, "days": days}


def _conversion(rows: Sequence[ContactFacts]) -> dict:
    decided = [r for r in rows if r.confirmed_level is not None]
    by_source: dict[str, list[ContactFacts]] = defaultdict(list)
    for row in decided:
        by_source[row.source_code].append(row)

    def figures(group: Sequence[ContactFacts]) -> dict:
        referrals = sum(1 for r in group if r.is_referral)
        return {"decided": len(group), "referrals": referrals, "share": _share(referrals, len(group))}

    return {**figures(decided), "by_source": {code: figures(g) for code, g in sorted(by_source.items())}}


def _timeliness(rows: Sequence[ContactFacts], now: datetime) -> dict:
    """First decision against the contact's deadline; its review against one working day after it."""
    decided = on_time = reviewed = reviewed_on_time = overdue_decisions = overdue_reviews = 0
    hours: list[float] = []
    for row in rows:
        m = measure(row.accepted, row.decision_due_at, row.first_decided_at, row.first_reviewed_at)
        if row.first_decided_at is None:
            overdue_decisions += bool(row.decision_due_at and row.decision_due_at < now)
            continue
        decided += 1
        on_time += bool(m.decided_on_time)
        hours.append(m.hours_to_decision or 0.0)
        if row.first_reviewed_at is None:
            overdue_reviews += m.review_due_at < now
            continue
        reviewed += 1
        reviewed_on_time += bool(m.reviewed_on_time)
    hours.sort()
    return {
        "decisions": {"made": decided, "within_deadline": on_time, "share": _share(on_time, decided),
                      "undecided_past_deadline": overdue_decisions,
                      "median_working_hours": hours[len(hours) // 2] if hours else None},
        "reviews": {"made": reviewed, "within_deadline": reviewed_on_time,
                    "share": _share(reviewed_on_time, reviewed), "unreviewed_past_deadline": overdue_reviews,
                    "deadline_working_days": REVIEW_WORKING_DAYS},
    }


def _departures(rows: Sequence[ContactFacts]) -> dict:
    """Workers' decisions that differ from the recommendation, and managers' changes, with reasons."""
    with_rec = [r for r in rows if r.decision and r.decision.recommended_level is not None]
    departed = [r for r in with_rec if r.decision.level != r.decision.recommended_level]
    changed = [r for r in rows if r.review and r.review.outcome == "changed"]
    reviewed = [r for r in rows if r.review]
    return {
        "decisions": len(with_rec),
        "departures": len(departed),
        "share": _share(len(departed), len(with_rec)),
        "higher": sum(1 for r in departed if r.decision.level > r.decision.recommended_level),
        "lower": sum(1 for r in departed if r.decision.level < r.decision.recommended_level),
        "listed": LISTED,
        "items": [{"contact_id": r.id, "received_at": rfc3339(r.received_at), "accepted_at": rfc3339(r.accepted),
                   "recommended_level": r.decision.recommended_level, "decided_level": r.decision.level,
                   "reason": r.decision.override_reason, "decided_by": r.decision.decided_by}
                  for r in _newest(departed)],
        "reviews": len(reviewed),
        "changed_by_managers": len(changed),
        "changed_share": _share(len(changed), len(reviewed)),
        "changes": [{"contact_id": r.id, "received_at": rfc3339(r.received_at), "accepted_at": rfc3339(r.accepted),
                     "decided_level": r.decision.level if r.decision else None, "confirmed_level": r.review.level,
                     "reason": r.review.rationale, "reviewed_by": r.review.reviewed_by}
                    for r in _newest(changed)],
    }


def _agreement(rows: Sequence[ContactFacts]) -> dict:
    """How often the recommendation equalled the confirmed level, by week received and by model."""
    scored = [r for r in rows if r.confirmed_level is not None and r.recommended_level is not None]
    weeks: dict[date, list[ContactFacts]] = defaultdict(list)
    models: dict[str, list[ContactFacts]] = defaultdict(list)
    for row in scored:
        weeks[week_start(london_date(row.accepted))].append(row)
        models[row.model_version or "unknown"].append(row)

    def figures(group: Sequence[ContactFacts]) -> dict:
        agree = sum(1 for r in group if r.recommended_level == r.confirmed_level)
        return {"confirmed": len(group), "agreed": agree, "share": _share(agree, len(group))}

    return {**figures(scored),
            "by_week": [{"week_starting": w.isoformat(), **figures(g)} for w, g in sorted(weeks.items())],
            "by_model": {version: figures(g) for version, g in sorted(models.items())}}


def _marac(rows: Sequence[ContactFacts]) -> dict:
    criteria: Counter[str] = Counter()
    for row in rows:
        criteria.update(row.marac_criteria)
    return {"recommended": sum(1 for r in rows if r.marac_recommended),
            "referred": sum(1 for r in rows if r.decision and r.decision.marac_referral),
            "criteria": dict(sorted(criteria.items()))}


def _dash_bands(rows: Sequence[ContactFacts]) -> dict:
    da = [r for r in rows if r.is_domestic_abuse]
    bands = Counter(r.dash_risk or "none" for r in da)
    return {"domestic_abuse_contacts": len(da),
            "bands": {band: {"contacts": bands[band], "share": _share(bands[band], len(da))} for band in DASH_BANDS}}


def dashboard(facts: Iterable[ContactFacts], *, first: date, last: date, now: datetime,
              levels: dict[int, dict]) -> dict:
    """The manager's figures for contacts received from ``first`` to ``last`` (London days, inclusive)."""
    rows = list(facts)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "level_names": {str(n): levels[n]["name"] for n in LEVELS},
        "referral_level": REFERRAL_LEVEL,
        "contacts": len(rows),
        "per_day": _per_day(rows, first, last),
        "conversion": _conversion(rows),
        "timeliness": _timeliness(rows, now),
        "departures": _departures(rows),
        "agreement": _agreement(rows),
        "marac": _marac(rows),
        "dash": _dash_bands(rows),
    }
