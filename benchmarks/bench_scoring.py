"""Scoring speed: one contact at a time and in batches (a benchmark, not a test).

Prints medians for: each stage of the two-stage pipeline (synthetic-2026.3: screening with the
store's history, and after checks with every agency's answer; each with its explanation and, at
screening, the agencies to ask; target < 1 ms), the full recommendation of one contact (guidance + model + explanation +
"what would change" + rationale), the model part alone, scikit-learn's own ``predict_proba`` on one
row, batches through the shared encoder and the numpy scorer, and the black box's batch speed.

    .venv/bin/python benchmarks/bench_scoring.py [--n 2000] [--batch 20000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402

from training.generate import generate, guidance_floor_fn  # noqa: E402
from training.train import received  # noqa: E402
from triage.engine import features as F  # noqa: E402
from triage.engine.classifier import load_model, probabilities_batch  # noqa: E402
from triage.engine.explain import score_and_explain  # noqa: E402
from triage.engine.guidance import load_guidance  # noqa: E402
from triage.engine.history import KnownHistory  # noqa: E402
from triage.engine.recommend import Recommender, load_served  # noqa: E402

THRESHOLDS = ROOT / "config" / "thresholds.yaml"
PIPELINE_VERSION = "synthetic-2026.3"
V1_VERSION = "synthetic-2026.2"  # the features-v1 classifier the model-only and scikit-learn lines time


def _pipeline_stages(singles: list[dict], floor_fn) -> tuple[float, float]:
    """Median microseconds for one contact at screening and after checks, explanation included."""
    from triage.engine.pipeline import load_pipeline

    pipe = load_pipeline(ROOT / "models", PIPELINE_VERSION)
    floors = {id(r): floor_fn(r["contact"], received(r["contact"]), r["prior_marac_12m"]) for r in singles}

    def screen(r: dict) -> dict:
        return pipe.screen(r["contact"], floor_level=floors[id(r)], prior_marac_12m=r["prior_marac_12m"],
                           history=r["known_history"])

    def after(r: dict) -> dict:
        return pipe.decide_after_checks(r["contact"], floor_level=floors[id(r)],
                                        prior_marac_12m=r["prior_marac_12m"], history=r["known_history"],
                                        checks=r["checks"])

    for r in singles[:200]:  # warm up
        screen(r)
        after(r)
    return _median_us(screen, singles), _median_us(after, singles)


def _median_us(fn, items, repeat: int = 1) -> float:
    times = []
    for item in items:
        start = time.perf_counter()
        for _ in range(repeat):
            fn(item)
        times.append((time.perf_counter() - start) / repeat)
    return statistics.median(times) * 1e6


def _rate(fn, n: int, rounds: int = 5) -> float:
    """Contacts per second: one untimed warm-up run (allocator and caches), then the median of ``rounds``."""
    fn()
    best = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best.append(time.perf_counter() - start)
    return n / statistics.median(best)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="contacts timed one at a time")
    parser.add_argument("--batch", type=int, default=20000, help="contacts per batch")
    args = parser.parse_args(argv)
    floor_fn = guidance_floor_fn(THRESHOLDS)
    records = list(generate(max(args.n, args.batch), seed=99, floor_fn=floor_fn))
    guidance, model = load_guidance(THRESHOLDS), load_model(ROOT / "models", V1_VERSION)
    rec = Recommender(guidance=guidance, model=load_served(ROOT / "models"))  # what the service serves
    singles = records[: args.n]
    for r in singles[:200]:  # warm up
        rec.recommend(r["contact"], received_at=received(r["contact"]))

    def history(r: dict) -> KnownHistory:
        return KnownHistory(**(r.get("known_history") or {}))

    full = _median_us(lambda r: rec.recommend(r["contact"], received_at=received(r["contact"]), history=history(r)),
                      singles)
    full_after = _median_us(lambda r: rec.recommend_after_checks(r["contact"], received_at=received(r["contact"]),
                                                                 history=history(r), answers=r["checks"]), singles)
    floors = {id(r): floor_fn(r["contact"], received(r["contact"]), r["prior_marac_12m"]) for r in singles}
    model_only = _median_us(lambda r: score_and_explain(model, r["contact"], floor_level=floors[id(r)],
                                                        history=KnownHistory(marac_12m=r["prior_marac_12m"])), singles)
    guidance_only = _median_us(lambda r: guidance.evaluate(r["contact"], received_at=received(r["contact"])),
                               singles)
    rows = [F.dense(F.encode(r["contact"], floor_level=floors[id(r)])) for r in singles[:300]]
    est = model.estimators["level_ge_3"]
    sk_one = _median_us(lambda row: est.predict_proba(row), rows, repeat=5)
    sk_three = _median_us(lambda row: [e.predict_proba(row) for e in model.estimators.values()], rows)

    batch = records[: args.batch]
    contacts = [r["contact"] for r in batch]
    bfloors = [floor_fn(r["contact"], received(r["contact"]), r["prior_marac_12m"]) for r in batch]
    marac = [KnownHistory(marac_12m=r["prior_marac_12m"]) for r in batch]

    def batch_path() -> np.ndarray:
        x = F.encode_many(contacts, bfloors, marac)
        logits = model.logits_batch(x)
        probabilities_batch(logits)
        return np.maximum(model.levels_batch(logits), np.maximum(bfloors, 1))

    x = F.encode_many(contacts, bfloors, marac)
    encoded_rate = _rate(lambda: probabilities_batch(model.logits_batch(x)), len(batch))
    batch_rate = _rate(batch_path, len(batch))
    dense_x = x.toarray()
    y = np.array([r["expert_level"] for r in batch])
    bb = HistGradientBoostingClassifier(random_state=0, max_iter=100).fit(dense_x, y)
    bb_rate = _rate(lambda: bb.predict_proba(dense_x), len(batch))
    sk_batch_rate = _rate(lambda: [e.predict_proba(x) for e in model.estimators.values()], len(batch))

    screening_us, after_us = _pipeline_stages(singles, floor_fn)
    print(f"one contact, pipeline screening (encode + score + rule + explanation + agencies): {screening_us:8.1f} us median")
    print(f"one contact, pipeline after checks (encode + score + rule + explanation):         {after_us:8.1f} us median")
    print(f"one contact, served recommendation at screening ({rec.model.version}: guidance + pipeline + "
          f"explanation + reading + drafts): {full:8.1f} us median")
    print(f"one contact, served recommendation after checks ({rec.model.version}): "
          f"{full_after:8.1f} us median")
    print(f"one contact, {V1_VERSION} model part only (encode + score + explain + changes): {model_only:8.1f} us median")
    print(f"one contact, guidance engine only:                                            {guidance_only:8.1f} us median")
    print(f"one row, scikit-learn predict_proba (one of the three estimators):            {sk_one:8.1f} us median")
    print(f"one row, scikit-learn predict_proba (all three estimators):                   {sk_three:8.1f} us median")
    print(f"batch of {len(batch)}: encode + score + probabilities + levels (floors given):  {batch_rate:10.0f} contacts/s")
    print(f"batch of {len(batch)}: score + probabilities on the encoded matrix:             {encoded_rate:10.0f} contacts/s")
    print(f"batch of {len(batch)}: scikit-learn predict_proba x3 on the encoded matrix:      {sk_batch_rate:10.0f} contacts/s")
    print(f"batch of {len(batch)}: black box (HistGradientBoosting) predict_proba:           {bb_rate:10.0f} contacts/s")


if __name__ == "__main__":
    main()
