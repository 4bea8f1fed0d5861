"""Evaluate the bundled model on its household-grouped test split, and publish the figures.

Why each part: earlier tools in children's social care published an AUC inflated by siblings on
both sides of the split, never reported calibration by group, and had no comparison with what
practice already achieved. So: the same household-grouped split the trainer used; per-level
precision and recall; calibration (ECE and a reliability table); the headline side by side with
the guidance floors alone, the historic practice and a black box on the same split and features;
and rates, recall, false positives and calibration per group with the largest gaps called out.
The figures go into the manifest and MODEL_CARD.md by code, never by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

from training.model_card import render_model_card
from training.train import (
    STATUTORY_RECALL_TUNING,
    TARGETS,
    Dataset,
    build_dataset,
    read_records,
    split,
    tune_thresholds,
)
from triage.engine.classifier import OrdinalModel, load_model, probabilities_batch, sha256_file

ETHNIC_GROUPS = {"W": "White", "M": "Mixed", "A": "Asian", "C": "Asian", "B": "Black", "O": "Other"}
N_BINS = 10
MIN_GROUP = 100   # smaller groups are reported but not used to call out gaps
# (level-4 recall, statutory recall) targets the rule is re-tuned for on validation, to publish what
# each costs on test. The first five hold the statutory target; the last three relax both, to show
# where halving inappropriate referrals would actually be reached.
TRADEOFF_TARGETS = tuple((t4, STATUTORY_RECALL_TUNING) for t4 in (0.95, 0.98, 0.99, 0.995, 0.998)) + (
    (0.95, 0.95), (0.90, 0.90), (0.90, 0.80))


def headline(y: np.ndarray, levels: np.ndarray) -> dict[str, float]:
    """The figures the service is judged on, for any way of choosing a level."""
    referred = levels >= 3
    return {
        "level4_recall": float(np.mean(levels[y == 4] == 4)),
        "statutory_recall": float(np.mean(referred[y >= 3])),
        "inappropriate_referral_rate": float(np.mean(y[referred] <= 2)) if referred.any() else 0.0,
        "referral_rate": float(np.mean(referred)),
        "accuracy": float(np.mean(levels == y)),
    }


def per_level(y: np.ndarray, levels: np.ndarray) -> dict[str, dict[str, float]]:
    p, r, _, support = precision_recall_fscore_support(y, levels, labels=[1, 2, 3, 4], zero_division=0)
    return {str(k): {"precision": float(p[i]), "recall": float(r[i]), "support": int(support[i])}
            for i, k in enumerate((1, 2, 3, 4))}


def reliability(y: np.ndarray, probs: np.ndarray) -> tuple[float, list[dict], float]:
    """Top-label ECE with its reliability table, and the class-wise ECE (mean over levels)."""
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) + 1) == y
    table, ece = [], 0.0
    edges = np.linspace(0, 1, N_BINS + 1)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        if not mask.any():
            continue
        gap = abs(conf[mask].mean() - correct[mask].mean())
        ece += mask.mean() * gap
        table.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": int(mask.sum()),
                      "mean_confidence": float(conf[mask].mean()), "accuracy": float(correct[mask].mean())})
    classwise = []
    for k in range(4):
        p, o = probs[:, k], (y == k + 1)
        bins = np.minimum((p * N_BINS).astype(int), N_BINS - 1)
        classwise.append(sum(abs(p[bins == b].mean() - o[bins == b].mean()) * np.mean(bins == b)
                             for b in range(N_BINS) if np.any(bins == b)))
    return float(ece), table, float(np.mean(classwise))


def _group_values(record: dict) -> dict[str, str]:
    child = record.get("index_child") or (record["contact"]["children"] or [{}])[0]
    eth = child.get("ethnicity")
    age = child.get("age_years")
    return {
        "sex": child.get("sex") or "unknown",
        "ethnicity_group": "Not known" if eth in (None, "REFU", "NOBT") else ETHNIC_GROUPS.get(eth[0], "Other"),
        "disability": {True: "disabled", False: "not disabled"}.get(child.get("disabled"), "not known"),
        "age_band": ("not known" if age is None else "under 1" if age < 1 else "1-4" if age < 5
                     else "5-9" if age < 10 else "10-15" if age < 16 else "16-17"),
    }


def fairness(records: list[dict], y: np.ndarray, levels: np.ndarray, p_referral: np.ndarray) -> dict:
    """Per group: recommendation rate, statutory recall, false positive rate, calibration; biggest gaps."""
    groups = [_group_values(r) for r in records]
    out: dict = {}
    for attribute in ("sex", "ethnicity_group", "disability", "age_band"):
        rows: dict[str, dict] = {}
        values = np.array([g[attribute] for g in groups])
        for value in sorted(set(values.tolist())):
            m = values == value
            ym, lm, pm = y[m], levels[m], p_referral[m]
            rows[value] = {
                "n": int(m.sum()),
                "recommended_referral_rate": float(np.mean(lm >= 3)),
                "statutory_recall": float(np.mean(lm[ym >= 3] >= 3)) if np.any(ym >= 3) else None,
                "false_positive_rate": float(np.mean(lm[ym <= 2] >= 3)) if np.any(ym <= 2) else None,
                "mean_predicted_referral": float(pm.mean()),
                "observed_referral": float(np.mean(ym >= 3)),
                "calibration_gap": float(pm.mean() - np.mean(ym >= 3)),
            }
        out[attribute] = {"groups": rows, "largest_gaps": _gaps(rows)}
    return out


def _gaps(rows: dict[str, dict]) -> dict[str, dict]:
    big = {k: v for k, v in rows.items() if v["n"] >= MIN_GROUP}
    gaps = {}
    for metric in ("recommended_referral_rate", "statutory_recall", "false_positive_rate", "calibration_gap"):
        vals = {k: v[metric] for k, v in big.items() if v[metric] is not None}
        if len(vals) >= 2:
            hi, lo = max(vals, key=vals.get), min(vals, key=vals.get)
            gaps[metric] = {"gap": float(vals[hi] - vals[lo]), "highest": hi, "lowest": lo}
    return gaps


def black_box(train: Dataset, test: Dataset, seed: int) -> tuple[np.ndarray, HistGradientBoostingClassifier]:
    """HistGradientBoosting on the same split and features: the accuracy an opaque model gets."""
    model = HistGradientBoostingClassifier(random_state=seed)
    model.fit(train.x.toarray(), train.y)
    return model.predict_proba(test.x.toarray()), model


def cumulative_logits(probs: np.ndarray) -> np.ndarray:
    """log-odds of level >= 2, >= 3, >= 4 from P(level = 1..4): lets one decision rule serve any model."""
    ge = np.stack([probs[:, 1:].sum(axis=1), probs[:, 2:].sum(axis=1), probs[:, 3]], axis=1)
    ge = np.clip(ge, 1e-12, 1 - 1e-12)
    return np.log(ge / (1 - ge))


def rule_levels(logits: np.ndarray, floors: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The decision rule (highest level whose P(level >= k) cut-off is met), raised to the floor."""
    cuts = np.log(thresholds / (1 - thresholds))
    level = np.ones(len(logits), dtype=np.int64)
    for i in range(3):
        level[logits[:, i] >= cuts[i]] = i + 2
    return np.maximum(level, np.maximum(floors, 1))


