"""Issue 19 item 5 (partial): load stores of given sizes with seed-volume and time audit-verify.

    make bench-scale                     # sizes from BENCH_SIZES (default "20000 200000")
    BENCH_SIZES="500 2000" make bench-scale
    BENCH_DATABASES="sqlite postgresql" BENCH_PG_URL=postgresql+psycopg://... make bench-scale

For each size and database: a fresh store loaded by ``flask triage seed-volume`` (its own rate
printed), then full and incremental ``audit-verify`` timed (median of 3), then the ratio between
the sizes. The page, report, queue and concurrent-intake timings of the issue's table are NOT
measured here yet (see the report of helper scalerec).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLASK = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "triage"]


def run(env: dict, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(FLASK + list(args), cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    return time.perf_counter() - started, done.stdout


def median(env: dict, *args: str, times: int = 3) -> float:
    return statistics.median(run(env, *args)[0] for _ in range(times))


def store(database: str, size: int, workdir: Path) -> dict:
    env = {**os.environ, "TRIAGE_ENV": "development"}
    if database == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{workdir / f'scale-{size}.db'}"
    else:
        env["DATABASE_URL"] = os.environ["BENCH_PG_URL"]
        from sqlalchemy import create_engine, text

        engine = create_engine(env["DATABASE_URL"])
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    run(env, "init-db")
    return env


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "20000 200000").split()]
    databases = os.environ.get("BENCH_DATABASES", "sqlite").split()
    with tempfile.TemporaryDirectory() as tmp:
        for database in databases:
            results = {}
            for size in sizes:
                env = store(database, size, Path(tmp))
                load, out = run(env, "seed-volume", "--contacts", str(size), "--no-verify")
                full = median(env, "audit-verify")
                incremental = median(env, "audit-verify", "--incremental")
                results[size] = {"load": load, "audit-verify (full)": full, "audit-verify --incremental": incremental}
                print(f"{database} {size}: loaded in {load:.1f} s ({size / load:.0f} contacts a second)")
            print(f"\n{database}: medians of 3 (seconds)")
            print(f"{'operation':<30}" + "".join(f"{s:>12}" for s in sizes) + "     ratio")
            for name in results[sizes[0]]:
                row = [results[s][name] for s in sizes]
                ratio = row[-1] / row[0] if row[0] else float("nan")
                print(f"{name:<30}" + "".join(f"{v:>12.2f}" for v in row) + f"{ratio:>10.1f}")


if __name__ == "__main__":
    main()
