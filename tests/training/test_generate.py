"""The synthetic front door: valid contacts, reproducible, honest labels, national shape."""

from __future__ import annotations

from training.generate import generate, summarise
from training.train import build_dataset, split
from triage.engine.contract import validate_contact


def test_generated_contacts_validate_against_the_contract(sample):
    errors = {}
    for record in sample[:400]:
        _, errs = validate_contact(record["contact"])
        if errs:
            errors[record["contact"]["partner_reference"]] = errs
    assert errors == {}


def test_same_seed_same_data_and_different_seed_different_data(floor_fn):
    a = list(generate(200, seed=5, floor_fn=floor_fn))
    b = list(generate(200, seed=5, floor_fn=floor_fn))
    c = list(generate(200, seed=6, floor_fn=floor_fn))
    assert a == b
    assert a != c


def test_expert_level_never_below_the_guidance_floor(sample, floor_fn):
    from training.train import received

    for r in sample[:500]:
        floor = floor_fn(r["contact"], received(r["contact"]), r["prior_marac_12m"])
        assert r["expert_level"] >= floor


def test_labels_are_not_a_function_of_the_contact(sample, floor_fn):
    """Honest noise: identical encodings must sometimes carry different expert levels."""
    data = build_dataset(sample, floor_fn)
    rows: dict[tuple, set] = {}
    for i in range(data.x.shape[0]):
        key = tuple(data.x[i].indices.tolist())
        rows.setdefault(key, set()).add(int(data.y[i]))
    assert any(len(levels) > 1 for levels in rows.values())


def test_shape_follows_the_national_figures(sample):
    s = summarise(sample)
    assert 0.14 <= s["referral_threshold_share"] <= 0.28
    assert 0.15 <= s["recontact_share"] <= 0.30
    assert 0.30 <= s["domestic_abuse_share_of_referrals"] <= 0.65
    assert s["historic_inappropriate_referral_rate"] > 0.3  # practice over-referred, as inspectors found
    by_source: dict[str, int] = {}
    for r in sample:
        if r["expert_level"] >= 3:
            code = r["contact"]["source"]["code"]
            by_source[code] = by_source.get(code, 0) + 1
    assert max(by_source, key=by_source.get) == "6"  # police: the largest source of referrals


def test_split_keeps_households_on_one_side(sample, floor_fn):
    data = build_dataset(sample, floor_fn)
    tr, va, te = split(data.groups, seed=3)
    sides = [set(data.groups[ix].tolist()) for ix in (tr, va, te)]
    assert not sides[0] & sides[1] and not sides[0] & sides[2] and not sides[1] & sides[2]
    assert len(tr) + len(va) + len(te) == len(sample)


def test_the_simulation_block_is_the_experts_reading_before_judgement(sample, floor_fn):
    """What the information ceiling relies on: the level is the reading plus N(0, JUDGEMENT_SD), cut."""
    from training.generate import JUDGEMENT_SD, LEVEL_CUTS
    from training.train import received

    edges = (-float("inf"), *LEVEL_CUTS, float("inf"))
    for r in sample:
        assert set(r["simulation"]) == {"hidden_need", "expert_reading", "household_risk", "episode",
                                        "domestic_abuse_household", "child_ages", "checks_stream"}
        floor = floor_fn(r["contact"], received(r["contact"]), r["prior_marac_12m"])
        if r["expert_level"] > floor:   # the level came from the reading, not the guidance floor
            lo, hi = edges[r["expert_level"] - 1], edges[r["expert_level"]]
            reading = r["simulation"]["expert_reading"]
            assert lo - 5 * JUDGEMENT_SD < reading < hi + 5 * JUDGEMENT_SD


def test_known_history_counts_earlier_contacts_about_the_same_children(sample):
    """The store's history is consistent with the household's earlier contacts and the children sent."""
    from training.train import received

    seen: dict[str, list[tuple]] = {}
    for r in sample:
        when = received(r["contact"])
        kids = {c["child_reference"] for c in r["contact"]["children"]}
        earlier = [e for e in seen.get(r["household_id"], []) if e[1] & kids]
        h = r["known_history"]
        assert h["earlier_contacts"] == len(earlier)
        recent = [e for e in earlier if (when - e[0]).days <= 365]
        assert h["contacts_12m"] == len(recent)
        assert h["referrals_12m"] == sum(1 for e in recent if e[2] >= 3)
        assert h["highest_level"] == max((e[2] for e in earlier), default=None)
        seen.setdefault(r["household_id"], []).append((when, kids, r["historic_decision"]))


def test_check_answers_use_the_guidance_codes_and_rise_with_household_risk(sample, floor_fn):
    from training.generate import check_codes_match
    from triage.engine.guidance import load_guidance

    from .conftest import THRESHOLDS

    agencies = load_guidance(THRESHOLDS).config.checks.agencies
    check_codes_match({a: set(c.findings) for a, c in agencies.items()})
    for r in sample:
        for agency, answer in r["checks"].items():
            assert set(answer["findings"]) <= set(agencies[agency].findings)
            assert answer["known"] or not answer["findings"]
    risky = [r for r in sample if r["simulation"]["household_risk"] > 1]
    calm = [r for r in sample if r["simulation"]["household_risk"] < -1]

    def findings(rows):
        return sum(len(a["findings"]) for r in rows for a in r["checks"].values()) / len(rows)

    assert findings(risky) > 1.5 * findings(calm)


def test_half_as_revealing_checks_are_drawn_from_the_same_stream(sample):
    import random

    from training.generate import draw_checks

    latent = {"household_risk": 2.0, "episode": 1.5, "domestic_abuse_household": True, "ages": [0, 7]}
    assert draw_checks(random.Random(5), latent) == draw_checks(random.Random(5), latent)
    full = [draw_checks(random.Random(i), latent) for i in range(300)]
    half = [draw_checks(random.Random(i), latent, reveal=0.5) for i in range(300)]
    from training.generate import redraw_checks

    assert all(redraw_checks(r, 1.0) == r["checks"] for r in sample[:200])
    count = lambda rows: sum(len(a["findings"]) for r in rows for a in r.values())  # noqa: E731
    assert count(half) < count(full)
