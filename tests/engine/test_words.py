"""Values and gap fields in words: one reading for pages, charts, explanations and feedback."""

from __future__ import annotations

import pytest

from triage.engine.words import gap_label, gap_pattern, words


def test_gap_fields_are_grouped_across_children():
    assert gap_pattern("children.11.age_years") == "children[*].age_years"
    assert gap_pattern("domestic_abuse.dash") == "domestic_abuse.dash"
    assert gap_label("children.0.age_years") == "child 1's age (or that they are unborn)"
    assert gap_label("some.new_field") == "some.new_field"


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "not known"), (True, "yes"), (False, "no"), (0, "0"), (3, "3"), (2.0, "2"), (0.25, "0.25"),
     ("not_sought", "not sought"), ("not known", "not known"), (["1A", "22A"], "1A, 22A"), ([], "none")],
)
def test_a_value_reads_the_same_everywhere(value, text):
    assert words(value) == text
