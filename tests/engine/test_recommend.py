"""The recommendation step at intake, rules only: the spec's ``recommendation`` object."""

from __future__ import annotations

from datetime import datetime

import pytest
import yaml
from hypothesis import given, settings

from tests.guidance_cases import (
    DEFAULT_THRESHOLDS,
    RECEIVED,
    contact,
    contacts,
    da_contact,
    dash,
    example,
    kid,
    received_at_of,
)
from triage.engine.guidance import GuidanceConfigError
from triage.engine.history import KnownHistory
from triage.engine.rationale import draft_rationale
from triage.engine.recommend import Recommender, load_recommender

RECOMMENDER = load_recommender({"THRESHOLDS_PATH": str(DEFAULT_THRESHOLDS)})
SPEC_FIELDS = {"level", "level_name", "probabilities", "floor", "indicators", "explanation", "marac", "dash",
               "consent", "information_gaps", "urgency", "model_version", "rationale_draft"}


def recommend(doc: dict, recommender: Recommender = RECOMMENDER, **kwargs) -> dict:
    return recommender.recommend(doc, received_at=kwargs.pop("received_at", RECEIVED), **kwargs)


def test_has_every_field_the_spec_names():
    rec = recommend(contact())
    assert set(rec) >= SPEC_FIELDS
    assert (rec["mode"], rec["model_version"], rec["probabilities"], rec["explanation"]) == (
        "rules_only", "rules-only", None, None)


def test_with_no_rule_met_the_level_is_universal():
    rec = recommend(contact())
    assert (rec["level"], rec["level_name"], rec["floor"]) == (1, "Universal", {"level": 0, "indicators": []})
    assert rec["urgency"] == "green"


def test_police_high_risk_example():
    doc = example("police-da-high-risk")
    rec = recommend(doc, received_at=received_at_of(doc))
    assert (rec["level"], rec["level_name"]) == (4, "Child protection")
    assert rec["floor"] == {"level": 4, "indicators": ["L4_DA_HIGH_RISK_WEAPON_OR_STRANGULATION_CHILD_PRESENT"]}
    assert rec["marac"] == {"recommended": True, "criteria": ["visible_high_risk"]}
    assert (rec["dash"]["yes_count"], rec["dash"]["risk"]) == (14, "high")
    assert rec["consent"]["ok"] is True
    assert rec["urgency"] == "red"
    assert rec["decision_due_at"] == "2026-11-23T08:05:00+00:00"
    assert datetime.fromisoformat(rec["decision_due_at"]).utcoffset() is not None


def test_health_visitor_example_carries_consent_and_gaps():
    doc = example("health-visitor-unborn")
    rec = recommend(doc, received_at=received_at_of(doc))
    assert (rec["level"], rec["urgency"], rec["dash"]) == (3, "amber", None)
    assert rec["consent"]["ok"] is False
    assert "domestic_abuse.dash" in [gap["field"] for gap in rec["information_gaps"]]


def test_school_example_is_early_help_with_consent():
    doc = example("school-neglect")
    rec = recommend(doc, received_at=received_at_of(doc))
    assert (rec["level"], rec["level_name"], rec["consent"]["ok"]) == (2, "Early help", True)


def test_a_marac_in_the_store_history_is_passed_through_as_repeat():
    rec = recommend(da_contact(), history=KnownHistory(earlier_contacts=1, contacts_12m=1, marac_12m=True))
    assert rec["marac"] == {"recommended": True, "criteria": ["repeat"]}
    assert rec["urgency"] == "amber"


# -- the rationale draft ------------------------------------------------------------------------


def test_rationale_cites_the_guidance_marac_consent_and_what_is_missing():
    doc = da_contact(dash=dash(16), strangulation=True, incidents_12m=None,
                     children=[kid(present_at_incident=True), kid(child_reference="T-2")])
    text = recommend(doc)["rationale_draft"]
    assert text.startswith("Recommended level 4 (Child protection).")
    assert "floor of level 4 (Child protection) because: domestic abuse at high risk, with a weapon" in text
    assert "DASH: 16 yes answers; high risk." in text
    assert "A MARAC referral is recommended: visible high risk on the DASH count." in text
    assert "Consent: Consent is not a barrier" in text
    assert ("Missing from the contact: how many incidents police know of in the last 12 months and whether "
            "child 2 was present at the incident." in text)
    assert "Decision due by 10:00 on Thursday 19 November 2026." in text


