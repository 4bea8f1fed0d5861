"""The store: SQLAlchemy 2 tables for organisations, people, tokens, contacts and the record.

A contact keeps the partner's JSON whole (``payload``) beside the columns the front door
queries on. Decisions, reviews, information requests, feedback releases and events are
append-only: a correction is a new row that points at the one it corrects.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

import uuid6
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    func,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from triage.engine.workdays import london_date
from triage.extensions import db
from triage.record.workflow import Status

ROLES = ("practitioner", "manager", "partner", "agency", "admin")
#: What kind of agency an organisation is (spec section 10); an ``agency`` user answers its type's checks.
AGENCY_TYPES = ("police", "health", "education", "probation", "housing", "other")
#: The family's consent to sharing, as a check request or a decision records it.
CONSENT_POSITIONS = ("obtained", "not_sought", "refused")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    """A random id (a version 4 UUID): for a record whose id must not tell when it was made (a child's)."""
    return str(uuid.uuid4())


def time_ordered_id() -> str:
    """An id that sorts by when it was made (a version 7 UUID, RFC 9562): a contact's and an export's.

    Why: a contact's id keys the contacts table and the index of every row and event that names it
    (its children, its events and audit stream). A random id put each intake's entries at a random
    place in each of those indexes, and on PostgreSQL the first change to an index page after a
    checkpoint writes the whole page to the log. Ids in time order put new entries at the end of
    each index: after a checkpoint, intake wrote 31,464 bytes of log against 66,222 at 200,000
    contacts (``benchmarks/bench_contact_ids.py``); its time moved within the noise.

    The id tells when the contact was stored, which its received time already says to whoever may
    read it. A child's record keeps a random id (``new_id``): a time in it would tell when the child
    first became known to the council.
    """
    return str(uuid6.uuid7())


#: The columns of ``ix_contacts_dashboard``: the window first, then every column the dashboard counts on.
DASHBOARD_INDEX = ("accepted_day", "source_code", "model_version", "status", "recommended_level",
                   "latest_decision_id", "latest_review_id", "decision_due_at", "first_decided_at",
                   "first_decision_hours", "first_reviewed_at", "first_review_due_at", "marac_recommended",
                   "primary_concern", "dash_risk", "accepted_at", "id")


#: The columns of ``ix_contacts_daysum``: a London day's contacts, changes and deadlines (``DashboardDay``).
FINGERPRINT_INDEX = ("accepted_day", "version", "latest_decision_id", "latest_review_id", "decision_due_at",
                     "first_review_due_at")


def _accepted_day(context) -> date | None:
    """``contacts.accepted_day``'s default: the London day of the row's ``accepted_at``, set as it is inserted."""
    accepted = context.get_current_parameters().get("accepted_at")
    return london_date(accepted) if isinstance(accepted, datetime) and accepted.tzinfo else None


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite would otherwise drop the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a timezone")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    agency_type: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Moved on by sign-out, a password change or set, and deactivation; a session cookie
    #: issued in an earlier generation opens nothing (``triage.http.access``).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    organisation: Mapped[Organisation | None] = relationship()

    @property
    def label(self) -> str:
        """How a person is named in the record: email and role, never more."""
        return f"{self.email} ({self.role})"


class ApiToken(db.Model):
    """An API token. Only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class SignInFailure(db.Model):
    """One failed sign-in, kept a day to throttle guessing (``signin.py``); hashes, not emails or addresses."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_key: Mapped[str] = mapped_column(String(64), index=True)
    address_key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Contact(db.Model):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("organisation_id", "partner_reference", name="uq_contacts_org_reference"),
        # The contact list's order (newest first), for everyone and for one partner (keyset pages).
        Index("ix_contacts_received_id", "received_at", "id"),
        Index("ix_contacts_org_received_id", "organisation_id", "received_at", "id"),
        # The queues: a status, then the deadline (the overdue range), then every other column a
        # queue's first pass sorts (services/queues.py ``_page``): the page's ids are found in the
        # index, never by sorting whole waiting contacts.
        # A status and an urgency first (migration 0020): each is one range of a queue read in parts
        # (``paging.keyset_merged``), already in deadline order.
        Index("ix_contacts_queue_order", "status", "urgency", "decision_due_at", "accepted_at", "id"),
        # The review queues (migration 0018): awaiting review is read in parts, one range per urgency
        # and decided level, each oldest decision first (who decided, last, filters without the rows);
        # reviews overdue read their order, oldest decision first, straight from the second, and a
        # manager's count of their own overdue reviews filters who decided there too (migration 0023).
        Index("ix_contacts_review_order", "status", "urgency", "latest_decision_level", "latest_decided_at", "id",
              "latest_decided_by_id"),
        Index("ix_contacts_reviews_due", "status", "latest_decided_at", "id", "latest_decided_by_id"),
        Index("ix_contacts_latest_decision", "latest_decision_id"),
        # A partner's monthly report: one organisation's window on the front door's clock.
        Index("ix_contacts_org_accepted", "organisation_id", "accepted_at"),
        # A status, then the window (the Annex A lists: decided contacts accepted in a month); a
        # status alone (the queues' counts) reads its first column.
        Index("ix_contacts_status_accepted", "status", "accepted_at"),
        # The dashboard's window, grouping and counts (reporting/dashboard.py) read from this index
        # alone, never the wide rows that hold the JSON: a year costs an index range scan.
        Index("ix_contacts_dashboard", *DASHBOARD_INDEX),
        # The dashboard's count of each MARAC criterion met: the window, then the criteria listed.
        Index("ix_contacts_marac", "accepted_day", "marac_criteria"),
        # Each London day's fingerprint for the dashboard's per-day summaries (reporting/daysum.py).
        Index("ix_contacts_daysum", *FINGERPRINT_INDEX),
        # A manager's feedback to release, waiting longest first (services/feedback.py); status
        # first, or SQLite reads every decided contact through the status index (migration 0017).
        Index("ix_contacts_feedback_waiting", "status", "feedback_waiting_since", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=time_ordered_id)
    # Indexed as the first column of the unique reference and of two windows' indexes (migration 0028).
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    partner_reference: Mapped[str] = mapped_column(String(64))
    source_code: Mapped[str] = mapped_column(String(4), index=True)
    source_team: Mapped[str | None] = mapped_column(String(120))
    primary_concern: Mapped[str] = mapped_column(String(40))  # never filtered alone (migration 0028)
    # As the partner (or the worker taking a call) gave it: when the partner recorded the contact.
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)  # ix_contacts_received_id
    # When the front door's clock started (spec section 8): deadlines, queues and reports run on it.
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(20), default=Status.AWAITING_DECISION)  # ix_contacts_status_accepted
    decision_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    urgency: Mapped[str | None] = mapped_column(String(5))
    floor_level: Mapped[int | None] = mapped_column(Integer)
    recommended_level: Mapped[int | None] = mapped_column(Integer)
    marac_recommended: Mapped[bool] = mapped_column(Boolean, default=False)
    dash_risk: Mapped[str | None] = mapped_column(String(10))
    model_version: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON)
    recommendation: Mapped[dict | None] = mapped_column(JSON)
    # The screening recommendation, kept here once checks have produced an after-checks one.
    screening_recommendation: Mapped[dict | None] = mapped_column(JSON)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The newest decision and review (a correction is a new row), kept by services/decisions.py so
    # queues and reports join to them directly instead of finding max(id) per contact.
    latest_decision_id: Mapped[int | None] = mapped_column(Integer)
    latest_review_id: Mapped[int | None] = mapped_column(Integer)
    # ... and that decision's level, time and maker, copied beside it so the review queues order
    # and filter a backlog in an index of contacts (``ix_contacts_review_order``) without reading
    # one decision per waiting contact (``decisions.latest_facts``; filled in by migration 0018).
    latest_decision_level: Mapped[int | None] = mapped_column(Integer)
    latest_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latest_decided_by_id: Mapped[int | None] = mapped_column(Integer)
    # Facts the dashboard counts in SQL that would otherwise need Python per contact, each written
    # once when it happens and never part of the sealed content (audit.CONTENT_COLUMNS): the London
    # day of ``accepted_at`` (set on insert); the first decision (the one the deadline is for), its
    # working hours from ``accepted_at`` and when its review falls due; that decision's first review.
    # Kept by services/decisions.py (``keep_first``); filled in for older contacts by migration 0011.
    accepted_day: Mapped[date | None] = mapped_column(Date, default=_accepted_day)
    first_decision_id: Mapped[int | None] = mapped_column(Integer)
    first_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_decision_hours: Mapped[float | None] = mapped_column(Float)
    first_review_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How many information gaps the recommendation in force lists (None: it lists none, unscored),
    # kept by ``_keep_recommendation_facts`` so the partner report counts it without reading the document.
    gap_count: Mapped[int | None] = mapped_column(Integer)
    # The MARAC criteria the recommendation in force lists, sorted and comma-joined (None: none), kept
    # with ``gap_count`` so the dashboard counts each criterion without unnesting the document.
    marac_criteria: Mapped[str | None] = mapped_column(String(200))
    # When the outcome the partner has not had feedback on was confirmed (the latest review's time);
    # None once released, or before any review. Kept by services/decisions.py (``keep_latest``) and
    # services/feedback.py (``release``) so a manager's "feedback to release" reads one index.
    feedback_waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Optimistic lock: two people acting at once, the second gets 409.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    organisation: Mapped[Organisation] = relationship()
    created_by: Mapped[User] = relationship()
    children: Mapped[list[Child]] = relationship(
        back_populates="contact", order_by="Child.position", cascade="all"
    )


