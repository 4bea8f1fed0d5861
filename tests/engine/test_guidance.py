"""The threshold guidance engine and the default ``config/thresholds.yaml``.

Each rule in the default file has a case here that fails if the rule is removed; the coverage
tests fail if someone adds a rule to the file without a case. Property tests run the engine over
generated schema-valid contacts.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.guidance_cases import (
    CONTACT_SCHEMA,
    DEFAULT_THRESHOLDS,
    GAP_CASES,
    INDICATOR_CASES,
    RECEIVED,
    contact,
    contacts,
    da_contact,
    dash,
    example,
    kid,
    received_at_of,
)
from triage.engine.guidance import Guidance, GuidanceConfigError, GuidanceResult, load_guidance
from triage.engine.guidance_config import CONTACT_FIELDS
from triage.engine.history import KnownHistory

GUIDANCE = load_guidance(DEFAULT_THRESHOLDS)
DEFAULT_YAML = yaml.safe_load(DEFAULT_THRESHOLDS.read_text())


def evaluate(doc: dict, guidance: Guidance = GUIDANCE, **kwargs) -> GuidanceResult:
    return guidance.evaluate(doc, received_at=kwargs.pop("received_at", RECEIVED), **kwargs)


def matched(result: GuidanceResult) -> list[str]:
    return [i["id"] for i in result.indicators]


def write_yaml(tmp_path, data: dict):
    path = tmp_path / "thresholds.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# ---------------------------------------------------------------------------------------------
# Levels
# ---------------------------------------------------------------------------------------------


def test_levels_follow_the_spec_table():
    assert {n: v["name"] for n, v in GUIDANCE.levels.items()} == {
        1: "Universal", 2: "Early help", 3: "Child in need", 4: "Child protection"}
    assert all(v["description"] for v in GUIDANCE.levels.values())
    assert GUIDANCE.level_name(3) == "Child in need"


def test_level_name_refuses_a_level_outside_1_to_4():
    with pytest.raises(ValueError):
        GUIDANCE.level_name(5)


# ---------------------------------------------------------------------------------------------
# Indicators: one case per rule, and no rule without a case
# ---------------------------------------------------------------------------------------------


def test_every_indicator_in_the_default_file_has_a_case():
    assert set(GUIDANCE.indicator_ids) == set(INDICATOR_CASES)


def test_the_base_contact_meets_nothing():
    result = evaluate(contact())
    assert (result.floor_level, result.indicators, result.information_gaps) == (0, [], [])


@pytest.mark.parametrize("indicator_id", sorted(INDICATOR_CASES))
def test_indicator_matches_its_case(indicator_id):
    rule = next(r for r in GUIDANCE.config.indicators if r.id == indicator_id)
    result = evaluate(INDICATOR_CASES[indicator_id][0])
    assert indicator_id in matched(result)
    assert {"id": rule.id, "level": rule.level, "text": rule.text} in result.indicators
    if rule.floor:
        assert result.floor_level == rule.level
        assert indicator_id in result.floor_indicators
    else:
        assert indicator_id not in result.floor_indicators


@pytest.mark.parametrize("indicator_id", sorted(INDICATOR_CASES))
def test_indicator_does_not_match_its_near_miss(indicator_id):
    assert indicator_id not in matched(evaluate(INDICATOR_CASES[indicator_id][1]))


def test_sexual_abuse_is_also_met_by_the_census_factor():
    assert "L4_SEXUAL_ABUSE" in matched(evaluate(contact(factors=["19C"])))


def test_strangulation_counts_like_a_weapon():
    doc = da_contact(dash=dash(14), strangulation=True, children=[kid(present_at_incident=True)])
    assert evaluate(doc).floor_indicators == ["L4_DA_HIGH_RISK_WEAPON_OR_STRANGULATION_CHILD_PRESENT"]


def test_high_risk_weapon_without_a_child_present_is_level_3_not_4():
    doc = da_contact(dash=dash(15), weapon_used=True, perpetrator_in_household=True,
                     children=[kid(present_at_incident=False)])
    result = evaluate(doc)
    assert result.floor_level == 3
    assert result.floor_indicators == ["L3_DA_HIGH_RISK_CHILD_IN_HOUSEHOLD"]


def test_a_baby_under_one_counts_like_an_unborn_child():
    doc = da_contact(perpetrator_substance_misuse=True, children=[kid(age_years=0, present_at_incident=False)])
    assert "L3_UNBORN_OR_BABY_WITH_DOMESTIC_ABUSE" in matched(evaluate(doc))


def test_a_baby_with_medium_dash_risk_is_level_3():
    doc = da_contact(dash=dash(10), children=[kid(age_years=0, present_at_incident=False)])
    assert evaluate(doc).floor_indicators == ["L3_UNBORN_OR_BABY_WITH_DOMESTIC_ABUSE"]


def test_floor_indicators_are_only_those_at_the_floor_level():
    doc = contact(primary_concern="sexual_abuse", children=[kid(current_status="child_in_need")])
    result = evaluate(doc)
    assert result.floor_level == 4
    assert result.floor_indicators == ["L4_SEXUAL_ABUSE"]
    assert "L3_OPEN_TO_SOCIAL_CARE" in matched(result)


# ---------------------------------------------------------------------------------------------
# DASH
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("yes", "band"), [(0, "standard"), (9, "standard"), (10, "medium"),
                                           (13, "medium"), (14, "high"), (27, "high")])
def test_dash_bands_by_yes_count(yes, band):
    result = evaluate(da_contact(dash=dash(yes)))
    assert (result.dash["yes_count"], result.dash["risk"], result.dash["count_risk"]) == (yes, band, band)


@pytest.mark.parametrize(("yes", "grading", "risk"), [(3, "high", "high"), (3, "medium", "medium"),
                                                      (11, "standard", "medium"), (16, "standard", "high"),
                                                      (16, "medium", "high")])
def test_officer_grading_raises_the_risk_and_never_lowers_it(yes, grading, risk):
    result = evaluate(da_contact(dash=dash(yes, grading=grading)))
    assert result.dash["risk"] == risk
    assert result.dash["officer_grading"] == grading


def test_safelives_checklist_counts_only_its_24_questions():
    doc = dash(14, version="safelives-24")
    doc["answers"].update({"25": "yes", "26": "yes", "27": "yes"})
    result = evaluate(da_contact(dash=doc))
    assert (result.dash["version"], result.dash["yes_count"], result.dash["risk"]) == ("safelives-24", 14, "high")


def test_dash_reports_the_topics_answered_yes():
    result = evaluate(da_contact(dash=dash(1)))
    assert result.dash["yes_questions"] == [{"number": 1, "topic": "Current injury"}]


def test_a_dash_with_only_a_grading_has_no_count_band():
    result = evaluate(da_contact(dash={"officer_grading": "medium"}))
    assert (result.dash["yes_count"], result.dash["count_risk"], result.dash["risk"]) == (0, None, "medium")


def test_answers_outside_the_checklist_alone_give_no_dash_result():
    assert evaluate(da_contact(dash={"version": "safelives-24", "answers": {"25": "yes"}})).dash is None


def test_no_dash_means_no_dash_result():
    assert evaluate(contact()).dash is None
    assert evaluate(da_contact(dash={"version": "police-27"})).dash is None


# ---------------------------------------------------------------------------------------------
# MARAC
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("doc", "prior", "criteria"), [
    (da_contact(dash=dash(14)), False, ["visible_high_risk"]),
    (da_contact(dash=dash(5, grading="high")), False, ["professional_judgement"]),
    (da_contact(dash=dash(14, grading="high")), False, ["visible_high_risk"]),
    (da_contact(incidents_12m=3), False, ["potential_escalation"]),
    (da_contact(incidents_12m=2), False, []),
    (da_contact(incidents_12m=None), False, []),
    (da_contact(), True, ["repeat"]),
    (da_contact(dash=dash(20), incidents_12m=7), True, ["visible_high_risk", "potential_escalation", "repeat"]),
])
def test_marac_criteria(doc, prior, criteria):
    assert evaluate(doc, history=KnownHistory(marac_12m=prior)).marac == {"recommended": bool(criteria), "criteria": criteria}


def test_marac_is_not_considered_for_a_contact_that_is_not_about_domestic_abuse():
    assert evaluate(contact(primary_concern="neglect"), history=KnownHistory(marac_12m=True)).marac == {
        "recommended": False, "criteria": []}


# ---------------------------------------------------------------------------------------------
# Consent: the whole matrix, so removing any rule changes an answer (or fails the load)
# ---------------------------------------------------------------------------------------------

CONSENT_OK = {
    (1, "obtained"): True, (1, "refused"): True, (1, "not_sought"): True, (1, "not_required"): True,
    (2, "obtained"): True, (2, "refused"): False, (2, "not_sought"): False, (2, "not_required"): True,
    (3, "obtained"): True, (3, "refused"): False, (3, "not_sought"): False, (3, "not_required"): True,
    (4, "obtained"): True, (4, "refused"): True, (4, "not_sought"): True, (4, "not_required"): True,
}


@pytest.mark.parametrize(("level", "consent"), sorted(CONSENT_OK))
def test_consent_position(level, consent):
    position = evaluate(contact(consent=consent)).consent_position(level)
    assert position["ok"] is CONSENT_OK[(level, consent)]
    assert len(position["note"]) > 20


def test_consent_notes_tell_refused_from_not_sought_at_level_3():
    refused = evaluate(contact(consent="refused")).consent_position(3)["note"]
    not_sought = evaluate(contact(consent="not_sought")).consent_position(3)["note"]
    assert "refused" in refused
    assert "not sought" in not_sought


def test_not_required_is_not_a_barrier_even_for_early_help():
    assert "not a barrier" in evaluate(contact(consent="not_required")).consent_position(2)["note"]


def test_level_4_note_says_consent_is_not_a_barrier():
    assert "not a barrier" in evaluate(contact(consent="refused")).consent_position(4)["note"]


# ---------------------------------------------------------------------------------------------
# Information gaps
# ---------------------------------------------------------------------------------------------


def test_every_gap_rule_in_the_default_file_has_a_case():
    assert {rule.field for rule in GUIDANCE.config.gaps} == set(GAP_CASES)


@pytest.mark.parametrize("rule_field", sorted(GAP_CASES))
def test_gap_rule(rule_field):
    doc, expected = GAP_CASES[rule_field]
    gaps = evaluate(doc).information_gaps
    assert [gap["field"] for gap in gaps] == expected
    assert all(len(gap["why"]) > 40 for gap in gaps)


def test_a_missing_narrative_is_a_gap():
    doc = contact()
    del doc["narrative"]
    assert [g["field"] for g in evaluate(doc).information_gaps] == ["narrative"]


def test_a_phone_number_is_enough_to_reach_the_referrer():
    doc = contact(source={"code": "6", "organisation": "Police", "referrer": {"phone": "101"}})
    assert evaluate(doc).information_gaps == []


def test_an_unborn_child_needs_no_age_and_no_presence():
    doc = da_contact(children=[{"child_reference": "U", "unborn": True, "age_years": None}])
    assert evaluate(doc).information_gaps == []


# ---------------------------------------------------------------------------------------------
# Urgency: one case per rule in the default file
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("doc", "level", "urgency"), [
    (contact(), 4, "red"),
    (contact(referrer_request="urgent_protection"), 1, "red"),
    (contact(), 3, "amber"),
    (da_contact(incidents_12m=4), 1, "amber"),
    (da_contact(dash=dash(2, grading="high")), 2, "amber"),  # professional judgement: MARAC
    (contact(), 2, "green"),
    (contact(referrer_request="assessment"), 1, "green"),
])
def test_urgency(doc, level, urgency):
    assert evaluate(doc).urgency(level) == urgency


def test_every_urgency_rule_is_exercised():
    assert len(GUIDANCE.config.urgency_rules) == 5  # the cases above: update both together


def test_consent_and_urgency_refuse_a_level_outside_1_to_4():
    result = evaluate(contact())
    with pytest.raises(ValueError):
        result.urgency(0)
    with pytest.raises(ValueError):
        result.consent_position(5)


# ---------------------------------------------------------------------------------------------
# Deadline
# ---------------------------------------------------------------------------------------------


def test_decision_due_one_working_day_later():
    friday = datetime(2026, 11, 20, 16, 0, tzinfo=timezone.utc)
    assert evaluate(contact(), received_at=friday).decision_due_at == datetime(2026, 11, 23, 16, 0,
                                                                               tzinfo=timezone.utc)


# ---------------------------------------------------------------------------------------------
# The shared examples
# ---------------------------------------------------------------------------------------------


def _evaluate_example(name: str, **kwargs) -> GuidanceResult:
    doc = example(name)
    return evaluate(doc, received_at=received_at_of(doc), **kwargs)


def test_example_police_high_risk():
    result = _evaluate_example("police-da-high-risk")
    assert result.dash["yes_count"] == 14 and result.dash["risk"] == "high"
    assert result.floor_level == 4
    assert result.floor_indicators == ["L4_DA_HIGH_RISK_WEAPON_OR_STRANGULATION_CHILD_PRESENT"]
    assert "L3_DA_HIGH_RISK_CHILD_IN_HOUSEHOLD" in matched(result)
    assert result.marac == {"recommended": True, "criteria": ["visible_high_risk"]}
    assert result.consent_position(4)["ok"] is True
    assert result.urgency(4) == "red"
    assert result.information_gaps == []
    assert result.decision_due_at == datetime(2026, 11, 23, 8, 5, tzinfo=timezone.utc)  # Friday -> Monday


def test_example_police_standard():
    result = _evaluate_example("police-da-standard-no-children-present")
    assert (result.dash["yes_count"], result.dash["risk"]) == (1, "standard")
    assert (result.floor_level, result.floor_indicators, result.indicators) == (0, [], [])
    assert result.marac == {"recommended": False, "criteria": []}
    assert [g["field"] for g in result.information_gaps] == ["consent", "source.referrer"]
    assert result.urgency(1) == "green"


def test_example_health_visitor_unborn():
    result = _evaluate_example("health-visitor-unborn")
    assert result.floor_level == 3
    assert result.floor_indicators == ["L3_UNBORN_OR_BABY_WITH_DOMESTIC_ABUSE"]
    assert result.dash is None
    assert result.consent_position(3)["ok"] is False
    assert "refused" in result.consent_position(3)["note"]
    assert [g["field"] for g in result.information_gaps] == [
        "domestic_abuse.dash", "domestic_abuse.incidents_12m", "children.1.present_at_incident", "source.referrer"]
    # Received on Saturday 21 November: counts from 09:00 Monday, due 09:00 Tuesday.
    assert result.decision_due_at == datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def test_example_school_neglect():
    result = _evaluate_example("school-neglect")
    assert result.floor_level == 2
    assert result.floor_indicators == ["L2_NEGLECT", "L2_OPEN_TO_EARLY_HELP"]
    assert result.consent_position(2) == {"ok": True, "note": GUIDANCE.config.consent_rules[2].note}
    assert result.marac["recommended"] is False
    assert [g["field"] for g in result.information_gaps] == ["source.referrer"]


def test_repeat_marac_on_the_standard_example():
    result = _evaluate_example("police-da-standard-no-children-present", history=KnownHistory(marac_12m=True))
    assert result.marac == {"recommended": True, "criteria": ["repeat"]}


# ---------------------------------------------------------------------------------------------
# A council changes the guidance in YAML alone
# ---------------------------------------------------------------------------------------------


def test_renaming_a_level_adding_an_indicator_and_changing_the_escalation_count(tmp_path):
    data = yaml.safe_load(DEFAULT_THRESHOLDS.read_text())
    data["levels"][2]["name"] = "Family help"
    data["indicators"].append({
        "id": "L3_PRIVATE_FOSTERING", "level": 3,
        "text": "A child may be privately fostered; the council must assess the arrangement.",
        "when": {"field": "factors", "includes_any": ["8B", "8C", "8D", "8E", "8F"]},
    })
    data["marac"]["potential_escalation_incidents_12m"] = 2
    council = load_guidance(write_yaml(tmp_path, data))

    assert council.level_name(2) == "Family help"
    fostering = contact(factors=["8C"])
    assert (evaluate(fostering).floor_level, evaluate(fostering, council).floor_level) == (0, 3)
    assert evaluate(fostering, council).floor_indicators == ["L3_PRIVATE_FOSTERING"]
    two_before = da_contact(incidents_12m=2)
    assert evaluate(two_before).marac["recommended"] is False
    assert evaluate(two_before, council).marac == {"recommended": True, "criteria": ["potential_escalation"]}


def test_a_council_can_change_the_dash_bands_and_the_deadline(tmp_path):
    data = yaml.safe_load(DEFAULT_THRESHOLDS.read_text())
    data["dash"]["bands"] = [{"risk": "high", "min_yes": 12}, {"risk": "medium", "min_yes": 8},
                             {"risk": "standard", "min_yes": 0}]
    data["deadline"]["working_days"] = 2
    council = load_guidance(write_yaml(tmp_path, data))
    result = evaluate(da_contact(dash=dash(12)), council)
    assert result.dash["risk"] == "high"
    assert result.marac["criteria"] == ["visible_high_risk"]
    assert result.decision_due_at == datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)  # Wed -> Fri


# ---------------------------------------------------------------------------------------------
# A broken file stops start-up with the file, the line and what is wrong
# ---------------------------------------------------------------------------------------------

DEFAULT_SOURCE = DEFAULT_THRESHOLDS.read_text()


def line_of(text: str) -> int:
    """The 1-based line on which ``text`` starts in the default file."""
    assert text in DEFAULT_SOURCE
    return DEFAULT_SOURCE[:DEFAULT_SOURCE.index(text)].count("\n") + 1


def broken(tmp_path, old: str, new: str):
    path = tmp_path / "thresholds.yaml"
    path.write_text(DEFAULT_SOURCE.replace(old, new, 1))
    return path


def load_error(path) -> str:
    with pytest.raises(GuidanceConfigError) as caught:
        load_guidance(path)
    return str(caught.value)


# (text in the default file, its replacement, where the error is: lines after the text's first
# line, or the start of another text; what the message says)
BREAKAGES = [
    ('{field: primary_concern, equals: sexual_abuse}', '{field: primary_concern, equals: sexual_abus}',
     0, "'sexual_abus' is not a value the contact contract allows"),
    ('field: factors\n      includes_any: ["22A"]', 'field: factor\n      includes_any: ["22A"]',
     0, "unknown contact field 'factor'"),
    ('{field: "children[*].injured", equals: true}', '{field: "children[*].injured", equals: yes please}',
     0, "must be true or false"),
    ('{field: "children[*].age_years", gte: 16}', '{field: "children[*].age_years", gte: 16, lt: 18}',
     0, "exactly one of"),
    ("{dash_risk_at_least: high}", "{dash_risk_at_leest: high}", 0, "did you mean 'dash_risk_at_least'"),
    ("    level: 4\n    text: >-\n      There is a concern", "    level: 5\n    text: >-\n      There is a concern",
     0, "5 is not one of"),
    ("  - id: L4_FGM\n    level: 4", "  - id: L4_FGM\n    level: 3", 1, "named for level 4"),
    ("  - id: L4_FGM\n    level: 4", "  - id: L4_FGM\n    levl: 4", 1, "('levl' was unexpected)"),
    ("potential_escalation_incidents_12m: 3", "potential_escalation_incidents_12m: three",
     0, "is not of type 'integer'"),
    ("  - id: L4_FGM", "  - id: L4_SEXUAL_ABUSE", 0, "used twice"),
    ("    consent: [refused]\n", "    consent: [not_sought]\n", "\nconsent:\n", "level 3 with consent 'refused'"),
    ("  - urgency: green\n", "  - urgency: green\n    levels: [1, 2]\n", 0, "last urgency rule"),
    ("    name: Universal\n", "    name: Universal\n    name: Everyone\n", 1, "appears twice"),
]


@pytest.mark.parametrize(("old", "new", "at", "words"), BREAKAGES)
def test_broken_file_names_the_line(tmp_path, old, new, at, words):
    message = load_error(broken(tmp_path, old, new))
    expected = line_of(old) + at if isinstance(at, int) else line_of(at) + 1
    assert message.startswith(f"{tmp_path / 'thresholds.yaml'}, line {expected}: ")
    assert words in message


def test_a_duplicate_key_is_reported_on_its_own_line(tmp_path):
    message = load_error(broken(tmp_path, "    name: Universal\n", "    name: Universal\n    name: Everyone\n"))
    assert f"line {line_of('name: Universal') + 1}:" in message
    assert f"first on line {line_of('name: Universal')}" in message


def test_a_syntax_error_names_its_line(tmp_path):
    message = load_error(broken(tmp_path, "\nversion: 1\n", "\nversion: 1: 2\n"))
    assert f"line {line_of('version: 1')}: this is not valid YAML" in message


def test_a_missing_section_is_named(tmp_path):
    data = yaml.safe_load(DEFAULT_THRESHOLDS.read_text())
    del data["marac"]
    assert "'marac' is a required property" in load_error(write_yaml(tmp_path, data))


def test_marac_applies_when_cannot_depend_on_marac(tmp_path):
    data = yaml.safe_load(DEFAULT_THRESHOLDS.read_text())
    data["marac"]["applies_when"] = {"marac_recommended": True}
    assert "cannot depend on whether MARAC" in load_error(write_yaml(tmp_path, data))


def test_a_gap_on_an_unknown_field_is_refused(tmp_path):
    data = yaml.safe_load(DEFAULT_THRESHOLDS.read_text())
    data["information_gaps"][0]["field"] = "domestic_abuse.dash_checklist"
    assert "unknown contact field 'domestic_abuse.dash_checklist'" in load_error(write_yaml(tmp_path, data))


def test_a_test_that_does_not_suit_the_field_is_refused(tmp_path):
    data = yaml.safe_load(DEFAULT_THRESHOLDS.read_text())
    data["indicators"][0]["when"] = {"field": "primary_concern", "gte": 3}
    assert "'gte' cannot test primary_concern" in load_error(write_yaml(tmp_path, data))


def test_an_absent_file_is_a_config_error(tmp_path):
    assert "cannot read" in load_error(tmp_path / "nope.yaml")


def test_an_empty_file_is_a_config_error(tmp_path):
    path = tmp_path / "thresholds.yaml"
    path.write_text("")
    assert "line 1" in load_error(path)


# ---------------------------------------------------------------------------------------------
# Properties over generated schema-valid contacts
# ---------------------------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(contacts, st.booleans())
def test_engine_never_raises_and_stays_in_range(doc, prior):
    result = GUIDANCE.evaluate(doc, received_at=received_at_of(doc), history=KnownHistory(marac_12m=prior))
    assert 0 <= result.floor_level <= 4
    assert all(i["level"] == result.floor_level for i in result.indicators if i["id"] in result.floor_indicators)
    assert (result.floor_level == 0) == (result.floor_indicators == [])
    assert result.decision_due_at > received_at_of(doc)
    assert set(result.marac["criteria"]) <= {"visible_high_risk", "professional_judgement",
                                             "potential_escalation", "repeat"}
    for level in (1, 2, 3, 4):
        assert isinstance(result.consent_position(level)["ok"], bool)
        assert result.urgency(level) in ("red", "amber", "green")
    for gap in result.information_gaps:
        _assert_path_exists(doc, gap["field"])
    json.dumps(result.indicators + result.information_gaps + [result.marac, result.dash])


def _assert_path_exists(doc: dict, path: str) -> None:
    """A gap's field is a real place in the contact: its parent exists (the field itself may not)."""
    node = doc
    parts = path.split(".")
    for part in parts[:-1]:
        if part.isdigit():
            assert int(part) < len(node)
            node = node[int(part)]
        else:
            node = node.get(part) or {}
    pattern = ".".join("[*]" if p.isdigit() else p for p in parts).replace(".[*]", "[*]")
    assert pattern in CONTACT_FIELDS


