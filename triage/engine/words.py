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
    "source.referrer": "an email address or phone number for the person who sent it",
}

_CHILD_INDEX = re.compile(r"^children\.(\d+)\.")

# The DfE Children in Need census names for the factor codes (the contract's ``factors``), as
# the census guide words them: A about the child, B a parent or carer, C another person.
_WHO = {"A": "the child", "B": "a parent or carer", "C": "another person in the household"}
_SPLIT = {"1": "Alcohol misuse", "2": "Drug misuse", "3": "Domestic abuse", "4": "Mental health",
          "5": "Learning disability", "6": "Physical disability or illness"}
FACTOR_NAMES = {
    **{f"{n}{who}": f"{topic}: concerns about {_WHO[who]}" for n, topic in _SPLIT.items() for who in "ABC"},
    "7A": "Young carer",
    "8B": "Privately fostered: overseas child who intends to return",
    "8C": "Privately fostered: overseas child who intends to stay",
    "8D": "Privately fostered: UK child in an educational placement",
    "8E": "Privately fostered: UK child making alternative arrangements",
    "8F": "Privately fostered: other",
    "9A": "Unaccompanied asylum-seeking child",
    "10A": "Going or being missing",
    "11A": "Child sexual exploitation",
    "12A": "Trafficking",
    "13A": "Gangs",
    "14A": "Socially unacceptable behaviour",
    "15A": "Self-harm",
    "16A": "Neglect",
    "17A": "Emotional abuse",
    "18B": "Physical abuse by a child",
    "18C": "Physical abuse by an adult",
    "19B": "Sexual abuse by a child",
    "19C": "Sexual abuse by an adult",
    "20": "Other",
    "21": "No factors identified",
    "22A": "Female genital mutilation",
    "23A": "Abuse linked to faith or belief",
    "24A": "Child criminal exploitation",
}


# Referral source codes of the DfE Children in Need census (the contract's source.code).
SOURCE_NAMES = {
    "1A": "Individual: family member or carer", "1B": "Individual: acquaintance",
    "1C": "Individual: self", "1D": "Individual: other", "2A": "School", "2B": "Education services",
    "3A": "GP", "3B": "Health visitor", "3C": "School nurse", "3D": "Other primary health",
    "3E": "A&E", "3F": "Other health", "4": "Housing", "5A": "Local authority: social care",
    "5B": "Local authority: other department", "5C": "Local authority: external",
    "5D": "Local authority: early help", "6": "Police", "7": "Other legal agency", "8": "Other",
    "9": "Anonymous", "10": "Unknown",
}
#: The source groups the model reads (``features``: source.code), as a worker says them.
SOURCE_GROUP_WORDS = {"police": "the police", "health": "a health service", "school": "a school or education service",
                "housing": "housing", "individual": "a member of the public or the family",
                "local authority service": "a council service", "legal agency": "another legal agency",
                "anonymous": "someone anonymous", "unknown": "not recorded", "other": "another organisation"}


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


def factor_names(codes: object) -> str:
    """Census factor codes as their names: ["11A", "19B"] -> "Child sexual exploitation; Sexual abuse by a child"."""
    if not codes:
        return "none given"
    items = codes if isinstance(codes, (list, tuple)) else [codes]
    return "; ".join(FACTOR_NAMES.get(str(code), str(code)) for code in items)


def value_words(field: str | None, value: object) -> str:
    """A contact field's (or model feature's) value as words, reading codes through the vocabulary
    their field uses."""
    if field == "factors" and value not in (None, NOT_KNOWN):
        return factor_names(value)
    if field == "source.code":
        return SOURCE_GROUP_WORDS.get(str(value), words(value))
    if field == "guidance_floor" and (value is None or (isinstance(value, int) and not isinstance(value, bool))):
        return f"level {value}" if value else "none"
    if field == "history.highest_level":
        return "none decided before" if value is None else f"level {value}"
    if field == "domestic_abuse.dash" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g} questions answered yes"
    return words(value)


def count(number: int, limit: int | None = None) -> str:
    """A count as a person reads it on a page: 12,000, not 12000 (a large council's queues run to thousands).

    With ``limit``, a number past it was counted only that far (one past it): "more than 10,000".
    """
    if limit is not None and number > limit:
        return f"more than {limit:,}"
    return f"{number:,}"


def percent(probability: float | None) -> str:
    """A probability a person reads: "less than 1%", "37%", "more than 99%" (never a bare 0% or 100%)."""
    if probability is None:
        return NOT_KNOWN
    share = float(probability) * 100
    if share < 1:
        return "less than 1%"
    if share > 99:
        return "more than 99%"
    return f"{share:.0f}%"


def gap_pattern(field: str) -> str:
    """``children.2.age_years`` -> ``children[*].age_years``: one name for the same gap per child."""
    return _CHILD_INDEX.sub("children[*].", field)


def gap_label(field: str) -> str:
    """The referrer's words for a gap field, naming the child when the gap is about one child.

    A field the guidance names but this list does not yet reads as its last part in words, so a
    page never shows a JSON path (the test over config/thresholds.yaml keeps the list complete).
    """
    label = GAP_LABELS.get(gap_pattern(field)) or words(field.rpartition(".")[2])
    match = _CHILD_INDEX.match(field)
    if match:
        label = label.replace("each child", f"child {int(match.group(1)) + 1}")
        label = label.replace("the child is", "they are")
    return label