def operating_figures(y: np.ndarray, levels: np.ndarray, historic_rate: float | None) -> dict[str, float]:
    """The headline plus the share recommended level 4 and the reduction against historic practice."""
    h = headline(y, levels)
    return {**h, "n": int(len(y)), "level4_rate": float(np.mean(levels == 4)),
            "inappropriate_referral_reduction": (1 - h["inappropriate_referral_rate"] / historic_rate)
            if historic_rate else None}


def tradeoff(val_logits: np.ndarray, val: Dataset, test_logits: np.ndarray, test: Dataset,
             historic_rate: float | None, level2_threshold: float) -> list[dict]:
    """For each pair of recall targets: the rule tuned on validation, measured on test.

    What a margin of recall costs is a fact to publish, not a guess: this is the table a council
    reads before choosing its own targets.
    """
    rows = []
    for t4, ts in TRADEOFF_TARGETS:
        th = tune_thresholds(val_logits, val.floors, val.y, level4_recall=t4, statutory_recall=ts)
        th[0] = level2_threshold
        levels = rule_levels(test_logits, test.floors, th)
        below = test.floors < 4
        rows.append({"level4_recall_target": t4, "statutory_recall_target": ts,
                     "p_level4_cutoff": float(th[2]), "p_level3_cutoff": float(th[1]),
                     **operating_figures(test.y, levels, historic_rate),
                     "level4_recall_floor_below_4": float(np.mean(levels[below & (test.y == 4)] == 4))})
    return rows


