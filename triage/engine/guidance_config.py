"""Reading and checking ``config/thresholds.yaml``, the council's threshold guidance.

The file is edited by people in a council, not by developers, so every problem must be reported
as the file name, the line and what is wrong, and the service must refuse to start rather than
triage children against guidance it only half understood. Checking happens in two passes: a JSON
Schema for the shape of the file, then explicit checks for what a schema cannot say well (field
paths in conditions must exist in the contact contract, values must be ones the contract allows,
consent rules must cover every level, and so on).

Plain Python, no Flask: ``training/`` reads the same guidance.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from triage.engine.contract import (
    CHILD_STATUSES,
    CONSENT,
    DASH_VERSIONS,
    ETHNICITIES,
    FACTOR_CODES,
    GRADINGS,
    PRIMARY_CONCERNS,
    REFERRER_REQUESTS,
    SEXES,
    SOURCE_CODES,
)

LEVELS = (1, 2, 3, 4)
# Levels 3 (child in need) and 4 (child protection) are referrals: spec section 3 maps both to
# the Standard Safeguarding Dataset outcome "CIN Referral". Feedback, reports and exports use this.
REFERRAL_LEVEL = 3
RISKS = ("standard", "medium", "high")  # in rising order
URGENCIES = ("red", "amber", "green")
# The agencies a front door can ask (spec section 10); "other" organisations answer no checks.
CHECK_AGENCIES = ("police", "health", "education", "probation", "housing")
Path_ = tuple[str | int, ...]


class GuidanceConfigError(ValueError):
    """The threshold guidance file cannot be used; the message names the file and line."""


# ---------------------------------------------------------------------------------------------
# The contact fields a condition may test, from contact-v1.schema.json.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """What a contact field holds, so a condition's test and value can be checked at load."""

    kind: str  # bool | int | enum | text | codes | object
    values: tuple[str, ...] = ()
    default: Any = None  # the contract's default when the field is absent


def _contact_fields() -> dict[str, FieldSpec]:
    text, flag, number, obj = FieldSpec("text"), FieldSpec("bool"), FieldSpec("int"), FieldSpec("object")
    fields = {
        "partner_reference": text, "received_at": text, "incident_at": text, "narrative": text,
        "source": obj, "source.code": FieldSpec("enum", SOURCE_CODES), "source.organisation": text,
        "source.team": text, "source.referrer": obj, "source.referrer.name": text,
        "source.referrer.role": text, "source.referrer.email": text, "source.referrer.phone": text,
        "primary_concern": FieldSpec("enum", PRIMARY_CONCERNS),
        "factors": FieldSpec("codes", FACTOR_CODES),
        "consent": FieldSpec("enum", CONSENT),
        "referrer_request": FieldSpec("enum", REFERRER_REQUESTS),
        "domestic_abuse": obj, "domestic_abuse.dash": obj, "domestic_abuse.dash.answers": obj,
        "domestic_abuse.dash.version": FieldSpec("enum", DASH_VERSIONS),
        "domestic_abuse.dash.officer_grading": FieldSpec("enum", GRADINGS),
        "domestic_abuse.incidents_12m": number,
    }
    for name in ("weapon_used", "strangulation", "victim_pregnant", "perpetrator_in_household",
                 "coercive_control", "perpetrator_substance_misuse", "arrest_made"):
        fields[f"domestic_abuse.{name}"] = flag
    child = {
        "child_reference": text, "age_years": number, "unborn": FieldSpec("bool", default=False),
        "sex": FieldSpec("enum", SEXES), "ethnicity": FieldSpec("enum", ETHNICITIES),
        "disabled": flag, "present_at_incident": flag, "injured": flag, "disclosed_harm": flag,
        "current_status": FieldSpec("enum", CHILD_STATUSES), "previous_referrals_12m": number,
    }
    fields.update({f"children[*].{name}": spec for name, spec in child.items()})
    return fields


CONTACT_FIELDS = _contact_fields()