def gap_count(recommendation: dict | None) -> int | None:
    """How many information gaps ``recommendation`` lists; None when it has no list of them."""
    gaps = (recommendation or {}).get("information_gaps")
    return len(gaps) if isinstance(gaps, list) else None


#: What joins the criteria in ``contacts.marac_criteria`` (the contract's names never contain it).
MARAC_SEPARATOR = ","


def marac_criteria(recommendation: dict | None) -> str | None:
    """The MARAC criteria ``recommendation`` lists, sorted and joined; None when it lists none."""
    listed = ((recommendation or {}).get("marac") or {}).get("criteria")
    names = sorted(name for name in listed if isinstance(name, str)) if isinstance(listed, list) else []
    return MARAC_SEPARATOR.join(names) or None


def recommendation_facts(recommendation: dict | None) -> dict:
    """The columns read off the recommendation in force, which reports count without reading the document.

    The one source of truth for them: the ORM's listener below sets them whenever a recommendation
    is stored or replaced (intake, rescoring after checks), and the batch loader (services/volume.py)
    sets them on the rows it inserts without the ORM.
    """
    return {"gap_count": gap_count(recommendation), "marac_criteria": marac_criteria(recommendation),
            "marac_recommended": bool(((recommendation or {}).get("marac") or {}).get("recommended"))}