def ceiling_logits(records: list[dict], floors: np.ndarray) -> np.ndarray | None:
    """log-odds of level >= 2, >= 3, >= 4 for an oracle that knows the expert's reading before judgement.

    Only a simulation can compute this: the generator records the hidden need and the expert's reading
    (``simulation.expert_reading``); the expert level is that reading plus judgement noise
    N(0, JUDGEMENT_SD), cut at LEVEL_CUTS, raised to the floor. So P(level >= k) is exact: 1 where
    the floor is k or more, else the normal tail above the cut. No model that sees less (the contact,
    the store) can rank contacts better, so the rule tuned on these logits is the information
    ceiling: the fewest inappropriate referrals any model could reach at the recall targets.
    None for data without the simulation block (a council's export).
    """
    from scipy.stats import norm

    from training.generate import JUDGEMENT_SD, LEVEL_CUTS

    if not records or any("expert_reading" not in (r.get("simulation") or {}) for r in records):
        return None
    reading = np.array([r["simulation"]["expert_reading"] for r in records])
    out = np.empty((len(records), 3))
    for i, cut in enumerate(LEVEL_CUTS[:3]):
        logit = norm.logsf(cut, loc=reading, scale=JUDGEMENT_SD) - norm.logcdf(cut, loc=reading, scale=JUDGEMENT_SD)
        out[:, i] = np.where(floors >= i + 2, 40.0, np.clip(logit, -40.0, 40.0))
    return out


def information_ceiling(val: Dataset, test: Dataset, historic_rate: float | None,
                        level2_threshold: float) -> dict | None:
    """The oracle above through the same rule, tuned the same way on validation, measured on test.

    Said beside the model's figures so a missed target can be told apart: a target the ceiling
    also misses cannot be met by any model on this data, however it is built.
    """
    val_logits, test_logits = ceiling_logits(val.records, val.floors), ceiling_logits(test.records, test.floors)
    if val_logits is None or test_logits is None:
        return None
    th = tune_thresholds(val_logits, val.floors, val.y)
    th[0] = level2_threshold
    levels = rule_levels(test_logits, test.floors, th)
    return {"at_targets": operating_figures(test.y, levels, historic_rate),
            "tradeoff": tradeoff(val_logits, val, test_logits, test, historic_rate, level2_threshold)}


def by_floor(y: np.ndarray, floors: np.ndarray, ways: dict[str, np.ndarray], historic: np.ndarray | None) -> dict:
    """The headline for all contacts and for those the guidance does not already put at level 4.

    A floor of 4 is a referral whatever the model says; the model's own work is on the rest.
    """
    out: dict[str, dict] = {}
    for name, mask in (("all", np.ones(len(y), dtype=bool)), ("floor_below_4", floors < 4)):
        hist_rate = headline(y[mask], historic[mask])["inappropriate_referral_rate"] if historic is not None else None
        out[name] = {way: operating_figures(y[mask], levels[mask], hist_rate) for way, levels in ways.items()}
    return out


