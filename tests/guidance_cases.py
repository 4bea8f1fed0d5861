"""Contacts for the threshold guidance tests: builders, one case per rule, and a hypothesis strategy.

Every builder returns a contact that is valid against contact-v1.schema.json. The base contact
meets no indicator and leaves no information gap, so a case changes only what its rule is about.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import strategies as st

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
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_THRESHOLDS = ROOT / "config" / "thresholds.yaml"
SHARED = ROOT.parent / "shared"
EXAMPLES = SHARED / "examples" / "contacts"
CONTACT_SCHEMA = SHARED / "spec" / "contact-v1.schema.json"
RECEIVED = datetime(2026, 11, 18, 10, 0, tzinfo=timezone.utc)  # a Wednesday

NARRATIVE = ("The referrer describes what happened, who was in the home, what the children said and "
             "what was done at the time, in enough detail for the front door to act on it today.")


def example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def kid(**fields) -> dict:
    """A child known to be aged 9, present at nothing and not hurt, unless told otherwise."""
    return {"child_reference": "T-CHILD-1", "age_years": 9, **fields}


def contact(*, children: list[dict] | None = None, **fields) -> dict:
    """A valid contact meeting no indicator and no gap, with ``fields`` replacing the defaults."""
    base = {
        "partner_reference": "T-0001",
        "source": {"code": "8", "organisation": "Test Org", "referrer": {"email": "someone@test.example"}},
        "received_at": RECEIVED.isoformat(),
        "primary_concern": "other",
        "children": children if children is not None else [kid()],
        "consent": "obtained",
        "narrative": NARRATIVE,
    }
    base.update(copy.deepcopy(fields))
    return base


def dash(yes: int, *, version: str = "police-27", grading: str | None = None) -> dict:
    """A DASH with ``yes`` yes answers and the rest no."""
    size = 27 if version == "police-27" else 24
    out = {"version": version, "answers": {str(q): "yes" if q <= yes else "no" for q in range(1, size + 1)}}
    if grading:
        out["officer_grading"] = grading
    return out


def da_contact(*, children: list[dict] | None = None, **da_fields) -> dict:
    """A domestic abuse contact with a standard DASH, the incident count and each child's presence."""
    abuse = {"dash": dash(2), "incidents_12m": 0, **da_fields}
    return contact(primary_concern="domestic_abuse", domestic_abuse=abuse,
                   children=children if children is not None else [kid(present_at_incident=False)])


# For each indicator id: a contact that meets it, and a near miss that does not (usually the
# same contact with the deciding field not known, which must never count as "no").
INDICATOR_CASES: dict[str, tuple[dict, dict]] = {
    "L4_SEXUAL_ABUSE": (
        contact(primary_concern="sexual_abuse"),
        contact(factors=["18B"]),
    ),
    "L4_DISCLOSURE_OF_ABUSE": (
        contact(primary_concern="physical_abuse", children=[kid(disclosed_harm=True)]),
        contact(primary_concern="physical_abuse", children=[kid(disclosed_harm=None)]),
    ),
    "L4_CHILD_INJURED": (
        contact(primary_concern="physical_abuse", children=[kid(injured=True)]),
        contact(primary_concern="physical_abuse", children=[kid(injured=None)]),
    ),
    "L4_FGM": (
        contact(factors=["22A"]),
        contact(factors=["23A"]),
    ),
    "L4_DA_HIGH_RISK_WEAPON_OR_STRANGULATION_CHILD_PRESENT": (
        da_contact(dash=dash(14), weapon_used=True, children=[kid(present_at_incident=True)]),
        da_contact(dash=dash(14), weapon_used=None, strangulation=None, children=[kid(present_at_incident=True)]),
    ),
    "L3_DA_HIGH_RISK_CHILD_IN_HOUSEHOLD": (
        da_contact(dash=dash(3, grading="high"), perpetrator_in_household=True),
        da_contact(dash=dash(3, grading="medium"), perpetrator_in_household=True),
    ),
    "L3_EXPLOITATION": (
        contact(factors=["24A"]),
        contact(factors=["13A"]),
    ),
    "L3_UNBORN_OR_BABY_WITH_DOMESTIC_ABUSE": (
        da_contact(coercive_control=True, children=[{"child_reference": "T-U", "unborn": True}]),
        da_contact(coercive_control=None, children=[{"child_reference": "T-U", "unborn": True}]),
    ),
    "L3_OPEN_TO_SOCIAL_CARE": (
        contact(children=[kid(current_status="child_protection")]),
        contact(children=[kid(current_status="unknown")]),
    ),
    "L3_MISSING_FROM_CARE": (
        contact(primary_concern="missing", children=[kid(current_status="looked_after")]),
        contact(primary_concern="missing", children=[kid(current_status="unknown")]),
    ),
    "L3_HOMELESS_16_17": (
        contact(primary_concern="homelessness", children=[kid(age_years=16)]),
        contact(primary_concern="homelessness", children=[kid(age_years=None, unborn=False)]),
    ),
    "L3_YOUNG_CHILDREN_LEFT_ALONE": (
        contact(primary_concern="neglect", children=[kid(age_years=4)],
                narrative=NARRATIVE + " The two children were left alone overnight."),
        contact(primary_concern="neglect", children=[kid(age_years=4)]),
    ),
    "L2_NEGLECT": (
        contact(primary_concern="neglect"),
        contact(primary_concern="emotional_abuse"),
    ),
    "L2_OPEN_TO_EARLY_HELP": (
        contact(children=[kid(current_status="early_help")]),
        contact(children=[kid(current_status="none")]),
    ),
    "L2_DA_CHILD_IN_HOUSEHOLD": (
        da_contact(perpetrator_in_household=True),
        da_contact(perpetrator_in_household=None, children=[kid(present_at_incident=False)]),
    ),
    "L2_PARENT_HEALTH_OR_SUBSTANCES": (
        contact(factors=["4B"]),
        contact(factors=["4A"]),
    ),
}

