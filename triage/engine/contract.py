"""The contact contract (``shared/spec/contact-v1.schema.json``) as marshmallow schemas.

These accept exactly what the JSON Schema accepts and reject the rest; the agreement is
proved by ``tests/test_contact_schema.py``, which runs both over the same documents. Three
places needed stricter fields than marshmallow's defaults: JSON Schema's ``integer`` and
``boolean`` never coerce strings (marshmallow's do); ``date-time`` is exactly RFC 3339 with
an offset (checked by hand: ``fromisoformat`` accepts more); and ``pattern`` has ECMA-262's
meaning, where ``$`` never matches before a trailing newline (Python's does).
Used by the API and by the "Record a contact" page, so there is one validation for both.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

SOURCE_CODES = ("1A", "1B", "1C", "1D", "2A", "2B", "3A", "3B", "3C", "3D", "3E", "3F", "4",
                "5A", "5B", "5C", "5D", "6", "7", "8", "9", "10")
PRIMARY_CONCERNS = ("domestic_abuse", "physical_abuse", "sexual_abuse", "emotional_abuse", "neglect",
                    "exploitation", "missing", "substance_misuse", "mental_health", "self_harm",
                    "behaviour", "homelessness", "other")
FACTOR_CODES = ("1A", "1B", "1C", "2A", "2B", "2C", "3A", "3B", "3C", "4A", "4B", "4C", "5A", "5B",
                "5C", "6A", "6B", "6C", "7A", "8B", "8C", "8D", "8E", "8F", "9A", "10A", "11A", "12A",
                "13A", "14A", "15A", "16A", "17A", "18B", "18C", "19B", "19C", "20", "21", "22A",
                "23A", "24A")
SEXES = ("male", "female", "unknown")
ETHNICITIES = ("WBRI", "WIRI", "WOTH", "WIRT", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN",
               "ABAN", "CHNE", "AOTH", "BCRB", "BAFR", "BOTH", "OOTH", "REFU", "NOBT")
CHILD_STATUSES = ("none", "early_help", "child_in_need", "child_protection", "looked_after", "unknown")
DASH_VERSIONS = ("police-27", "safelives-24")
DASH_ANSWERS = ("yes", "no", "not_known")
GRADINGS = ("standard", "medium", "high")
CONSENT = ("obtained", "refused", "not_sought", "not_required")
REFERRER_REQUESTS = ("information_only", "early_help", "assessment", "urgent_protection")

# RFC 3339 date-time with a required offset (what JSON Schema's "date-time" format means):
# ASCII digits, hours 00-23 in the time and the offset, no leap second (as rfc3339-validator).
_RFC3339 = re.compile(
    r"(\d{4})-(0[1-9]|1[0-2])-(\d{2})[Tt]([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.(\d+))?"
    r"(?:[Zz]|([+-])([01]\d|2[0-3]):([0-5]\d))\Z",
    re.ASCII,
)
# The contract's patterns, written as ECMA-262 (the OpenAPI document shows them as they are).
REFERENCE_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._/-]*$"
DASH_QUESTION_PATTERN = "^([1-9]|1[0-9]|2[0-7])$"
NHS_NUMBER_PATTERN = "^[0-9]{10}$"
UPN_PATTERN = "^[A-Z][0-9]{11}[0-9A-Z]$"
# An RFC 5321 mailbox as far as it matters here: one @, something either side, no spaces.
_EMAIL = "^[^@\\s]+@[^@\\s]+$"


def _chars(most: int, *, required: bool = False) -> validate.Length:
    """A text's length limit, refused in words a person can act on (GOV.UK style), not "Length must be between"."""
    if required:
        return validate.Length(min=1, max=most, error="Must not be empty, and must be {max} characters or fewer.")
    return validate.Length(max=most, error="Must be {max} characters or fewer.")