# Which tests suit which kind of field; "missing" suits every kind.
TESTS_BY_KIND = {
    "bool": ("equals",),
    "int": ("equals", "in", "gte", "gt", "lte", "lt"),
    "enum": ("equals", "in"),
    "text": ("mentions_any", "fewer_words_than"),
    "codes": ("includes_any",),
    "object": (),
}
COMBINATORS = ("all", "any", "not")
SPECIAL_CONDITIONS = ("dash_risk_at_least", "marac_recommended")

# ---------------------------------------------------------------------------------------------
# The loaded guidance, as plain immutable data.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorRule:
    id: str
    level: int
    text: str
    when: dict
    floor: bool


@dataclass(frozen=True)
class GapRule:
    field: str
    when: dict
    why: str


@dataclass(frozen=True)
class ConsentRule:
    levels: frozenset[int] | None
    consent: frozenset[str] | None
    ok: bool
    note: str


@dataclass(frozen=True)
class UrgencyRule:
    urgency: str
    levels: frozenset[int] | None
    when: dict | None


@dataclass(frozen=True)
class AgencyChecks:
    """What one agency can be asked: its display name and its finding codes with their labels."""

    agency: str
    name: str
    findings: dict[str, str]


@dataclass(frozen=True)
class ChecksConfig:
    """The checks section: finding codes per agency and how long each RAG rating allows."""

    agencies: dict[str, AgencyChecks]
    due_hours: dict[str, int]
    margin_hours: int

    def finding_label(self, agency: str, code: str) -> str:
        """The plain-English label of a finding code; KeyError for a code the agency does not have."""
        return self.agencies[agency].findings[code]

    def due_at(self, urgency: str, requested_at: datetime, decision_due_at: datetime) -> datetime:
        """When an agency's answer is due: the RAG rating's hours, never later than the margin before the deadline."""
        due = requested_at + timedelta(hours=self.due_hours[urgency])
        return max(requested_at, min(due, decision_due_at - timedelta(hours=self.margin_hours)))


@dataclass(frozen=True)
class GuidanceConfig:
    source: str
    levels: dict[int, dict[str, str]]
    working_days: int
    indicators: tuple[IndicatorRule, ...]
    dash_versions: dict[str, dict[int, str]]
    dash_bands: tuple[tuple[str, int], ...]  # (risk, min_yes), highest min_yes first
    marac_applies_when: dict
    escalation_incidents_12m: int
    marac_repeat: bool
    consent_rules: tuple[ConsentRule, ...]
    gaps: tuple[GapRule, ...]
    urgency_rules: tuple[UrgencyRule, ...]
    checks: ChecksConfig
    # Which guidance this is (issue 16): the council's label, and the SHA-256 and text of the file read.
    label: str = ""
    sha256: str = ""
    text: str = field(default="", repr=False, compare=False)


# ---------------------------------------------------------------------------------------------
# Pass 1: the shape of the file (JSON Schema over the YAML, keys as strings).
# ---------------------------------------------------------------------------------------------

_TEXT = {"type": "string", "minLength": 1}
_CONDITION = {"type": "object", "minProperties": 1}
_LEVEL_LIST = {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(LEVELS)}}


def _record(required: list[str], properties: dict) -> dict:
    return {"type": "object", "additionalProperties": False, "required": required, "properties": properties}


def _list_of(item: dict) -> dict:
    return {"type": "array", "minItems": 1, "items": item}


# The council's own name for this version of its guidance: a date or a number, as people say it.
LABEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._()/:-]{0,59}$"
LABEL_RULE = ("give this version of the guidance a label in quotes, up to 60 letters, digits, spaces or . _ ( ) / : -, "
              'starting with a letter or digit, e.g. guidance_version: "2026.2"')

