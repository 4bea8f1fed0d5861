"""Values and gap fields in words: one reading for pages, charts, explanations and feedback."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.engine.contract import FACTOR_CODES
from triage.engine.guidance_config import parse_guidance_file
from triage.engine.words import (
    FACTOR_NAMES,
    GAP_LABELS,
    count,
    factor_names,
    gap_label,
    gap_pattern,
    percent,
    value_words,
    words,
)


@pytest.mark.parametrize(("number", "text"), [(0, "0"), (999, "999"), (12000, "12,000"), (1234567, "1,234,567")])
def test_counts_on_a_page_group_their_thousands(number, text):
    assert count(number) == text


def test_gap_fields_are_grouped_across_children():
    assert gap_pattern("children.11.age_years") == "children[*].age_years"
    assert gap_pattern("domestic_abuse.dash") == "domestic_abuse.dash"
    assert gap_label("children.0.age_years") == "child 1's age (or that they are unborn)"
    assert gap_label("some.new_field") == "new field"  # never a JSON path, even for a field not yet listed


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "not known"), (True, "yes"), (False, "no"), (0, "0"), (3, "3"), (2.0, "2"), (0.25, "0.25"),
     ("not_sought", "not sought"), ("not known", "not known"), (["1A", "22A"], "1A, 22A"), ([], "none")],
)
def test_a_value_reads_the_same_everywhere(value, text):
    assert words(value) == text


def test_every_census_factor_code_has_its_name_and_nothing_else_does():
    assert set(FACTOR_NAMES) == set(FACTOR_CODES)
    assert factor_names(["11A", "19B"]) == "Child sexual exploitation; Sexual abuse by a child"
    assert value_words("factors", ["3B"]) == "Domestic abuse: concerns about a parent or carer"
    assert value_words("factors", []) == "none given"
    assert value_words("domestic_abuse.incidents_12m", 2) == "2"
    assert value_words("guidance_floor", 4) == "level 4"


def test_every_gap_the_guidance_can_name_has_words():
    thresholds = Path(__file__).resolve().parents[2] / "config" / "thresholds.yaml"
    fields = {gap_pattern(rule.field) for rule in parse_guidance_file(thresholds).gaps}
    assert fields and fields <= set(GAP_LABELS), fields - set(GAP_LABELS)


@pytest.mark.parametrize(("p", "text"), [(0.0, "less than 1%"), (0.004, "less than 1%"), (0.01, "1%"),
                                          (0.374, "37%"), (0.99, "99%"), (0.996, "more than 99%"), (1.0, "more than 99%")])
def test_probabilities_never_read_as_certain(p, text):
    assert percent(p) == text


def test_a_count_stopped_at_its_limit_says_more_than_the_limit():
    assert count(10_000, limit=10_000) == "10,000"
    assert count(10_001, limit=10_000) == "more than 10,000"