def evaluate(data_path: Path, models_dir: Path, seed: int,
             floor_fn: Callable[[dict, datetime, bool], int], write: bool = True) -> dict:
    """Score the test split every way and, when ``write``, update the manifest and model card."""
    model = load_model(models_dir)
    data = build_dataset(read_records(data_path), floor_fn)
    tr, va, te = split(data.groups, seed)
    train, val, test = data.subset(tr), data.subset(va), data.subset(te)
    logits = model.logits_batch(test.x)
    probs = probabilities_batch(logits)
    levels = np.maximum(model.levels_batch(logits), np.maximum(test.floors, 1))
    bb_probs, bb_model = black_box(train, test, seed)
    bb_levels = np.maximum(bb_probs.argmax(axis=1) + 1, np.maximum(test.floors, 1))
    historic = np.array([r.get("historic_decision", 0) for r in test.records])
    has_historic = bool(np.all(historic > 0))
    hist_rate = headline(test.y, historic)["inappropriate_referral_rate"] if has_historic else None
    bb_logits = cumulative_logits(bb_probs)
    bb_val_logits = cumulative_logits(bb_model.predict_proba(val.x.toarray()))
    ece, table, classwise = reliability(test.y, probs)
    report = {
        "model_version": model.version,
        "n_test": int(len(te)),
        "test_households": int(len(set(test.groups.tolist()))),
        "model": {**headline(test.y, levels), "per_level": per_level(test.y, levels)},
        "guidance_floors_alone": headline(test.y, np.maximum(test.floors, 1)),
        "black_box": {**headline(test.y, bb_levels), "per_level": per_level(test.y, bb_levels),
                      "macro_auc": float(roc_auc_score(test.y, bb_probs, multi_class="ovr"))},
        "calibration": {"ece": ece, "classwise_ece": classwise, "reliability": table},
        "fairness": fairness(test.records, test.y, levels, probs[:, 2:].sum(axis=1)),
    }
    report["model"]["macro_auc"] = float(roc_auc_score(test.y, probs, multi_class="ovr"))
    report["operating_points"] = operating_points(model, logits, test.floors, test.y)
    report["level4_sources"] = {
        "expert_level4_with_floor4": float(np.mean(test.floors[test.y == 4] >= 4)),
        "expert_level4_with_no_guidance_indicator": float(np.mean(test.floors[test.y == 4] == 0)),
        "share_of_contacts_recommended_level4": float(np.mean(levels == 4)),
    }
    l2 = float(model.thresholds[0])
    report["tradeoff"] = {"model": tradeoff(model.logits_batch(val.x), val, logits, test, hist_rate, l2),
                          "black_box": tradeoff(bb_val_logits, val, bb_logits, test, hist_rate, l2)}
    ceiling = information_ceiling(val, test, hist_rate, l2)
    if ceiling is not None:
        report["information_ceiling"] = ceiling
    bb_rule = rule_levels(bb_logits, test.floors, tune_thresholds(bb_val_logits, val.floors, val.y))
    ways = {"model": levels, "black_box_same_rule": bb_rule, "guidance_floors_alone": np.maximum(test.floors, 1)}
    if has_historic:
        ways["historic_practice"] = historic
        report["historic_practice"] = headline(test.y, historic)
    report["by_floor"] = by_floor(test.y, test.floors, ways, historic if has_historic else None)
    report["summary"] = summary(report)
    if write:
        publish(models_dir, model, report, data_path)
    return report


def operating_points(model: OrdinalModel, logits: np.ndarray, floors: np.ndarray, y: np.ndarray) -> list[dict]:
    """Reported, not tuned: what other level-3 cut-offs would trade (level-4 cut-off as tuned).

    Lets a council see the price of the recall target in inappropriate referrals.
    """
    c4 = model.logit_thresholds[2]
    base = np.maximum(np.where(logits[:, 2] >= c4, 4, 1), np.maximum(floors, 1))
    rows = []
    for c3 in np.quantile(logits[:, 1], np.linspace(0.30, 0.95, 14)):
        levels = np.maximum(base, np.where(logits[:, 1] >= c3, 3, 1))
        h = headline(y, levels)
        rows.append({"p_level3_cutoff": float(1 / (1 + np.exp(-c3))), **{k: h[k] for k in (
            "statutory_recall", "level4_recall", "inappropriate_referral_rate", "referral_rate")}})
    return rows


def summary(report: dict) -> dict:
    """The one-line JSON the issue asks for (plus a few figures that make it readable)."""
    m, h = report["model"], report.get("historic_practice", {})
    hist = h.get("inappropriate_referral_rate")
    ceiling = report.get("information_ceiling", {}).get("at_targets", {})
    return {
        "model_version": report["model_version"],
        "level4_recall": m["level4_recall"],
        "statutory_recall": m["statutory_recall"],
        "inappropriate_referral_rate": m["inappropriate_referral_rate"],
        "historic_inappropriate_referral_rate": hist,
        "inappropriate_referral_reduction": (1 - m["inappropriate_referral_rate"] / hist) if hist else None,
        "referral_rate": m["referral_rate"],
        "historic_referral_rate": h.get("referral_rate"),
        "macro_auc": m["macro_auc"],
        "black_box_macro_auc": report["black_box"]["macro_auc"],
        "ece": report["calibration"]["ece"],
        "classwise_ece": report["calibration"]["classwise_ece"],
        "information_ceiling_inappropriate_referral_rate": ceiling.get("inappropriate_referral_rate"),
        "information_ceiling_reduction": ceiling.get("inappropriate_referral_reduction"),
        "n_test": report["n_test"],
    }


