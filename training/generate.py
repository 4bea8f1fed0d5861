"""A synthetic front door: contacts, the quality-assured decision and what practice actually did.

No real contact can ship with the project, so the model is trained and evaluated on a documented
simulation (every assumption is listed in ``training/README.md``). The simulation is *generative*:
each household has a hidden chronic risk, each contact a hidden true level of need, and what the
referrer writes down is a noisy, often incomplete signal of it. The expert level is decided on the
hidden need (a quality-assured decision draws on checks the contact does not show), raised to the
threshold guidance's floor. So no model that only sees the contact can be perfect.

Output: JSON lines, one record per contact::

    {"household_id": "H000001", "contact": {...contract v1...}, "expert_level": 1-4,
     "historic_decision": 1-4, "prior_marac_12m": false, "index_child": {...fairness fields...},
     "simulation": {"hidden_need": ..., "expert_reading": ...}}

``simulation`` holds what only a simulation can know: the hidden need and the expert's reading
before judgement. The model never sees it (features read ``contact`` alone); the evaluation uses
it to measure the information ceiling, the best any model that saw everything but the expert's
judgement could do.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

FloorFn = Callable[[dict, datetime, bool], int]

# Contacts by referral source (DfE census codes). Police send the most contacts and convert
# least (many standard-risk domestic abuse notifications); the mix is chosen so that police
# are the largest source of *referrals* (~28%) and schools next (~21%), as nationally.
SOURCE_MIX: dict[str, float] = {
    "6": 0.32, "2A": 0.18, "2B": 0.02, "3A": 0.03, "3B": 0.04, "3C": 0.01, "3D": 0.01, "3E": 0.03,
    "3F": 0.02, "1A": 0.03, "1B": 0.02, "1C": 0.02, "1D": 0.02, "4": 0.03, "5A": 0.04, "5B": 0.03,
    "5C": 0.02, "5D": 0.02, "7": 0.02, "8": 0.03, "9": 0.03, "10": 0.01,
}
SOURCE_FAMILY = {"6": "police", "2A": "school", "2B": "school", "4": "housing", "7": "legal",
                 "8": "other", "9": "anonymous", "10": "other"}
SOURCE_FAMILY.update({c: "health" for c in ("3A", "3B", "3C", "3D", "3E", "3F")})
SOURCE_FAMILY.update({c: "individual" for c in ("1A", "1B", "1C", "1D")})
SOURCE_FAMILY.update({c: "local_authority" for c in ("5A", "5B", "5C", "5D")})

CONCERN_MIX: dict[str, dict[str, float]] = {
    "police": {"domestic_abuse": 0.72, "physical_abuse": 0.04, "missing": 0.07, "exploitation": 0.02,
               "behaviour": 0.06, "substance_misuse": 0.03, "sexual_abuse": 0.02, "other": 0.04},
    "school": {"neglect": 0.25, "emotional_abuse": 0.12, "physical_abuse": 0.12, "behaviour": 0.11,
               "mental_health": 0.10, "domestic_abuse": 0.08, "sexual_abuse": 0.04, "self_harm": 0.07,
               "other": 0.11},
    "health": {"neglect": 0.15, "domestic_abuse": 0.15, "mental_health": 0.20, "self_harm": 0.12,
               "physical_abuse": 0.10, "substance_misuse": 0.10, "sexual_abuse": 0.03, "other": 0.15},
    "individual": {"neglect": 0.25, "domestic_abuse": 0.15, "emotional_abuse": 0.15,
                   "physical_abuse": 0.10, "sexual_abuse": 0.05, "behaviour": 0.10, "other": 0.20},
    "local_authority": {"neglect": 0.20, "homelessness": 0.15, "behaviour": 0.15, "domestic_abuse": 0.10,
                        "mental_health": 0.10, "exploitation": 0.10, "missing": 0.05, "other": 0.15},
    "housing": {"homelessness": 0.50, "neglect": 0.20, "domestic_abuse": 0.15, "other": 0.15},
    "anonymous": {"neglect": 0.40, "physical_abuse": 0.15, "emotional_abuse": 0.15,
                  "domestic_abuse": 0.10, "substance_misuse": 0.10, "other": 0.10},
    "legal": {"domestic_abuse": 0.35, "exploitation": 0.15, "behaviour": 0.20, "neglect": 0.10,
              "other": 0.20},
    "other": {"neglect": 0.25, "domestic_abuse": 0.15, "behaviour": 0.15, "mental_health": 0.15,
              "other": 0.30},
}

# Mean hidden need by primary concern (standard-normal scale; higher = more serious).
CONCERN_SEVERITY = {
    "domestic_abuse": -0.45, "physical_abuse": 0.55, "sexual_abuse": 0.95, "emotional_abuse": -0.05,
    "neglect": 0.05, "exploitation": 0.65, "missing": 0.10, "substance_misuse": -0.15,
    "mental_health": -0.30, "self_harm": 0.15, "behaviour": -0.60, "homelessness": -0.30,
    "other": -0.70,
}
# The expert's reading: part hidden need, part concrete facts (true whether or not the contact
# reports them), part judgement. Cut points on it separate levels 1|2, 2|3 and 3|4.
NEED_WEIGHT = 0.7
FACT_WEIGHTS = {"injured": 1.4, "disclosed_harm": 1.2, "strangulation": 0.8, "weapon_used": 0.6,
                "victim_pregnant": 0.3}
HIGH_RISK_DA_WEIGHT = 0.8
UNKNOWN_WEIGHT = 0.15
JUDGEMENT_SD = 0.45
LEVEL_CUTS = (-0.15, 1.45, 2.45)
HOUSEHOLD_SD = 0.7      # chronic household risk, shared by re-contacts
EPISODE_SD = 1.0        # what is specific to this contact

# Factor codes that fit each concern (census "factors identified at assessment").
CONCERN_FACTORS = {
    "domestic_abuse": ["3A", "3B", "3C", "1B", "2B", "4B", "17A"],
    "physical_abuse": ["18C", "18B", "17A", "1B", "4B"],
    "sexual_abuse": ["19C", "19B", "11A", "17A"],
    "emotional_abuse": ["17A", "4B", "3B"],
    "neglect": ["16A", "4B", "1B", "2B", "5B"],
    "exploitation": ["11A", "24A", "13A", "10A", "2A"],
    "missing": ["10A", "11A", "24A"],
    "substance_misuse": ["2B", "1B", "2A", "1A"],
    "mental_health": ["4B", "4A", "15A"],
    "self_harm": ["15A", "4A"],
    "behaviour": ["14A", "13A", "2A"],
    "homelessness": ["20", "4B", "16A"],
    "other": ["20", "6B", "5B", "7A"],
}
ORGANISATIONS = {"police": "Demo Police", "school": "Demo Primary School", "health": "Demo NHS Trust",
                 "individual": "Member of the public", "local_authority": "Demo Council Services",
                 "housing": "Demo Housing", "anonymous": "Anonymous", "legal": "Demo Probation",
                 "other": "Demo Voluntary Sector"}
# Child population of England, broad shares by DfE census code (rounded).
ETHNICITY_MIX = {"WBRI": 0.63, "WOTH": 0.06, "WIRI": 0.005, "WIRT": 0.003, "WROM": 0.007,
                 "MWBC": 0.02, "MWBA": 0.01, "MWAS": 0.015, "MOTH": 0.02, "AIND": 0.035,
                 "APKN": 0.045, "ABAN": 0.02, "CHNE": 0.005, "AOTH": 0.02, "BCRB": 0.01,
                 "BAFR": 0.045, "BOTH": 0.005, "OOTH": 0.02, "REFU": 0.01, "NOBT": 0.02}
# How often a field is missing from a contact, by source family: weak partner information.
MISSING_RATE = {"police": 0.25, "school": 0.30, "health": 0.30, "individual": 0.55,
                "local_authority": 0.30, "housing": 0.45, "anonymous": 0.70, "legal": 0.35,
                "other": 0.45}
DA_HOUSEHOLD_RATE = 0.30  # households where domestic abuse is part of the picture
DA_NEED = 0.35          # extra hidden need when abuse sits behind a contact about something else
RECONTACT_ATTEMPT = 0.25  # chance a contact is about a known household (~22% land within 12 months)
DISABILITY_NEED = 0.25  # extra hidden need for a disabled index child (s17: disabled children are in need)


# ---- What a hub would see besides the contact (issue 14). Drawn from a separate random stream
# (seeded per contact), so every field the generator wrote before is unchanged; see README 10-12.
CHECKS_SEED_STRIDE = 1_000_003
# Per agency: logit of "the agency knows the family" = base + weights on the household's chronic
# risk, the household's domestic-abuse history and this episode's hidden need (the part of the
# hidden need the contact does not show).
CHECK_KNOWN = {
    "police": (-0.8, 0.8, 1.5, 0.4),
    "health": (1.5, 0.3, 0.2, 0.2),
    "education": (3.0, 0.0, 0.0, 0.0),
    "probation": (-2.5, 0.8, 0.8, 0.3),
    "housing": (-1.0, 0.6, 0.0, 0.3),
}
# Per finding code (the codes listed in config/thresholds.yaml): logit of the agency holding it,
# given that it knows the family: (base, chronic, domestic abuse history, episode).
CHECK_FINDINGS = {
    "police": {"domestic_abuse_at_address": (-1.5, 0.5, 2.5, 0.5),
               "adult_known_for_violence": (-1.8, 0.7, 1.0, 0.8),
               "offences_against_children": (-3.5, 0.8, 0.3, 1.0)},
    "health": {"missed_health_appointments": (-1.6, 0.8, 0.2, 0.5),
               "health_visitor_concerns": (-2.0, 0.8, 0.4, 0.8),
               "maternity_concerns": (-2.2, 0.7, 0.5, 0.6)},
    "education": {"attendance_below_90": (-1.4, 0.7, 0.2, 0.5),
                  "exclusions": (-2.8, 0.6, 0.2, 0.4),
                  "school_safeguarding_concerns": (-2.2, 0.8, 0.4, 0.9)},
    "probation": {"supervised_for_violence": (-0.5, 0.5, 1.0, 0.5),
                  "supervised_for_other_offences": (0.0, 0.3, 0.0, 0.2)},
    "housing": {"eviction_or_arrears": (-1.0, 0.6, 0.0, 0.4),
                "temporary_accommodation": (-1.5, 0.5, 0.0, 0.3),
                "antisocial_behaviour_reports": (-1.8, 0.6, 0.6, 0.4)},
}
SCHOOL_AGES = (4, 17)       # education knows children of these ages (reception to year 13)
MATERNITY_AGE = 1           # maternity concerns are recorded about babies under this age


def _logit(params: tuple[float, float, float, float], latent: dict, reveal: float) -> float:
    base, w_chronic, w_da, w_episode = params
    return base + reveal * (w_chronic * latent["household_risk"] + w_da * latent["domestic_abuse_household"]
                            + w_episode * latent["episode"])


def redraw_checks(record: dict, reveal: float) -> dict[str, dict]:
    """A record's check answers drawn again from its own stream with ``reveal`` (the sensitivity)."""
    sim = record["simulation"]
    latent = {"household_risk": sim["household_risk"], "episode": sim["episode"],
              "domestic_abuse_household": sim["domestic_abuse_household"], "ages": sim["child_ages"]}
    return draw_checks(random.Random(sim["checks_stream"]), latent, reveal)