@event.listens_for(Contact, "before_insert")
@event.listens_for(Contact, "before_update")
def _keep_recommendation_facts(mapper, connection, contact: Contact) -> None:
    """Every recommendation stored or replaced through the ORM sets the facts read off it."""
    for column, value in recommendation_facts(contact.recommendation).items():
        setattr(contact, column, value)


class DashboardDay(db.Model):
    """One closed London day's dashboard counts, kept with the fingerprint they were counted at.

    A cache (``reporting/daysum.py``): the counts are those of the day's contacts, counted again
    once ``touched`` is above 0 (a trigger on ``contacts`` moves it when a contact of the day is
    added or changed; keeping a day checks the fingerprint, how many contacts and the sums of their
    versions, latest decision ids and latest review ids, for a change made while it was counted),
    so it holds nothing the contacts do not. ``deadline``: the day's latest decision or review
    deadline; the counts past a deadline are used only once "now" is after it.
    """

    __tablename__ = "dashboard_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    #: Which counts ``counts`` holds, in which order (``dashboard.SUMMARY_LAYOUT``); another is read again.
    layout: Mapped[str] = mapped_column(String(40))
    contacts: Mapped[int] = mapped_column(Integer)
    version_sum: Mapped[int] = mapped_column(BigInteger)
    decisions_sum: Mapped[int] = mapped_column(BigInteger)
    reviews_sum: Mapped[int] = mapped_column(BigInteger)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The day's figures as ``dashboard._by_day`` folds them (totals, by source, by model, packed hours).
    counts: Mapped[dict] = mapped_column(JSON)
    #: ``{"criterion,criterion": contacts, ...}``: the day's MARAC criteria combinations.
    criteria: Mapped[dict] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Moved on by a trigger whenever a contact of the day is added or changed (migration 0022): 0 = unchanged.
    touched: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Child(db.Model):
    """One child on a contact: the columns reporting and the fairness audit query on."""

    __tablename__ = "children"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    child_reference: Mapped[str] = mapped_column(String(64), index=True)
    age_years: Mapped[int | None] = mapped_column(Integer)
    unborn: Mapped[bool] = mapped_column(Boolean, default=False)
    sex: Mapped[str | None] = mapped_column(String(10))
    ethnicity: Mapped[str | None] = mapped_column(String(4))
    disabled: Mapped[bool | None] = mapped_column(Boolean)
    current_status: Mapped[str | None] = mapped_column(String(20))
    # The service's own pseudonymous record of this child (spec section 9), set once at intake.
    child_id: Mapped[str] = mapped_column(ForeignKey("child_records.id"), index=True)

    contact: Mapped[Contact] = relationship(back_populates="children")


