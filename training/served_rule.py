"""Why the served rule sends a level-3 contact to checks: the pipeline as evaluated against referring it now.

Spec section 10 reads two ways for a contact at level 3 whose level 4 is not ruled out: ``refer``
(level 3 or 4, "whatever checks may add later") or ``checks`` (the level is not settled). The
two-stage model was tuned and evaluated with checks. This measures, on freshly generated contacts,
what referring those contacts at level 3 without checks would cost:

    .venv/bin/python -m training.served_rule --n 20000 --seed 4242
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from training import stages
from training.evaluate import pipeline_figures
from training.generate import generate, guidance_floor_fn
from training.pipeline import run
from triage.engine.guidance import load_guidance
from triage.engine.pipeline import load_pipeline

ROOT = Path(__file__).resolve().parent.parent
SHOWN = ("screening_level4_safety", "screening_statutory_safety", "checks_share", "level4_recall", "statutory_recall",
         "inappropriate_referral_rate", "inappropriate_referral_reduction")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--version", default="synthetic-2026.3")
    args = parser.parse_args(argv)
    thresholds = ROOT / "config" / "thresholds.yaml"
    floor_fn = guidance_floor_fn(thresholds)
    records = list(generate(args.n, seed=args.seed, floor_fn=floor_fn))
    data, _, _ = stages.build(records, floor_fn, stages.check_codes(load_guidance(thresholds).config.checks.agencies))
    out = run(load_pipeline(ROOT / "models", args.version), data)
    historic = np.array([r.get("historic_decision") or 0 for r in records])
    level3 = (out["steps"] == "checks") & (out["screen_levels"] >= 3)
    referred = {**out, "steps": np.where(level3, "refer", out["steps"]),
                "final": np.where(level3, out["screen_levels"], out["final"])}
    print(f"{args.n} contacts, seed {args.seed}: {int(level3.sum())} ({level3.mean():.1%}) are at level 3 with "
          f"level 4 not ruled out")
    for name, arm in (("checked (served, as evaluated)", out), ("referred at level 3 without checks", referred)):
        figures = pipeline_figures(data.y, arm, historic if np.all(historic > 0) else None)
        print(f"{name}: " + ", ".join(f"{k} {figures[k]:.4f}" for k in SHOWN if figures.get(k) is not None))


if __name__ == "__main__":
    main()