@PROPERTY_SETTINGS
@given(contacts)
def test_dash_risk_is_never_below_the_count_or_the_grading(doc):
    result = GUIDANCE.evaluate(doc, received_at=received_at_of(doc))
    if result.dash is None:
        return
    order = ["standard", "medium", "high"]
    for part in (result.dash["count_risk"], result.dash["officer_grading"]):
        if part is not None:
            assert order.index(result.dash["risk"]) >= order.index(part)


@PROPERTY_SETTINGS
@given(contacts, st.sampled_from([("factors", "22A"), ("factors", "19B"), ("primary_concern", "sexual_abuse")]))
def test_adding_a_level_4_indicator_never_lowers_the_floor(doc, change):
    before = GUIDANCE.evaluate(doc, received_at=received_at_of(doc))
    key, value = change
    changed = dict(doc)
    if key == "factors":
        changed["factors"] = sorted(set(doc.get("factors", [])) | {value})
    else:
        changed["primary_concern"] = value
    after = GUIDANCE.evaluate(changed, received_at=received_at_of(doc))
    assert after.floor_level == 4 >= before.floor_level
    if key == "factors":  # adding a factor only ever adds matches in the default file
        assert set(matched(before)) <= set(matched(after))


@pytest.fixture(scope="module")
def always_level_4(tmp_path_factory) -> Guidance:
    data = yaml.safe_load(DEFAULT_THRESHOLDS.read_text())
    data["indicators"].append({"id": "L4_EVERY_CONTACT", "level": 4, "text": "Every contact, for the test.",
                               "when": {"field": "consent", "missing": False}})
    return load_guidance(write_yaml(tmp_path_factory.mktemp("l4"), data))


