"""A store of a given size, loaded through the service's own code (``flask triage seed-volume``).

For measuring the service at a large council's volume (issue 19): the training generator's
contacts, spread evenly over the years before now (about 40,000 a year), most of their children
carrying an NHS number (so a family met again is known to the front door, as at a real one), each
validated by the contract schema and scored by the recommender on the history the store holds,
then most of the older ones decided, reviewed and fed back exactly as the demo does
(``demo_outcomes.plan_for``), and finally a checkpoint taken and the whole record verified.

Fast because it is a batch loader, not because it takes shortcuts: every row and event is the
one intake (``intake.submit``), ``decisions`` and ``feedback`` would make for the same contact,
built by their own functions (``intake._new_contact``/``intake_events``, ``new_decision``,
``new_review``, ``new_release`` and the ``*_event`` data, ``audit.event_values``), but a thousand
contacts go in one transaction, as a few multi-row INSERTs per table, with each contact's chain
computed in memory (``audit.append_new_streams``). What intake reads back from the store (the
children's earlier contacts and their outcomes, the identifier hashes already known) the loader
keeps in memory instead, and feeds to the same rules (``children.history_from``,
``identity.known_record``). It loads an empty store only, alone: it numbers the rows it adds.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from sqlalchemy import event, func, insert, select, text

from triage.engine.contract import validate_contact
from triage.engine.recommend import Recommender
from triage.extensions import db
from triage.record import audit, workflow
from triage.record.inserts import prepare_contact, row_values
from triage.record.tables import (
    Child,
    ChildIdentifier,
    ChildRecord,
    Contact,
    Decision,
    FeedbackRelease,
    Organisation,
    Review,
    User,
    new_id,
    utcnow,
)
from triage.services import children as child_records
from triage.services import decisions, feedback, guidance_versions, identity, intake
from triage.services.demo import _sender, ensure_people, narrative
from triage.services.demo_outcomes import decision_terms, plan_for, review_terms

PER_YEAR = 40_000
BATCH = 1000
#: One contact in this many gives no NHS number for its children (a stranger to the store each time).
NO_IDENTIFIER_EVERY = 6
#: The tables whose integer ids the loader assigns itself (PostgreSQL's sequences moved past them).
NUMBERED = (Child, ChildIdentifier, Decision, Review, FeedbackRelease)


def _bulk_load_settings() -> None:
    """Settings for this one loading process only (never the service's): on SQLite, no fsync per
    commit (a crash mid-load loses the load, which is thrown away anyway); and, on both databases,
    objects not reloaded after each commit (one process loads alone, so nothing changes under it).
    """
    session = db.session()
    session.expire_on_commit = False
    if db.engine.dialect.name == "sqlite":
        session.close()
        event.listen(db.engine, "connect", lambda connection, _record: connection.execute("PRAGMA synchronous=OFF"))
        db.engine.dispose()  # this process's next connection gets the setting


def nhs_number(serial: int) -> str:
    """The ``serial``-th valid NHS number in the 999 range the NHS sets aside for testing (never a real person's).

    The check digit is computed (modulus 11, weights 10 to 2), not searched for: a stem whose
    check would be 10 has no valid number and is skipped; stdnum confirms the number found.
    """
    from stdnum.gb import nhs

    stem = 999_000_000 + serial * 10 // 9  # about one stem in eleven has no check digit: room for them
    while stem < 1_000_000_000:
        digits = str(stem)
        check = -sum(weight * int(d) for weight, d in zip(range(10, 1, -1), digits, strict=True)) % 11
        if check < 10:
            return nhs.validate(f"{digits}{check}")
        stem += 1
    raise ValueError("no test NHS numbers left: load fewer contacts")


def contacts(count: int, *, now: datetime, seed: int = 19) -> Iterator[tuple[int, dict, datetime]]:
    """The generator's ``count`` contacts as partners would send them: (number, contact, received time).

    Spread evenly over the years before ``now``; each child of a household keeps one NHS number
    across its contacts, except on every ``NO_IDENTIFIER_EVERY``-th contact, which gives none.
    """
    from training.generate import generate

    rng = random.Random(seed)
    span = timedelta(days=365.25 * max(count / PER_YEAR, 1 / 12))
    start = now - span - timedelta(days=1)
    numbers: dict[str, str] = {}  # child_reference -> its NHS number (each found once: the search is slow)
    for i, record in enumerate(generate(count, seed=seed)):
        contact = record["contact"]
        received = (start + span * (i + 0.5) / count).replace(microsecond=0)  # as received_at says it
        contact["received_at"] = received.isoformat(timespec="seconds")
        if "incident_at" in contact:
            contact["incident_at"] = (received - timedelta(hours=rng.uniform(2, 14))).isoformat(timespec="seconds")
        contact["partner_reference"] = f"VOL-{i + 1:07d}"
        contact["narrative"] = narrative(contact, rng)
        if i % NO_IDENTIFIER_EVERY != NO_IDENTIFIER_EVERY - 1:
            for child in contact["children"]:
                reference = child["child_reference"]
                if reference not in numbers:
                    numbers[reference] = nhs_number(len(numbers))
                child["identifiers"] = {"nhs_number": numbers[reference]}
        yield i, contact, received


def _keep_latest(row: Contact, made) -> None:
    """What ``decisions.keep_latest`` writes for a new decision or review, on the row before it is inserted."""
    for name, value in decisions.latest_facts(row, made).items():
        setattr(row, name, value)


class _Loader:
    """The store's state the loader needs, kept in memory: it loads alone into an empty store."""

    def __init__(self, recommender: Recommender, people: dict[str, User], now: datetime):
        self.recommender, self.people, self.now = recommender, people, now
        self.practitioners = [u for u in people.values() if u.role == "practitioner"]
        self.managers = [u for u in people.values() if u.role == "manager"]
        self.by_digest: dict[str, str] = {}  # identifier hash -> child_id (identity.record_for's table)
        self.seen: dict[str, list[child_records.Seen]] = {}  # child_id -> its contacts so far
        self.organisations: dict[tuple[str, int], Organisation] = {}
        self.next_id = {model: (db.session.scalar(select(func.max(model.id))) or 0) + 1 for model in NUMBERED}
        self.served = False

    def _id(self, model) -> int:
        number = self.next_id[model]
        self.next_id[model] = number + 1
        return number

    def _organisation(self, contact: dict, user: User) -> Organisation:
        key = (contact["source"]["organisation"], user.id)
        if key not in self.organisations:
            self.organisations[key] = intake.sender_organisation(contact, user)
        return self.organisations[key]

    def _child_ids(self, contact: dict, rows: dict[str, list]) -> list[str]:
        """``identity.record_for`` for each child, against the hashes this load has stored."""
        ids = []
        for child in contact["children"]:
            digests = identity.child_digests(child)
            child_id = identity.known_record(digests, self.by_digest)
            if child_id is None:
                child_id = new_id()
                rows[ChildRecord.__tablename__].append({"id": child_id, "created_at": utcnow()})
            for digest in digests:
                if digest not in self.by_digest:
                    self.by_digest[digest] = child_id
                    rows[ChildIdentifier.__tablename__].append({"id": self._id(ChildIdentifier), "digest": digest,
                                                                "child_id": child_id, "created_at": utcnow()})
            ids.append(child_id)
        return ids

    def _history(self, child_ids: list[str], before: datetime):
        """``children.known_history`` from memory: each earlier contact about these children once."""
        earlier = {id(s): s for child_id in child_ids for s in self.seen.get(child_id, ()) if s.accepted_at < before}
        return child_records.history_from(list(earlier.values()), before)

    def store(self, batch: list[Ready]) -> int:
        """Store one batch of schema-valid contacts and their outcomes, in one transaction; returns events."""
        tables = (ChildRecord, ChildIdentifier, Contact, Child, Decision, Review, FeedbackRelease)
        rows: dict[str, list] = {model.__tablename__: [] for model in tables}
        streams: list[tuple[str, list]] = []
        guidance = self.recommender.guidance
        for i, contact, now, scored in batch:
            # intake.submit, step by step (the store's reads answered from memory)
            received_at = intake.received_time(contact, now)
            identity.check_identifiers(contact)
            user = _sender(contact, self.people)
            org = self._organisation(contact, user)
            child_ids = self._child_ids(contact, rows)
            contact = identity.without_identifiers(contact)
            accepted_at = intake.accepted_time(received_at, user, now)
            history = self._history(child_ids, accepted_at)
            if scored is not None and accepted_at == now and history == child_records.history_from([], now):
                recommendation, failure = scored  # made with the same contact, clock and (empty) history
            else:
                recommendation, failure = intake.score(contact, accepted_at, history, self.recommender)
            if recommendation is not None and not self.served:
                guidance_versions.record_served(guidance.config, now=now)
                self.served = True
            row = intake._new_contact(contact, user, org, (received_at, accepted_at), recommendation, child_ids)
            prepare_contact(row)
            for child in row.children:
                child.id, child.contact_id = self._id(Child), row.id
                rows[Child.__tablename__].append(row_values(child))
            events = [(kind, row.id, actor, data, accepted_at)
                      for kind, actor, data in intake.intake_events(row, user, org, child_ids, recommendation, failure)]
            seen = child_records.Seen(accepted_at)
            for child_id in child_ids:
                self.seen.setdefault(child_id, []).append(seen)
            events += self._outcomes(row, i, seen, rows)
            streams.append((audit.stream_for(row.id, None), events))
            rows[Contact.__tablename__].append(row_values(row))
        for model in tables:
            if rows[model.__tablename__]:
                db.session.execute(insert(model.__table__), rows[model.__tablename__])
        count = audit.append_new_streams(streams)
        self._move_sequences()
        db.session.commit()
        db.session.expunge_all()
        return count

    def _outcomes(self, row: Contact, i: int, seen: child_records.Seen, rows: dict[str, list]) -> list:
        """``demo_outcomes.seed_outcomes`` for this contact: decided, reviewed and fed back as its plan says."""
        guidance = self.recommender.guidance
        plan = plan_for(row, i, self.practitioners, self.managers, self.now)
        if plan is None:
            return []
        events = []
        row.status = workflow.check(row.status, workflow.DECIDE, plan.practitioner.role)
        row.version = (row.version or 1) + 1  # each status change moves the version, as a flush would
        decision = decisions.new_decision(row, plan.practitioner, **decision_terms(row, guidance, level=plan.level),
                                          now=plan.decided_at)
        decision.id = self._id(Decision)
        _keep_latest(row, decision)
        rows[Decision.__tablename__].append(row_values(decision))
        events.append(("decided", row.id, plan.practitioner, decisions.decided_event(row, decision), plan.decided_at))
        seen.decided_level, seen.marac_referral = decision.level, bool(decision.marac_referral)
        if plan.reviewer is None:
            return events
        row.status = workflow.check(row.status, workflow.REVIEW, plan.reviewer.role)
        row.version += 1
        review = decisions.new_review(row, plan.reviewer, decision, **review_terms(decision.level, plan.review_level),
                                      now=plan.reviewed_at)
        review.id = self._id(Review)
        _keep_latest(row, review)
        rows[Review.__tablename__].append(row_values(review))
        events.append(("reviewed", row.id, plan.reviewer, decisions.reviewed_event(row, review, decision),
                       plan.reviewed_at))
        seen.decided_level = review.level
        outcome = feedback.Outcome(level=review.level, decision=decision, review=review)
        release = feedback.new_release(row, plan.releaser, feedback.content_for(row, outcome, guidance), None,
                                       now=plan.released_at)
        release.id = self._id(FeedbackRelease)
        row.feedback_waiting_since = None  # released, as feedback.release clears it
        rows[FeedbackRelease.__tablename__].append(row_values(release))
        events.append(("feedback_released", row.id, plan.releaser, feedback.released_event(row, release, None),
                       plan.released_at))
        return events

    def _move_sequences(self) -> None:
        """PostgreSQL: each id sequence past the ids the loader assigned, so the service's next row fits."""
        if db.engine.dialect.name != "postgresql":
            return
        for model in NUMBERED:
            table = model.__tablename__
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"GREATEST((SELECT max(id) FROM {table}), 1))"))