# For each information-gap rule (by its field): a contact with only that gap.
GAP_CASES: dict[str, tuple[dict, list[str]]] = {
    "domestic_abuse.dash": (
        contact(primary_concern="domestic_abuse", domestic_abuse={"incidents_12m": 1},
                children=[kid(present_at_incident=False)]),
        ["domestic_abuse.dash"]),
    "domestic_abuse.dash.answers": (
        da_contact(dash={"version": "police-27"}),
        ["domestic_abuse.dash.answers"]),
    "domestic_abuse.incidents_12m": (
        da_contact(incidents_12m=None),
        ["domestic_abuse.incidents_12m"]),
    "children[*].present_at_incident": (
        da_contact(children=[kid(present_at_incident=True), kid(child_reference="T-2"),
                             {"child_reference": "T-U", "unborn": True}]),
        ["children.1.present_at_incident"]),
    "children[*].age_years": (
        contact(children=[kid(), {"child_reference": "T-2", "age_years": None},
                          {"child_reference": "T-U", "unborn": True}]),
        ["children.1.age_years"]),
    "consent": (contact(consent="not_sought"), ["consent"]),
    "narrative": (contact(narrative="Argument at home."), ["narrative"]),
    "source.referrer": (
        contact(source={"code": "2A", "organisation": "Test School", "referrer": {"name": "DSL"}}),
        ["source.referrer"]),
}


# ---------------------------------------------------------------------------------------------
# A hypothesis strategy for schema-valid contacts
# ---------------------------------------------------------------------------------------------

_maybe_bool = st.one_of(st.none(), st.booleans())
_short_text = st.text(max_size=40)
_OFFSETS = [timezone.utc, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))]
_when = st.builds(
    lambda dt, tz: dt.replace(tzinfo=tz).isoformat(),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)),
    st.sampled_from(_OFFSETS),
)
_reference = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,20}", fullmatch=True)

_child = st.fixed_dictionaries(
    {"child_reference": st.text(min_size=1, max_size=12)},
    optional={
        "age_years": st.one_of(st.none(), st.integers(0, 17)),
        "unborn": st.booleans(),
        "sex": st.sampled_from(SEXES),
        "ethnicity": st.sampled_from(ETHNICITIES),
        "disabled": _maybe_bool,
        "present_at_incident": _maybe_bool,
        "injured": _maybe_bool,
        "disclosed_harm": _maybe_bool,
        "current_status": st.sampled_from(CHILD_STATUSES),
        "previous_referrals_12m": st.one_of(st.none(), st.integers(0, 100)),
    },
)
_dash = st.fixed_dictionaries({}, optional={
    "version": st.sampled_from(DASH_VERSIONS),
    "answers": st.dictionaries(st.sampled_from([str(q) for q in range(1, 28)]), st.sampled_from(DASH_ANSWERS)),
    "officer_grading": st.sampled_from(GRADINGS),
})
_domestic_abuse = st.fixed_dictionaries({}, optional={
    "dash": _dash,
    "incidents_12m": st.one_of(st.none(), st.integers(0, 500)),
    **{name: _maybe_bool for name in ("weapon_used", "strangulation", "victim_pregnant",
                                      "perpetrator_in_household", "coercive_control",
                                      "perpetrator_substance_misuse", "arrest_made")},
})
_referrer = st.fixed_dictionaries({}, optional={
    "name": _short_text, "role": _short_text, "email": st.just("officer@police.example"), "phone": _short_text,
})
_source = st.fixed_dictionaries(
    {"code": st.sampled_from(SOURCE_CODES), "organisation": st.text(min_size=1, max_size=40)},
    optional={"team": _short_text, "referrer": _referrer},
)
_narrative = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["Young children were left alone at home all evening.", "Nobody was left alone.", ""]),
)


def _domestic_abuse_when_required(doc: dict) -> dict:
    """The contract requires the domestic_abuse object when it is the primary concern."""
    if doc["primary_concern"] == "domestic_abuse":
        doc.setdefault("domestic_abuse", {})
    return doc


contacts = st.fixed_dictionaries(
    {
        "partner_reference": _reference,
        "source": _source,
        "received_at": _when,
        "primary_concern": st.sampled_from(PRIMARY_CONCERNS),
        "children": st.lists(_child, min_size=1, max_size=5),
        "consent": st.sampled_from(CONSENT),
    },
    optional={
        "incident_at": _when,
        "factors": st.lists(st.sampled_from(FACTOR_CODES), unique=True, max_size=8),
        "domestic_abuse": _domestic_abuse,
        "narrative": _narrative,
        "referrer_request": st.sampled_from(REFERRER_REQUESTS),
    },
).map(_domestic_abuse_when_required)


def received_at_of(doc: dict) -> datetime:
    return datetime.fromisoformat(doc["received_at"])
