"""``python -m training generate|train|evaluate|ablate-history``: the model's reproducible pipeline."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "training" / "data" / "contacts.jsonl"
DEFAULT_MODELS = ROOT / "models"
DEFAULT_THRESHOLDS = ROOT / "config" / "thresholds.yaml"
DEFAULT_SEED = 2026
DEFAULT_N = 60000
DEFAULT_VERSION = "synthetic-2026.2"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    p.add_argument("--thresholds", type=Path, default=DEFAULT_THRESHOLDS, help="threshold guidance YAML")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="write synthetic labelled contacts (JSON lines)")
    g.add_argument("--n", type=int, default=DEFAULT_N)
    g.add_argument("--seed", type=int, default=DEFAULT_SEED)
    g.add_argument("--out", type=Path, default=DEFAULT_DATA)
    t = sub.add_parser("train", help="fit the model and write models/<version>/")
    t.add_argument("--data", type=Path, default=DEFAULT_DATA)
    t.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    t.add_argument("--version", default=DEFAULT_VERSION)
    t.add_argument("--seed", type=int, default=DEFAULT_SEED)
    t.add_argument("--no-current", action="store_true", help="do not point models/CURRENT at it")
    e = sub.add_parser("evaluate", help="evaluate models/CURRENT on the test split; update its card")
    e.add_argument("--data", type=Path, default=DEFAULT_DATA)
    e.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    e.add_argument("--seed", type=int, default=DEFAULT_SEED)
    e.add_argument("--json", action="store_true", help="print the full report; last line is the summary")
    e.add_argument("--no-write", action="store_true", help="do not update manifest and model card")
    a = sub.add_parser("ablate-history", help="refit with and without the store's household history; "
                       "print both (writes nothing)")
    a.add_argument("--data", type=Path, default=DEFAULT_DATA)
    a.add_argument("--seed", type=int, default=DEFAULT_SEED)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from training.generate import generate, guidance_floor_fn, summarise, write_jsonl

    floor_fn = guidance_floor_fn(args.thresholds)
    if args.command == "generate":
        from training.generate import check_codes_match
        from triage.engine.guidance import load_guidance

        check_codes_match({a: set(c.findings) for a, c in load_guidance(args.thresholds).config.checks.agencies.items()})
        records = write_jsonl(generate(args.n, args.seed, floor_fn), args.out)
        summary = summarise(records)
        args.out.with_suffix(".summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(json.dumps(summary))
    elif args.command == "train":
        from training.train import train

        model = train(args.data, args.models, args.version, args.seed, floor_fn,
                      make_current=not args.no_current)
        print(json.dumps({"version": model.version, "thresholds": model.thresholds.tolist(),
                          "sha256": model.manifest["sha256"]}))
    elif args.command == "ablate-history":
        from training.ablation import store_history

        print(json.dumps(store_history(args.data, args.seed, floor_fn)))
    else:
        from training.evaluate import evaluate, target_status

        report = evaluate(args.data, args.models, args.seed, floor_fn, write=not args.no_write)
        if args.json:
            print(json.dumps({k: v for k, v in report.items() if k != "summary"}, indent=2))
        else:
            for name, t in target_status(report["summary"]).items():
                print(f"{name}: {t['measured']} ({'met' if t['met'] else 'NOT MET'})")
        print(json.dumps(report["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
