"""What if: replay a window of contacts through a draft of the threshold guidance (issue 16).

``replay`` takes the contacts the front door accepted in a window, each with the service's records
about its children *as they stood when it arrived* (earlier contacts, and the decisions and links
made before it, never after), and scores them again through a draft guidance and a model (the one
in use, or another), on the batch path (``engine.whatif.score_batch``). It compares the outcome
with what the service recommended at screening and with what people decided, and returns the
report: floors and recommendations changed, by level, by source and by partner; next steps and
how many more or fewer agency checks; referral rates; and the decided contacts a manager should
look at. It writes nothing: the caller records the run itself (``record_run``).

Plain functions taking their collaborators (the draft ``Guidance``, the model), so the command
line and the manager's page share them. Memory stays flat as the window grows: contacts are read
in chunks by the front door's clock, and only the moved contacts are kept.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from triage.engine.errors import Invalid, NotFound
from triage.engine.guidance import Guidance, GuidanceConfigError
from triage.engine.guidance_config import LEVELS
from triage.engine.guidance_version import guidance_from_text
from triage.engine.history import KnownHistory
from triage.engine.whatif import model_version, score_batch
from triage.extensions import db
from triage.record import audit
from triage.record.queries import ACCEPTED_ORDER, accepted_window
from triage.record.tables import (
    Child,
    ChildLink,
    ChildUnlink,
    Contact,
    Decision,
    GuidanceDraft,
    Organisation,
    Review,
    User,
    WhatIfRun,
    utcnow,
)
from triage.services.children import REFERRAL_LEVEL, TWELVE_MONTHS

log = logging.getLogger(__name__)

CHUNK = 1000
IN_BATCH = 900  # values per IN (...) list: under every database's parameter limit
NEXT_STEPS = ("refer", "checks", "decide")
MAX_WINDOW_DAYS = 400

Progress = Callable[[int, int], None]


# ---------------------------------------------------------------------------------------------
# Reading the window, and the records as they stood when each contact arrived
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """One contact of the window as the record holds it."""

    id: str
    accepted_at: datetime
    source_code: str
    organisation: str
    payload: dict
    floor: int | None  # the screening recommendation's floor (None: not scored)
    level: int | None
    next_step: str | None
    checks: int
    guidance_sha256: str | None
    model_version: str | None


def _screening(row: Any) -> dict | None:
    """The screening recommendation: kept aside once checks produced an after-checks one."""
    return row.screening_recommendation or row.recommendation


def window_rows(start: datetime, end: datetime, chunk: int = CHUNK) -> Iterator[list[Stored]]:
    """The window's contacts in chunks, oldest first by the front door's clock (keyset, no OFFSET)."""
    names = dict(db.session.execute(select(Organisation.id, Organisation.name)).all())
    after: tuple[datetime, str] | None = None
    while True:
        query = (select(Contact.id, Contact.accepted_at, Contact.source_code, Contact.organisation_id,
                        Contact.payload, Contact.recommendation, Contact.screening_recommendation)
                 .where(*accepted_window(start, end, after))
                 .order_by(*ACCEPTED_ORDER.order_by()).limit(chunk))
        rows = db.session.execute(query).all()
        if not rows:
            return
        out = []
        for r in rows:
            rec = _screening(r) or {}
            out.append(Stored(r.id, r.accepted_at, r.source_code, names.get(r.organisation_id, ""), r.payload,
                              (rec.get("floor") or {}).get("level") if rec else None, rec.get("level"),
                              rec.get("next_step"), len(rec.get("checks") or []), rec.get("guidance_sha256"),
                              rec.get("model_version")))
        after = (rows[-1].accepted_at, rows[-1].id)
        del rows  # hold one chunk at a time, not this one while the next is read
        yield out
        del out


def count_window(start: datetime, end: datetime) -> int:
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(Contact)
                             .where(*accepted_window(start, end))) or 0


def _batches(values: Iterable[Any]) -> Iterator[list[Any]]:
    items = list(values)
    for i in range(0, len(items), IN_BATCH):
        yield items[i:i + IN_BATCH]


@dataclass
class _Links:
    """Every link between child records, with when it was made and (if so) undone."""

    rows: list[tuple[str, str, datetime, datetime | None]] = field(default_factory=list)

    @property
    def linked(self) -> set[str]:
        """Every record some link (in force or undone) touches: the others need no search."""
        if not hasattr(self, "_linked"):
            self._linked = {end for a, b, _, _ in self.rows for end in (a, b)}
        return self._linked

    @classmethod
    def load(cls) -> _Links:
        rows = db.session.execute(select(ChildLink.child_id, ChildLink.linked_child_id, ChildLink.linked_at,
                                         ChildUnlink.unlinked_at)
                                  .outerjoin(ChildUnlink, ChildUnlink.link_id == ChildLink.id)).all()
        return cls([(a, b, at, undone) for a, b, at, undone in rows])

    def group(self, child_ids: Iterable[str], as_of: datetime) -> set[str]:
        """Records that were one child with these at ``as_of``: links made before it and not yet undone."""
        found = set(child_ids)
        if not self.rows or found.isdisjoint(self.linked):
            return found
        live = [(a, b) for a, b, at, undone in self.rows if at < as_of and (undone is None or undone >= as_of)]
        changed = True
        while changed:
            changed = False
            for a, b in live:
                if (a in found) != (b in found):
                    found |= {a, b}
                    changed = True
        return found


def histories_as_of(chunk: list[Stored], links: _Links) -> list[KnownHistory]:
    """Each contact's ``KnownHistory`` as the store held it when the contact arrived.

    The same counts as ``services.children.known_history`` (earlier contacts about any child in
    the group, the decided levels, referrals and MARAC in the 12 months before), but reading only
    decisions, reviews and links made before the contact's ``accepted_at``.
    """
    if not chunk:
        return []
    ids = [s.id for s in chunk]
    own: dict[str, list[str]] = defaultdict(list)
    for batch in _batches(ids):
        for contact_id, child_id in db.session.execute(select(Child.contact_id, Child.child_id)
                                                       .where(Child.contact_id.in_(batch))):
            own[contact_id].append(child_id)
    groups = {s.id: links.group(own.get(s.id, []), s.accepted_at) for s in chunk}
    latest = max(s.accepted_at for s in chunk)
    records = set().union(*groups.values())
    about: dict[str, list[tuple[str, datetime]]] = defaultdict(list)  # child record -> earlier contacts
    for batch in _batches(records):
        for child_id, contact_id, accepted in db.session.execute(
                select(Child.child_id, Contact.id, Contact.accepted_at).join(Contact, Contact.id == Child.contact_id)
                .where(Child.child_id.in_(batch), Contact.accepted_at < latest)):
            about[child_id].append((contact_id, accepted))
    earlier_ids = {cid for rows in about.values() for cid, _ in rows}
    decisions: dict[str, list[tuple[int, datetime, int, bool]]] = defaultdict(list)
    for batch in _batches(earlier_ids):
        for contact_id, did, decided_at, level, marac in db.session.execute(
                select(Decision.contact_id, Decision.id, Decision.decided_at, Decision.level, Decision.marac_referral)
                .where(Decision.contact_id.in_(batch), Decision.decided_at < latest)):
            decisions[contact_id].append((did, decided_at, level, bool(marac)))
    reviews: dict[int, list[tuple[int, datetime, int]]] = defaultdict(list)
    for batch in _batches({d[0] for rows in decisions.values() for d in rows}):
        for decision_id, rid, reviewed_at, level in db.session.execute(
                select(Review.decision_id, Review.id, Review.reviewed_at, Review.level)
                .where(Review.decision_id.in_(batch), Review.reviewed_at < latest)):
            reviews[decision_id].append((rid, reviewed_at, level))

    def outcome(contact_id: str, as_of: datetime) -> tuple[int | None, bool]:
        made = [d for d in decisions.get(contact_id, ()) if d[1] < as_of]
        if not made:
            return None, False
        did, _, level, marac = max(made)
        seen = [r for r in reviews.get(did, ()) if r[1] < as_of]
        return (max(seen)[2] if seen else level), marac

    out = []
    for s in chunk:
        earlier = {cid: at for child in groups[s.id] for cid, at in about.get(child, ())
                   if at < s.accepted_at and cid != s.id}
        levels, contacts_12m, referrals_12m, marac_12m = [], 0, 0, False
        for cid, at in earlier.items():
            level, marac = outcome(cid, s.accepted_at)
            if level is not None:
                levels.append(level)
            if s.accepted_at - at <= TWELVE_MONTHS:
                contacts_12m += 1
                referrals_12m += (level or 0) >= REFERRAL_LEVEL
                marac_12m = marac_12m or marac
        out.append(KnownHistory(earlier_contacts=len(earlier), contacts_12m=contacts_12m,
                                referrals_12m=referrals_12m, marac_12m=marac_12m,
                                highest_level=max(levels, default=None)))
    return out


def _decided_now(ids: list[str]) -> dict[str, int]:
    """What people decided, as the record stands: the latest decision's level, or its review's."""
    out: dict[str, int] = {}
    for batch in _batches(ids):
        latest_decision: dict[str, tuple[int, int]] = {}
        for contact_id, did, level in db.session.execute(select(Decision.contact_id, Decision.id, Decision.level)
                                                         .where(Decision.contact_id.in_(batch))):
            if contact_id not in latest_decision or did > latest_decision[contact_id][0]:
                latest_decision[contact_id] = (did, level)
        reviewed: dict[int, tuple[int, int]] = {}
        for decision_id, rid, level in db.session.execute(select(Review.decision_id, Review.id, Review.level)
                                                          .where(Review.contact_id.in_(batch))):
            if decision_id not in reviewed or rid > reviewed[decision_id][0]:
                reviewed[decision_id] = (rid, level)
        for contact_id, (did, level) in latest_decision.items():
            out[contact_id] = reviewed[did][1] if did in reviewed else level
    return out


# ---------------------------------------------------------------------------------------------
# The replay and its report
# ---------------------------------------------------------------------------------------------


def check_window(start: datetime, end: datetime) -> None:
    """A window the replay can take: a start before the end, at most ``MAX_WINDOW_DAYS`` long."""
    if start >= end:
        raise Invalid("The window must start before it ends.", errors={"to": ["Give an end after the start."]})
    if (end - start).days > MAX_WINDOW_DAYS:
        raise Invalid(f"The window can be at most {MAX_WINDOW_DAYS} days.",
                      errors={"from": [f"Choose a window of {MAX_WINDOW_DAYS} days or less."]})


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class _Tally:
    """Counts for one group of contacts (all, one source, one partner)."""

    contacts: int = 0
    scored: int = 0
    floors_changed: int = 0
    recommendations_changed: int = 0
    referrals_now: int = 0
    referrals_draft: int = 0

    def add(self, stored: Stored, floor: int, level: int) -> None:
        self.contacts += 1
        if stored.level is None:
            return
        self.scored += 1
        self.referrals_draft += level >= REFERRAL_LEVEL
        self.floors_changed += (stored.floor or 0) != floor
        self.recommendations_changed += stored.level != level
        self.referrals_now += stored.level >= REFERRAL_LEVEL

    def as_dict(self) -> dict:
        return {**vars(self), "referral_rate_now": _share(self.referrals_now, self.scored),
                "referral_rate_draft": _share(self.referrals_draft, self.scored)}


@dataclass
class _Report:
    in_force_sha256: str
    served_model: str
    total: _Tally = field(default_factory=_Tally)
    by_source: dict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    by_partner: dict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    floors_raised: int = 0
    floors_lowered: int = 0
    recs_raised: int = 0
    recs_lowered: int = 0
    floor_levels_now: Counter = field(default_factory=Counter)
    floor_levels_draft: Counter = field(default_factory=Counter)
    levels_now: Counter = field(default_factory=Counter)
    levels_draft: Counter = field(default_factory=Counter)
    steps_now: Counter = field(default_factory=Counter)
    steps_draft: Counter = field(default_factory=Counter)
    steps_changed: int = 0
    checks_now: int = 0
    checks_draft: int = 0
    decided: int = 0
    decided_referrals: int = 0
    decided_as_now: int = 0
    decided_as_draft: int = 0
    other_versions: int = 0
    below_new_floor: list[dict] = field(default_factory=list)
    draft_below_floor: list[dict] = field(default_factory=list)
    moved: list[dict] = field(default_factory=list)

    def add(self, s: Stored, floor: int, level: int, step: str, checks: int, decided: int | None) -> None:
        self.total.add(s, floor, level)
        self.by_source[s.source_code].add(s, floor, level)
        self.by_partner[s.organisation].add(s, floor, level)
        self.floor_levels_draft[floor] += 1
        self.levels_draft[level] += 1
        self.steps_draft[step] += 1
        self.checks_draft += checks
        flags = []
        if s.level is not None:
            before = s.floor or 0
            self.floor_levels_now[before] += 1
            self.levels_now[s.level] += 1
            self.steps_now[s.next_step or "not recorded"] += 1
            self.checks_now += s.checks
            self.floors_raised += floor > before
            self.floors_lowered += floor < before
            self.recs_raised += level > s.level
            self.recs_lowered += level < s.level
            self.steps_changed += (s.next_step or "") != step
            if s.guidance_sha256 != self.in_force_sha256 or s.model_version != self.served_model:
                self.other_versions += 1
        if decided is not None:
            self.decided += 1
            self.decided_referrals += decided >= REFERRAL_LEVEL
            self.decided_as_now += decided == s.level
            self.decided_as_draft += decided == level
            if decided < floor:
                flags.append("decision below the draft's floor")
                self.below_new_floor.append({"contact_id": s.id, "decided_level": decided, "draft_floor": floor})
            if s.floor is not None and level < s.floor:
                flags.append("draft recommends below the floor it had")
                self.draft_below_floor.append({"contact_id": s.id, "floor": s.floor, "draft_level": level})
        changed = s.level is not None and ((s.floor or 0) != floor or s.level != level or s.next_step != step
                                           or s.checks != checks)
        if changed or flags:
            self.moved.append({
                "contact_id": s.id, "accepted_at": s.accepted_at.isoformat(), "source_code": s.source_code,
                "organisation": s.organisation, "floor_now": s.floor or 0, "floor_draft": floor,
                "level_now": s.level, "level_draft": level, "next_step_now": s.next_step, "next_step_draft": step,
                "checks_now": s.checks if s.level is not None else None, "checks_draft": checks,
                "decided_level": decided, "flags": flags})

    def as_dict(self) -> dict:
        t = self.total
        return {
            "contacts": t.contacts, "scored": t.scored, "not_scored": t.contacts - t.scored,
            "scored_under_other_versions": self.other_versions,
            "floors": {"changed": t.floors_changed, "raised": self.floors_raised, "lowered": self.floors_lowered,
                       "by_level": {str(k): {"now": self.floor_levels_now[k], "draft": self.floor_levels_draft[k]}
                                    for k in (0, *LEVELS)}},
            "recommendations": {"changed": t.recommendations_changed, "raised": self.recs_raised,
                                "lowered": self.recs_lowered,
                                "by_level": {str(k): {"now": self.levels_now[k], "draft": self.levels_draft[k]}
                                             for k in LEVELS}},
            "next_steps": {"changed": self.steps_changed,
                           "now": {k: self.steps_now[k] for k in NEXT_STEPS},
                           "draft": {k: self.steps_draft[k] for k in NEXT_STEPS}},
            "checks": {"now": self.checks_now, "draft": self.checks_draft,
                       "difference": self.checks_draft - self.checks_now},
            "referral_rate": {"now": _share(t.referrals_now, t.scored), "draft": _share(t.referrals_draft, t.scored),
                              "decided": _share(self.decided_referrals, self.decided),
                              "referrals_now": t.referrals_now, "referrals_draft": t.referrals_draft,
                              "decided_referrals": self.decided_referrals},
            "decided": {"contacts": self.decided, "as_recommended_now": self.decided_as_now,
                        "as_draft_recommends": self.decided_as_draft},
            "by_source": {k: v.as_dict() for k, v in sorted(self.by_source.items())},
            "by_partner": {k: v.as_dict() for k, v in sorted(self.by_partner.items())},
            "below_new_floor": self.below_new_floor,
            "draft_below_floor": self.draft_below_floor,
            "moved": self.moved,
        }


def replay(draft: Guidance, model: Any, *, start: datetime, end: datetime, in_force: Guidance,
           served_model: str, progress: Progress | None = None, chunk: int = CHUNK) -> dict:
    """Replay the contacts accepted in [start, end) through ``draft`` and ``model``; write nothing.

    ``in_force`` and ``served_model`` name what the service uses now, so the report can say how
    many of the window's contacts were scored under something else (their "now" figures are what
    the service recommended then, which the draft is compared with).
    """
    check_window(start, end)
    total = count_window(start, end)
    report = _Report(in_force.config.sha256, served_model)
    links = _Links.load()
    done = 0
    if progress:
        progress(0, total)
    for rows in window_rows(start, end, chunk):
        histories = histories_as_of(rows, links)
        floors = [draft.floor_level(s.payload, history=h) for s, h in zip(rows, histories, strict=True)]
        outcomes = score_batch(model, [s.payload for s in rows], floors, histories)
        decided = _decided_now([s.id for s in rows])
        for s, floor, o in zip(rows, floors, outcomes, strict=True):
            report.add(s, floor, o.level, o.next_step, o.checks, decided.get(s.id))
        done += len(rows)
        db.session.expunge_all()  # read-only: nothing to keep between chunks,
        db.session.rollback()  # and no read transaction held open (SQLite's writers wait for it)
        if progress:
            progress(done, total)
        del rows, histories, floors, outcomes, decided  # one chunk in memory at a time
    out = report.as_dict()
    out.update(window={"from": start.isoformat(), "to": end.isoformat()},
               guidance={"label": draft.config.label, "sha256": draft.config.sha256},
               in_force={"label": in_force.config.label, "sha256": in_force.config.sha256},
               model=model_version(model), served_model=served_model)
    return out


def record_run(report: dict, *, user: User | None, run_by: str, filename: str, via: str) -> None:
    """The run itself, as one event in the record: who, which file (label and SHA-256), which window."""
    audit.record("what_if_run", user=user, data={
        "run_by": run_by, "via": via, "file": filename, "guidance_version": report["guidance"]["label"],
        "guidance_sha256": report["guidance"]["sha256"], "from": report["window"]["from"],
        "to": report["window"]["to"], "model_version": report["model"], "contacts": report["contacts"]})


# ---------------------------------------------------------------------------------------------
# The manager's page: drafts kept with their hash, runs with their progress and report
# ---------------------------------------------------------------------------------------------

MAX_DRAFT_BYTES = 256 * 1024


def keep_draft(data: bytes, filename: str, user: User) -> GuidanceDraft:
    """Check an uploaded draft exactly as at start-up, and keep it (text, SHA-256) with who uploaded it.

    A draft that fails the checks is refused with the same one-line message start-up gives.
    """
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "draft.yaml"
    if not data:
        raise Invalid("Choose a draft of the threshold guidance to upload.",
                      errors={"draft": ["Choose a draft of the threshold guidance (a .yaml file)."]})
    if len(data) > MAX_DRAFT_BYTES:
        raise Invalid("The draft is too large.", errors={"draft": [
            f"The draft must be smaller than {MAX_DRAFT_BYTES // 1024} KB."]})
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("The draft is not a text file.", errors={"draft": [
            "The draft must be a text file (UTF-8), like config/thresholds.yaml."]}) from None
    try:
        config = guidance_from_text(text, name).config
    except GuidanceConfigError as exc:
        raise Invalid("The draft does not pass the checks the service makes at start-up.",
                      errors={"draft": [str(exc)]}) from None
    draft = GuidanceDraft(label=config.label, sha256=config.sha256, text=text, filename=name,
                          uploaded_by_id=user.id, uploaded_at=utcnow())
    db.session.add(draft)
    db.session.flush()
    audit.record("guidance_draft_kept", user=user, data={"draft_id": draft.id, "file": name, "label": config.label,
                                                         "sha256": config.sha256})
    return draft


def create_run(draft: GuidanceDraft, user: User, *, start: datetime, end: datetime,
               model_version: str | None) -> WhatIfRun:
    """A queued run of ``draft`` over [start, end); ``execute_run`` does the work."""
    check_window(start, end)
    run = WhatIfRun(draft_id=draft.id, model_version=model_version, window_from=start, window_to=end,
                    requested_by_id=user.id, requested_at=utcnow(), status="queued", done=0,
                    total=count_window(start, end))
    db.session.add(run)
    db.session.flush()
    return run


def get_run(run_id: int) -> WhatIfRun:
    run = db.session.get(WhatIfRun, run_id)
    if run is None:
        raise NotFound("There is no what-if run with that number.")
    return run


def recent_runs(limit: int = 20) -> list[WhatIfRun]:
    return list(db.session.scalars(select(WhatIfRun).order_by(WhatIfRun.id.desc()).limit(limit)))


def _set(run_id: int, **values: Any) -> None:
    db.session.execute(update(WhatIfRun).where(WhatIfRun.id == run_id).values(**values))
    db.session.commit()


def execute_run(run_id: int, *, model: Any, in_force: Guidance, served_model: str) -> None:
    """Do a queued run (in a background job): progress after each chunk, then the report and its event.

    ``model`` is the one to replay with (the service's, or the version the run names, loaded by the
    caller). A failure is kept on the run, in words, and logged; nothing else is written.
    """
    run = get_run(run_id)
    draft = db.session.get(GuidanceDraft, run.draft_id)
    start, end, filename, user_id = run.window_from, run.window_to, draft.filename, run.requested_by_id
    guidance = guidance_from_text(draft.text, draft.filename, expected_sha256=draft.sha256)
    _set(run_id, status="running")
    try:
        report = replay(guidance, model, start=start, end=end, in_force=in_force, served_model=served_model,
                        progress=lambda done, total: _set(run_id, done=done, total=total))
    except Exception as exc:  # noqa: BLE001 - the page must say the run stopped, whatever stopped it
        db.session.rollback()
        log.exception("what-if run %s failed", run_id)
        _set(run_id, status="failed", finished_at=utcnow(),
             error=f"The replay stopped before it finished ({type(exc).__name__}). Nothing was changed.")
        return
    user = db.session.get(User, user_id)  # the replay let go of everything it had read
    record_run(report, user=user, run_by=user.label, filename=filename, via="page")
    db.session.execute(update(WhatIfRun).where(WhatIfRun.id == run_id).values(
        status="done", finished_at=utcnow(), report=report, done=report["contacts"], total=report["contacts"]))
    db.session.commit()