def draw_checks(rng: random.Random, latent: dict, reveal: float = 1.0) -> dict[str, dict]:
    """What each agency's check would return: whether it knows the family, and which findings.

    ``latent`` holds the household's chronic risk, its domestic-abuse history, this episode's hidden
    need and the children's ages. ``reveal`` scales every weight on them: 0.5 is the evaluation's
    "checks reveal half as much" sensitivity, drawn from the same random stream.
    """
    ages = latent["ages"]
    out = {}
    for agency, known_params in CHECK_KNOWN.items():
        draws = [rng.random() for _ in range(1 + len(CHECK_FINDINGS[agency]))]
        applicable = agency != "education" or any(SCHOOL_AGES[0] <= a <= SCHOOL_AGES[1] for a in ages)
        known = applicable and draws[0] < _sigmoid(_logit(known_params, latent, reveal))
        findings = []
        for (code, params), u in zip(CHECK_FINDINGS[agency].items(), draws[1:], strict=True):
            if code == "maternity_concerns" and not any(a < MATERNITY_AGE for a in ages):
                continue
            if known and u < _sigmoid(_logit(params, latent, reveal)):
                findings.append(code)
        out[agency] = {"known": known, "findings": findings}
    return out


def check_codes_match(config_codes: dict[str, set[str]]) -> None:
    """The generator models exactly the finding codes the guidance lists (one source of truth)."""
    mine = {agency: set(codes) for agency, codes in CHECK_FINDINGS.items()}
    if mine != {agency: set(codes) for agency, codes in config_codes.items()}:
        raise ValueError(f"the generator's finding codes {mine} differ from config/thresholds.yaml's {config_codes}")


