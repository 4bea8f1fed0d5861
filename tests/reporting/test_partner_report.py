"""The partner report counted by the database, and the streamed exports, are the figures over every contact.

``reports.partner_report`` over ``reference_facts`` (a full ORM ``Contact`` per contact, every
decision and review) is the definition; ``partner_report.organisation_report`` (SQL aggregates),
``exports.annex_a_csv(3, ...)`` (each batch's earlier referrals found by child record) and
``exports.training_jsonl`` (keyset batches) must give exactly what it gives. The store has the
calendar's awkward days: the clocks going forward (29 March 2026) and back (25 October), a
contact whose clock started at 23:30 UTC on the last day of a month (the next month in London
in summer, the same month in winter), Easter's bank holidays and weekends between the partner
recording a contact and sending it; contacts undecided, decided and unreviewed, confirmed,
changed on review and decided twice; two teams and none; the same child on several contacts,
two linked records of one child, and MARAC referrals a year apart and within one.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select, update

from tests.decision_support import OVERRIDE, decide, pin, review, submit
from tests.factories import child, contact_payload
from tests.reporting.test_lean_loading import reference_facts
from triage.engine.workdays import london_date, london_days
from triage.extensions import db
from triage.record.tables import Child, ChildLink, Contact, Organisation, User
from triage.reporting import exports, partner_report, reports
from triage.services.children import known_history

UTC = timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (received by the partner, accepted by the front door), UTC
CLOCKS = [
    ("2026-03-27T18:00", "2026-03-30T16:30"),  # Friday evening to Monday, across the clocks going forward
    ("2026-03-27T18:00", "2026-03-30T17:30"),
    ("2026-03-29T00:30", "2026-03-29T02:30"),  # the night the clocks go forward
    ("2026-03-31T22:00", "2026-03-31T23:30"),  # 00:30 on 1 April in London: April
    ("2026-03-31T21:00", "2026-03-31T22:59"),  # 23:59 on 31 March in London: March
    ("2026-04-02T15:00", "2026-04-07T13:00"),  # Thursday before Good Friday to the Tuesday after Easter Monday
    ("2026-04-02T15:00", "2026-04-07T15:30"),
    ("2026-04-04T10:00", "2026-04-08T09:00"),  # recorded on a bank holiday weekend
    ("2026-05-01T12:00", "2026-05-05T12:30"),  # over the early May bank holiday
    ("2026-05-31T22:30", "2026-05-31T23:30"),  # June in London
    ("2026-06-15T09:00", "2026-06-15T09:05"),
    ("2026-06-20T09:00", "2026-06-22T09:05"),  # a weekend
    ("2026-10-23T16:00", "2026-10-26T16:30"),  # across the clocks going back
    ("2026-10-25T00:30", "2026-10-25T01:30"),  # the night the clocks go back
    ("2026-10-31T22:00", "2026-10-31T23:30"),  # 23:30 on 31 October in London (GMT): October
    ("2026-11-02T08:00", "2026-11-04T10:00"),
    ("2026-11-10T08:00", "2026-11-10T08:30"),
    ("2026-11-11T08:00", "2026-11-13T08:30"),
]


@pytest.fixture
def calendar_store(app, client, people, make_person):
    school = make_person("partner", organisation="Demo Primary School")
    pin(app, level=3, floor=2, urgency="amber")
    ids = []
    shared = child(child_reference="SHARED-1")
    for i in range(len(CLOCKS)):
        team = ("Team A", "Team B", None)[i % 3]
        source = {"code": "6", "organisation": "Demo Police", **({"team": team} if team else {})}
        overrides = {"consent": ("obtained", "refused", "not_sought", "not_required")[i % 4], "source": source,
                     "children": [child(**shared), child(sex="male")] if i % 4 == 0 else [child()]}
        payload = contact_payload(**overrides)
        if i % 5 == 1:
            payload["domestic_abuse"]["dash"] = {"version": "police-27", "officer_grading": "standard",
                                                 "answers": {}}
        if i % 6 == 5:
            payload = contact_payload(organisation="Demo Primary School", **overrides)
            payload["source"] = {"code": "2A", "organisation": "Demo Primary School",
                                 **({"team": team} if team else {})}
            ids.append(submit(client, school, **payload))
        else:
            ids.append(submit(client, people["partner"], **payload))
    pin(app, level=None)  # a broken model: stored unscored
    ids.append(submit(client, people["partner"], children=[child(**shared)]))
    clocks = [*CLOCKS, ("2026-11-12T08:00", "2026-11-12T09:00")]
    for n, contact_id in enumerate(ids):
        if n % 7 == 6:
            continue  # undecided
        level = (2, 3, 4)[n % 3]
        body = {"level": level, "marac_referral": n in (0, 4, 8),  # the shared child's (see MARAC below)
                **({"override_reason": OVERRIDE} if level != 3 else {}),
                **({"consent_reason": "The early help worker will ask the family at the first visit."}
                   if level == 2 else {})}
        assert decide(client, people["practitioner"], contact_id, **body).status_code == 201
        if n % 7 == 5:
            continue  # decided, awaiting review
        if n % 4 == 1:
            assert review(client, people["manager"], contact_id, outcome="changed",
                          level=4 if level != 4 else 2).status_code == 201
        else:
            assert review(client, people["manager"], contact_id).status_code == 201
        if n % 8 == 3:  # decided again after the review: the review is of an earlier decision
            decide(client, people["practitioner"], contact_id, level=3)
    with app.app_context():
        for contact_id, (received, accepted) in zip(ids, clocks, strict=True):
            db.session.execute(update(Contact).where(Contact.id == contact_id)
                               .values(received_at=at(received), accepted_at=at(accepted)))
        # two records one child: the second contact's first child linked to the first contact's
        first, second = (db.session.scalar(select(Child.child_id).where(Child.contact_id == ids[k],
                                                                        Child.position == 0)) for k in (1, 2))
        manager = db.session.scalar(select(User.id).where(User.role == "manager"))
        db.session.add(ChildLink(child_id=first, linked_child_id=second, contact_id=ids[2],
                                 reason="The same child: the school confirmed it.", linked_by_id=manager))
        # the shared child's records (one per contact: no identifiers were sent) linked as one child
        records = db.session.scalars(select(Child.child_id).where(Child.child_reference == "SHARED-1")
                                     .order_by(Child.id)).all()
        for record in records[1:]:
            db.session.add(ChildLink(child_id=records[0], linked_child_id=record, contact_id=None,
                                     reason="The same child: the police confirmed it.", linked_by_id=manager))
        db.session.commit()
    return ids


def test_the_partner_report_counted_by_the_database_is_the_report_over_every_contact(app, calendar_store):
    with app.app_context():
        levels = app.extensions["recommender"].guidance.levels
        for org in db.session.scalars(select(Organisation)):
            for month in (date(2026, 3, 1), date(2026, 4, 1), date(2026, 6, 1), date(2026, 10, 1),
                          date(2026, 11, 1), date(2027, 1, 1)):
                for team in (None, "Team A", "Team C"):
                    expected = reports.partner_report(reference_facts(*reports.report_window(month)),
                                                      organisation_id=org.id, organisation=org.name, month=month,
                                                      team=team, levels=levels)
                    served = partner_report.organisation_report(org, month, team, levels)
                    assert set(served.pop("checks")) >= {"contacts"}  # counted in SQL (test_checks_report.py)
                    assert served == expected, (org.name, month, team)
                    assert reports.partner_report_csv(served) == reports.partner_report_csv(expected)


def test_every_contact_keeps_its_number_of_gaps(app, calendar_store):
    """``contacts.gap_count``, which the report counts, is the length of the recommendation's list of gaps."""
    with app.app_context():
        rows = db.session.execute(select(Contact.gap_count, Contact.recommendation)).all()
        assert {count for count, _ in rows} >= {None}  # the unscored contact
        for count, rec in rows:
            gaps = (rec or {}).get("information_gaps")
            assert count == (None if gaps is None else len(gaps))