class ChildRecord(db.Model):
    """The service's own pseudonymous record of one child (``child_id``), across contacts and partners.

    It holds nothing about the child: what is known stays on each contact. Identifiers point at it
    only as keyed hashes (``ChildIdentifier``); people join two records with ``ChildLink``.
    """

    __tablename__ = "child_records"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChildIdentifier(db.Model):
    """An HMAC-SHA256 of one identifier (its kind and value, ``services/identity.py``): never the value."""

    __tablename__ = "child_identifiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("child_records.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChildLink(db.Model):
    """A person's judgement that two child records are one child, with their reason; undone by ``ChildUnlink``."""

    __tablename__ = "child_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("child_records.id"), index=True)
    linked_child_id: Mapped[str] = mapped_column(ForeignKey("child_records.id"), index=True)
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id"))
    reason: Mapped[str] = mapped_column(Text)
    linked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    linked_by: Mapped[User] = relationship()


class ChildUnlink(db.Model):
    """Undoing a link: a new row pointing at it, never an edit of the link."""

    __tablename__ = "child_unlinks"

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("child_links.id"), unique=True)
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id"))
    reason: Mapped[str] = mapped_column(Text)
    unlinked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    unlinked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unlinked_by: Mapped[User] = relationship()


class Decision(db.Model):
    """A practitioner's (or manager's) threshold decision, with the recommendation it was made against."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    rationale: Mapped[str] = mapped_column(Text)
    marac_referral: Mapped[bool] = mapped_column(Boolean, default=False)
    next_steps: Mapped[str | None] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)
    recommended_level: Mapped[int | None] = mapped_column(Integer)
    floor_level: Mapped[int | None] = mapped_column(Integer)
    model_version: Mapped[str | None] = mapped_column(String(40))
    # Which recommendation the decision was made against: "screening" or "after_checks".
    recommendation_stage: Mapped[str | None] = mapped_column(String(20))
    # Consent, as the inspection asked: obtained, refused or not_sought, and the reason where needed.
    consent: Mapped[str | None] = mapped_column(String(20))
    consent_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))

    decided_by: Mapped[User] = relationship()


class Review(db.Model):
    """A manager's oversight of a decision: confirmed or changed, with a rationale."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    outcome: Mapped[str] = mapped_column(String(10))
    level: Mapped[int] = mapped_column(Integer)
    rationale: Mapped[str] = mapped_column(Text)
    reviewed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id"))

    reviewed_by: Mapped[User] = relationship()


