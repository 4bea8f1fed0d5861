"""How long SQLite writers wait for the write lock: SQLite's own wait against queueing for turns.

    .venv/bin/python benchmarks/bench_write_turns.py [--writers 8] [--writes 40] [--rounds 3]

``--writers`` processes each make ``--writes`` write transactions on one scratch SQLite file (WAL),
each holding the lock ``--hold`` ms (an intake's write phase is about 5 ms) after ``--work`` ms of
work without it (scoring, validation). "sqlite": ``BEGIN IMMEDIATE`` with ``busy_timeout``, as
every writer did before ``triage/record/write_turns.py``; "turns": the writer takes its turn first
(``Turns.take``), as the service's connections do now. Prints, per mode, the median over rounds of
the wait's p50, p95 and maximum in ms, and the seconds the whole run took (throughput). No app, no
network: the lock alone.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from triage.record.write_turns import Turns, turns_path  # noqa: E402


def writer(path: str, mode: str, writes: int, hold: float, work: float, out) -> None:
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    turns = Turns(turns_path(path)) if mode == "turns" else None
    waits = []
    for _ in range(writes):
        time.sleep(work)
        began = time.perf_counter()
        if turns is not None:
            turns.take()
        connection.execute("BEGIN IMMEDIATE")
        waits.append(time.perf_counter() - began)
        connection.execute("INSERT INTO t VALUES (1)")
        time.sleep(hold)
        connection.execute("COMMIT")
        if turns is not None:
            turns.give_back()
    out.put(waits)


def run(mode: str, args) -> tuple[float, float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "store.db")
        setup = sqlite3.connect(path)
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (x)")
        setup.commit()
        setup.close()
        out = multiprocessing.Queue()
        processes = [multiprocessing.Process(target=writer, args=(path, mode, args.writes, args.hold / 1000,
                                                                 args.work / 1000, out))
                     for _ in range(args.writers)]
        began = time.perf_counter()
        for process in processes:
            process.start()
        waits = sorted(w for _ in processes for w in out.get())
        for process in processes:
            process.join()
        elapsed = time.perf_counter() - began
    return (waits[len(waits) // 2] * 1000, waits[int(len(waits) * 0.95)] * 1000, waits[-1] * 1000, elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--writes", type=int, default=40)
    parser.add_argument("--hold", type=float, default=5.0, help="ms holding the lock")
    parser.add_argument("--work", type=float, default=6.0, help="ms between writes, without the lock")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print(f"{args.writers} writers x {args.writes} writes, {args.hold} ms held, {args.work} ms between; "
          f"medians of {args.rounds} rounds; load {load}")
    print(f"  {'mode':<7} {'wait p50 ms':>12} {'p95 ms':>8} {'max ms':>8} {'run s':>7}")
    for mode in ("sqlite", "turns"):
        rounds = [run(mode, args) for _ in range(args.rounds)]
        p50, p95, most, elapsed = (statistics.median(column) for column in zip(*rounds, strict=True))
        print(f"  {mode:<7} {p50:12.1f} {p95:8.1f} {most:8.1f} {elapsed:7.2f}")


if __name__ == "__main__":
    main()