def _whole(least: int, most: int) -> validate.Range:
    return validate.Range(min=least, max=most, error="Must be a whole number from {min} to {max}.")


def _one_of(choices: tuple[str, ...]) -> validate.OneOf:
    return validate.OneOf(choices, error="Must be one of: {choices}.")


class Pattern(validate.Validator):
    """An ECMA-262 ``^...$`` pattern with ECMA-262's meaning: ``$`` is the very end of the string.

    Python's ``$`` also matches before a trailing newline, so ``validate.Regexp`` would let
    ``"NP-1\\n"`` through; here the anchors become ``\\A`` and ``\\Z``. It exposes no ``regex``
    attribute, so apispec documents the field's ``metadata["pattern"]`` (the contract's text).
    """

    def __init__(self, pattern: str, error: str):
        if not (pattern.startswith("^") and pattern.endswith("$")):
            raise ValueError("contract patterns are anchored at both ends")
        self.pattern = pattern
        self._compiled = re.compile(r"\A(?:" + pattern[1:-1] + r")\Z")
        self.error = error

    def __call__(self, value: str) -> str:
        if self._compiled.match(value) is None:
            raise ValidationError(self.error)
        return value


class StrictString(fields.String):
    """A JSON string, never a number or boolean coerced to one."""

    def _deserialize(self, value: Any, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Must be a string.")
        return value


class StrictInteger(fields.Integer):
    """A JSON integer (3 or 3.0), never a string, a boolean or a fraction."""

    def _deserialize(self, value: Any, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("Must be a whole number.")
        if isinstance(value, float):
            if not math.isfinite(value) or not value.is_integer():
                raise ValidationError("Must be a whole number.")
            value = int(value)
        return value


class StrictBoolean(fields.Boolean):
    """A JSON true or false, never "yes", 1 or "true"."""

    def _deserialize(self, value: Any, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Must be true or false.")
        return value


class DateTimeString(fields.String):
    """An RFC 3339 date-time with its offset, kept as the string the partner sent."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).setdefault("format", "date-time")
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr, data, **kwargs):
        if not isinstance(value, str) or not _RFC3339.match(value):
            raise ValidationError(
                "Must be an RFC 3339 date-time with a UTC offset, e.g. 2026-11-20T08:05:00+00:00."
            )
        try:
            parse_rfc3339(value)
        except ValueError as exc:
            raise ValidationError(f"Not a real date or time: {exc}.") from exc
        return value


def rfc3339(when: datetime | None) -> str | None:
    """An aware datetime as RFC 3339 text with UTC written ``Z``: how every time leaves the service."""
    return when.isoformat().replace("+00:00", "Z") if when is not None else None


def parse_rfc3339(value: str) -> datetime:
    """An RFC 3339 date-time as an aware datetime in its own offset; ValueError if it is not one.

    Parsed by hand rather than with ``datetime.fromisoformat``, which accepts more than RFC 3339
    (``+0000``, ``+05:60`` folded into the hour, seconds in the offset) and so cannot be the check.
    """
    match = _RFC3339.match(value)
    if match is None:
        raise ValueError("not an RFC 3339 date-time with an offset")
    year, month, day, hour, minute, second = (int(g) for g in match.group(1, 2, 3, 4, 5, 6))
    fraction, sign, offset_hours, offset_minutes = match.group(7, 8, 9, 10)
    if year == 0:
        raise ValueError("year 0000 is not a date")
    offset = timedelta(0)
    if sign:
        offset = timedelta(hours=int(offset_hours), minutes=int(offset_minutes)) * (-1 if sign == "-" else 1)
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=timezone(offset))


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ReferrerSchema(_Strict):
    name = StrictString(validate=_chars(120))
    role = StrictString(validate=_chars(120))
    email = StrictString(
        validate=[_chars(254), Pattern(_EMAIL, error="Must be an email address.")],
        metadata={"format": "email"},
    )
    phone = StrictString(validate=_chars(40))


class SourceSchema(_Strict):
    code = StrictString(required=True, validate=_one_of(SOURCE_CODES))
    organisation = StrictString(required=True, validate=_chars(120, required=True))
    team = StrictString(validate=_chars(120))
    referrer = fields.Nested(ReferrerSchema)


class IdentifiersSchema(_Strict):
    """What lets the front door recognise one child across contacts (spec section 9).

    Only the shape is the contract's; the check digit and letter are checked at intake
    (``services/identity.py``), so that this schema accepts exactly what the JSON Schema does.
    """

    nhs_number = StrictString(validate=Pattern(NHS_NUMBER_PATTERN, error="Must be the 10 digits of an NHS number."),
                              metadata={"pattern": NHS_NUMBER_PATTERN})
    upn = StrictString(validate=Pattern(UPN_PATTERN, error="Must be a unique pupil number: a capital letter "
                                                           "then 11 digits then a digit or capital letter."),
                       metadata={"pattern": UPN_PATTERN})

    @validates_schema(skip_on_field_errors=True)
    def _at_least_one(self, data: dict, **kwargs) -> None:
        if not data:
            raise ValidationError("Give at least one identifier (nhs_number or upn), or leave identifiers out.")


class ChildSchema(_Strict):
    child_reference = StrictString(required=True, validate=_chars(64, required=True))
    age_years = StrictInteger(allow_none=True, validate=validate.Range(
        min=0, max=17, error="Must be an age in whole years from {min} to {max}; for an unborn child, say so instead."))
    unborn = StrictBoolean(load_default=False)
    sex = StrictString(validate=_one_of(SEXES))
    ethnicity = StrictString(validate=_one_of(ETHNICITIES))
    disabled = StrictBoolean(allow_none=True)
    present_at_incident = StrictBoolean(allow_none=True)
    injured = StrictBoolean(allow_none=True)
    disclosed_harm = StrictBoolean(allow_none=True)
    current_status = StrictString(validate=_one_of(CHILD_STATUSES))
    previous_referrals_12m = StrictInteger(allow_none=True, validate=_whole(0, 100))
    identifiers = fields.Nested(IdentifiersSchema)


class DashSchema(_Strict):
    version = StrictString(validate=_one_of(DASH_VERSIONS))
    answers = fields.Dict(
        keys=StrictString(validate=Pattern(DASH_QUESTION_PATTERN, error="DASH questions are numbered 1 to 27.")),
        values=StrictString(validate=_one_of(DASH_ANSWERS)),
    )
    officer_grading = StrictString(validate=_one_of(GRADINGS))


class DomesticAbuseSchema(_Strict):
    dash = fields.Nested(DashSchema)
    incidents_12m = StrictInteger(allow_none=True, validate=_whole(0, 500))
    weapon_used = StrictBoolean(allow_none=True)
    strangulation = StrictBoolean(allow_none=True)
    victim_pregnant = StrictBoolean(allow_none=True)
    perpetrator_in_household = StrictBoolean(allow_none=True)
    coercive_control = StrictBoolean(allow_none=True)
    perpetrator_substance_misuse = StrictBoolean(allow_none=True)
    arrest_made = StrictBoolean(allow_none=True)


def _unique(values: list) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("Each factor may appear only once.")


class ContactSchema(_Strict):
    """One contact, version 1. ``load`` returns the document with defaults filled in."""

    partner_reference = StrictString(
        required=True,
        validate=[
            _chars(64, required=True),
            Pattern(
                REFERENCE_PATTERN,
                error="Must start with a letter or digit and use only letters, digits and . _ / -",
            ),
        ],
        metadata={"pattern": REFERENCE_PATTERN},
    )
    source = fields.Nested(SourceSchema, required=True)
    received_at = DateTimeString(required=True)
    incident_at = DateTimeString()
    primary_concern = StrictString(required=True, validate=_one_of(PRIMARY_CONCERNS))
    factors = fields.List(
        StrictString(validate=_one_of(FACTOR_CODES)),
        validate=[validate.Length(max=40, error="List no more than {max} factors."), _unique], metadata={"uniqueItems": True},
    )
    children = fields.List(
        fields.Nested(ChildSchema), required=True,
        validate=validate.Length(min=1, max=12, error="Give at least one child and no more than {max}.")
    )
    domestic_abuse = fields.Nested(DomesticAbuseSchema)
    consent = StrictString(required=True, validate=_one_of(CONSENT))
    narrative = StrictString(validate=_chars(20000))
    referrer_request = StrictString(validate=_one_of(REFERRER_REQUESTS))

    @validates_schema(skip_on_field_errors=False)
    def _domestic_abuse_block(self, data: dict, **kwargs) -> None:
        if data.get("primary_concern") == "domestic_abuse" and "domestic_abuse" not in data:
            raise ValidationError(
                "Required when primary_concern is domestic_abuse: send what is known "
                "(DASH, previous incidents, who was present).",
                field_name="domestic_abuse",
            )


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested error dict into ``{"children.0.age_years": [...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict) and messages and set(messages) <= {"key", "value"}:
        # a fields.Dict entry: report the bad key or value at the entry's own path
        return flatten_errors([m for v in messages.values() for m in v], prefix)
    if isinstance(messages, dict):
        for key, value in messages.items():
            part = "" if key == "_schema" else str(key)
            path = ".".join(p for p in (prefix, part) if p)
            for sub_path, msgs in flatten_errors(value, path).items():
                flat.setdefault(sub_path, []).extend(msgs)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "$"] = list(messages)
    elif isinstance(messages, list):
        for item in messages:
            for sub_path, msgs in flatten_errors(item, prefix).items():
                flat.setdefault(sub_path, []).extend(msgs)
    else:
        flat[prefix or "$"] = [str(messages)]
    return flat


#: One schema for every contact: building one binds and deep-copies every field of the nested
#: schemas (a fifth of a contact's validation), and marshmallow 4 schemas hold no per-load state.
_CONTACT_SCHEMA = ContactSchema()


def validate_contact(document: Any) -> tuple[dict | None, dict[str, list[str]]]:
    """Validate a parsed JSON document: ``(contact, {})`` or ``(None, errors by JSON path)``."""
    if not isinstance(document, dict):
        return None, {"$": ["The body must be a JSON object (one contact)."]}
    try:
        return _CONTACT_SCHEMA.load(document), {}
    except ValidationError as err:
        return None, flatten_errors(err.messages)


#: A UTF-16 surrogate code point: in a Python string from JSON, only an unpaired escape makes one.
_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable_text(document: object) -> dict[str, list[str]]:
    """Strings no database can keep (checked beside, not inside, the contract): NUL characters (PostgreSQL text) and unpaired surrogates (UTF-8).

    Both are legal in a JSON string, but RFC 8259 section 8.2 warns that unpaired surrogates
    are not interoperable and PostgreSQL refuses NUL, so they are refused at the door with
    the field named, instead of failing as a 500 when the contact is stored. The walk uses
    its own stack: a document may be nested as deep as the parser allowed.
    """
    bad: dict[str, list[str]] = {}
    stack: list[tuple[str, object]] = [("", document)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                bad[path or "$"] = ["Must not contain the NUL character (\\u0000)."]
            elif _SURROGATE.search(node):
                bad[path or "$"] = ["Contains an unpaired UTF-16 surrogate escape; send whole characters."]
        elif isinstance(node, dict):
            for key, value in node.items():
                child_path = f"{path}.{key}" if path else str(key)
                stack += [(child_path, key), (child_path, value)]
        elif isinstance(node, list):
            stack += [(f"{path}.{i}" if path else str(i), value) for i, value in enumerate(node)]
    return bad