class InformationRequest(db.Model):
    """A request to the referrer for what the contact is missing. It pauses nothing."""

    __tablename__ = "information_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    fields: Mapped[list] = mapped_column(JSON)
    message: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CheckRequest(db.Model):
    """A question to one partner agency about a contact's household (spec section 10)."""

    __tablename__ = "check_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    agency: Mapped[str] = mapped_column(String(20), index=True)
    why: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    consent: Mapped[str] = mapped_column(String(20))
    without_consent_reason: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Indexed (migration 0019): a window's checks are found by when they were asked (reporting/checks_report.py).
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    contact: Mapped[Contact] = relationship()
    requested_by: Mapped[User] = relationship()
    response: Mapped[CheckResponse | None] = relationship(back_populates="check", uselist=False)


class CheckResponse(db.Model):
    """An agency's answer to one check: at most one per check (racing answers make one)."""

    __tablename__ = "check_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("check_requests.id"), unique=True)
    known: Mapped[bool] = mapped_column(Boolean)
    findings: Mapped[list] = mapped_column(JSON)
    summary: Mapped[str | None] = mapped_column(Text)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    check: Mapped[CheckRequest] = relationship(back_populates="response")
    answered_by: Mapped[User] = relationship()


def _contact_organisation(context) -> int | None:
    """The organisation of the contact a row being inserted names (a column default's context)."""
    contact_id = context.get_current_parameters()["contact_id"]
    return context.connection.scalar(select(Contact.organisation_id).where(Contact.id == contact_id))


def _contact_latest_release(context) -> int | None:
    """The newest release of the contact a release being inserted names (a column default's context)."""
    contact_id = context.get_current_parameters()["contact_id"]
    table = FeedbackRelease.__table__
    return context.connection.scalar(select(func.max(table.c.id)).where(table.c.contact_id == contact_id))


class FeedbackRelease(db.Model):
    """Feedback to the partner on one contact, released after a manager confirmed the decision."""

    __tablename__ = "feedback_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    content: Mapped[dict] = mapped_column(JSON)
    released_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Who it was released to: the contact's organisation, copied so a partner's list is read from
    #: one index in its order (migration 0016), never by grouping every release through contacts.
    #: A row stored without it takes it from its contact, so no release can miss its partner.
    organisation_id: Mapped[int | None] = mapped_column(Integer, default=_contact_organisation)
    #: The release of the same contact this one replaced (its previous, newest until now), or None for
    #: the first: a partner's list counts the releases no later one names (migration 0021). A row
    #: stored without it takes the contact's newest release, so no release is left unreplaced.
    supersedes_id: Mapped[int | None] = mapped_column(Integer, default=_contact_latest_release)

    __table_args__ = (Index("ix_feedback_releases_org_newest", "organisation_id", "released_at", "id"),
                      Index("ix_feedback_releases_supersedes", "organisation_id", "supersedes_id"))


class Event(db.Model):
    """One entry in the tamper-evident record; see ``audit.py`` for the hash chain."""

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    contact_id: Mapped[str | None] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Whose chain the event is in (``contact:<id>``, ``user:<id>``, ``export:<id>``, ``service``);
    #: NULL for events stored before per-stream chains (the old single chain, ending at ``audit_head``).
    stream: Mapped[str | None] = mapped_column(String(60), index=True)
    #: The ``seq`` of the event before this one in its stream (0 for a stream's first event).
    prev_seq: Mapped[int | None] = mapped_column(Integer)