#: One contact ready to store: (number, schema-valid contact, when it arrived, its score if already made).
Ready = tuple[int, dict, datetime, tuple[dict | None, str | None] | None]


def _numbers(contact: dict) -> set[str]:
    """The identifiers a contact gives for its children (what makes a child known to the store)."""
    return {n for child in contact["children"] for n in (child.get("identifiers") or {}).values()}


def _marked(count: int, now: datetime, seed: int) -> Iterator[list[tuple[int, dict, datetime, bool]]]:
    """``contacts`` in batches, each marked True if no earlier contact named any of its children.

    Only a hint (a refused contact's children count as named): the loader scores again any contact
    whose history it finds is not empty.
    """
    batch: list[tuple[int, dict, datetime, bool]] = []
    named: set[str] = set()
    for i, contact, received in contacts(count, now=now, seed=seed):
        numbers = _numbers(contact)
        batch.append((i, contact, received, not numbers & named))
        named |= numbers
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _checked(batch: list[tuple[int, dict, datetime, bool]], recommender: Recommender | None) -> list[Ready | None]:
    """One batch checked by the contract schema (a contact it refuses is None), the first-met ones scored.

    A contact about children no earlier contact named (the store can know nothing of them: its
    history is empty) is scored here, as ``intake.score`` would; the loader uses that score only if
    the history it finds is indeed empty, and scores the rest.
    """
    out: list[Ready | None] = []
    for i, contact, received, first_met in batch:
        valid, errors = validate_contact(contact)
        if errors:
            out.append(None)
            continue
        scored = None
        if recommender is not None and first_met:
            scored = intake.score(identity.without_identifiers(valid), received,
                                  child_records.history_from([], received), recommender)
        out.append((i, valid, received, scored))
    return out


