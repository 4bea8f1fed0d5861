"""The contract's refusals are written for a person (issue 15 item 2): what is wrong and how to fix it.

Pages show them beside the field and the API returns them in ``errors``; neither says
"Length must be between 1 and 120." or "Must be greater than or equal to 0 and less than or equal to 17."
"""

from __future__ import annotations

from tests.factories import child, contact_payload
from triage.engine.contract import validate_contact

MACHINE = ("Length must be", "greater than or equal", "less than or equal", "1..12")


def _errors(**overrides) -> dict[str, list[str]]:
    _, errors = validate_contact(contact_payload(**overrides))
    return errors


def test_lengths_and_ranges_are_refused_in_plain_words():
    errors = _errors(source={"code": "6", "organisation": "", "team": "T" * 121},
                     children=[child(age_years=40)], narrative="x" * 20001)
    assert errors["source.organisation"] == ["Must not be empty, and must be 120 characters or fewer."]
    assert errors["source.team"] == ["Must be 120 characters or fewer."]
    assert errors["children.0.age_years"] == [
        "Must be an age in whole years from 0 to 17; for an unborn child, say so instead."]
    assert errors["narrative"] == ["Must be 20000 characters or fewer."]
    assert _errors(children=[])["children"] == ["Give at least one child and no more than 12."]
    for messages in errors.values():
        for message in messages:
            assert not any(words in message for words in MACHINE), message


def test_a_limit_is_accepted_at_the_limit_and_refused_one_past_it():
    assert "source.team" not in _errors(source={"code": "6", "organisation": "Police", "team": "T" * 120})
    assert "source.team" in _errors(source={"code": "6", "organisation": "Police", "team": "T" * 121})