def target_status(s: dict) -> dict[str, dict]:
    """Each target with the measured figure and whether it is met."""
    checks = {
        "level4_recall": (s["level4_recall"], s["level4_recall"] >= TARGETS["level4_recall"]),
        "statutory_recall": (s["statutory_recall"], s["statutory_recall"] >= TARGETS["statutory_recall"]),
        "inappropriate_referral_reduction": (s["inappropriate_referral_reduction"],
                                             (s["inappropriate_referral_reduction"] or 0) >= 0.5),
        "macro_auc_gap_to_black_box": (s["black_box_macro_auc"] - s["macro_auc"],
                                       s["black_box_macro_auc"] - s["macro_auc"] <= 0.01),
        "ece": (s["ece"], s["ece"] <= TARGETS["ece"]),
    }
    return {k: {"measured": v, "met": bool(ok)} for k, (v, ok) in checks.items()}


def publish(models_dir: Path, model: OrdinalModel, report: dict, data_path: Path) -> None:
    """Write the figures into the manifest (keeping its hash check intact) and the model card."""
    folder = models_dir / model.version
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("sha256") != sha256_file(folder / "model.skops"):
        raise RuntimeError("the model file changed since it was trained; retrain before evaluating")
    manifest["evaluation"] = {"summary": report["summary"], "targets": target_status(report["summary"]),
                              "data_sha256": sha256_file(data_path)}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                          encoding="utf-8")
    (folder / "evaluation.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n",
                                            encoding="utf-8")
    (folder / "MODEL_CARD.md").write_text(render_model_card(manifest, report, target_status(report["summary"])),
                                          encoding="utf-8")


# =============================================================================================
# The two-stage pipeline (issue 14): screening safety, the checks workload and the final
# recommendation, on the consensus level and on the expert's decision, beside every comparison.
# =============================================================================================

PIPELINE_TARGETS = {"screening_level4_safety": 0.995, "screening_statutory_safety": 0.98, "checks_share": 0.5,
                    "level4_recall": 0.98, "inappropriate_referral_reduction": 0.5, "ece_screening": 0.03,
                    "ece_after_checks": 0.03, "macro_auc_gap_to_black_box": 0.01}
# (screening level-4 safety, pipeline level-4 recall) pairs the rule is re-tuned for on validation.
PIPELINE_TRADEOFF = ((0.99, 0.95), (0.995, 0.95), (0.995, 0.98), (0.998, 0.98), (0.995, 0.99))
HALF_REVEAL = 0.5


def pipeline_figures(y: np.ndarray, out: dict[str, np.ndarray], historic: np.ndarray | None) -> dict:
    """Screening safety, checks workload and the final recommendation's headline on one label."""
    steps, final = out["steps"], out["final"]
    flagged = steps != "decide"
    h = headline(y, final)
    hist = headline(y, historic) if historic is not None else {}
    hist_rate = hist.get("inappropriate_referral_rate")
    return {
        "screening_level4_safety": float(np.mean(flagged[y == 4])),
        "screening_statutory_safety": float(np.mean(flagged[y >= 3])),
        "checks_share": float(np.mean(steps == "checks")),
        "refer_share": float(np.mean(steps == "refer")),
        "decide_share": float(np.mean(steps == "decide")),
        "level4_recall": h["level4_recall"], "statutory_recall": h["statutory_recall"],
        "inappropriate_referral_rate": h["inappropriate_referral_rate"], "referral_rate": h["referral_rate"],
        "accuracy": h["accuracy"],
        "historic_level4_recall": hist.get("level4_recall"),
        "historic_statutory_recall": hist.get("statutory_recall"),
        "historic_inappropriate_referral_rate": hist_rate,
        "historic_referral_rate": hist.get("referral_rate"),
        "inappropriate_referral_reduction": (1 - h["inappropriate_referral_rate"] / hist_rate) if hist_rate else None,
    }