def known_history(records: list[tuple[datetime, int, frozenset[str], bool]], children: frozenset[str],
                  when: datetime):
    """The store's history of these children as of ``when`` (``triage.engine.history.KnownHistory``)."""
    from triage.engine.history import KnownHistory

    mine = [r for r in records if r[2] & children and r[0] < when]
    recent = [r for r in mine if (when - r[0]).days <= 365]
    return KnownHistory(earlier_contacts=len(mine), contacts_12m=len(recent),
                        referrals_12m=sum(1 for r in recent if r[1] >= 3),
                        marac_12m=any(r[3] for r in recent),
                        highest_level=max((r[1] for r in mine), default=None))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _pick(rng: random.Random, mix: dict[str, float]) -> str:
    return rng.choices(list(mix), weights=list(mix.values()))[0]


@dataclass
class Household:
    """What persists between contacts about one family."""

    household_id: str
    chronic: float
    children: list[dict]
    last_contacts: list[tuple[datetime, int]]
    domestic_abuse: bool = False
    marac_at: datetime | None = None
    #: What the front door recorded on each earlier contact: (received, decided level, children, MARAC).
    records: list[tuple[datetime, int, frozenset[str], bool]] = field(default_factory=list)


def _new_children(rng: random.Random, hid: str) -> list[dict]:
    n = min(1 + int(rng.expovariate(1.3)), 6)
    kids = []
    ethnicity = _pick(rng, ETHNICITY_MIX)   # siblings usually share a recorded ethnicity
    for i in range(n):
        age = min(17, int(rng.triangular(0, 18, 3)))
        kids.append({
            "child_reference": f"{hid}-C{i + 1}",
            "age_years": age,
            "sex": rng.choices(["female", "male", "unknown"], [0.49, 0.49, 0.02])[0],
            "ethnicity": ethnicity if rng.random() < 0.9 else _pick(rng, ETHNICITY_MIX),
            "disabled_true": rng.random() < 0.08,
        })
    return kids


