"""The versions of the threshold guidance the service has served, and which is in force (issue 16).

A council changes ``config/thresholds.yaml`` and restarts the service. The first time the service
uses a version (its first recommendation, or the first time someone asks which version is in
force) it stores the version's label, SHA-256 and whole text (``guidance_versions``, append-only)
and that it came into force then (``guidance_adoptions``). Every recommendation names the label and
SHA-256 it was made under, and its ``scored`` event carries both into the hash chain, so a contact
decided under an older version is explained in that version's words (``guidance_for``), and the
text can be checked against the hash it was stored under.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from triage.engine.guidance import Guidance
from triage.engine.guidance_config import GuidanceConfig, GuidanceConfigError
from triage.engine.guidance_version import DiffLine, guidance_from_text, readable_diff
from triage.extensions import db
from triage.record import txn
from triage.record.tables import GuidanceAdoption, GuidanceVersion, utcnow

log = logging.getLogger(__name__)


#: The latest adoption with its version, built once (every intake asks it; prebuilt, its cache key is kept).
_LATEST = (select(GuidanceAdoption, GuidanceVersion)
           .join(GuidanceVersion, GuidanceAdoption.version_id == GuidanceVersion.id)
           .options(defer(GuidanceVersion.text)).order_by(GuidanceAdoption.id.desc()).limit(1))


def _latest_adoption() -> tuple[GuidanceAdoption, GuidanceVersion] | None:
    """The guidance in force and since when. Its text (25 kB) is read only if asked for: every intake
    calls this, and needs only the digest."""
    row = db.session.execute(_LATEST).first()
    return (row[0], row[1]) if row else None


#: The digest of the guidance in force, alone: all an intake needs to see that its version is recorded
#: (two ORM entities, loaded by ``_LATEST``, cost every intake its entity setup for one string).
_LATEST_SHA256 = (select(GuidanceVersion.sha256)
                  .join(GuidanceAdoption, GuidanceAdoption.version_id == GuidanceVersion.id)
                  .order_by(GuidanceAdoption.id.desc()).limit(1))


def stored(sha256: str) -> GuidanceVersion | None:
    return db.session.scalar(select(GuidanceVersion).where(GuidanceVersion.sha256 == sha256))


def record_served(config: GuidanceConfig, *, now: datetime | None = None) -> GuidanceVersion | None:
    """Store this version if the service has not served it before, and that it is in force from ``now``.

    Inside the caller's transaction (intake commits it with the contact it scored). One query, of
    one column, when the version is already the one in force, which is every call but the first
    after a restart; then it returns None. Otherwise it returns the version it adopted.
    """
    if db.session.scalar(_LATEST_SHA256) == config.sha256:
        return None
    now = now or utcnow()
    version = stored(config.sha256)
    if version is None:
        try:
            with db.session.begin_nested():  # two workers starting together: one row, the other reads it
                version = GuidanceVersion(label=config.label, sha256=config.sha256, text=config.text,
                                          first_served_at=now)
                db.session.add(version)
        except IntegrityError:
            version = stored(config.sha256)
            if version is None:
                raise
        others = db.session.scalars(select(GuidanceVersion.sha256).where(
            GuidanceVersion.label == config.label, GuidanceVersion.sha256 != config.sha256)).all()
        if others:
            log.warning("guidance version label %r is used by %d other text(s); give each change its own label",
                        config.label, len(others))
    db.session.add(GuidanceAdoption(version_id=version.id, adopted_at=now))
    db.session.flush()
    return version


@dataclass(frozen=True)
class VersionSummary:
    label: str
    sha256: str
    first_served_at: datetime
    in_force_since: datetime | None  # set for the version in force
    adopted: tuple[datetime, ...]  # every time it came into force
    label_reused: bool  # another stored text has the same label


def in_force(config: GuidanceConfig) -> tuple[GuidanceVersion, datetime]:
    """The version in force (the loaded file, recorded if this is its first use) and since when."""
    latest = _latest_adoption()
    if latest is not None and latest[1].sha256 == config.sha256:
        version = latest[1]
    else:
        with txn.writing():  # a page or API read on SQLite holds no write lock: this first use takes it
            version = record_served(config) or stored(config.sha256)  # None: adopted meanwhile
    adoptions = db.session.scalars(select(GuidanceAdoption).order_by(GuidanceAdoption.id.desc())).all()
    since = adoptions[0].adopted_at
    for adoption in adoptions:  # the start of the latest unbroken run of this version
        if adoption.version_id != version.id:
            break
        since = adoption.adopted_at
    return version, since


def summaries(config: GuidanceConfig) -> list[VersionSummary]:
    """Every version served, newest first by when it first came into force."""
    current, since = in_force(config)
    versions = db.session.scalars(select(GuidanceVersion).order_by(GuidanceVersion.first_served_at.desc(),
                                                                   GuidanceVersion.id.desc())).all()
    adoptions: dict[int, list[datetime]] = {}
    for row in db.session.scalars(select(GuidanceAdoption).order_by(GuidanceAdoption.id)):
        adoptions.setdefault(row.version_id, []).append(row.adopted_at)
    labels: dict[str, int] = {}
    for v in versions:
        labels[v.label] = labels.get(v.label, 0) + 1
    return [VersionSummary(v.label, v.sha256, v.first_served_at, since if v.id == current.id else None,
                           tuple(adoptions.get(v.id, ())), labels[v.label] > 1) for v in versions]


@dataclass(frozen=True)
class VersionChange:
    """Two consecutive versions (in the order they were first served) and the lines that differ."""

    older: GuidanceVersion
    newer: GuidanceVersion
    lines: list[DiffLine]


def changes() -> list[VersionChange]:
    """Each version against the one served before it, newest first."""
    versions = db.session.scalars(select(GuidanceVersion).order_by(GuidanceVersion.first_served_at,
                                                                   GuidanceVersion.id)).all()
    pairs = [VersionChange(a, b, readable_diff(a.text, b.text)) for a, b in zip(versions, versions[1:], strict=False)]
    return list(reversed(pairs))


def guidance_for(recommendation: dict | None, current: Guidance) -> Guidance:
    """The guidance a contact was scored under, so it explains itself in that version's words.

    ``current`` when the recommendation names no version (scored before versions were kept, or
    not scored), names the version in force, or its stored text cannot be used (logged).
    """
    sha = (recommendation or {}).get("guidance_sha256")
    if not sha or sha == current.config.sha256:
        return current
    version = stored(sha)
    if version is None:
        log.warning("guidance version %s named by a recommendation is not stored; using the one in force", sha[:12])
        return current
    try:
        return guidance_from_text(version.text, f"guidance version {version.label}", expected_sha256=version.sha256)
    except GuidanceConfigError as exc:
        log.warning("stored guidance version %s cannot be read: %s", sha[:12], exc)
        return current