class AuditHead(db.Model):
    """The end of the single chain events were stored in before per-stream chains (frozen since 0009)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    last_hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditStream(db.Model):
    """The head of one stream's chain: appends to different streams never wait for each other."""

    __tablename__ = "audit_streams"

    stream: Mapped[str] = mapped_column(String(60), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    last_hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditCheckpoint(db.Model):
    """Every event up to ``upto_seq``, in global order, bound by one keyed hash chained to the last checkpoint."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    upto_seq: Mapped[int] = mapped_column(Integer, nullable=False)
    events: Mapped[int] = mapped_column(Integer, nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class ExportList(db.Model):
    """An export's list number: its stored list (``ExportContact``) is keyed by this, not by the export's id.

    The export is known everywhere by its id (its stream, its events); its list's rows carry a small
    number instead of the 36 characters of that id. On SQLite a year's list (40,000 ids) was 912 WAL
    pages and 42-44 ms of the write lock every intake waits for, keyed by the id; 522 pages and
    25-26 ms keyed by a number (bare ``sqlite3``, ``benchmarks/bench_export_list_pages.py``). Taken
    with the export's first event (``audit._started``), so every number belongs to an export the
    record names.
    """

    __tablename__ = "export_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    export_id: Mapped[str] = mapped_column(String(36), unique=True)


class ExportContact(db.Model):
    """One contact in one export: the list an ``exported`` event names by digest and count.

    Keyed by export (its list number, ``ExportList``), then contact (each contact is in an export
    once): every export's rows go in together at one place, so storing a year's list costs the same
    on its twelfth export as on its first, and a contact's history looks in each export by this key
    (``audit.history``). ``position`` is the contact's place in the file, which the event's digest
    follows; it is read in that order only to hash the list (``audit._stored_list``: an export's
    event on PostgreSQL, and ``audit-verify``), which sorts it then, so it has no index of its own.
    A second index, by position, made storing a year's list at 200,000 contacts take 117-184 ms
    against 66-103 ms (migration ``0026_export_lists_by_contact``). On SQLite the table is that
    key's B-tree alone (``WITHOUT ROWID``): an ordinary table there is a second B-tree by a hidden
    ``rowid``, and a list cost twice the pages to store (migration ``0027_export_lists_without_rowid``).
    """

    __tablename__ = "export_contacts"
    __table_args__ = {"sqlite_with_rowid": False}

    # No foreign key: a year's list would be 40,000 probes of ``export_lists`` to store; the number is
    # taken with the export's first event, in the same code that writes the list (``audit``).
    list_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class ApiRequestCount(db.Model):
    """Requests one API token made in one fixed window (``triage.services.ratelimit``); kept a day."""

    __tablename__ = "api_request_counts"

    token_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)


# -- The front door's rhythms (issue 17): the morning domestic-abuse meeting, the monthly quality audit --


class Meeting(db.Model):
    """One morning domestic-abuse triage meeting with police colleagues: open until its chair closes it."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The police contacts it covers: accepted from ``covers_from`` (the last working day's start) to ``covers_to``.
    covers_from: Mapped[datetime] = mapped_column(UTCDateTime)
    covers_to: Mapped[datetime] = mapped_column(UTCDateTime)
    chair_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    chair: Mapped[User] = relationship()
    attendees: Mapped[list[MeetingAttendee]] = relationship(order_by="MeetingAttendee.id", cascade="all")
    items: Mapped[list[MeetingItem]] = relationship(order_by="MeetingItem.position", cascade="all")


class MeetingAttendee(db.Model):
    """Who attended, by role and organisation: never by name."""

    __tablename__ = "meeting_attendees"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    agency: Mapped[str] = mapped_column(String(30))
    role: Mapped[str] = mapped_column(String(120))
    organisation: Mapped[str] = mapped_column(String(120))


class MeetingItem(db.Model):
    """One contact on a meeting's agenda, in the order the meeting takes it, and what became of it."""

    __tablename__ = "meeting_items"
    __table_args__ = (UniqueConstraint("meeting_id", "contact_id", name="uq_meeting_items_contact"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    #: The item of an earlier meeting this one carries over (not reached there).
    carried_from_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_items.id"))
    #: waiting, decided (a decision made in the meeting), discussed (no decision needed), not_reached.
    outcome: Mapped[str] = mapped_column(String(20), default="waiting")
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    note: Mapped[str | None] = mapped_column(Text)

    contact: Mapped[Contact] = relationship()
    decision: Mapped[Decision | None] = relationship()
    actions: Mapped[list[MeetingAction]] = relationship(order_by="MeetingAction.id")


class MeetingAction(db.Model):
    """An action the meeting agreed on one item, and who owns it (a role and organisation). Append-only."""

    __tablename__ = "meeting_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("meeting_items.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text)
    owner_role: Mapped[str] = mapped_column(String(120))
    owner_organisation: Mapped[str] = mapped_column(String(120))
    agreed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    agreed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditSample(db.Model):
    """A month's quality-audit sample, drawn from a recorded seed (so anyone can draw it again)."""

    __tablename__ = "audit_samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), unique=True)  # YYYY-MM, London
    seed: Mapped[int] = mapped_column(Integer)
    per_practitioner: Mapped[int] = mapped_column(Integer)
    drawn_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    assignments: Mapped[list[AuditAssignment]] = relationship(order_by="AuditAssignment.id")


class AuditAssignment(db.Model):
    """One decision drawn for audit, why it was drawn, and the manager assigned to audit it."""

    __tablename__ = "audit_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("audit_samples.id"), index=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), unique=True)
    strata: Mapped[list] = mapped_column(JSON)
    auditor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)

    sample: Mapped[AuditSample] = relationship(back_populates="assignments")
    contact: Mapped[Contact] = relationship()
    decision: Mapped[Decision] = relationship()
    auditor: Mapped[User] = relationship()
    finding: Mapped[AuditFinding | None] = relationship(uselist=False)


class AuditFinding(db.Model):
    """An auditor's finding on one decision: the level they would have decided, Ofsted's grade, the learning."""

    __tablename__ = "audit_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("audit_assignments.id"), unique=True)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(30))
    learning: Mapped[str] = mapped_column(Text)
    audited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    audited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GuidanceVersion(db.Model):
    """A version of the threshold guidance the service has served: its label, SHA-256 and whole text.

    Stored the first time the service uses it (append-only), so a contact scored under it can be
    explained in its words after the council adopts another (issue 16).
    """

    __tablename__ = "guidance_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(60))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(Text)
    first_served_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GuidanceAdoption(db.Model):
    """The service began serving a version (at its first use after a different one): "in force since"."""

    __tablename__ = "guidance_adoptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("guidance_versions.id"), index=True)
    adopted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    version: Mapped[GuidanceVersion] = relationship()


class GuidanceDraft(db.Model):
    """A draft of the guidance a manager uploaded for a what-if run: checked, kept whole with its hash."""

    __tablename__ = "guidance_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(60))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(String(200))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    uploaded_by: Mapped[User] = relationship()


class WhatIfRun(db.Model):
    """One what-if replay asked for on the page: its window, progress while it runs, then its report."""

    __tablename__ = "what_if_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("guidance_drafts.id"), index=True)
    model_version: Mapped[str | None] = mapped_column(String(40))
    window_from: Mapped[datetime] = mapped_column(UTCDateTime)
    window_to: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued | running | done | failed
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)

    draft: Mapped[GuidanceDraft] = relationship()
    requested_by: Mapped[User] = relationship()