SCHEMA = _record(
    ["version", "guidance_version", "levels", "deadline", "indicators", "dash", "marac", "consent", "information_gaps", "urgency",
     "checks"],
    {
        "version": {"const": 1},
        "guidance_version": {"type": "string", "pattern": LABEL_PATTERN},
        "levels": _record([str(n) for n in LEVELS],
                          {str(n): _record(["name", "description"], {"name": _TEXT, "description": _TEXT})
                           for n in LEVELS}),
        "deadline": _record(["working_days"], {"working_days": {"type": "integer", "minimum": 0, "maximum": 10}}),
        "indicators": _list_of(_record(["id", "level", "text", "when"], {
            "id": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$"},
            "level": {"enum": list(LEVELS)},
            "text": _TEXT,
            "floor": {"type": "boolean"},
            "when": _CONDITION,
        })),
        "dash": _record(["versions", "bands"], {
            "versions": _record(list(DASH_VERSIONS), {version: {
                "type": "object", "minProperties": 1,
                "propertyNames": {"pattern": "^([1-9]|1[0-9]|2[0-7])$"},
                "additionalProperties": _TEXT,
            } for version in DASH_VERSIONS}),
            "bands": _list_of(_record(["risk", "min_yes"], {
                "risk": {"enum": list(RISKS)}, "min_yes": {"type": "integer", "minimum": 0, "maximum": 27},
            })),
        }),
        "marac": _record(["applies_when", "potential_escalation_incidents_12m", "repeat"], {
            "applies_when": _CONDITION,
            "potential_escalation_incidents_12m": {"type": "integer", "minimum": 1, "maximum": 500},
            "repeat": {"type": "boolean"},
        }),
        "consent": _list_of(_record(["ok", "note"], {
            "levels": _LEVEL_LIST,
            "consent": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(CONSENT)}},
            "ok": {"type": "boolean"},
            "note": _TEXT,
        })),
        "information_gaps": _list_of(_record(["field", "when", "why"], {
            "field": {"type": "string"}, "when": _CONDITION, "why": _TEXT,
        })),
        "urgency": _list_of(_record(["urgency"], {
            "urgency": {"enum": list(URGENCIES)}, "levels": _LEVEL_LIST, "when": _CONDITION,
        })),
        "checks": _record(["agencies", "due_hours", "margin_hours"], {
            "agencies": _record(list(CHECK_AGENCIES), {agency: _record(["name", "findings"], {
                "name": _TEXT,
                "findings": {"type": "object", "minProperties": 1,
                             "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"}, "additionalProperties": _TEXT},
            }) for agency in CHECK_AGENCIES}),
            "due_hours": _record(list(URGENCIES), {
                u: {"type": "integer", "minimum": 1, "maximum": 240} for u in URGENCIES}),
            "margin_hours": {"type": "integer", "minimum": 0, "maximum": 24},
        }),
    },
)


# ---------------------------------------------------------------------------------------------
# Reading the YAML with the line of every key, so errors can name it.
# ---------------------------------------------------------------------------------------------


def _where(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top of file)"


