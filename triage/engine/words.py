"""Stored values and gap fields in plain English, one way for every page, chart and document.

A worker and a partner read words, not codes: ``not_sought`` is "not sought", ``None`` is "not
known", ``True`` is "yes". Pages that start a sentence or a table cell with the value capitalise
it (``web.present.label``); everything else uses ``words`` as it is, so a chart, an explanation
and a page never disagree on how a value reads.
"""

from __future__ import annotations

import re

NOT_KNOWN = "not known"

# Short names for the fields an information gap can name, as a referrer would say them. The
# gap rules themselves (and the reason each matters) are the guidance's: config/thresholds.yaml.
GAP_LABELS = {
    "domestic_abuse.dash": "a completed DASH risk checklist",
    "domestic_abuse.dash.answers": "the answer to each DASH question",
    "domestic_abuse.incidents_12m": "how many incidents police know of in the last 12 months",
    "children[*].present_at_incident": "whether each child was present at the incident",
    "children[*].age_years": "each child's age (or that the child is unborn)",
    "consent": "whether the family consented (or why you did not ask)",
    "narrative": "a full account of what happened",
    "source.referrer": "an email address or phone number for you",
}

_CHILD_INDEX = re.compile(r"^children\.(\d+)\.")


def words(value: object) -> str:
    """A value as words: None "not known", True "yes", 2.0 "2", ["1A", "2B"] "1A, 2B", a_b "a b"."""
    if value is None:
        return NOT_KNOWN
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(words(item) for item in value) or "none"
    return str(value).replace("_", " ")


def gap_pattern(field: str) -> str:
    """``children.2.age_years`` -> ``children[*].age_years``: one name for the same gap per child."""
    return _CHILD_INDEX.sub("children[*].", field)


def gap_label(field: str) -> str:
    """The referrer's words for a gap field, naming the child when the gap is about one child."""
    label = GAP_LABELS.get(gap_pattern(field), field)
    match = _CHILD_INDEX.match(field)
    if match:
        label = label.replace("each child", f"child {int(match.group(1)) + 1}")
        label = label.replace("the child is", "they are")
    return label