def _maybe(rng: random.Random, value, missing: float, absent_ok: bool = True):
    """Return ``value``, or the partner's 'not known' (None), or a marker to leave the key out."""
    r = rng.random()
    if r < missing * 0.5 and absent_ok:
        return _ABSENT
    if r < missing:
        return None
    return value


_ABSENT = object()


def _put(target: dict, key: str, value) -> None:
    if value is not _ABSENT:
        target[key] = value


def _dash_block(rng: random.Random, need: float, family: str, missing: float, truth: dict) -> dict:
    """A DASH checklist whose true 'yes' answers rise with hidden need; some recorded 'not known'."""
    version = "police-27" if family == "police" else "safelives-24"
    n_questions = 27 if version == "police-27" else 24
    p_yes = _sigmoid(-2.4 + 0.95 * need)
    answers = {}
    true_yes = 0
    for q in range(1, n_questions + 1):
        is_yes = rng.random() < p_yes
        true_yes += is_yes
        if rng.random() < missing * 0.3:
            answers[str(q)] = "not_known"
        elif is_yes:
            answers[str(q)] = "yes"
        elif rng.random() > missing * 0.15:
            answers[str(q)] = "no"
    truth["dash_yes"] = true_yes
    yes = sum(1 for a in answers.values() if a == "yes")
    perceived = need + rng.gauss(0, 0.7)
    grading = "high" if yes >= 14 or perceived > 2.7 else "medium" if yes >= 10 or perceived > 1.5 else "standard"
    dash = {"version": version, "answers": answers}
    if rng.random() > missing * 0.4:
        dash["officer_grading"] = grading
    return dash


