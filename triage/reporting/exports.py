"""Exports an inspection and a retraining ask for: Ofsted Annex A Lists 1 and 3, and training data.

**Annex A** (Ofsted's inspection of local authority children's services asks for child-level
lists). List 1 is every contact, List 3 every referral, one row per child per contact, with
the list's own column headings (``LIST_1_HEADINGS``, ``LIST_3_HEADINGS``) and codes:

- Gender: the Children in Need census codes, 1 male, 2 female, 0 not known (our ``unknown``
  or a child whose sex was not given). (The census also has 9, "not specified/indeterminate",
  which the contact contract cannot express, so it never appears.)
- Ethnicity: the DfE census code as the partner sent it (``WBRI``...); ``NOBT`` ("information
  not yet obtained") when none was given.
- Contact Source / Referral Source: the census referral source code (``6`` police, ``2A``
  schools...), the contract's ``source.code``.
- Date of Birth: always empty. The service holds pseudonymous data with the age in years only,
  never a date of birth; the council's case system fills this column if the inspectors need it.
- Age of Child (Years): ``age_years``; empty for an unborn child or when the age is not known.
- Child Unique ID: the service's own pseudonymous ``child_id`` (one id for records people
  linked as one child), never an identifier.
- Dates: ``DD/MM/YYYY``, the London calendar day of the front door's clock (``accepted_at``).

List 3 holds the contacts whose *confirmed* level (after a manager's review) is 3 or 4
(``guidance_config.REFERRAL_LEVEL``). "Date of Referral" is the day the front door accepted the contact that
became the referral (the census's referral date). "Referral NFA?" is ``No``: a contact the front door
accepted as a referral goes on to assessment, and the assessment's outcome is recorded in the
case system, not here. "Number of Referrals in Last 12 Months" counts this service's referrals
for the same child record (and the records linked to it) in the 12 months up to and including this one. "Allocated Team" and
"Allocated Worker" are empty: allocation happens after the front door, in the case system.

The files stream (``annex_a_chunks``): the contacts in a list are recorded as read first (copied by
the database from an id-only query), then its rows are read from the store a batch at a time (List 1
in keyset batches of contacts, a small one first), only the columns the
list shows (``stream_list_1``, ``stream_list_3``), and written out as they come. Each batch is kept
to the contacts the export recorded (``audit.listed_in_export``): a contact stored in the window
while the file streams is in neither the file nor its record. List 3 reads the
window's referrals only: each batch's referral counts come from one indexed query for the same
children's earlier referrals, not from the twelve months before the window. ``list_1_rows`` and
``list_3_rows`` compute the same rows from ``ContactFacts`` (the definition the tests check the
streamed files against). The training file streams the same way (``training_chunks``), in keyset
batches of ``TRAINING_BATCH`` contacts with their payloads; only ids and children's references are
held for the whole file (its households).

**Training data**: the confirmed decisions in the JSON-lines format ``training/train.py``
reads (``python -m training train --data ...``): one line per contact with the contract
document (``contact``), the label as ``expert_level`` (the column name ``train.py`` and
``training/generate.py`` use): the level the monthly quality audit set where the contact was
audited, else the manager-reviewed level; ``label_source`` says which (``audited`` or
``practice``; ``python -m training train --labels audited`` learns from the audited ones only),
``practice_level`` keeps the confirmed level beside it, ``prior_marac_12m`` as the recommendation step
saw it, and a ``household_id`` that keeps contacts about the same children together so a
train/test split never separates them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from itertools import groupby

from sqlalchemy import and_, case, or_, select

from triage.engine.guidance_config import REFERRAL_LEVEL
from triage.engine.workdays import london_date, london_days
from triage.extensions import db
from triage.record import audit
from triage.record.queries import ACCEPTED_ORDER, accepted_window, among
from triage.record.tables import AuditAssignment, AuditFinding, Child, Contact, Decision, Review, User
from triage.record.workflow import Status
from triage.reporting.reports import ChildFacts, ContactFacts
from triage.reporting.spreadsheet import csv_chunks
from triage.reporting.spreadsheet import to_csv as to_csv  # the one CSV writer, for the exports' callers
from triage.services import quality_audit
from triage.services.children import same_child_ids

LIST_1_HEADINGS = ("Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)",
                   "Date of Contact", "Contact Source")
LIST_3_HEADINGS = ("Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)",
                   "Date of Referral", "Referral Source", "Referral NFA?", "Number of Referrals in Last 12 Months",
                   "Allocated Team", "Allocated Worker")
GENDER_CODES = {"male": "1", "female": "2", "unknown": "0"}
GENDER_NOT_KNOWN = "0"
ETHNICITY_NOT_OBTAINED = "NOBT"
TWELVE_MONTHS = timedelta(days=365)
# Ofsted's Annex A covers the months before an inspection; six is the usual window.
ANNEX_A_DAYS = 6 * 31
# The training export reaches back ten years unless asked for less.
TRAINING_DAYS = 3650
#: Rows read from the store at a time while a file streams (contacts, for List 1).
STREAM_BATCH = 1000
#: List 1's first batch of contacts: small, so the file's first bytes leave at once.
LIST_1_FIRST = 100
#: Contacts (with their payloads) read at a time while the training file streams.
TRAINING_BATCH = 500


def gender_code(sex: str | None) -> str:
    return GENDER_CODES.get(sex or "", GENDER_NOT_KNOWN)


def annex_date(when: datetime) -> str:
    return london_date(when).strftime("%d/%m/%Y")


def child_unique_id(child: ChildFacts) -> str:
    """The service's own id for the child (one id for records people linked); the partner's reference if none."""
    return child.same_child or child.child_id or child.child_reference


def _child_columns(child: ChildFacts) -> list[str]:
    age = "" if child.unborn or child.age_years is None else str(child.age_years)
    return [child_unique_id(child), gender_code(child.sex), child.ethnicity or ETHNICITY_NOT_OBTAINED, "", age]


def _in(row: ContactFacts, start: datetime, end: datetime) -> bool:
    return start <= row.accepted < end


def contacts_in(facts: Iterable[ContactFacts], start: datetime, end: datetime,
                referrals_only: bool = False) -> list[ContactFacts]:
    """The contacts a list shows: received in ``[start, end)`` (referrals only for List 3), in order.

    Also what the export records as read: every contact whose children appear in the file.
    """
    chosen = (f for f in facts if _in(f, start, end) and (f.is_referral or not referrals_only))
    return sorted(chosen, key=lambda f: (f.accepted, f.id))


def list_1_rows(facts: Iterable[ContactFacts], start: datetime, end: datetime) -> list[list[str]]:
    """Annex A List 1: one row per child per contact received in ``[start, end)``."""
    rows = []
    for contact in contacts_in(facts, start, end):
        for child in contact.children:
            rows.append(_child_columns(child) + [annex_date(contact.accepted), contact.source_code])
    return rows


def _referrals_by_child(facts: Iterable[ContactFacts]) -> dict[str, list[datetime]]:
    seen: dict[str, list[datetime]] = {}
    for contact in facts:
        if contact.is_referral:
            for child in contact.children:
                seen.setdefault(child_unique_id(child), []).append(contact.accepted)
    return seen


def list_3_rows(facts: Iterable[ContactFacts], start: datetime, end: datetime) -> list[list[str]]:
    """Annex A List 3: one row per child per referral received in ``[start, end)``.

    ``facts`` should reach back 12 months before ``start`` so the referral counts are whole
    (``load_facts(start - TWELVE_MONTHS, end)``).
    """
    facts = list(facts)
    history = _referrals_by_child(facts)
    rows = []
    for contact in contacts_in(facts, start, end, referrals_only=True):
        for child in contact.children:
            count = sum(1 for when in history.get(child_unique_id(child), ())
                        if contact.accepted - TWELVE_MONTHS < when <= contact.accepted)
            rows.append(_child_columns(child) + [annex_date(contact.accepted), contact.source_code,
                                                 "No", str(count), "", ""])
    return rows


# ---------------------------------------------------------------------------------------------
# Training data
# ---------------------------------------------------------------------------------------------


def households(facts: Sequence[ContactFacts]) -> dict[str, str]:
    """Contact id -> a group id shared by every contact linked through a child (union-find).

    Siblings on one contact, and the same child on later contacts, end up in one group, named
    by its smallest child reference, so no child's contacts straddle a train/test split.
    """
    return household_groups((f.id, [c.child_reference for c in f.children]) for f in facts)


def household_groups(contacts: Iterable[tuple[str, Sequence[str]]]) -> dict[str, str]:
    """``households`` from (contact id, its children's references) pairs, in any order (ids only held)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    firsts: dict[str, str] = {}
    for contact_id, references in contacts:
        refs = ["child:" + ref for ref in references] or ["contact:" + contact_id]
        find(refs[0])
        for ref in refs[1:]:
            union(refs[0], ref)
        firsts[contact_id] = refs[0]
    return {contact_id: find(first).split(":", 1)[1] for contact_id, first in firsts.items()}


def confirmed(facts: Iterable[ContactFacts], audited: Mapping[str, int] | None = None) -> list[ContactFacts]:
    """The contacts the training export holds: those with a manager-confirmed level or an audited one."""
    audited = audited or {}
    return [f for f in facts if f.confirmed_level is not None or f.id in audited]


def training_records(facts: Sequence[ContactFacts], prior_marac: Callable[[ContactFacts], bool],
                     audited: Mapping[str, int] | None = None) -> list[dict]:
    """One record per contact with a confirmed or audited level; ``facts`` must carry their payloads.

    ``audited`` (contact id -> the level the monthly quality audit set) wins over the confirmed
    decision; ``label_source`` says which each record's ``expert_level`` is: ``audited`` or ``practice``.
    """
    audited = audited or {}
    kept = confirmed(facts, audited)
    groups = households(kept)
    return [
        {"household_id": groups[f.id], "contact": f.payload,
         "expert_level": audited.get(f.id, f.confirmed_level),
         "label_source": "audited" if f.id in audited else "practice",
         "practice_level": f.confirmed_level, "prior_marac_12m": bool(prior_marac(f))}
        for f in kept
    ]


def to_jsonl(records: Iterable[dict]) -> str:
    return "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in records)



# ---------------------------------------------------------------------------------------------
# The files, as the API and the pages hand them out (each download is recorded as read)
# ---------------------------------------------------------------------------------------------


def _referrals(start: datetime, end: datetime, *columns, end_included: bool = False):
    """Contacts accepted in ``[start, end)`` whose confirmed level is a referral (``ContactFacts.is_referral``).

    Confirmed: decided, and the latest review is of the latest decision, at level 3 or more.
    ``end_included``: ``[start, end]``.
    """
    upper = Contact.accepted_at <= end if end_included else Contact.accepted_at < end
    return (select(*columns).join(Review, Review.id == Contact.latest_review_id)
            .where(Contact.accepted_at >= start, upper, Contact.status == Status.DECIDED,
                   Review.decision_id == Contact.latest_decision_id, Review.level >= REFERRAL_LEVEL))


def _child(row, same: dict[str, str]) -> ChildFacts:
    return _child_of(row[3:9], same)


def _child_of(values, same: dict[str, str]) -> ChildFacts:
    """A child from its (reference, age, unborn, sex, ethnicity, record id) columns."""
    ref, age, unborn, sex, ethnicity, child_id = values
    return ChildFacts(ref, age, bool(unborn), sex, ethnicity, child_id, same.get(child_id, child_id))


def _streamed(query) -> Iterator:
    return iter(db.session.execute(query.execution_options(yield_per=STREAM_BATCH)))


def stream_list_1(start: datetime, end: datetime, listed: str) -> Iterator[list[str]]:
    """``list_1_rows`` read from the store in keyset batches of contacts (the children's columns only),
    kept to the contacts export ``listed`` recorded (``audit.listed_in_export``).

    Each batch is the next ``STREAM_BATCH`` contacts in the list's order (``LIST_1_FIRST`` for the
    first, so the first rows leave at once), read through the ``accepted_at`` index and stopped at
    the batch's size: the database never sorts or holds the whole window (PostgreSQL sorted a
    year's join before its first row), and memory holds one batch however long the window.
    """
    same = same_child_ids()
    position, size = None, LIST_1_FIRST
    while True:
        batch = db.session.execute(
            select(Contact.id, Contact.accepted_at, Contact.source_code)
            .where(*accepted_window(start, end, position))
            .order_by(*ACCEPTED_ORDER.order_by()).limit(size)).all()
        if not batch:
            return
        kept = audit.listed_in_export(listed, [contact_id for contact_id, _, _ in batch])
        children: dict[str, list] = {}
        for row in db.session.execute(
                select(Child.contact_id, Child.child_reference, Child.age_years, Child.unborn, Child.sex,
                       Child.ethnicity, Child.child_id)
                .where(among(Child.contact_id, sorted(kept)))
                .order_by(Child.contact_id, Child.position)):
            children.setdefault(row[0], []).append(row)
        for contact_id, accepted, source in batch:
            day = annex_date(accepted)
            for child in children.get(contact_id, ()):
                yield _child_columns(_child_of(child[1:], same)) + [day, source]
        position, size = (batch[-1][1], batch[-1][0]), STREAM_BATCH


def _batches(rows: Iterable, size: int = STREAM_BATCH) -> Iterator[list]:
    batch: list = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _members(same: dict[str, str]) -> dict[str, list[str]]:
    """The other way round from ``same_child_ids``: each group's standing record -> every record in it."""
    out: dict[str, list[str]] = {}
    for record, root in same.items():
        out.setdefault(root, []).append(record)
    return out


def _earlier_referrals(children: list[ChildFacts], members: dict[str, list[str]], since: datetime,
                       until: datetime, same: dict[str, str]) -> dict[str, list[datetime]]:
    """When each of these children (by ``child_unique_id``) was in a referral accepted in ``(since, until]``.

    One indexed query by child record (``children.child_id``) for a batch of rows: the referrals a
    count needs are found directly, not by reading every referral of the twelve months before.
    """
    records = {r for c in children if c.child_id for r in members.get(c.same_child or c.child_id, [c.child_id])}
    references = {c.child_reference for c in children if not c.child_id}
    if not records and not references:
        return {}
    found: dict[str, list[datetime]] = {}
    about = Child.child_id.in_(sorted(records))
    if references:
        about = or_(about, Child.child_reference.in_(sorted(references)))
    query = (_referrals(since, until, Contact.accepted_at, Child.child_reference, Child.child_id, end_included=True)
             .join(Child, Child.contact_id == Contact.id).where(about))
    for accepted, reference, child_id in db.session.execute(query):
        key = child_unique_id(ChildFacts(reference, None, False, None, None, child_id, same.get(child_id, child_id)))
        found.setdefault(key, []).append(accepted)
    return found


def stream_list_3(start: datetime, end: datetime, listed: str) -> Iterator[list[str]]:
    """``list_3_rows`` read from the store: the window's referrals export ``listed`` recorded, a batch at a time.

    For each batch, the referral counts come from one query for the earlier referrals of the same
    children (their linked records included) in the twelve months before the batch's referrals,
    so a month's list reads that month and those children, never the year before it whole. A
    count includes the referral itself and any made at the same instant, as it always has.
    """
    same = same_child_ids()
    members = _members(same)
    query = (_referrals(start, end, Contact.id, Contact.accepted_at, Contact.source_code,
                        Child.child_reference, Child.age_years, Child.unborn, Child.sex, Child.ethnicity,
                        Child.child_id)
             .join(Child, Child.contact_id == Contact.id).order_by(Contact.accepted_at, Contact.id, Child.position))
    for rows in _batches(_streamed(query)):
        kept = audit.listed_in_export(listed, {row[0] for row in rows})
        batch = [row for row in rows if row[0] in kept]
        if not batch:
            continue
        children = [_child(row, same) for row in batch]
        history = _earlier_referrals(children, members, batch[0][1] - TWELVE_MONTHS, batch[-1][1], same)
        for row, child in zip(batch, children, strict=True):
            accepted = row[1]
            count = sum(1 for when in history.get(child_unique_id(child), ())
                        if accepted - TWELVE_MONTHS < when <= accepted)
            yield _child_columns(child) + [annex_date(accepted), row[2], "No", str(count), "", ""]


def annex_a_chunks(list_number: int, first: date, last: date, user: User) -> Iterator[str]:
    """Annex A List 1 or List 3 for contacts received from ``first`` to ``last`` (London days, inclusive).

    The contacts in the file are recorded as read first (one id-only query, then committed), and
    the file is then written a batch of rows at a time, so the first bytes leave at once and
    memory holds one batch, however long the window. It holds the recorded contacts and no others.
    """
    start, end = london_days(first, last)
    columns = (Contact.id.label("contact_id"), Contact.accepted_at)
    if list_number == 1:
        shown = select(*columns).where(*accepted_window(start, end))
    else:  # referral counts look back twelve months before the window
        shown = _referrals(start, end, *columns)
    recorded = audit.record_export_of(f"annex-a-list-{list_number}", shown, ("accepted_at", "contact_id"), user)
    db.session.commit()
    if list_number == 1:
        return csv_chunks(LIST_1_HEADINGS, stream_list_1(start, end, recorded.export_id))
    return csv_chunks(LIST_3_HEADINGS, stream_list_3(start, end, recorded.export_id))


def annex_a_csv(list_number: int, first: date, last: date, user: User) -> str:
    """The whole Annex A file as one text (``annex_a_chunks`` joined)."""
    return "".join(annex_a_chunks(list_number, first, last, user))


def _training_query(start: datetime, end: datetime, *columns, after: tuple[datetime, str] | None = None):
    """The contacts the training file holds (``confirmed``): a manager-confirmed level, or an audited one;
    after ``after`` (``accepted_window``) if given."""
    audited = (select(AuditFinding.contact_id)
               .join(AuditAssignment, AuditAssignment.id == AuditFinding.assignment_id))
    return (select(*columns).select_from(Contact).outerjoin(Review, Review.id == Contact.latest_review_id)
            .where(*accepted_window(start, end, after), or_(_confirmed(), Contact.id.in_(audited))))


def _confirmed():
    """``ContactFacts.confirmed_level`` is not None: decided, the latest review of the latest decision."""
    return and_(Contact.status == Status.DECIDED, Review.decision_id == Contact.latest_decision_id)


def _training_households(start: datetime, end: datetime, listed: str) -> dict[str, str]:
    """``households`` of the file's contacts from their ids and children's references only: the contacts
    export ``listed`` recorded, and so the only ones the file holds (``_training_lines``)."""
    recorded = audit.listed_in_export(listed)
    rows = db.session.execute(_training_query(start, end, Contact.id, Child.child_reference)
                              .outerjoin(Child, Child.contact_id == Contact.id)
                              .order_by(Contact.id, Child.position).execution_options(yield_per=STREAM_BATCH))
    return household_groups((contact_id, [ref for _, ref in group if ref is not None])
                            for contact_id, group in groupby(rows, key=lambda row: row[0]) if contact_id in recorded)


def _marac_referrals(start: datetime, end: datetime, same: dict[str, str]) -> dict[str, list[tuple[str, datetime]]]:
    """Each child (its root record) -> the contacts about it whose latest decision made a MARAC referral,
    accepted from twelve months before ``start`` to ``end``: (contact id, accepted_at).

    Read once for the whole file, in one query: MARAC referrals are few, and asked a batch at a
    time (the children of 500 contacts in an ``IN``) PostgreSQL scanned every child row per batch
    (2 s of a year's file at 200,000 contacts).
    """
    referred: dict[str, list[tuple[str, datetime]]] = {}
    for child_id, contact_id, accepted in db.session.execute(
            select(Child.child_id, Contact.id, Contact.accepted_at).join(Contact, Contact.id == Child.contact_id)
            .join(Decision, Decision.id == Contact.latest_decision_id)
            .where(Decision.marac_referral.is_(True), Child.child_id.is_not(None),
                   Contact.accepted_at >= start - TWELVE_MONTHS, Contact.accepted_at < end)):
        referred.setdefault(same.get(child_id, child_id), []).append((contact_id, accepted))
    return referred


def _prior_marac(batch: Sequence, children: Mapping[str, list[str]], same: dict[str, str],
                 referred: Mapping[str, list[tuple[str, datetime]]]) -> set[str]:
    """The batch's contacts for which ``known_history(...).marac_12m`` holds (``referred``: ``_marac_referrals``).

    That is: another contact about the same child (its linked records included), accepted in the
    twelve months before this one, whose latest decision made a MARAC referral.
    """
    return {cid for cid, accepted, *_ in batch
            if any(other != cid and accepted - TWELVE_MONTHS <= when < accepted
                   for root in {same.get(child, child) for child in children.get(cid, ())}
                   for other, when in referred.get(root, ()))}


def _training_lines(start: datetime, end: datetime, audited: Mapping[str, int],
                    groups: Mapping[str, str]) -> Iterator[str]:
    """``to_jsonl(training_records(...))`` a keyset batch at a time: memory holds one batch of payloads. Only
    the contacts ``groups`` holds (the export's recorded list, ``_training_households``) are written."""
    same = same_child_ids()
    referred = _marac_referrals(start, end, same)
    level = case((_confirmed(), Review.level))
    after = None
    while True:
        query = _training_query(start, end, Contact.id, Contact.accepted_at, Contact.payload, level, after=after)
        batch = db.session.execute(query.order_by(*ACCEPTED_ORDER.order_by()).limit(TRAINING_BATCH)).all()
        if not batch:
            return
        children: dict[str, list[str]] = {}
        for contact_id, child_id in db.session.execute(
                select(Child.contact_id, Child.child_id).where(among(Child.contact_id, [row[0] for row in batch]),
                                                              Child.child_id.is_not(None))):
            children.setdefault(contact_id, []).append(child_id)
        marac = _prior_marac(batch, children, same, referred)
        yield to_jsonl({"household_id": groups[cid], "contact": payload, "expert_level": audited.get(cid, practice),
                        "label_source": "audited" if cid in audited else "practice",
                        "practice_level": practice, "prior_marac_12m": cid in marac}
                       for cid, _, payload, practice in batch if cid in groups)
        after = (batch[-1][1], batch[-1][0])


def training_chunks(first: date, last: date, user: User) -> Iterator[str]:
    """Every confirmed or audited decision on contacts received from ``first`` to ``last``, as JSON lines.

    Like ``annex_a_chunks``: the contacts are recorded as read first (from an id-only query), the
    households are worked out from those contacts' ids and children's references (a contact stored
    meanwhile is in neither the record nor the file), then the lines are written a
    keyset batch at a time (``TRAINING_BATCH`` payloads held), so the first bytes leave at once.
    The lines are exactly ``to_jsonl(training_records(...))`` over the same contacts.
    """
    start, end = london_days(first, last)
    recorded = audit.record_export("confirmed-decisions", db.session.scalars(
        _training_query(start, end, Contact.id).order_by(*ACCEPTED_ORDER.order_by())), user)
    db.session.commit()
    audited = {contact_id: level for contact_id, (level, _) in quality_audit.audited_levels().items()}
    groups = _training_households(start, end, recorded.export_id)
    return _training_lines(start, end, audited, groups)


def training_jsonl(first: date, last: date, user: User) -> str:
    """The whole training file as one text (``training_chunks`` joined)."""
    return "".join(training_chunks(first, last, user))