@PROPERTY_SETTINGS
@given(doc=contacts)
def test_adding_a_level_4_rule_to_the_guidance_never_lowers_any_floor(always_level_4, doc):
    before = GUIDANCE.evaluate(doc, received_at=received_at_of(doc))
    after = always_level_4.evaluate(doc, received_at=received_at_of(doc))
    assert after.floor_level == 4 >= before.floor_level
    assert "L4_EVERY_CONTACT" in after.floor_indicators


@settings(max_examples=200, deadline=None)
@given(contacts)
def test_the_strategy_makes_schema_valid_contacts(doc):
    jsonschema = pytest.importorskip("jsonschema")
    if not CONTACT_SCHEMA.exists():
        pytest.skip("the shared contract is not beside the repository")
    schema = json.loads(CONTACT_SCHEMA.read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)


def test_the_handwritten_cases_are_schema_valid():
    jsonschema = pytest.importorskip("jsonschema")
    if not CONTACT_SCHEMA.exists():
        pytest.skip("the shared contract is not beside the repository")
    validator = jsonschema.Draft202012Validator(json.loads(CONTACT_SCHEMA.read_text()))
    docs = [d for pair in INDICATOR_CASES.values() for d in pair] + [d for d, _ in GAP_CASES.values()]
    for doc in docs:
        validator.validate(doc)