class _Lines:
    """Line numbers (1-based) of every key and list item in the file, by path."""

    def __init__(self, source: str, root: yaml.Node | None):
        self.source = source
        self.lines: dict[Path_, int] = {}
        if root is not None:
            self._walk(root, ())

    def _walk(self, node: yaml.Node, path: Path_) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            first_seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                key, line = str(key_node.value), key_node.start_mark.line + 1
                if key in first_seen:
                    raise self.error(path + (key,), f"the key {key!r} appears twice (first on line {first_seen[key]})",
                                     line=line)
                first_seen[key] = line
                self.lines[path + (key,)] = line
                self._walk(value_node, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.lines[path + (i,)] = item.start_mark.line + 1
                self._walk(item, path + (i,))

    def line_of(self, path: Path_) -> int:
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return 1

    def error(self, path: Path_, message: str, line: int | None = None) -> GuidanceConfigError:
        line = line or self.line_of(path)
        return GuidanceConfigError(f"{self.source}, line {line}: {_where(path)}: {message}")


def _read(path: Path) -> tuple[Any, _Lines, str, str]:
    source = str(path)
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GuidanceConfigError(f"{source}: cannot read the threshold guidance: {exc}") from exc
    data, lines = _parse_yaml(text, source)
    return data, lines, text, hashlib.sha256(raw).hexdigest()


def _parse_yaml(text: str, source: str) -> tuple[Any, _Lines]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = " ".join((getattr(exc, "problem", None) or str(exc)).split())
        raise GuidanceConfigError(f"{source}{where}: this is not valid YAML: {problem}") from exc
    return data, _Lines(source, root)


def _string_keys(value: Any) -> Any:
    """The document with every mapping key as a string, as JSON Schema expects."""
    if isinstance(value, dict):
        return {str(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    return value


def _check_shape(data: Any, lines: _Lines) -> dict:
    doc = _string_keys(data)
    error = best_match(Draft202012Validator(SCHEMA).iter_errors(doc))
    if error is None:
        return doc
    path = tuple(error.absolute_path)
    if path[:1] == ("guidance_version",) or (error.validator == "required" and "guidance_version" not in doc):
        missing = "guidance_version" not in doc
        raise lines.error(("guidance_version",), ("it is missing: " if missing else "") + LABEL_RULE)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        unexpected = [k for k in error.instance if k not in error.schema.get("properties", {})]
        path += tuple(unexpected[:1])  # point at the unexpected key's own line
    raise lines.error(path, error.message)


# ---------------------------------------------------------------------------------------------
# Pass 2: conditions and the rules a schema cannot express.
# ---------------------------------------------------------------------------------------------


class _Checker:
    def __init__(self, lines: _Lines):
        self.lines = lines

    def fail(self, path: Path_, message: str) -> None:
        raise self.lines.error(path, message)

    def condition(self, cond: Any, path: Path_, *, marac_allowed: bool = True) -> None:
        """Check one condition (recursively) against the condition language and the contract."""
        if not isinstance(cond, dict) or not cond:
            self.fail(path, "a condition must be a mapping: all, any, not, field, dash_risk_at_least "
                            "or marac_recommended")
        if "field" in cond:
            self._field_test(cond, path)
            return
        if len(cond) != 1:
            self.fail(path, f"a condition has exactly one of all, any, not, field, dash_risk_at_least, "
                            f"marac_recommended; found {', '.join(map(str, cond))}")
        (key, value), = cond.items()
        self._one(key, value, path + (key,), marac_allowed)

    def _one(self, key: str, value: Any, path: Path_, marac_allowed: bool) -> None:
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                self.fail(path, f"{key} needs a list of one or more conditions")
            for i, item in enumerate(value):
                self.condition(item, path + (i,), marac_allowed=marac_allowed)
        elif key == "not":
            self.condition(value, path, marac_allowed=marac_allowed)
        elif key == "dash_risk_at_least":
            if value not in RISKS:
                self.fail(path, f"must be one of {', '.join(RISKS)}, not {value!r}")
        elif key == "marac_recommended":
            if not marac_allowed:
                self.fail(path, "MARAC's own applies_when cannot depend on whether MARAC is recommended")
            if not isinstance(value, bool):
                self.fail(path, "must be true or false")
        else:
            hint = _suggest(key, COMBINATORS + SPECIAL_CONDITIONS + ("field",))
            self.fail(path, f"unknown condition {key!r}{hint}")

    def field_path(self, name: Any, path: Path_) -> FieldSpec:
        if not isinstance(name, str) or name not in CONTACT_FIELDS:
            self.fail(path, f"unknown contact field {name!r}{_suggest(str(name), tuple(CONTACT_FIELDS))}; "
                            "field paths are the names in contact-v1.schema.json, children as children[*].name")
        return CONTACT_FIELDS[name]

    def _field_test(self, cond: dict, path: Path_) -> None:
        spec = self.field_path(cond["field"], path + ("field",))
        tests = [k for k in cond if k != "field"]
        allowed = TESTS_BY_KIND[spec.kind] + ("missing",)
        if len(tests) != 1:
            self.fail(path, f"a field test has exactly one of {', '.join(allowed)}; found {len(tests)}")
        test = tests[0]
        if test not in allowed:
            self.fail(path + (test,), f"{test!r} cannot test {cond['field']} ({spec.kind}); "
                                      f"use one of {', '.join(allowed)}")
        self._test_value(test, cond[test], spec, path + (test,))

    def _test_value(self, test: str, value: Any, spec: FieldSpec, path: Path_) -> None:
        if test == "missing":
            if not isinstance(value, bool):
                self.fail(path, "missing must be true or false")
        elif test in ("equals",):
            self._field_value(value, spec, path)
        elif test in ("in", "includes_any", "mentions_any"):
            if not isinstance(value, list) or not value:
                self.fail(path, f"{test} needs a list of one or more values")
            for i, item in enumerate(value):
                self._field_value(item, spec, path + (i,))
        elif test == "fewer_words_than":
            if not _is_number(value) or value < 1:
                self.fail(path, "fewer_words_than needs a whole number of 1 or more")
        elif not _is_number(value):
            self.fail(path, f"{test} needs a number, not {value!r}")

    def _field_value(self, value: Any, spec: FieldSpec, path: Path_) -> None:
        if spec.kind == "bool" and not isinstance(value, bool):
            self.fail(path, f"must be true or false, not {value!r}")
        elif spec.kind == "int" and not _is_number(value):
            self.fail(path, f"must be a number, not {value!r}")
        elif spec.kind in ("enum", "codes") and value not in spec.values:
            hint = _suggest(str(value), spec.values)
            self.fail(path, f"{value!r} is not a value the contact contract allows{hint}; "
                            f"allowed: {', '.join(spec.values)}")
        elif spec.kind == "text" and (not isinstance(value, str) or not value.strip()):
            self.fail(path, "must be some text")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _suggest(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# ---------------------------------------------------------------------------------------------
# Building the guidance from a checked document.
# ---------------------------------------------------------------------------------------------

_LEVEL_PREFIX = re.compile(r"^L([0-9])_")


def _levels(doc: dict) -> dict[int, dict[str, str]]:
    return {n: {"name": doc["levels"][str(n)]["name"].strip(),
                "description": " ".join(doc["levels"][str(n)]["description"].split())} for n in LEVELS}


def _indicators(doc: dict, check: _Checker) -> tuple[IndicatorRule, ...]:
    seen: set[str] = set()
    rules = []
    for i, item in enumerate(doc["indicators"]):
        path: Path_ = ("indicators", i)
        if item["id"] in seen:
            check.fail(path + ("id",), f"the indicator id {item['id']!r} is used twice")
        seen.add(item["id"])
        prefix = _LEVEL_PREFIX.match(item["id"])
        if prefix and int(prefix.group(1)) != item["level"]:
            check.fail(path + ("level",), f"{item['id']} is named for level {prefix.group(1)} "
                                          f"but has level {item['level']}")
        check.condition(item["when"], path + ("when",))
        rules.append(IndicatorRule(item["id"], item["level"], " ".join(item["text"].split()),
                                   item["when"], item.get("floor", True)))
    return tuple(rules)


def _dash(doc: dict, check: _Checker) -> tuple[dict[str, dict[int, str]], tuple[tuple[str, int], ...]]:
    versions = {name: {int(k): v.strip() for k, v in questions.items()}
                for name, questions in doc["dash"]["versions"].items()}
    for name, questions in versions.items():
        if sorted(questions) != list(range(1, len(questions) + 1)):
            check.fail(("dash", "versions", name), "questions must be numbered 1, 2, 3, ... with none skipped")
    bands = sorted(((b["risk"], b["min_yes"]) for b in doc["dash"]["bands"]), key=lambda b: -b[1])
    minimums = [min_yes for _, min_yes in bands]
    if [risk for risk, _ in bands] != list(reversed(RISKS)) or len(set(minimums)) != len(minimums) \
            or minimums[-1] != 0:
        check.fail(("dash", "bands"), "give one band each for high, medium and standard, higher risks "
                                      "with higher min_yes, and standard starting at 0")
    return versions, tuple(bands)


def _consent(doc: dict, check: _Checker) -> tuple[ConsentRule, ...]:
    rules = tuple(ConsentRule(frozenset(r["levels"]) if "levels" in r else None,
                              frozenset(r["consent"]) if "consent" in r else None,
                              r["ok"], " ".join(r["note"].split())) for r in doc["consent"])
    for level in LEVELS:
        for consent in CONSENT:
            if not any(consent_applies(rule, level, consent) for rule in rules):
                check.fail(("consent",), f"no rule covers level {level} with consent {consent!r}")
    return rules


def consent_applies(rule: ConsentRule, level: int, consent: str | None) -> bool:
    """Does this consent rule speak for a contact with ``consent`` recommended at ``level``?"""
    return (rule.levels is None or level in rule.levels) and (rule.consent is None or consent in rule.consent)


def _gaps(doc: dict, check: _Checker) -> tuple[GapRule, ...]:
    rules = []
    for i, item in enumerate(doc["information_gaps"]):
        check.field_path(item["field"], ("information_gaps", i, "field"))
        check.condition(item["when"], ("information_gaps", i, "when"))
        rules.append(GapRule(item["field"], item["when"], " ".join(item["why"].split())))
    return tuple(rules)


def _urgency(doc: dict, check: _Checker) -> tuple[UrgencyRule, ...]:
    rules = []
    for i, item in enumerate(doc["urgency"]):
        if "when" in item:
            check.condition(item["when"], ("urgency", i, "when"))
        rules.append(UrgencyRule(item["urgency"], frozenset(item["levels"]) if "levels" in item else None,
                                 item.get("when")))
    if rules[-1].levels is not None or rules[-1].when is not None:
        check.fail(("urgency", len(rules) - 1), "the last urgency rule must have no levels and no when, "
                                                "so that every contact gets an urgency")
    return tuple(rules)


def _checks(doc: dict, check: _Checker) -> ChecksConfig:
    section = doc["checks"]
    owner: dict[str, str] = {}
    agencies = {}
    for agency in CHECK_AGENCIES:
        findings = {}
        for code, label in section["agencies"][agency]["findings"].items():
            if code in owner:
                check.fail(("checks", "agencies", agency, "findings", code),
                           f"the finding code {code!r} is already listed under {owner[code]}")
            owner[code] = agency
            findings[code] = " ".join(label.split())
        agencies[agency] = AgencyChecks(agency, section["agencies"][agency]["name"].strip(), findings)
    hours = section["due_hours"]
    if not hours["red"] < hours["amber"] < hours["green"]:
        check.fail(("checks", "due_hours"), "red must be due sooner than amber, and amber sooner than green")
    return ChecksConfig(agencies, {u: int(hours[u]) for u in URGENCIES}, int(section["margin_hours"]))


def parse_guidance_file(path: str | Path) -> GuidanceConfig:
    """Read, check and build the guidance; raise ``GuidanceConfigError`` naming the line if it is wrong."""
    data, lines, text, digest = _read(Path(path))
    return _build(data, lines, source=str(path), text=text, digest=digest)


def parse_guidance_text(text: str, source: str) -> GuidanceConfig:
    """The same checks on guidance held as text (an uploaded draft, a stored version); ``source`` names it."""
    if not isinstance(text, str):
        raise GuidanceConfigError(f"{source}: cannot read the threshold guidance: it is not text")
    data, lines = _parse_yaml(text, source)
    return _build(data, lines, source=source, text=text, digest=hashlib.sha256(text.encode("utf-8")).hexdigest())


def _build(data: Any, lines: _Lines, *, source: str, text: str, digest: str) -> GuidanceConfig:
    doc = _check_shape(data, lines)
    check = _Checker(lines)
    check.condition(doc["marac"]["applies_when"], ("marac", "applies_when"), marac_allowed=False)
    versions, bands = _dash(doc, check)
    return GuidanceConfig(
        source=source,
        levels=_levels(doc),
        working_days=doc["deadline"]["working_days"],
        indicators=_indicators(doc, check),
        dash_versions=versions,
        dash_bands=bands,
        marac_applies_when=doc["marac"]["applies_when"],
        escalation_incidents_12m=doc["marac"]["potential_escalation_incidents_12m"],
        marac_repeat=doc["marac"]["repeat"],
        consent_rules=_consent(doc, check),
        gaps=_gaps(doc, check),
        urgency_rules=_urgency(doc, check),
        checks=_checks(doc, check),
        label=doc["guidance_version"].strip(),
        sha256=digest,
        text=text,
    )
