"""The recommendation read aloud (triage/engine/reading.py): the words, from given scores."""

from __future__ import annotations

from pathlib import Path

from triage.engine.guidance import load_guidance
from triage.engine.reading import answer_changes, contact_items, found_items, value_words

CONFIG = load_guidance(Path(__file__).resolve().parents[2] / "config" / "thresholds.yaml").config.checks
NAMES = {1: "Universal", 2: "Early help", 3: "Child in need", 4: "Child protection"}
NOTHING, KNOWN = {"known": False, "findings": []}, {"known": True, "findings": []}


def test_answers_that_move_the_level_are_grouped_by_the_level_they_give():
    out = answer_changes(2, {"police": [(NOTHING, 2), (KNOWN, 2),
                                        ({"known": True, "findings": ["adult_known_for_violence"]}, 3),
                                        ({"known": True, "findings": ["offences_against_children"]}, 4)]},
                         CONFIG, NAMES)
    assert [(c["agency"], c["new_level"]) for c in out] == [("police", 4), ("police", 3)]
    assert out[0]["text"] == ("If Police report: An adult in the household has offences against children: the "
                              "recommendation would rise to level 4 (Child protection).")
    assert "An adult in the household is known for violence" in out[1]["text"]


def test_when_every_answer_gives_the_same_level_it_says_so_once():
    (out,) = answer_changes(2, {"health": [(NOTHING, 3), (KNOWN, 3)]}, CONFIG, NAMES)
    assert out["text"].startswith("Whatever Health answer, the recommendation after checks would rise to level 3")


def test_when_no_single_answer_moves_it_it_says_so():
    (out,) = answer_changes(3, {"police": [(NOTHING, 3), (KNOWN, 3)]}, CONFIG, NAMES)
    assert out["agency"] is None and "No single answer from Police" in out["text"]


def test_missing_values_are_not_known_never_reasons():
    expl = {"contributions": [
        {"feature": "children.injured", "label": "A child was injured", "value": "not known", "contribution": 0.4},
        {"feature": "factors", "label": "Further concerns", "value": ["3A", "16A"], "contribution": 0.7},
        {"feature": "consent", "label": "Consent to share", "value": "obtained", "contribution": -0.2},
        {"feature": "checks.police", "label": "What police checks found", "value": "not asked", "contribution": 0.1}]}
    says, missing = contact_items(expl)
    assert [s["text"] for s in says] == [
        "Further concerns: Domestic abuse: concerns about the child; Neglect. This points towards a higher level.",
        "Consent to share: obtained. This points towards a lower level."]
    assert [m["text"] for m in missing] == ["A child was injured: not known from the contact."]


def test_after_checks_each_agency_asked_is_found_or_not_answered():
    values = {"checks.police": ["adult_known_for_violence"], "checks.health": "not known to them",
              "checks.education": "not asked"}
    expl = {"contributions": [{"feature": "checks.police", "contribution": 0.9},
                              {"feature": "checks.health", "contribution": -0.1}]}
    found, missing = found_items(values, expl, CONFIG, ["police", "health", "education"])
    assert [f["text"] for f in found] == [
        "Police found: An adult in the household is known for violence. This points towards a higher level.",
        "Health do not know the family. This points towards a lower level."]
    assert [m["agency"] for m in missing] == ["education"]


def test_values_read_as_words():
    assert value_words("domestic_abuse.dash", 14) == "14 questions answered yes"
    assert value_words("history.highest_level", None) == "none decided before"
    assert value_words("guidance_floor", 0) == "none"