def _domestic_abuse(rng: random.Random, need: float, chronic: float, family: str,
                    missing: float, truth: dict) -> dict:
    block: dict = {}
    if family == "police" and rng.random() < 0.85 or family != "police" and rng.random() < 0.12:
        block["dash"] = _dash_block(rng, need, family, missing, truth)
    incidents = int(rng.expovariate(1.0) * math.exp(-0.6 + 0.45 * need + 0.3 * chronic))
    _put(block, "incidents_12m", _maybe(rng, min(incidents, 60), missing if family != "police" else 0.1))
    signals = {
        "weapon_used": -3.6 + 1.0 * need, "strangulation": -3.4 + 1.05 * need,
        "victim_pregnant": -2.9, "perpetrator_in_household": 0.1 + 0.5 * need,
        "coercive_control": -0.6 + 0.8 * need, "perpetrator_substance_misuse": -1.0 + 0.5 * need,
        "arrest_made": -1.2 + 0.8 * need,
    }
    for key, logit in signals.items():
        if family != "police" and key == "arrest_made":
            continue
        truth[key] = rng.random() < _sigmoid(logit)
        _put(block, key, _maybe(rng, truth[key], missing))
    return block


def _factors(rng: random.Random, concern: str, need: float) -> list[str]:
    pool = CONCERN_FACTORS[concern]
    count = min(len(pool), int(rng.expovariate(1.0) * (0.5 + 0.45 * max(need, -0.5) + 0.5)))
    chosen = rng.sample(pool, count)
    if rng.random() < 0.08:
        chosen.append(rng.choice(["1B", "2B", "4B", "6C", "5B", "16A", "17A"]))
    if not chosen and rng.random() < 0.15:
        chosen = ["21"]
    return sorted(set(chosen))


def _child_entry(rng: random.Random, kid: dict, ctx: dict, need: float, prior_referrals: int,
                 status: str) -> dict:
    """One child as the referrer describes them; what is really so goes into ``ctx['truth']``."""
    missing, concern, family, truth = ctx["missing"], ctx["concern"], ctx["family"], ctx["truth"]
    child: dict = {"child_reference": kid["child_reference"]}
    _put(child, "age_years", _maybe(rng, kid["age_years"], missing * 0.3))
    _put(child, "sex", _maybe(rng, kid["sex"], missing * 0.3, absent_ok=True))
    if child.get("sex") is None:
        child.pop("sex", None)
    if rng.random() > missing * 0.6:
        child["ethnicity"] = kid["ethnicity"]
    if rng.random() > missing + 0.2:
        child["disabled"] = kid["disabled_true"]
    incident = concern in ("domestic_abuse", "physical_abuse", "sexual_abuse") or family == "police"
    if incident:
        present = rng.random() < _sigmoid(-0.25 + 0.35 * need)
        truth["present"] = truth.get("present", False) or present
        _put(child, "present_at_incident", _maybe(rng, present, missing))
        hurt = rng.random() < _sigmoid(-4.6 + 1.35 * need + (1.2 if concern == "physical_abuse" else 0.0))
        truth["injured"] = truth.get("injured", False) or hurt
        _put(child, "injured", _maybe(rng, hurt, missing))
    if concern in ("physical_abuse", "sexual_abuse", "emotional_abuse", "neglect") or rng.random() < 0.2:
        said = rng.random() < _sigmoid(-4.2 + 1.25 * need + (1.0 if concern == "sexual_abuse" else 0.0))
        if kid["age_years"] >= 3:
            truth["disclosed"] = truth.get("disclosed", False) or said
            _put(child, "disclosed_harm", _maybe(rng, said, missing))
    if rng.random() > missing * 0.6:
        child["current_status"] = status
    known = prior_referrals if family in ("school", "local_authority", "health") else prior_referrals
    _put(child, "previous_referrals_12m", _maybe(rng, known, missing + 0.1))
    return child