def validated(count: int, *, now: datetime, seed: int = 19,
              recommender: Recommender | None = None) -> Iterator[list[Ready | None]]:
    """``contacts`` checked by the contract schema in batches, in this process (``_checked``)."""
    for batch in _marked(count, now, seed):
        yield _checked(batch, recommender)


_WORKER_RECOMMENDER: Recommender | None = None


def _start_worker(recommender: Recommender) -> None:
    """A checking process's one-time set-up: the recommender comes once, not with every batch."""
    global _WORKER_RECOMMENDER
    _WORKER_RECOMMENDER = recommender


def _check_in_worker(batch: list[tuple[int, dict, datetime, bool]]) -> list[Ready | None]:
    return _checked(batch, _WORKER_RECOMMENDER)


def _batches(count: int, now: datetime, seed: int, recommender: Recommender, workers: int) -> Iterator[list]:
    """``validated``'s batches, in order; with ``workers``, checked and scored by that many other processes.

    This process generates (cheap, and one seeded sequence) and stores; schema checks and scoring,
    most of a contact's cost, go to the pool. A few batches at most are in flight, so a long load
    never holds more than those in memory.
    """
    if not workers:
        yield from validated(count, now=now, seed=seed, recommender=recommender)
        return
    import multiprocessing
    from collections import deque

    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_start_worker, initargs=(recommender,)) as pool:
        pending: deque = deque()
        for batch in _marked(count, now, seed):
            pending.append(pool.apply_async(_check_in_worker, (batch,)))
            if len(pending) > 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def _vacuum_analyse() -> float:
    """``VACUUM (ANALYZE)`` every table, as autovacuum would soon after a live store grew by this much; seconds.

    Why: a store loaded in one go has no planner statistics and no visibility map until autovacuum
    gets to it. Without statistics the planner misjudges the ranges the reports and queues read;
    without the visibility map an index-only scan visits every row's heap page too (the dashboard's
    per-day fingerprint and median of a year: 31 and 34 ms before, 13 and 12 ms after, at 40k).
    A benchmark would otherwise time plans and scans a live store does not run.
    """
    began = time.perf_counter()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM (ANALYZE)"))
    return time.perf_counter() - began