def _ceiling_logits(records: list[dict], floors: np.ndarray, with_checks: bool, expert: bool) -> np.ndarray | None:
    """Exact log-odds of level >= k for an oracle: with checks it knows the expert's reading; without,
    everything but this episode's hidden need (which only checks reveal). ``expert`` adds the
    individual judgement noise (the expert label); the consensus label has none."""
    from scipy.stats import norm

    from training.generate import EPISODE_SD, JUDGEMENT_SD, LEVEL_CUTS, NEED_WEIGHT

    if not records or any("episode" not in (r.get("simulation") or {}) for r in records):
        return None
    reading = np.array([r["simulation"]["expert_reading"] for r in records])
    sd2 = JUDGEMENT_SD ** 2 if expert else 0.0
    if not with_checks:
        reading = reading - NEED_WEIGHT * np.array([r["simulation"]["episode"] for r in records])
        sd2 += (NEED_WEIGHT * EPISODE_SD) ** 2
    out = np.empty((len(records), 3))
    for i, cut in enumerate(LEVEL_CUTS):
        if sd2 == 0:
            logit = np.where(reading > cut, 40.0, -40.0)
        else:
            sd = np.sqrt(sd2)
            logit = norm.logsf(cut, loc=reading, scale=sd) - norm.logcdf(cut, loc=reading, scale=sd)
        out[:, i] = np.where(floors >= i + 2, 40.0, np.clip(logit, -40.0, 40.0))
    return out


def _ruled(val_logits, val_floors, val_y, test_logits, test_floors, statutory_target: float) -> np.ndarray:
    th = tune_thresholds(val_logits, val_floors, val_y, level4_recall=0.98, statutory_recall=statutory_target)
    th[0] = 0.5
    return rule_levels(test_logits, test_floors, np.clip(th, 1e-15, 1 - 1e-15))


def _single_stage(levels: np.ndarray) -> dict[str, np.ndarray]:
    """A one-stage way of deciding in the pipeline's terms: level 3+ is a referral, no checks."""
    return {"steps": np.where(levels >= 3, "refer", "decide"), "final": levels}


def evaluate_pipeline(data_path: Path, models_dir: Path, version: str, seed: int,
                      floor_fn: Callable[[dict, datetime, bool], int], write: bool = True) -> dict:
    """Every figure the issue asks for, on the test households; written into the manifest and card."""
    from threadpoolctl import threadpool_limits

    from training import pipeline as P
    from training import stages
    from training.generate import redraw_checks
    from triage.engine.pipeline import load_pipeline

    pipe = load_pipeline(models_dir, version)
    codes = dict(pipe.after_set.agencies)
    records = read_records(data_path)
    data, _, after_fs = stages.build(records, floor_fn, codes)
    tr, va, te = split(data.groups, seed)
    train, val, test = data.subset(tr), data.subset(va), data.subset(te)
    historic = np.array([r.get("historic_decision") or 0 for r in test.records])
    historic = historic if np.all(historic > 0) else None
    stat_target = pipe.manifest.get("rule_tuning", {}).get("statutory_recall_historic_on_validation", 0.98)

    out = P.run(pipe, test)
    screen_probs = probabilities_batch(out["screen_logits"])
    after_all_probs = probabilities_batch(pipe.after_checks.logits_batch(test.x_after_all))
    with threadpool_limits(limits=1):
        bb = HistGradientBoostingClassifier(random_state=seed).fit(train.x_after_all.toarray(), train.y)
        bb_probs = bb.predict_proba(test.x_after_all.toarray())
        bb_val = bb.predict_proba(val.x_after_all.toarray())
    floors1 = np.maximum(test.floors, 1)
    ways: dict[str, dict[str, np.ndarray]] = {
        "pipeline": out,
        "guidance_floors_alone": _single_stage(floors1),
        "black_box_same_inputs": _single_stage(_ruled(cumulative_logits(bb_val), val.floors, val.y,
                                                      cumulative_logits(bb_probs), test.floors, stat_target)),
        "no_checks_screening_model_only": _single_stage(_ruled(
            P.screening_levels(pipe, val)[0], val.floors, val.y, out["screen_logits"], test.floors, stat_target)),
    }
    if historic is not None:
        ways["historic_practice"] = _single_stage(historic)
    for with_checks in (False, True):
        vl = _ceiling_logits(val.records, val.floors, with_checks, expert=False)
        tl = _ceiling_logits(test.records, test.floors, with_checks, expert=False)
        if vl is not None and tl is not None:
            name = "information_ceiling_" + ("with_checks" if with_checks else "without_checks")
            ways[name] = _single_stage(_ruled(vl, val.floors, val.y, tl, test.floors, stat_target))

    # Sensitivity: checks that reveal half as much (answers redrawn, after-checks stage refitted, rule retuned).
    half = None
    if all("checks_stream" in (r.get("simulation") or {}) for r in records[:50]):
        half = _half_reveal(pipe, data, tr, va, te, seed, after_fs, stat_target, P, stages, redraw_checks)
        ways["checks_reveal_half"] = half

    report: dict = {
        "model_version": version, "n_test": int(len(te)), "test_households": int(len(set(test.groups.tolist()))),
        "rule": pipe.rule.as_dict(),
        "labels": {label: {name: pipeline_figures(y, w, historic) for name, w in ways.items()}
                   for label, y in (("consensus", test.y), ("expert", test.y_expert))},
        "calibration": {
            "screening": _calibration(test.y, screen_probs),
            "after_checks_all_agencies": _calibration(test.y, after_all_probs),
            "screening_on_expert_label": _calibration(test.y_expert, screen_probs),
        },
        "auc": {"screening": float(roc_auc_score(test.y, screen_probs, multi_class="ovr")),
                "after_checks_all_agencies": float(roc_auc_score(test.y, after_all_probs, multi_class="ovr")),
                "black_box_after_checks": float(roc_auc_score(test.y, bb_probs, multi_class="ovr"))},
        "agencies_named": _agencies_named(out),
        "tradeoff": _pipeline_tradeoff(pipe, val, test, historic, stat_target, P),
        "fairness": {
            "screening_sent_on": fairness(test.records, test.y, np.where(out["steps"] != "decide", 3, 1),
                                          screen_probs[:, 2:].sum(axis=1)),
            "final": fairness(test.records, test.y, out["final"],
                              probabilities_batch(out["after_logits"])[:, 2:].sum(axis=1)),
        },
        "per_level": per_level(test.y, out["final"]),
    }
    report["summary"] = pipeline_summary(report)
    if write:
        publish_pipeline(models_dir, version, report, data_path)
    return report