def _status(rng: random.Random, chronic: float, prior_referrals: int) -> str:
    x = chronic + 0.6 * prior_referrals + rng.gauss(0, 0.8)
    if x > 3.1:
        return "child_protection"
    if x > 2.4:
        return "child_in_need"
    if x > 1.4:
        return "early_help"
    return "unknown" if rng.random() < 0.05 else "none"


def _referrer_view(rng: random.Random, need: float, missing: float) -> tuple[str, str]:
    """What the referrer asks for and says about consent: their own noisy reading of the need."""
    seen = need + rng.gauss(0, 0.9 + missing)
    request = ("urgent_protection" if seen > 2.6 else "assessment" if seen > 1.2
               else "early_help" if seen > 0.0 else "information_only")
    if seen > 2.3 and rng.random() < 0.7:
        consent = "not_required"
    else:
        consent = rng.choices(["obtained", "not_sought", "refused"], [0.5, 0.38, 0.12])[0]
    return request, consent


def _reported(contact: dict, key: str) -> float:
    """1 when the contact says yes, UNKNOWN_WEIGHT when it says not known or is silent, else 0."""
    if key in ("injured", "disclosed_harm", "present_at_incident"):
        values = [c.get(key) for c in contact["children"]]
    else:
        values = [contact.get("domestic_abuse", {}).get(key, False)]
    if any(v is True for v in values):
        return 1.0
    return UNKNOWN_WEIGHT if any(v is None for v in values) else 0.0


def _expert_reading(need: float, truth: dict, contact: dict) -> float:
    """The quality-assured reading before judgement: what the contact reports and what checks reveal.

    The front door decides on the contact plus its own checks: a fact the referrer left out is
    weighed only as a possibility (UNKNOWN_WEIGHT) and otherwise through the hidden need, which
    stands for what checks with other agencies and records show. The expert's judgement (noise
    with sd JUDGEMENT_SD) is added by the caller.
    """
    facts = sum(weight * _reported(contact, key) for key, weight in FACT_WEIGHTS.items())
    high_da = truth.get("dash_yes", 0) >= 14 and _reported(contact, "present_at_incident") == 1.0
    return NEED_WEIGHT * need + facts + (HIGH_RISK_DA_WEIGHT if high_da else 0.0)


def _level_from_score(score: float) -> int:
    return 1 + sum(score > cut for cut in LEVEL_CUTS)


def _historic(rng: random.Random, expert: int, family: str, concern: str, missing: float) -> int:
    """What the front door did before: police domestic abuse over-referred, thin contacts referred anyway."""
    level = expert
    if rng.random() < 0.15:
        level = max(1, min(4, level + rng.choice((-1, 1))))
    police_da = family == "police" and concern == "domestic_abuse"
    if expert <= 2 and (police_da and rng.random() < 0.55 or missing >= 0.45 and rng.random() < 0.25):
        level = 3
    if expert >= 3 and rng.random() < 0.05:
        level = 2
    return level


