"""The checks section of the threshold guidance: finding codes per agency and due times by RAG rating.

One source of truth for the service (check answers are validated against it) and the training
generator (synthetic check answers use the same codes).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.guidance_cases import DEFAULT_THRESHOLDS
from triage.engine.guidance import GuidanceConfigError, load_guidance
from triage.engine.guidance_config import CHECK_AGENCIES

SOURCE = DEFAULT_THRESHOLDS.read_text()
CHECKS = load_guidance(DEFAULT_THRESHOLDS).config.checks


def _broken(tmp_path, old: str, new: str) -> str:
    assert old in SOURCE
    path = tmp_path / "thresholds.yaml"
    path.write_text(SOURCE.replace(old, new, 1))
    with pytest.raises(GuidanceConfigError) as caught:
        load_guidance(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_every_agency_has_labelled_finding_codes():
    assert tuple(CHECKS.agencies) == CHECK_AGENCIES
    assert CHECKS.finding_label("police", "adult_known_for_violence").startswith("An adult")
    assert "attendance_below_90" in CHECKS.agencies["education"].findings
    assert "supervised_for_violence" in CHECKS.agencies["probation"].findings


def test_a_code_of_another_agency_is_not_the_agencys():
    with pytest.raises(KeyError):
        CHECKS.finding_label("health", "adult_known_for_violence")


def test_due_time_follows_the_rating_and_stays_before_the_deadline():
    asked = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    far = asked + timedelta(days=5)
    assert CHECKS.due_at("red", asked, far) == asked + timedelta(hours=4)
    assert CHECKS.due_at("green", asked, far) == asked + timedelta(hours=72)
    near = asked + timedelta(hours=20)
    assert CHECKS.due_at("amber", asked, near) == near - timedelta(hours=CHECKS.margin_hours)
    assert CHECKS.due_at("green", asked, asked) == asked


# (text in the default file, its replacement, lines from the text's first line to the error, words)
@pytest.mark.parametrize(("old", "new", "at", "words"), [
    ("        exclusions: A child", "        Exclusions!: A child", -2, "does not match"),
    ("        health_visitor_concerns: The", "        adult_known_for_violence: The", 0,
     "already listed under police"),
    ("    red: 4\n", "    red: 30\n", -1, "red must be due sooner than amber"),
    ("    probation:\n      name: Probation", "    probatoin:\n      name: Probation", 0, "probatoin"),
    ("  margin_hours: 2", "  margin_hours: two", 0, "is not of type 'integer'"),
])
def test_a_broken_checks_section_is_one_line_naming_the_line(tmp_path, old, new, at, words):
    message = _broken(tmp_path, old, new)
    line = SOURCE[:SOURCE.index(old)].count("\n") + 1 + at
    assert words in message
    assert f"thresholds.yaml, line {line}: checks." in message, message