def _calibration(y: np.ndarray, probs: np.ndarray) -> dict:
    ece, table, classwise = reliability(y, probs)
    return {"ece": ece, "classwise_ece": classwise, "reliability": table}


def _agencies_named(out: dict) -> dict:
    checked = np.flatnonzero(out["checked"])
    named = [out["named"][i] for i in checked]
    n = max(len(named), 1)
    agencies = list(named[0]) if named else []
    return {"mean_agencies_per_checked_contact": float(sum(sum(d.values()) for d in named) / n),
            "share_of_checked_contacts_asking": {a: float(sum(d[a] for d in named) / n) for a in agencies},
            "checks_changed_the_level": float(np.mean(out["after_levels"][checked] != out["screen_levels"][checked]))
            if len(checked) else None}


def _half_reveal(pipe, data, tr, va, te, seed, after_fs, stat_target, P, stages, redraw_checks) -> dict:
    """The same pipeline, trained and tuned the same way, when every check reveals half as much."""
    from triage.engine.pipeline import Pipeline

    answers = [redraw_checks(r, HALF_REVEAL) for r in data.records]
    halved = stages.StageData(
        [{**r, "checks": a} for r, a in zip(data.records, answers, strict=True)], data.floors, data.y,
        data.y_expert, data.groups, data.x_screen, data.x_after_all)
    train, val, test = halved.subset(tr), halved.subset(va), halved.subset(te)
    after_est = P.fit_stage(stages.masked_after_matrix(train, after_fs, seed), train.y, after_fs.signs)
    base = P.from_payload(pipe.version, P.payload(pipe.screening.estimators, after_est, pipe.screening_set,
                                                  after_fs, pipe.rule), pipe.manifest)
    rule = P.tune_rule(base, val, stat_target)
    tuned = P._with_rule(Pipeline(base.version, base.screening, base.after_checks, base.screening_set, after_fs,
                                  rule, base.manifest), rule)
    return P.run(tuned, test)