def seed_volume(recommender: Recommender, count: int, *, now: datetime | None = None, seed: int = 19,
                verify: bool = True, parallel: bool = True) -> Iterator[str]:
    """Store ``count`` contacts and their outcomes; yield progress lines (rates measured, not assumed).

    ``parallel``: check and score contacts about children met for the first time in a pool of other
    processes, one a core, while this one generates, scores the others and stores.
    """
    now = now or datetime.now(timezone.utc)
    if db.session.scalar(select(func.count()).select_from(Contact)):
        yield "contacts are already stored; seed-volume loads an empty store only"
        return
    _bulk_load_settings()
    loader = _Loader(recommender, ensure_people(), now)
    db.session.commit()
    began = time.perf_counter()
    refused = stored = events = 0
    for batch in _batches(count, now, seed, recommender, (os.cpu_count() or 2) if parallel else 0):
        valid = [item for item in batch if item is not None]
        refused += len(batch) - len(valid)
        events += loader.store(valid)
        stored += len(valid)
        rate = (stored + refused) / (time.perf_counter() - began)
        yield (f"{stored} contacts stored ({rate:.0f} a second; "
               f"about {(count - stored - refused) / rate:.0f} s to go)")
    elapsed = time.perf_counter() - began
    yield (f"stored {stored} contacts and {events} events in {elapsed:.1f} s "
           f"({stored / max(elapsed, 1e-9):.0f} contacts a second); {refused} refused")
    mark = audit.make_checkpoint()
    yield f"checkpoint {mark['checkpoint']} taken at event {mark['seq']}"
    if db.engine.dialect.name == "postgresql":
        yield f"vacuumed, and statistics gathered for the planner ({_vacuum_analyse():.1f} s)"
    if verify:
        t0 = time.perf_counter()
        result = audit.verify()
        yield f"{result.summary()} ({time.perf_counter() - t0:.1f} s)"
        if not result.ok:
            raise RuntimeError(result.summary())