def test_the_april_police_report_counts_what_the_calendar_says(app, calendar_store):
    """Not only equal to the definition: the definition's figures are the ones the calendar gives."""
    with app.app_context():
        levels = app.extensions["recommender"].guidance.levels
        police = db.session.scalar(select(Organisation).where(Organisation.name == "Demo Police"))
        report = partner_report.organisation_report(police, date(2026, 4, 1), None, levels)
        april = [i for i, (_, accepted) in enumerate(CLOCKS)
                 if date(2026, 4, 1) <= london_date(at(accepted)) < date(2026, 5, 1) and i % 6 != 5]
        # 31 March 23:30 UTC is 1 April in London; the 2 April ones (15:30 and 13:00 on the 7th), the 4th's;
        # the school's 7 April 15:30 is the school's, not the police's
        assert report["figures"]["contacts"] == len(april) == 3
        # 2 April 15:00 UTC to 7 April 15:30 is late: the next working day after Thursday is Tuesday 7th (Good
        # Friday, the weekend, Easter Monday), 16:00 BST = 15:00 UTC; the 4th at 10:00 (Easter Saturday) counts
        # from Tuesday 09:00 BST, so 8 April 09:00 UTC is late; 31 March 22:00 to 23:30 is not.
        assert report["figures"]["late_notifications"] == 2


