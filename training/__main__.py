"""``python -m training generate|train|evaluate``: the two-stage model's reproducible pipeline.

``train`` and ``evaluate`` build and judge the screen-check-decide pipeline (issue 14) into
``models/<version>/`` and never touch ``models/CURRENT``. ``train-v1``, ``evaluate-v1`` and
``ablate-history`` reproduce the single-stage features-v1 model (synthetic-2026.2) the service
still serves until the pipeline is adopted.
"""

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
DEFAULT_VERSION = "synthetic-2026.3"
V1_VERSION = "synthetic-2026.2"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    p.add_argument("--thresholds", type=Path, default=DEFAULT_THRESHOLDS, help="threshold guidance YAML")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="write synthetic labelled contacts (JSON lines)")
    g.add_argument("--n", type=int, default=DEFAULT_N)
    g.add_argument("--seed", type=int, default=DEFAULT_SEED)
    g.add_argument("--out", type=Path, default=DEFAULT_DATA)
    t = sub.add_parser("train", help="fit the two-stage pipeline and write models/<version>/ (not CURRENT)")
    t.add_argument("--data", type=Path, default=DEFAULT_DATA)
    t.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    t.add_argument("--version", default=DEFAULT_VERSION)
    t.add_argument("--seed", type=int, default=DEFAULT_SEED)
    t.add_argument("--labels", choices=("all", "audited"), default="all",
                   help="audited: learn only from levels the monthly quality audit set (the export's label_source)")
    e = sub.add_parser("evaluate", help="evaluate the pipeline on the test households; update its card and ATRS "
                       "record (generates the data first when it is missing)")
    e.add_argument("--data", type=Path, default=DEFAULT_DATA)
    e.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    e.add_argument("--version", default=DEFAULT_VERSION)
    e.add_argument("--seed", type=int, default=DEFAULT_SEED)
    e.add_argument("--json", action="store_true", help="print the full report; last line is the summary")
    e.add_argument("--no-write", action="store_true", help="do not update manifest, model card and ATRS")
    t1 = sub.add_parser("train-v1", help="fit the single-stage features-v1 model")
    t1.add_argument("--data", type=Path, default=DEFAULT_DATA)
    t1.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    t1.add_argument("--version", default=V1_VERSION)
    t1.add_argument("--seed", type=int, default=DEFAULT_SEED)
    t1.add_argument("--no-current", action="store_true", help="do not point models/CURRENT at it")
    e1 = sub.add_parser("evaluate-v1", help="evaluate models/CURRENT (features-v1) on the test split")
    e1.add_argument("--data", type=Path, default=DEFAULT_DATA)
    e1.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    e1.add_argument("--seed", type=int, default=DEFAULT_SEED)
    e1.add_argument("--json", action="store_true", help="print the full report; last line is the summary")
    e1.add_argument("--no-write", action="store_true", help="do not update manifest and model card")
    a = sub.add_parser("ablate-history", help="refit with and without the store's household history; "
                       "print both (writes nothing)")
    a.add_argument("--data", type=Path, default=DEFAULT_DATA)
    a.add_argument("--seed", type=int, default=DEFAULT_SEED)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from training.generate import guidance_floor_fn

    floor_fn = guidance_floor_fn(args.thresholds)
    if args.command == "generate":
        _generate(args.n, args.seed, args.out, args.thresholds, floor_fn)
    elif args.command == "train":
        from training.pipeline import train_pipeline
        from training.stages import check_codes
        from triage.engine.guidance import load_guidance

        codes = check_codes(load_guidance(args.thresholds).config.checks.agencies)
        try:
            pipe = train_pipeline(args.data, args.models, args.version, args.seed, floor_fn, codes, labels=args.labels)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(json.dumps({"version": pipe.version, "rule": pipe.rule.as_dict(), "sha256": pipe.manifest["sha256"],
                          "labels": pipe.manifest["labels"]}))
    elif args.command == "evaluate":
        from training.evaluate import evaluate_pipeline, pipeline_targets

        if not args.data.exists():   # a fresh clone: the same data make model writes, deterministically
            print(f"{args.data} is missing: generating it (seed {DEFAULT_SEED}, {DEFAULT_N} contacts)", file=sys.stderr)
            _generate(DEFAULT_N, DEFAULT_SEED, args.data, args.thresholds, floor_fn, quiet=True)
        report = evaluate_pipeline(args.data, args.models, args.version, args.seed, floor_fn,
                                   write=not args.no_write)
        _print_report(report, pipeline_targets, args.json)
    elif args.command == "train-v1":
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
        _print_report(report, target_status, args.json)
    return 0


def _generate(n: int, seed: int, out: Path, thresholds: Path, floor_fn, quiet: bool = False) -> None:
    from training.generate import check_codes_match, generate, summarise, write_jsonl
    from triage.engine.guidance import load_guidance

    check_codes_match({a: set(c.findings) for a, c in load_guidance(thresholds).config.checks.agencies.items()})
    records = write_jsonl(generate(n, seed, floor_fn), out)
    summary = summarise(records)
    out.with_suffix(".summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if not quiet:
        print(json.dumps(summary))


def _print_report(report: dict, targets, as_json: bool) -> None:
    if as_json:
        print(json.dumps({k: v for k, v in report.items() if k != "summary"}, indent=2))
    else:
        for name, t in targets(report["summary"]).items():
            print(f"{name}: {t['measured']} ({'met' if t['met'] else 'NOT MET'})")
    print(json.dumps(report["summary"]))


if __name__ == "__main__":
    sys.exit(main())
