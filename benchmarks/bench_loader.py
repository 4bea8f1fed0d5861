"""Time ``flask triage seed-volume`` on a fresh store, and optionally profile it (issue 19 item 5).

    .venv/bin/python benchmarks/bench_loader.py --contacts 2000 [--url postgresql+psycopg://...] [--times 3]
    .venv/bin/python benchmarks/bench_loader.py --contacts 2000 --profile   # one process, cProfile by phase

Each run: a fresh store (a new SQLite file, or PostgreSQL's public schema dropped and remade),
``init-db``, then ``seed-volume --no-verify`` in its own process; prints the load's own rate line,
the CPU seconds of it and its worker processes (less moved by the machine's load than the wall
clock), the median contacts a second over ``--times`` runs, and the load average beside them. ``--profile`` instead loads in this process with the
producer in-line (``parallel=False``), under cProfile, and prints the cumulative seconds of the
loader's phases and the CPU time (``time.process_time``), which the machine's load moves less.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi", "triage"]

#: Where the load's time goes: (label, function name as cProfile names it, file it is in).
PHASES = (
    ("generate (training generator)", "generate", "training/generate.py"),
    ("narrative", "narrative", "triage/services/demo.py"),
    ("NHS numbers", "nhs_number", "triage/services/volume.py"),
    ("schema validation", "validate_contact", "triage/engine/contract.py"),
    ("scoring (intake.score)", "score", "triage/services/intake.py"),
    ("store: whole batch", "store", "triage/services/volume.py"),
    ("  outcomes (decide/review/feedback)", "_outcomes", "triage/services/volume.py"),
    ("  intake events", "intake_events", "triage/services/intake.py"),
    ("  chain (append_new_streams)", "append_new_streams", "triage/record/audit.py"),
    ("  identifier digests", "child_digests", "triage/services/identity.py"),
    ("inserts (Session.execute)", "execute", "sqlalchemy/orm/session.py"),
    ("commits", "commit", "sqlalchemy/orm/session.py"),
    ("checkpoint", "make_checkpoint", "triage/record/audit.py"),
)


def fresh(url: str | None, workdir: Path, n: int) -> dict:
    """The environment for a fresh, migrated store."""
    env = {**os.environ, "TRIAGE_ENV": "development"}
    if url is None:
        env["DATABASE_URL"] = f"sqlite:///{workdir / f'load-{n}.db'}"
    else:
        env["DATABASE_URL"] = url
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    subprocess.run(FLASK + ["init-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    return env


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed(env: dict, contacts: int) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds of the command and every process it started (start-up included), output."""
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(FLASK + ["seed-volume", "--contacts", str(contacts), "--no-verify"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(done.stdout[-2000:] + done.stderr[-2000:])
    return time.perf_counter() - started, _children_cpu() - cpu, done.stdout


def profile(env: dict, contacts: int, save: str | None = None) -> None:
    os.environ.update(env)
    from triage.app import create_app
    from triage.services.volume import seed_volume

    app = create_app()
    with app.app_context():
        profiler = cProfile.Profile()
        cpu = time.process_time()
        profiler.enable()
        lines = list(seed_volume(app.extensions["recommender"], contacts, verify=False, parallel=False))
        profiler.disable()
        cpu = time.process_time() - cpu
    print("\n".join(lines[-2:]))
    stats = pstats.Stats(profiler)
    if save:
        stats.dump_stats(save)
    total = max(v[3] for v in stats.stats.values())
    print(f"CPU time {cpu:.1f} s ({contacts / cpu:.0f} contacts per CPU second); profiled total {total:.1f} s")
    for label, name, path in PHASES:
        seconds = sum(v[3] for (file, _line, func), v in stats.stats.items() if func == name and file.endswith(path))
        print(f"  {label:<40}{seconds:>8.2f} s {100 * seconds / total:>5.1f} %")
    stats.sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--url", help="a PostgreSQL URL (its public schema is dropped); SQLite by default")
    parser.add_argument("--times", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--save", help="with --profile: write the cProfile statistics to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.profile:
            profile(fresh(args.url, Path(tmp), 0), args.contacts, args.save)
            return
        rates = []
        for n in range(args.times):
            env = fresh(args.url, Path(tmp), n)
            seconds, cpu, out = timed(env, args.contacts)
            summary = next(line for line in out.splitlines() if line.startswith("stored "))
            rates.append(float(summary.split("(")[1].split()[0]))
            print(f"run {n + 1}: {summary}; {seconds:.1f} s and {cpu:.1f} CPU s (all processes) with start-up; "
                  f"load average {os.getloadavg()[0]:.2f}", flush=True)
    print(f"median {statistics.median(rates):.0f} contacts/s (the load's own rate line) over {args.times} run(s) of {args.contacts} "
          f"({'PostgreSQL' if args.url else 'SQLite'}); load average now {os.getloadavg()}")


if __name__ == "__main__":
    main()