def test_rationale_says_when_no_rule_sets_a_level():
    text = recommend(contact(consent="not_sought"))["rationale_draft"]
    assert "No hard rule in the threshold guidance sets a level for this contact." in text
    assert "Missing from the contact: whether the family consented (or why you did not ask)." in text


def test_rationale_adds_the_classifier_reasons_when_given():
    result = RECOMMENDER.guidance.evaluate(contact(primary_concern="neglect"), received_at=RECEIVED)
    names = {n: v["name"] for n, v in RECOMMENDER.guidance.levels.items()}
    text = draft_rationale(result, level=3, level_names=names, model_reasons=("three referrals this year",))
    assert text.startswith("Recommended level 3 (Child in need).")
    assert "The classifier also weighed: three referrals this year." in text
    assert "floor of level 2 (Early help) because: there are signs of neglect" in text


# -- start-up -----------------------------------------------------------------------------------


def test_load_recommender_reads_the_configured_file(tmp_path):
    data = yaml.safe_load(DEFAULT_THRESHOLDS.read_text())
    data["levels"][1]["name"] = "Advice and information"
    path = tmp_path / "thresholds.yaml"
    path.write_text(yaml.safe_dump(data))
    rec = recommend(contact(), load_recommender({"THRESHOLDS_PATH": str(path)}))
    assert rec["level_name"] == "Advice and information"
    assert "Recommended level 1 (Advice and information)." in rec["rationale_draft"]


def test_a_broken_file_stops_start_up(tmp_path):
    path = tmp_path / "thresholds.yaml"
    path.write_text(DEFAULT_THRESHOLDS.read_text().replace("equals: sexual_abuse}", "equals: rude}", 1))
    with pytest.raises(GuidanceConfigError, match=r"thresholds\.yaml, line \d+: .*'rude'"):
        load_recommender({"THRESHOLDS_PATH": str(path)})


# -- property -----------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(contacts)
def test_level_is_never_below_the_floor_and_always_named(doc):
    rec = RECOMMENDER.recommend(doc, received_at=received_at_of(doc))
    assert 1 <= rec["level"] <= 4
    assert rec["level"] >= rec["floor"]["level"]
    assert rec["level_name"] == RECOMMENDER.guidance.level_name(rec["level"])
    assert rec["rationale_draft"].startswith(f"Recommended level {rec['level']}")


def test_uncertainty_becomes_checks_never_a_higher_level():
    """A contact the model cannot rule out at level 3 or 4 is sent to checks at the level the evidence supports."""
    from datetime import datetime, timezone

    from training.generate import generate
    from triage.engine.recommend import load_recommender
    from triage.settings import load_settings

    recommender = load_recommender(load_settings("test"))
    assert recommender.model is not None
    received = datetime(2026, 11, 18, 10, 0, tzinfo=timezone.utc)
    steps = {"refer": 0, "checks": 0, "decide": 0}
    for record in generate(300, seed=7):
        rec = recommender.recommend(record["contact"], received_at=received, now=received)
        steps[rec["next_step"]] += 1
        assert rec["stage"] == "screening" and "precaution" not in rec["rationale_draft"]
        result = recommender.guidance.evaluate(record["contact"], received_at=received)
        assert rec["urgency"] == result.urgency(rec["level"])
        if rec["next_step"] == "checks":
            assert rec["level"] < 4 and rec["checks"]  # level 3 goes to checks when level 4 is not ruled out
            for check in rec["checks"]:
                assert check["why"] and received.isoformat() <= check["due_at"] < rec["decision_due_at"]
        else:
            assert rec["checks"] == []
            assert (rec["next_step"] == "refer") == (rec["level"] >= 3)
    assert all(steps.values()), steps