def _contact(rng: random.Random, hh: Household, seq: int, when: datetime) -> tuple[dict, float, dict]:
    source = _pick(rng, SOURCE_MIX)
    family = SOURCE_FAMILY[source]
    concern = _pick(rng, CONCERN_MIX[family])
    if concern == "domestic_abuse":
        hh.domestic_abuse = True
    missing = MISSING_RATE[family] * rng.uniform(0.5, 1.5)
    kids = [k for k in hh.children if rng.random() < 0.8] or hh.children[:1]
    index = kids[0]
    recent = [lvl for t, lvl in hh.last_contacts if (when - t).days <= 365]
    prior_referrals = sum(1 for lvl in recent if lvl >= 3)
    episode = rng.gauss(0, EPISODE_SD)
    need = (CONCERN_SEVERITY[concern] + HOUSEHOLD_SD * hh.chronic + episode
            + 0.25 * len(recent) + (DISABILITY_NEED if index["disabled_true"] else 0.0)
            + (0.2 if min(k["age_years"] for k in kids) < 2 else 0.0)
            + (DA_NEED if hh.domestic_abuse and concern != "domestic_abuse" else 0.0))
    truth: dict = {}
    ctx = {"missing": missing, "concern": concern, "family": family, "truth": truth}
    status = _status(rng, hh.chronic, prior_referrals)
    children = [_child_entry(rng, k, ctx, need, prior_referrals, status) for k in kids]
    contact: dict = {
        "partner_reference": f"{source}-{hh.household_id}-{seq}",
        "source": {"code": source, "organisation": ORGANISATIONS[family]},
        "received_at": when.isoformat(),
        "primary_concern": concern,
        "children": children,
    }
    if family == "police" or concern in ("physical_abuse", "sexual_abuse"):
        contact["incident_at"] = (when - timedelta(hours=rng.uniform(2, 30))).isoformat()
    factors = _factors(rng, concern, need)
    if hh.domestic_abuse and concern != "domestic_abuse" and rng.random() < 0.6:
        factors = sorted(set(factors) - {"21"} | {rng.choice(["3A", "3B", "3C"])})
    if factors:
        contact["factors"] = factors
    if concern == "domestic_abuse" or "3B" in factors and rng.random() < 0.5:
        contact["domestic_abuse"] = _domestic_abuse(rng, need, hh.chronic, family, missing, truth)
    request, consent = _referrer_view(rng, need, missing)
    contact["consent"] = consent
    if rng.random() > missing * 0.5:
        contact["referrer_request"] = request
    contact["narrative"] = f"Synthetic {concern.replace('_', ' ')} contact from a {family} source."
    fair = {"sex": index["sex"], "ethnicity": index["ethnicity"], "disabled": index["disabled_true"],
            "age_years": index["age_years"]}
    reading = _expert_reading(need, truth, contact)
    simulation = {"hidden_need": round(need, 6), "expert_reading": round(reading, 6)}
    info = {"family": family, "concern": concern, "missing": missing, "index": fair, "simulation": simulation,
            "episode": episode, "ages": [k["age_years"] for k in kids],
            "child_refs": frozenset(k["child_reference"] for k in kids)}
    return contact, reading + rng.gauss(0, JUDGEMENT_SD), info


def _schedule(rng: random.Random, n_contacts: int, start: datetime) -> list[tuple[int, datetime]]:
    """(household number, received_at) pairs: a share of contacts re-contact a known household."""
    events: list[tuple[int, datetime]] = []
    first_seen: list[datetime] = []
    horizon = 365 * 2
    for _ in range(n_contacts):
        when = start + timedelta(minutes=rng.uniform(0, horizon * 24 * 60))
        if first_seen and rng.random() < RECONTACT_ATTEMPT:
            # a household first seen in the year before this contact
            for _attempt in range(8):
                h = rng.randrange(len(first_seen))
                if timedelta(0) < when - first_seen[h] <= timedelta(days=365):
                    events.append((h, when))
                    break
            else:
                first_seen.append(when)
                events.append((len(first_seen) - 1, when))
        else:
            first_seen.append(when)
            events.append((len(first_seen) - 1, when))
    events.sort(key=lambda e: e[1])
    return events


def generate(n_contacts: int, seed: int, floor_fn: FloorFn | None = None) -> Iterator[dict]:
    """Yield ``n_contacts`` labelled records, reproducibly for a seed.

    ``floor_fn(contact, received_at, prior_marac_12m)`` is the threshold guidance's floor; the
    expert level is never below it, as a quality-assured decision never is.
    """
    rng = random.Random(seed)
    start = datetime(2024, 4, 1, 8, 0, tzinfo=UTC)
    households: dict[int, Household] = {}
    for seq, (h, when) in enumerate(_schedule(rng, n_contacts, start)):
        hh = households.get(h)
        if hh is None:
            hid = f"H{h:07d}"
            hh = households[h] = Household(hid, rng.gauss(0, 1), _new_children(rng, hid), [],
                                           rng.random() < DA_HOUSEHOLD_RATE)
        contact, score, info = _contact(rng, hh, seq, when)
        prior_marac = hh.marac_at is not None and (when - hh.marac_at).days <= 365
        floor = floor_fn(contact, when, prior_marac) if floor_fn else 0
        expert = max(_level_from_score(score), floor)
        historic = max(_historic(rng, expert, info["family"], info["concern"], info["missing"]), floor
                       if rng.random() < 0.9 else 1)
        history = known_history(hh.records, info["child_refs"], when)
        hh.last_contacts.append((when, historic))
        marac_now = contact.get("domestic_abuse", {}).get("dash", {}).get("officer_grading") == "high"
        if marac_now:
            hh.marac_at = when
        hh.records.append((when, historic, info["child_refs"], marac_now))
        latent = {"household_risk": round(hh.chronic, 6), "episode": round(info["episode"], 6),
                  "domestic_abuse_household": hh.domestic_abuse, "ages": info["ages"]}
        stream = seed * CHECKS_SEED_STRIDE + seq
        checks = draw_checks(random.Random(stream), latent)
        yield {"household_id": hh.household_id, "contact": contact, "expert_level": expert,
               "historic_decision": historic, "prior_marac_12m": prior_marac,
               "index_child": info["index"], "recontact_12m": any(
                   (when - t).days <= 365 for t, _ in hh.last_contacts[:-1]),
               "known_history": asdict(history), "checks": checks,
               "simulation": {**info["simulation"], **{k: v for k, v in latent.items() if k != "ages"},
                              "child_ages": info["ages"], "checks_stream": stream}}