def test_list_3_is_the_reference_list_for_each_month(app, calendar_store, people):
    with app.app_context():
        manager = db.session.get(User, people["manager"].id)
        months = [(date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 4, 1), date(2026, 6, 30)),
                  (date(2026, 10, 1), date(2026, 11, 30)), (date(2026, 1, 1), date(2026, 12, 31))]
        rows = 0
        for first, last in months:
            start, end = london_days(first, last)
            expected = exports.to_csv(exports.LIST_3_HEADINGS, exports.list_3_rows(
                reference_facts(start - exports.TWELVE_MONTHS, end), start, end))
            assert exports.annex_a_csv(3, first, last, manager) == expected, (first, last)
            rows += len(expected.splitlines()) - 1
        assert rows > 8
        counts = [line.split(",")[8] for line in exports.annex_a_csv(3, date(2026, 1, 1), date(2026, 12, 31),
                                                                      manager).splitlines()[1:]]
        assert max(map(int, counts)) >= 2  # some child has earlier referrals counted


def test_the_streamed_training_file_is_the_reference_file(app, calendar_store, people):
    with app.app_context():
        manager = db.session.get(User, people["manager"].id)
        first, last = date(2026, 1, 1), date(2026, 12, 31)
        facts = reference_facts(*london_days(first, last), with_payload=True)
        prior = {f.id: known_history([c.child_id for c in f.children if c.child_id], before=f.accepted,
                                     exclude=f.id).marac_12m for f in facts}
        expected = exports.to_jsonl(exports.training_records(facts, lambda f: prior[f.id]))
        assert any(prior.values()) and not all(prior.values())
        assert exports.training_jsonl(first, last, manager) == expected
        small = exports.TRAINING_BATCH
        try:
            exports.TRAINING_BATCH = 2  # many keyset batches, some splitting contacts accepted at one instant
            assert exports.training_jsonl(first, last, manager) == expected
        finally:
            exports.TRAINING_BATCH = small


def test_the_training_file_streams_a_batch_at_a_time(app, calendar_store, people):
    """The first lines leave before the rest are read: each batch holds ``TRAINING_BATCH`` contacts."""
    with app.app_context():
        manager = db.session.get(User, people["manager"].id)
        small = exports.TRAINING_BATCH
        try:
            exports.TRAINING_BATCH = 3
            chunks = exports.training_chunks(date(2026, 1, 1), date(2026, 12, 31), manager)
            assert len(next(chunks).splitlines()) == 3
            assert all(len(piece.splitlines()) <= 3 for piece in chunks)
        finally:
            exports.TRAINING_BATCH = small


def test_the_training_download_is_streamed(app, client, people, calendar_store):
    response = client.get("/api/v1/exports/training.jsonl?from=2026-01-01&to=2026-12-31",
                          headers=people["manager"].headers, buffered=False)
    assert response.status_code == 200 and response.is_streamed
    lines = b"".join(response.response).decode().splitlines()
    response.close()
    assert len(lines) > 5 and all(line.startswith("{") for line in lines)