def _pipeline_tradeoff(pipe, val, test, historic, stat_target, P) -> list[dict]:
    """The rule re-tuned on validation for other targets, measured on test (what each target costs)."""
    rows = []
    for screening_l4, l4 in PIPELINE_TRADEOFF:
        rule = P.tune_rule(pipe, val, stat_target, level4_recall=l4, screening_l4=screening_l4)
        figures = pipeline_figures(test.y, P.run(P._with_rule(pipe, rule), test), historic)
        rows.append({"screening_level4_safety_target": screening_l4, "level4_recall_target": l4,
                     **rule.as_dict(), **figures})
    return rows


def pipeline_summary(report: dict) -> dict:
    """The last line of ``evaluate --json``: the keys issue 14 lists, plus the comparisons' headlines."""
    keys = ("screening_level4_safety", "screening_statutory_safety", "checks_share", "level4_recall",
            "statutory_recall", "historic_level4_recall", "historic_statutory_recall",
            "inappropriate_referral_rate", "historic_inappropriate_referral_rate",
            "inappropriate_referral_reduction", "referral_rate", "historic_referral_rate")
    cons, expert = report["labels"]["consensus"], report["labels"]["expert"]
    ceiling = {name: cons[name]["inappropriate_referral_reduction"] for name in cons
               if name.startswith("information_ceiling")}
    return {
        "model_version": report["model_version"],
        **{k: cons["pipeline"][k] for k in keys},
        "expert_label": {k: expert["pipeline"][k] for k in keys},
        "ece_screening": report["calibration"]["screening"]["ece"],
        "ece_after_checks": report["calibration"]["after_checks_all_agencies"]["ece"],
        "macro_auc": report["auc"]["after_checks_all_agencies"],
        "black_box_macro_auc": report["auc"]["black_box_after_checks"],
        "screening_macro_auc": report["auc"]["screening"],
        **{f"{name}_reduction": v for name, v in ceiling.items()},
        "no_checks_reduction": cons["no_checks_screening_model_only"]["inappropriate_referral_reduction"],
        "checks_reveal_half_reduction": (cons.get("checks_reveal_half") or {}).get("inappropriate_referral_reduction"),
        "n_test": report["n_test"],
    }


def pipeline_targets(s: dict) -> dict[str, dict]:
    """Each of the issue's targets with the measured figure and whether it is met."""
    gap = s["black_box_macro_auc"] - s["macro_auc"]
    checks = {
        "screening_level4_safety": (s["screening_level4_safety"], s["screening_level4_safety"] >= 0.995),
        "screening_statutory_safety": (s["screening_statutory_safety"], s["screening_statutory_safety"] >= 0.98),
        "checks_share": (s["checks_share"], s["checks_share"] <= 0.5),
        "level4_recall": (s["level4_recall"], s["level4_recall"] >= 0.98),
        "statutory_recall_vs_historic": (s["statutory_recall"] - (s["historic_statutory_recall"] or 0),
                                         s["statutory_recall"] >= (s["historic_statutory_recall"] or 0)),
        "inappropriate_referral_reduction": (s["inappropriate_referral_reduction"],
                                             (s["inappropriate_referral_reduction"] or 0) >= 0.5),
        "ece_screening": (s["ece_screening"], s["ece_screening"] <= 0.03),
        "ece_after_checks": (s["ece_after_checks"], s["ece_after_checks"] <= 0.03),
        "macro_auc_gap_to_black_box": (gap, gap <= 0.01),
    }
    return {k: {"measured": v, "met": bool(ok)} for k, (v, ok) in checks.items()}


def publish_pipeline(models_dir: Path, version: str, report: dict, data_path: Path) -> None:
    """Figures into the manifest (its hash check intact), evaluation.json, MODEL_CARD.md and ATRS.md."""
    from training.pipeline_card import render_atrs, render_pipeline_card

    folder = models_dir / version
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("sha256") != sha256_file(folder / "model.skops"):
        raise RuntimeError("the model file changed since it was trained; retrain before evaluating")
    targets = pipeline_targets(report["summary"])
    manifest["evaluation"] = {"summary": report["summary"], "targets": targets, "data_sha256": sha256_file(data_path)}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (folder / "evaluation.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (folder / "MODEL_CARD.md").write_text(render_pipeline_card(manifest, report, targets), encoding="utf-8")
    (folder / "ATRS.md").write_text(render_atrs(manifest), encoding="utf-8")