def guidance_floor_fn(thresholds_path: str | Path) -> FloorFn:
    """The guidance engine's floor as a function (the engine is the one source of the rules)."""
    from triage.engine.guidance import load_guidance
    from triage.engine.history import KnownHistory

    guidance = load_guidance(thresholds_path)

    def floor(contact: dict, received_at: datetime, prior_marac_12m: bool) -> int:
        return int(guidance.evaluate(contact, received_at=received_at,
                                     history=KnownHistory(marac_12m=prior_marac_12m)).floor_level)

    return floor


def write_jsonl(records: Iterator[dict], path: Path) -> list[dict]:
    """Write records as JSON lines and return them (the caller summarises them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = []
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n")
            kept.append(record)
    return kept


def summarise(records: list[dict]) -> dict:
    """The calibration figures the README promises, measured on the generated data."""
    n = len(records)
    referrals = [r for r in records if r["expert_level"] >= 3]
    n_ref = max(len(referrals), 1)

    def da(r: dict) -> bool:
        c = r["contact"]
        return c["primary_concern"] == "domestic_abuse" or bool({"3A", "3B", "3C"} & set(c.get("factors", [])))

    def share(rows: list[dict], pred) -> float:
        return round(sum(1 for r in rows if pred(r)) / max(len(rows), 1), 4)

    historic_ref = [r for r in records if r["historic_decision"] >= 3]
    return {
        "n_contacts": n,
        "n_households": len({r["household_id"] for r in records}),
        "expert_level_shares": {str(k): share(records, lambda r, k=k: r["expert_level"] == k) for k in range(1, 5)},
        "referral_threshold_share": round(len(referrals) / max(n, 1), 4),
        "police_share_of_contacts": share(records, lambda r: r["contact"]["source"]["code"] == "6"),
        "police_share_of_referrals": share(referrals, lambda r: r["contact"]["source"]["code"] == "6"),
        "school_share_of_referrals": share(referrals, lambda r: r["contact"]["source"]["code"] in ("2A", "2B")),
        "domestic_abuse_share_of_referrals": share(referrals, da),
        "recontact_share": share(records, lambda r: r["recontact_12m"]),
        "historic_referral_share": round(len(historic_ref) / max(n, 1), 4),
        "historic_inappropriate_referral_rate": share(historic_ref, lambda r: r["expert_level"] <= 2),
        "n_referrals": n_ref,
        "hub_view": _hub_view(records),
    }


def _hub_view(records: list[dict]) -> dict:
    """What the new assumptions (README 10-12) produce: the store's history and the agencies' answers."""
    with_checks = [r for r in records if "checks" in r]
    n = max(len(with_checks), 1)
    out: dict = {"known_to_the_front_door": round(sum(
        1 for r in with_checks if r["known_history"]["earlier_contacts"] > 0) / n, 4)}
    for agency in CHECK_KNOWN:
        known = [r["checks"][agency] for r in with_checks if r["checks"][agency]["known"]]
        out[f"{agency}_knows_family"] = round(len(known) / n, 4)
        out[f"{agency}_any_finding"] = round(sum(1 for c in known if c["findings"]) / n, 4)
    return out
