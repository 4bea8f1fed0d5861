"""Full ``audit-verify`` on a store already loaded, timed in one process (issue 19: under 30 s at 200k).

    DATABASE_URL=sqlite:////tmp/verify5k.db .venv/bin/python benchmarks/bench_verify.py --times 5
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/verify5k .venv/bin/python benchmarks/bench_verify.py
    ... --incremental          # only what came after the latest stored checkpoint
    ... --profile              # one more run under cProfile: where the time goes, by phase and by kind of work
    ... --collector running    # Python's cycle collector left on during the check (it is paused: see audit)

The store is one ``flask triage seed-volume --contacts N`` loaded. Prints the median wall time and
the median CPU time of this process and of the helper that checks the contents on the second core
(``time.process_time`` and the ended children's ``getrusage``, which the machine's other load moves
less than wall time; the database server's own CPU is not in it on PostgreSQL) over ``--times``
verifications, with the load average beside them, and this process's peak memory (``ru_maxrss``). The
app's start-up is left out. Run ``--collector running`` and the default alternately to compare them.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from triage.app import create_app  # noqa: E402
from triage.record import audit  # noqa: E402

#: The steps of a full verification, each timed on its own under --profile.
PHASES = ("_verify_checkpoint_chain", "_walk_all", "_check_heads", "_check_records", "_check_exports",
          "_check_contents")

#: Kinds of work, by the functions cProfile sees doing them (own time summed).
KINDS = {
    "JSON decoding": ("json/decoder.py", "json/__init__.py:299"),
    "JSON encoding": ("json/encoder.py", "json/__init__.py:183"),
    "HMAC and SHA-256": ("hmac.py", "_hashlib", "openssl_sha256", "compare_digest"),
    "database driver fetch": ("fetchmany", "fetchall", "fetchone", "method 'execute'"),
    "SQLAlchemy rows and types": ("sqlalchemy/",),
    "verification code (per-row Python)": ("triage/record/audit.py",),
}


def _helpers() -> float:
    """CPU seconds of this process's helpers that have ended (``audit_worker``'s, on the second core)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


HELPER_CPU: list[float] = []


def once(incremental: bool) -> tuple[float, float, str]:
    wall, cpu, helper = time.perf_counter(), time.process_time(), _helpers()
    result = audit.verify(incremental=incremental)
    wall, cpu, helper = time.perf_counter() - wall, time.process_time() - cpu, _helpers() - helper
    HELPER_CPU.append(helper)
    cpu += helper
    if not result.ok:
        sys.exit(f"audit-verify failed: {result.summary()}")
    return wall, cpu, result.summary()


def phases(incremental: bool) -> dict[str, float]:
    """Wall seconds per step of one verification (each step wrapped for the run, then put back)."""
    spent: dict[str, float] = {}
    originals = {name: getattr(audit, name) for name in PHASES}

    def timed(name, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started
        return wrapper

    for name, function in originals.items():
        setattr(audit, name, timed(name, function))
    try:
        once(incremental)
    finally:
        for name, function in originals.items():
            setattr(audit, name, function)
    return spent


def by_kind(profile: cProfile.Profile) -> dict[str, float]:
    stats = pstats.Stats(profile).stats  # {(file, line, name): (calls, primitive, own, cumulative, callers)}
    totals = dict.fromkeys(KINDS, 0.0)
    totals["other"] = 0.0
    for (file, line, name), (_, _, own, _, _) in stats.items():
        where = f"{file}:{line}({name})"
        kind = next((k for k, marks in KINDS.items() if any(m in where for m in marks)), "other")
        totals[kind] += own
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--times", type=int, default=5)
    parser.add_argument("--incremental", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--collector", choices=("paused", "running"), default="paused",
                        help="paused: as audit.verify does; running: left on, as before")
    args = parser.parse_args()
    if args.collector == "running":
        audit._collector_paused = contextlib.nullcontext
    app = create_app()
    with app.app_context():
        runs = [once(args.incremental) for _ in range(args.times)]
        walls, cpus = [w for w, _, _ in runs], [c for _, c, _ in runs]
        print(f"store: {app.config['SQLALCHEMY_DATABASE_URI']}")
        print(runs[-1][2])
        print(f"{'incremental' if args.incremental else 'full'} audit-verify over {args.times} runs: "
              f"median {statistics.median(walls):.2f} s wall (min {min(walls):.2f}), "
              f"median {statistics.median(cpus):.2f} s CPU of this process and its helper (the helper's alone: "
              f"median {statistics.median(HELPER_CPU):.2f} s; on two free cores the wall time is about the larger "
              f"share); collector {args.collector}; peak memory "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; load average {os.getloadavg()}")
        if not args.profile:
            return
        print("by step (wall s, one run):", ", ".join(f"{k} {v:.2f}" for k, v in phases(args.incremental).items()))
        profile = cProfile.Profile()
        profile.enable()
        once(args.incremental)
        profile.disable()
        totals = by_kind(profile)
        print(f"by kind of work (own time under cProfile, {sum(totals.values()):.2f} s in all):")
        for kind, seconds in sorted(totals.items(), key=lambda item: -item[1]):
            print(f"  {kind:40s} {seconds:6.2f} s")
        pstats.Stats(profile).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
