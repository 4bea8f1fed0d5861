"""A store of a given size, loaded through the service's own code (``flask triage seed-volume``).

For measuring the service at a large council's volume (issue 19): the training generator's
contacts, spread evenly over the years before now (about 40,000 a year), each validated by the
contract schema and stored by intake's ``submit`` (identifiers, known history, the recommender,
the sealed record), then most of the older ones decided, reviewed and fed back exactly as the
demo does (``demo_outcomes``), and finally a checkpoint taken and the whole record verified.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from sqlalchemy import event, func, select

from triage.engine.contract import validate_contact
from triage.engine.recommend import Recommender
from triage.extensions import db
from triage.record import audit
from triage.record.tables import Contact
from triage.services.demo import _sender, ensure_people, narrative
from triage.services.demo_outcomes import seed_outcomes
from triage.services.intake import submit

PER_YEAR = 40_000
BATCH = 500


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


def seed_volume(recommender: Recommender, count: int, *, now: datetime | None = None, seed: int = 19,
                verify: bool = True) -> Iterator[str]:
    """Store ``count`` contacts and their outcomes; yield progress lines (rates measured, not assumed)."""
    from training.generate import generate

    now = now or datetime.now(timezone.utc)
    if db.session.scalar(select(func.count()).select_from(Contact)):
        yield "contacts are already stored; seed-volume loads an empty store only"
        return
    _bulk_load_settings()
    people = ensure_people()
    rng = random.Random(seed)
    span = timedelta(days=365.25 * max(count / PER_YEAR, 1 / 12))
    start = now - span - timedelta(days=1)
    began = time.perf_counter()
    batch: list[Contact] = []
    refused = stored = 0
    for i, record in enumerate(generate(count, seed=seed)):
        contact = record["contact"]
        received = start + span * (i + 0.5) / count
        contact["received_at"] = received.isoformat(timespec="seconds")
        if "incident_at" in contact:
            contact["incident_at"] = (received - timedelta(hours=rng.uniform(2, 14))).isoformat(timespec="seconds")
        contact["partner_reference"] = f"VOL-{i + 1:07d}"
        contact["narrative"] = narrative(contact, rng)
        valid, errors = validate_contact(contact)
        if errors:
            refused += 1
            continue
        row, _ = submit(valid, _sender(contact, people), recommender, now=received)
        batch.append(row)
        stored += 1
        if len(batch) >= BATCH:
            seed_outcomes(batch, people, recommender.guidance)
            batch = []
            rate = stored / (time.perf_counter() - began)
            yield f"{stored} contacts stored ({rate:.0f} a second)"
    if batch:
        seed_outcomes(batch, people, recommender.guidance)
    elapsed = time.perf_counter() - began
    yield f"stored {stored} contacts in {elapsed:.1f} s ({stored / max(elapsed, 1e-9):.0f} a second); {refused} refused"
    mark = audit.make_checkpoint()
    yield f"checkpoint {mark['checkpoint']} taken at event {mark['seq']}"
    if verify:
        t0 = time.perf_counter()
        result = audit.verify()
        yield f"{result.summary()} ({time.perf_counter() - t0:.1f} s)"
        if not result.ok:
            raise RuntimeError(result.summary())
