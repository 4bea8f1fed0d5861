"""The marshmallow contract accepts exactly what ``contact-v1.schema.json`` accepts.

The JSON Schema (2020-12, formats asserted) is the truth. Every document here is run through
it and through ``validate_contact``, and the two must agree on accept or reject: the shared
examples, a hand-written catalogue of edge cases with the answer we expect, and documents
that hypothesis builds (valid contacts with one field broken).

Where the Python ``jsonschema`` library departs from JSON Schema's own semantics, we follow
the standard and are stricter than the library; each such departure is named in
``LIBRARY_DEPARTURES`` with its reason and proved by its own test below:

* ``pattern`` is an ECMA-262 regular expression, where ``$`` matches only at the very end of
  the string. Python's ``re.search`` lets ``$`` match before a trailing newline, so the library
  accepts ``"NP-1\\n"`` as a partner_reference and ``"1\\n"`` as a DASH question number.
* ``format: date-time`` is RFC 3339. rfc3339-validator anchors with ``$`` as well, so the
  library accepts a date-time followed by a newline.
* ``format: email`` is an RFC 5321 mailbox. The library only checks that an ``@`` appears
  anywhere (``"@"``, ``"a@b@c"`` and ``"a b@c"`` pass); we require one ``@`` with something on
  both sides and no whitespace.

``REFERENCE`` is the JSON Schema with exactly those three points read the standard's way; the
plain library validator is checked to differ from it only on documents that contain one of them.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError

from tests.factories import SHARED, all_examples, child, contact_payload
from triage.engine.contract import (
    CHILD_STATUSES,
    CONSENT,
    DASH_ANSWERS,
    DASH_VERSIONS,
    ETHNICITIES,
    FACTOR_CODES,
    GRADINGS,
    PRIMARY_CONCERNS,
    REFERRER_REQUESTS,
    SEXES,
    SOURCE_CODES,
    validate_contact,
)

SCHEMA = json.loads((SHARED / "spec" / "contact-v1.schema.json").read_text())
LIBRARY = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


# --- the reference: the JSON Schema read with ECMA-262 regexes and RFC formats -------------------

def _ecma_pattern(validator, pattern, instance, schema):
    """``pattern`` as ECMA-262 reads it: ``$`` matches only at the very end (no trailing newline)."""
    if not isinstance(instance, str):
        return
    if not re.search(pattern.replace("$", r"\Z"), instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_formats = FormatChecker()
for _name, _check in Draft202012Validator.FORMAT_CHECKER.checkers.items():
    _formats.checkers[_name] = _check


@_formats.checks("date-time")
def _rfc3339_date_time(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    return not instance.endswith("\n") and Draft202012Validator.FORMAT_CHECKER.conforms(instance, "date-time")


@_formats.checks("email")
def _rfc5321_mailbox(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    return re.fullmatch(r"[^@\s]+@[^@\s]+", instance) is not None


ReferenceValidator = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})
REFERENCE = ReferenceValidator(SCHEMA, format_checker=_formats)

LIBRARY_DEPARTURES = {
    "ecma-dollar": "ECMA-262 `$` does not match before a trailing newline; Python's does",
    "rfc3339-newline": "rfc3339-validator anchors with Python `$`, accepting a trailing newline",
    "email-only-at-sign": "jsonschema's email check is `'@' in value`, far looser than RFC 5321",
}


def reference_accepts(document: object) -> bool:
    return REFERENCE.is_valid(document)


def we_accept(document: object) -> bool:
    contact, errors = validate_contact(document)
    assert (contact is None) == bool(errors), "validate_contact returns a contact or errors, never both"
    return contact is not None


def assert_agree(document: object) -> bool:
    """Both validators give the same answer; the plain library too unless a departure explains it."""
    reference = reference_accepts(document)
    ours = we_accept(document)
    assert ours == reference, (
        f"JSON Schema {'accepts' if reference else 'rejects'} but marshmallow "
        f"{'accepts' if ours else 'rejects'}: {json.dumps(document)[:2000]}\n"
        f"marshmallow errors: {validate_contact(document)[1]}\n"
        f"JSON Schema errors: {[e.message for e in REFERENCE.iter_errors(document)]}"
    )
    if LIBRARY.is_valid(document) != reference:
        assert _has_departure(document), f"library and reference differ without a known reason: {document}"
    return reference


def _strings(document: object):
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict):
        for key, value in document.items():
            yield key
            yield from _strings(value)
    elif isinstance(document, list):
        for value in document:
            yield from _strings(value)


def _has_departure(document: object) -> bool:
    """Does the document contain something the library and the standard read differently?"""
    return any(s.endswith("\n") or "@" in s for s in _strings(document))


# --- building documents ---------------------------------------------------------------------------

def setting(document: dict, path: str, value: object) -> dict:
    """A deep copy of ``document`` with the value at dotted ``path`` set (list indexes are numbers)."""
    doc = copy.deepcopy(document)
    *parents, last = path.split(".")
    node = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


def without(document: dict, path: str) -> dict:
    doc = copy.deepcopy(document)
    *parents, last = path.split(".")
    node = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    del node[last]
    return doc


def with_answer(question: str, answer: object = "yes") -> dict:
    """BASE with one more DASH answer (question keys may contain dots, so no dotted path)."""
    doc = copy.deepcopy(BASE)
    doc["domestic_abuse"]["dash"]["answers"][question] = answer
    return doc


BASE = contact_payload(
    source={"code": "6", "organisation": "Demo Police", "team": "Hub",
            "referrer": {"name": "PC 1", "role": "Officer", "email": "pc1@police.example", "phone": "101"}},
    factors=["3A", "1B"],
    referrer_request="assessment",
)
NEGLECT = without(setting(BASE, "primary_concern", "neglect"), "domestic_abuse")


def _enum_cases(path: str, values: tuple[str, ...]) -> list[tuple[str, dict, bool]]:
    cases = [(f"{path}={value}", setting(BASE, path, value), True) for value in values]
    cases += [
        (f"{path} lower-cased", setting(BASE, path, values[0].lower() + "x"), False),
        (f"{path} null", setting(BASE, path, None), False),
        (f"{path} number", setting(BASE, path, 6), False),
    ]
    return cases


CASES: list[tuple[str, object, bool]] = [
    ("the base document", BASE, True),
    ("minimal neglect contact", {"partner_reference": "A", "source": {"code": "2A", "organisation": "S"},
                                 "received_at": "2026-01-01T00:00:00Z", "primary_concern": "neglect",
                                 "children": [{"child_reference": "c"}], "consent": "obtained"}, True),
    # not an object at all
    ("a list", [BASE], False),
    ("a string", "contact", False),
    ("null", None, False),
    ("an empty object", {}, False),
    # required blocks
    *[(f"missing {key}", without(BASE, key), False)
      for key in ("partner_reference", "source", "received_at", "primary_concern", "children", "consent")],
    ("missing source.code", without(BASE, "source.code"), False),
    ("missing source.organisation", without(BASE, "source.organisation"), False),
    ("missing children.0.child_reference", without(BASE, "children.0.child_reference"), False),
    ("optional incident_at left out", without(BASE, "incident_at"), True),
    ("optional narrative left out", without(BASE, "narrative"), True),
    # every enum
    *_enum_cases("source.code", SOURCE_CODES),
    *_enum_cases("primary_concern", tuple(c for c in PRIMARY_CONCERNS)),
    *_enum_cases("consent", CONSENT),
    *_enum_cases("referrer_request", REFERRER_REQUESTS),
    *_enum_cases("children.0.sex", SEXES),
    *_enum_cases("children.0.ethnicity", ETHNICITIES),
    *_enum_cases("children.0.current_status", CHILD_STATUSES),
    *_enum_cases("domestic_abuse.dash.version", DASH_VERSIONS),
    *_enum_cases("domestic_abuse.dash.officer_grading", GRADINGS),
    *[(f"factors=[{code}]", setting(BASE, "factors", [code]), True) for code in FACTOR_CODES],
    *[(f"dash answer {answer}", setting(BASE, "domestic_abuse.dash.answers.1", answer), True)
      for answer in DASH_ANSWERS],
    ("dash answer Yes", setting(BASE, "domestic_abuse.dash.answers.1", "Yes"), False),
    ("dash answer true", setting(BASE, "domestic_abuse.dash.answers.1", True), False),
    ("dash answer null", setting(BASE, "domestic_abuse.dash.answers.1", None), False),
    ("source code 11", setting(BASE, "source.code", "11"), False),
    ("factor 3D (not in the census list)", setting(BASE, "factors", ["3D"]), False),
    # null where allowed and where not
    ("age_years null", setting(BASE, "children.0.age_years", None), True),
    ("previous_referrals_12m null", setting(BASE, "children.0.previous_referrals_12m", None), True),
    *[(f"{flag} null", setting(BASE, f"children.0.{flag}", None), True)
      for flag in ("disabled", "present_at_incident", "injured", "disclosed_harm")],
    *[(f"domestic_abuse.{flag} null", setting(BASE, f"domestic_abuse.{flag}", None), True)
      for flag in ("incidents_12m", "weapon_used", "strangulation", "victim_pregnant",
                   "perpetrator_in_household", "coercive_control", "perpetrator_substance_misuse",
                   "arrest_made")],
    ("unborn null", setting(BASE, "children.0.unborn", None), False),
    ("child_reference null", setting(BASE, "children.0.child_reference", None), False),
    ("partner_reference null", setting(BASE, "partner_reference", None), False),
    ("source null", setting(BASE, "source", None), False),
    ("referrer null", setting(BASE, "source.referrer", None), False),
    ("team null", setting(BASE, "source.team", None), False),
    ("narrative null", setting(BASE, "narrative", None), False),
    ("incident_at null", setting(BASE, "incident_at", None), False),
    ("factors null", setting(BASE, "factors", None), False),
    ("children null", setting(BASE, "children", None), False),
    ("domestic_abuse null", setting(BASE, "domestic_abuse", None), False),
    ("dash null", setting(BASE, "domestic_abuse.dash", None), False),
    ("dash answers null", setting(BASE, "domestic_abuse.dash.answers", None), False),
    # integers: JSON Schema's integer is any number with no fraction, never a string or boolean
    ("age 3", setting(BASE, "children.0.age_years", 3), True),
    ("age 3.0", setting(BASE, "children.0.age_years", 3.0), True),
    ("age -0.0", setting(BASE, "children.0.age_years", -0.0), True),
    ("age 3.5", setting(BASE, "children.0.age_years", 3.5), False),
    ('age "3"', setting(BASE, "children.0.age_years", "3"), False),
    ("age true", setting(BASE, "children.0.age_years", True), False),
    ("age false", setting(BASE, "children.0.age_years", False), False),
    ("age 0", setting(BASE, "children.0.age_years", 0), True),
    ("age 17", setting(BASE, "children.0.age_years", 17), True),
    ("age 17.0", setting(BASE, "children.0.age_years", 17.0), True),
    ("age 18", setting(BASE, "children.0.age_years", 18), False),
    ("age -1", setting(BASE, "children.0.age_years", -1), False),
    ("age 1e300", setting(BASE, "children.0.age_years", 1e300), False),
    ("age infinity", setting(BASE, "children.0.age_years", float("inf")), False),
    ("age a list", setting(BASE, "children.0.age_years", [3]), False),
    ("previous referrals 100", setting(BASE, "children.0.previous_referrals_12m", 100), True),
    ("previous referrals 101", setting(BASE, "children.0.previous_referrals_12m", 101), False),
    ("incidents 500", setting(BASE, "domestic_abuse.incidents_12m", 500), True),
    ("incidents 501", setting(BASE, "domestic_abuse.incidents_12m", 501), False),
    ("incidents 2.0", setting(BASE, "domestic_abuse.incidents_12m", 2.0), True),
    ("incidents -1", setting(BASE, "domestic_abuse.incidents_12m", -1), False),
    # booleans never coerce
    ("unborn true", setting(BASE, "children.0.unborn", True), True),
    ('unborn "true"', setting(BASE, "children.0.unborn", "true"), False),
    ("unborn 1", setting(BASE, "children.0.unborn", 1), False),
    ('injured "yes"', setting(BASE, "children.0.injured", "yes"), False),
    ("weapon_used 0", setting(BASE, "domestic_abuse.weapon_used", 0), False),
    # strings never coerce
    ("partner_reference a number", setting(BASE, "partner_reference", 12345), False),
    ("organisation a number", setting(BASE, "source.organisation", 6), False),
    ("narrative a list", setting(BASE, "narrative", ["a"]), False),
    # unknown fields at every depth
    ("unknown top-level field", setting(BASE, "priority", "high"), False),
    ("unknown field in source", setting(BASE, "source.region", "north"), False),
    ("unknown field in referrer", setting(BASE, "source.referrer.badge", "1"), False),
    ("unknown field in a child", setting(BASE, "children.0.name", "Alice"), False),
    ("unknown field in the second child", setting(setting(BASE, "children", [child(), child()]),
                                                  "children.1.dob", "2020-01-01"), False),
    ("unknown field in domestic_abuse", setting(BASE, "domestic_abuse.victim_name", "x"), False),
    ("unknown field in dash", setting(BASE, "domestic_abuse.dash.score", 4), False),
    # identifiers (spec section 9): the contract checks the shape; the check digit is intake's
    ("an NHS number", setting(BASE, "children.0.identifiers", {"nhs_number": "9434765919"}), True),
    ("an NHS number with a wrong check digit (the contract's shape)",
     setting(BASE, "children.0.identifiers", {"nhs_number": "9434765911"}), True),
    ("an NHS number of 9 digits", setting(BASE, "children.0.identifiers", {"nhs_number": "943476591"}), False),
    ("an NHS number with spaces", setting(BASE, "children.0.identifiers", {"nhs_number": "943 476 5919"}), False),
    ("an NHS number as a number", setting(BASE, "children.0.identifiers", {"nhs_number": 9434765919}), False),
    ("an NHS number then a newline", setting(BASE, "children.0.identifiers", {"nhs_number": "9434765919\n"}),
     False),
    ("a UPN", setting(BASE, "children.0.identifiers", {"upn": "B801200005001"}), True),
    ("a temporary UPN", setting(BASE, "children.0.identifiers", {"upn": "H80120000500A"}), True),
    ("a UPN in lower case", setting(BASE, "children.0.identifiers", {"upn": "b801200005001"}), False),
    ("a UPN of 12 characters", setting(BASE, "children.0.identifiers", {"upn": "B80120000500"}), False),
    ("both identifiers", setting(BASE, "children.0.identifiers",
                                 {"nhs_number": "9434765919", "upn": "B801200005001"}), True),
    ("identifiers empty", setting(BASE, "children.0.identifiers", {}), False),
    ("identifiers null", setting(BASE, "children.0.identifiers", None), False),
    ("an unknown identifier", setting(BASE, "children.0.identifiers", {"passport": "123"}), False),
    # arrays: uniqueItems, maxItems, minItems
    ("factors repeated", setting(BASE, "factors", ["3A", "3A"]), False),
    ("factors empty", setting(BASE, "factors", []), True),
    ("40 factors", setting(BASE, "factors", list(FACTOR_CODES[:40])), True),
    ("41 factors (repeats)", setting(BASE, "factors", list(FACTOR_CODES) + ["1A"]), False),
    ("factors a string", setting(BASE, "factors", "3A"), False),
    ("no children", setting(BASE, "children", []), False),
    ("12 children", setting(BASE, "children", [child() for _ in range(12)]), True),
    ("13 children", setting(BASE, "children", [child() for _ in range(13)]), False),
    ("a child that is a string", setting(BASE, "children", ["C-1"]), False),
    ("children an object", setting(BASE, "children", {"0": child()}), False),
    # lengths
    ("partner_reference empty", setting(BASE, "partner_reference", ""), False),
    ("partner_reference 64", setting(BASE, "partner_reference", "A" * 64), True),
    ("partner_reference 65", setting(BASE, "partner_reference", "A" * 65), False),
    ("organisation empty", setting(BASE, "source.organisation", ""), False),
    ("organisation 120", setting(BASE, "source.organisation", "O" * 120), True),
    ("organisation 121", setting(BASE, "source.organisation", "O" * 121), False),
    ("organisation 120 astral characters", setting(BASE, "source.organisation", "\U0001F46E" * 120), True),
    ("team empty", setting(BASE, "source.team", ""), True),
    ("team 121", setting(BASE, "source.team", "t" * 121), False),
    ("referrer phone 40", setting(BASE, "source.referrer.phone", "0" * 40), True),
    ("referrer phone 41", setting(BASE, "source.referrer.phone", "0" * 41), False),
    ("referrer name 121", setting(BASE, "source.referrer.name", "n" * 121), False),
    ("referrer role 121", setting(BASE, "source.referrer.role", "r" * 121), False),
    ("child_reference empty", setting(BASE, "children.0.child_reference", ""), False),
    ("child_reference 65", setting(BASE, "children.0.child_reference", "c" * 65), False),
    ("narrative 20000", setting(BASE, "narrative", "n" * 20000), True),
    ("narrative 20001", setting(BASE, "narrative", "n" * 20001), False),
    ("email 254", setting(BASE, "source.referrer.email", "a" * 240 + "@police.example"), False),
    ("email 254 exactly", setting(BASE, "source.referrer.email", "a" * 239 + "@police.example"), True),
    ("email without @", setting(BASE, "source.referrer.email", "pc1.police.example"), False),
    ("referrer with no fields", setting(BASE, "source.referrer", {}), True),
    # pattern on partner_reference
    *[(f"reference {ref!r}", setting(BASE, "partner_reference", ref), True)
      for ref in ("NP-2026-1", "a", "0", "A/B.C_D-E", "9_")],
    *[(f"reference {ref!r}", setting(BASE, "partner_reference", ref), False)
      for ref in ("-NP", ".A", "/A", "_A", "NP 1", "NP#1", "NPé1", " NP", "NP\t")],
    # DASH question numbers are 1 to 27, written without leading zeros
    *[(f"dash question {q!r}", with_answer(q), ok)
      for q, ok in (("1", True), ("9", True), ("10", True), ("19", True), ("20", True), ("27", True),
                    ("0", False), ("28", False), ("01", False), ("30", False), ("100", False), ("", False),
                    ("q1", False), ("1.0", False), (" 1", False), ("١", False))],
    ("dash answers empty", setting(BASE, "domestic_abuse.dash.answers", {}), True),
    ("dash empty", setting(BASE, "domestic_abuse.dash", {}), True),
    ("dash answers a list", setting(BASE, "domestic_abuse.dash.answers", ["yes"] * 27), False),
    # the if/then rule: domestic abuse contacts carry a domestic_abuse block
    ("domestic abuse without its block", without(BASE, "domestic_abuse"), False),
    ("domestic abuse with an empty block", setting(BASE, "domestic_abuse", {}), True),
    ("neglect without a domestic_abuse block", NEGLECT, True),
    ("neglect with a domestic_abuse block", setting(NEGLECT, "domestic_abuse", {"incidents_12m": 1}), True),
    ("no primary_concern and no block", without(without(BASE, "primary_concern"), "domestic_abuse"), False),
    # date-times: RFC 3339 with an offset, real calendar dates
    *[(f"received_at {value}", setting(BASE, "received_at", value), True)
      for value in ("2026-11-20T08:05:00Z", "2026-11-20T08:05:00+01:00", "2026-11-20t08:05:00z",
                    "2026-11-20T08:05:00.123456789-05:30", "2028-02-29T00:00:00Z",
                    "2000-02-29T12:00:00+00:00", "2026-11-20T23:59:59-00:00", "0001-01-01T00:00:00Z",
                    "2026-11-20T08:05:00+23:59")]
    + [(f"received_at {value}", setting(BASE, "received_at", value), False)
       for value in ("2026-11-20T08:05:00", "2026-11-20 08:05:00+00:00", "2026-11-20", "08:05:00Z",
                     "2026-02-30T08:00:00Z", "2026-02-29T08:00:00Z", "1900-02-29T08:00:00Z",
                     "2026-04-31T08:00:00Z", "2026-13-01T08:00:00Z", "2026-00-10T08:00:00Z",
                     "2026-11-00T08:00:00Z", "2026-11-20T24:00:00Z", "2026-11-20T08:60:00Z",
                     "2026-11-20T08:05:60Z", "2026-11-20T08:05:00+24:00", "2026-11-20T08:05:00+05:60",
                     "2026-11-20T08:05:00+0000", "2026-11-20T08:05:00+00", "2026-11-20T08:05:00.Z",
                     "2026-11-20T8:05:00Z", "0000-01-01T00:00:00Z", "20261120T080500Z",
                     "２０２６-11-20T08:05:00Z", "2026-11-20T08:05:00+00:00:00", " 2026-11-20T08:05:00Z",
                     "", "yesterday")],
    ("received_at a number", setting(BASE, "received_at", 1763625900), False),
    ("incident_at naive", setting(BASE, "incident_at", "2026-11-19T23:40:00"), False),
    ("incident_at 2026-02-30", setting(BASE, "incident_at", "2026-02-30T23:40:00Z"), False),
]


def test_the_catalogue_is_broad():
    assert sum(1 for _, _, ok in CASES if ok) >= 30
    assert sum(1 for _, _, ok in CASES if not ok) >= 60


@pytest.mark.parametrize("name", sorted(all_examples()))
def test_shared_examples_are_accepted_by_both(name):
    assert assert_agree(all_examples()[name]) is True


@pytest.mark.parametrize(("name", "document", "valid"), CASES, ids=[c[0] for c in CASES])
def test_marshmallow_agrees_with_json_schema(name, document, valid):
    assert assert_agree(document) is valid


# --- the documented departures of the library from JSON Schema ---------------------------------

DEPARTURES = [
    ("ecma-dollar", setting(BASE, "partner_reference", "NP-2026-1\n")),
    ("ecma-dollar", with_answer("1\n")),
    ("rfc3339-newline", setting(BASE, "received_at", "2026-11-20T08:05:00Z\n")),
    ("rfc3339-newline", setting(BASE, "incident_at", "2026-11-19T23:40:00+00:00\n")),
    ("email-only-at-sign", setting(BASE, "source.referrer.email", "@")),
    ("email-only-at-sign", setting(BASE, "source.referrer.email", "a@b@c")),
    ("email-only-at-sign", setting(BASE, "source.referrer.email", "pc 1@police.example")),
    ("email-only-at-sign", setting(BASE, "source.referrer.email", "pc1@")),
]


@pytest.mark.parametrize(("reason", "document"), DEPARTURES, ids=[f"{r}-{i}" for i, (r, _) in enumerate(DEPARTURES)])
def test_where_the_library_departs_from_the_standard_we_are_stricter(reason, document):
    assert reason in LIBRARY_DEPARTURES
    assert LIBRARY.is_valid(document), "the library still accepts this (if not, drop the departure)"
    assert not reference_accepts(document)
    assert not we_accept(document)


# --- where errors are reported -----------------------------------------------------------------

@pytest.mark.parametrize(("document", "path"), [
    (setting(BASE, "children.0.age_years", "3"), "children.0.age_years"),
    (setting(setting(BASE, "children", [child(), child()]), "children.1.sex", "boy"), "children.1.sex"),
    (setting(BASE, "source.referrer.badge", "1"), "source.referrer.badge"),
    (setting(BASE, "domestic_abuse.dash.answers.28", "yes"), "domestic_abuse.dash.answers.28"),
    (setting(BASE, "domestic_abuse.dash.answers.3", "maybe"), "domestic_abuse.dash.answers.3"),
    (without(BASE, "domestic_abuse"), "domestic_abuse"),
    (without(BASE, "consent"), "consent"),
    (setting(BASE, "received_at", "2026-11-20T08:05:00"), "received_at"),
    (setting(BASE, "factors", ["3A", "3A"]), "factors"),
    (setting(BASE, "factors", ["3A", "ZZ"]), "factors.1"),
])
def test_errors_name_the_field_by_json_path(document, path):
    contact, errors = validate_contact(document)
    assert contact is None
    assert path in errors, errors
    assert all(isinstance(m, str) and m for m in errors[path])


def test_a_document_that_is_not_an_object_is_reported_at_the_root():
    assert validate_contact([]) == (None, {"$": ["The body must be a JSON object (one contact)."]})


def test_load_fills_the_unborn_default_and_keeps_the_rest():
    contact, errors = validate_contact(BASE)
    assert errors == {}
    assert contact["children"][0]["unborn"] is False
    assert contact["partner_reference"] == BASE["partner_reference"]
    assert contact["domestic_abuse"]["dash"]["answers"] == BASE["domestic_abuse"]["dash"]["answers"]


# --- hypothesis: valid contacts with one field broken -------------------------------------------

def _optional(draw, key: str, strategy, into: dict) -> None:
    if draw(st.booleans()):
        into[key] = draw(strategy)


DATE_TIMES = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]),
).map(lambda d: d.isoformat())
SHORT_TEXT = st.text(min_size=1, max_size=20)
NULLABLE_BOOL = st.one_of(st.none(), st.booleans())


@st.composite
def children_(draw) -> dict:
    kid = {"child_reference": draw(st.text(min_size=1, max_size=64))}
    _optional(draw, "age_years", st.one_of(st.none(), st.integers(0, 17)), kid)
    _optional(draw, "unborn", st.booleans(), kid)
    _optional(draw, "sex", st.sampled_from(SEXES), kid)
    _optional(draw, "ethnicity", st.sampled_from(ETHNICITIES), kid)
    for flag in ("disabled", "present_at_incident", "injured", "disclosed_harm"):
        _optional(draw, flag, NULLABLE_BOOL, kid)
    _optional(draw, "current_status", st.sampled_from(CHILD_STATUSES), kid)
    _optional(draw, "previous_referrals_12m", st.one_of(st.none(), st.integers(0, 100)), kid)
    return kid


@st.composite
def domestic_abuse_(draw) -> dict:
    block: dict = {}
    if draw(st.booleans()):
        dash: dict = {}
        _optional(draw, "version", st.sampled_from(DASH_VERSIONS), dash)
        _optional(draw, "officer_grading", st.sampled_from(GRADINGS), dash)
        _optional(draw, "answers", st.dictionaries(st.integers(1, 27).map(str), st.sampled_from(DASH_ANSWERS)),
                  dash)
        block["dash"] = dash
    _optional(draw, "incidents_12m", st.one_of(st.none(), st.integers(0, 500)), block)
    for flag in ("weapon_used", "strangulation", "victim_pregnant", "perpetrator_in_household",
                 "coercive_control", "perpetrator_substance_misuse", "arrest_made"):
        _optional(draw, flag, NULLABLE_BOOL, block)
    return block


@st.composite
def contacts(draw) -> dict:
    source = {"code": draw(st.sampled_from(SOURCE_CODES)), "organisation": draw(st.text(min_size=1, max_size=120))}
    _optional(draw, "team", st.text(max_size=120), source)
    if draw(st.booleans()):
        referrer: dict = {}
        _optional(draw, "name", SHORT_TEXT, referrer)
        _optional(draw, "role", SHORT_TEXT, referrer)
        _optional(draw, "email", st.from_regex(r"\A[a-z0-9.]{1,20}@[a-z0-9.]{1,20}\Z"), referrer)
        _optional(draw, "phone", st.text(max_size=40), referrer)
        source["referrer"] = referrer
    concern = draw(st.sampled_from(PRIMARY_CONCERNS))
    doc = {
        "partner_reference": draw(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._/-]{0,63}\Z")),
        "source": source,
        "received_at": draw(DATE_TIMES),
        "primary_concern": concern,
        "children": draw(st.lists(children_(), min_size=1, max_size=3)),
        "consent": draw(st.sampled_from(CONSENT)),
    }
    _optional(draw, "incident_at", DATE_TIMES, doc)
    _optional(draw, "factors", st.lists(st.sampled_from(FACTOR_CODES), unique=True, max_size=6), doc)
    _optional(draw, "narrative", st.text(max_size=200), doc)
    _optional(draw, "referrer_request", st.sampled_from(REFERRER_REQUESTS), doc)
    if concern == "domestic_abuse" or draw(st.booleans()):
        doc["domestic_abuse"] = draw(domestic_abuse_())
    return doc


ENUM_WORDS = sorted({*SOURCE_CODES, *PRIMARY_CONCERNS, *FACTOR_CODES, *SEXES, *ETHNICITIES, *CHILD_STATUSES,
                     *DASH_VERSIONS, *DASH_ANSWERS, *GRADINGS, *CONSENT, *REFERRER_REQUESTS})
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 600), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([3.0, 17.0, 18.0, -0.0, 0.5, 1e20]),
    st.text(max_size=8), st.sampled_from(ENUM_WORDS), st.sampled_from(ENUM_WORDS).map(str.lower),
    st.sampled_from(["", "x" * 64, "x" * 65, "x" * 120, "x" * 121, "1", "27", "28", "01"]),
    DATE_TIMES, DATE_TIMES.map(lambda s: s[:19]), DATE_TIMES.map(lambda s: s.replace("T", " ")),
    st.lists(st.sampled_from(ENUM_WORDS), max_size=3), st.just([]), st.just({}),
    st.dictionaries(st.sampled_from(["1", "2", "28", "x"]), st.sampled_from(["yes", "no", 1]), max_size=2),
)


def _paths(node: object, prefix: tuple = ()):
    """Every place in the document a mutation can touch."""
    yield prefix, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


@st.composite
def mutated_contacts(draw) -> dict:
    doc = draw(contacts())
    places = [(path, node) for path, node in _paths(doc) if path]
    path, _ = draw(st.sampled_from(places))
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    action = draw(st.sampled_from(["replace", "replace", "delete", "add-unknown", "keep"]))
    if action == "replace":
        parent[path[-1]] = draw(ODD_VALUES)
    elif action == "delete":
        del parent[path[-1]]
    elif action == "add-unknown":
        holders = [node for _, node in _paths(doc) if isinstance(node, dict)]
        draw(st.sampled_from(holders))[draw(st.sampled_from(["extra", "name", "0", "29"]))] = draw(ODD_VALUES)
    return doc


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contacts())
def test_generated_valid_contacts_are_accepted_by_both(document):
    assert assert_agree(document) is True


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_contacts())
def test_generated_contacts_with_one_field_broken_get_the_same_answer(document):
    assert_agree(document)


def test_the_shared_contract_is_a_valid_2020_12_schema():
    Draft202012Validator.check_schema(SCHEMA)


DATE_TIME_SHAPES = st.from_regex(
    r"\A\d{4}-\d{1,2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{0,9})?([Zz]|[+-]\d{2}:?\d{2}(:\d{2})?)?\Z"
)


@settings(max_examples=200, deadline=None)
@given(DATE_TIME_SHAPES)
def test_date_times_of_every_shape_get_the_same_answer(value):
    assert_agree(setting(BASE, "received_at", value))
