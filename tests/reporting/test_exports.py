"""Exports (triage/exports.py): Ofsted Annex A Lists 1 and 3, and the training data.

Annex A wants one row per child per contact, the list's own headings and the census codes;
the training export must read back with ``training/train.py``'s own reader.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from tests.reporting.test_reports import row
from training.train import read_records
from triage.engine.workdays import london_days
from triage.extensions import db
from triage.reporting import exports
from triage.reporting.reports import ChildFacts

POLICE = 1
START, END = london_days(datetime(2026, 11, 1).date(), datetime(2026, 11, 30).date())


def at(month: int, day: int, hour: int = 9, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=timezone.utc)


def with_children(facts, *children: ChildFacts, payload: dict | None = None):
    """The same contact with these children (and, for training, this payload)."""
    from dataclasses import replace

    return replace(facts, children=children, payload=payload)


def kid(ref: str, *, sex: str | None = "female", ethnicity: str | None = "WBRI", age: int | None = 7,
        unborn: bool = False) -> ChildFacts:
    return ChildFacts(ref, age, unborn, sex, ethnicity)


def confirmed(cid: str, received: datetime, level: int, *children: ChildFacts, payload: dict | None = None):
    facts = row(cid, POLICE, received, level, decided=(level, received + timedelta(hours=1)),
                reviewed=("confirmed", level, received + timedelta(hours=2), "Agreed with the decision."))
    return with_children(facts, *children, payload=payload)


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_headings_are_the_lists_own():
    assert exports.LIST_1_HEADINGS == ("Child Unique ID", "Gender", "Ethnicity", "Date of Birth",
                                       "Age of Child (Years)", "Date of Contact", "Contact Source")
    assert exports.LIST_3_HEADINGS == ("Child Unique ID", "Gender", "Ethnicity", "Date of Birth",
                                       "Age of Child (Years)", "Date of Referral", "Referral Source",
                                       "Referral NFA?", "Number of Referrals in Last 12 Months",
                                       "Allocated Team", "Allocated Worker")


def test_census_gender_codes():
    assert [exports.gender_code(s) for s in ("male", "female", "unknown", None)] == ["1", "2", "0", "0"]


def test_list_1_has_one_row_per_child_per_contact_in_the_range():
    siblings = with_children(row("a", POLICE, at(11, 3), 2), kid("C1", sex="male", age=4),
                             kid("C2", ethnicity=None, age=None, unborn=True))
    again = with_children(row("b", POLICE, at(11, 20), 1), kid("C1", sex="male", age=4))
    before = with_children(row("c", POLICE, at(10, 31), 1), kid("C9"))
    text = exports.to_csv(exports.LIST_1_HEADINGS, exports.list_1_rows([again, siblings, before], START, END))
    assert parse(text) == [
        list(exports.LIST_1_HEADINGS),
        ["C1", "1", "WBRI", "", "4", "03/11/2026", "6"],
        ["C2", "2", "NOBT", "", "", "03/11/2026", "6"],
        ["C1", "1", "WBRI", "", "4", "20/11/2026", "6"],
    ]


def test_dates_are_london_days():
    late = with_children(row("a", POLICE, datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc), 1), kid("C1"))
    start, end = london_days(datetime(2026, 7, 1).date(), datetime(2026, 7, 1).date())
    assert exports.list_1_rows([late], start, end)[0][5] == "01/07/2026"


def test_list_3_holds_confirmed_referrals_with_their_count_in_the_last_12_months():
    referral_last_year = confirmed("old", at(12, 1, year=2025), 3, kid("C1"))
    too_old = confirmed("older", at(11, 1, year=2025), 4, kid("C1"))  # more than 12 months before 20 November
    not_a_referral = confirmed("eh", at(11, 5), 2, kid("C1"))
    unconfirmed = with_children(row("open", POLICE, at(11, 6), 3, decided=(3, at(11, 6, 10))), kid("C1"))
    referral = confirmed("now", at(11, 20), 4, kid("C1", sex="male"), kid("C2", sex="unknown"))
    rows = exports.list_3_rows([too_old, referral_last_year, not_a_referral, unconfirmed, referral], START, END)
    assert rows == [
        ["C1", "1", "WBRI", "", "7", "20/11/2026", "6", "No", "2", "", ""],
        ["C2", "0", "WBRI", "", "7", "20/11/2026", "6", "No", "1", "", ""],
    ]


def test_households_join_contacts_that_share_a_child():
    a = confirmed("a", at(11, 1), 2, kid("K3"), kid("K1"))
    b = confirmed("b", at(11, 2), 2, kid("K3"))
    c = confirmed("c", at(11, 3), 2, kid("K2"))
    d = confirmed("d", at(11, 4), 2, kid("K2"), kid("K1"))
    e = confirmed("e", at(11, 5), 2, kid("K9"))
    groups = exports.households([a, b, c, d, e])
    assert groups == {"a": "K1", "b": "K1", "c": "K1", "d": "K1", "e": "K9"}


def test_training_records_read_back_with_the_training_reader(tmp_path):
    contact = {"partner_reference": "P-1", "children": [{"child_reference": "K1"}]}
    done = confirmed("a", at(11, 1), 3, kid("K1"), payload=contact)
    waiting = with_children(row("b", POLICE, at(11, 2), 2, decided=(2, at(11, 2, 10))), kid("K2"),
                            payload={"partner_reference": "P-2", "children": [{"child_reference": "K2"}]})
    records = exports.training_records([done, waiting], prior_marac=lambda f: f.id == "a")
    assert records == [{"household_id": "K1", "contact": contact, "expert_level": 3, "label_source": "practice",
                        "practice_level": 3, "prior_marac_12m": True}]
    path = tmp_path / "confirmed.jsonl"
    path.write_text(exports.to_jsonl(records))
    (read,) = read_records(path)
    assert (read["expert_level"], read["household_id"], read["contact"]) == (3, "K1", contact)


def test_an_audited_level_is_the_label_and_says_so():
    contact = {"partner_reference": "P-1", "children": [{"child_reference": "K1"}]}
    done = confirmed("a", at(11, 1), 3, kid("K1"), payload=contact)
    other = confirmed("c", at(11, 3), 4, kid("K5"), payload={"partner_reference": "P-3"})
    waiting = with_children(row("b", POLICE, at(11, 2), 2, decided=(2, at(11, 2, 10))), kid("K2"),
                            payload={"partner_reference": "P-2"})
    records = exports.training_records([done, other, waiting], prior_marac=lambda f: False, audited={"a": 2, "b": 3})
    by_ref = {r["contact"]["partner_reference"]: r for r in records}
    assert (by_ref["P-1"]["expert_level"], by_ref["P-1"]["label_source"], by_ref["P-1"]["practice_level"]) \
        == (2, "audited", 3)
    assert (by_ref["P-3"]["expert_level"], by_ref["P-3"]["label_source"]) == (4, "practice")
    # audited but not yet confirmed: the audited level is a label on its own
    assert (by_ref["P-2"]["expert_level"], by_ref["P-2"]["label_source"], by_ref["P-2"]["practice_level"]) \
        == (3, "audited", None)


def test_postgresql_plans_every_cursor_to_be_read_to_its_end(app):
    """Exports and audit-verify read their server-side cursors to the last row: no fast-start plans."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("cursor_tuple_fraction is PostgreSQL's planner setting")
        assert float(db.session.scalar(text("SHOW cursor_tuple_fraction"))) == 1.0
