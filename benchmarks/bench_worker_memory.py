"""Issue 19's memory target: each kind of request's peak resident memory in one gunicorn worker.

    DATABASE_URL=sqlite:////tmp/store.db .venv/bin/python benchmarks/bench_worker_memory.py
    DATABASE_URL=postgresql+psycopg://... .venv/bin/python benchmarks/bench_worker_memory.py --code /work/main

``make bench-scale`` prints the largest peak (VmHWM) among the workers after its whole run, which
says the target was missed but not which request missed it. Here every request runs alone in a
fresh server of ONE worker (config/gunicorn.conf.py, ``TRIAGE_WORKERS=1``) on the same store:
the worker's peak after start-up and ``/healthz``, then after the request, in MB. The store is one
loaded by ``flask triage seed-volume`` (the demo people sign in; API tokens are made with
``flask triage create-token``, which writes a token row, and the exports record their reads, so
use a copy). ``--code`` measures another checkout's code (before and after) on the same store;
``--port`` the first local port to use (one per request). Pages and API answers are read to the end.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import _Browser, _http  # noqa: E402 - the bench's own HTTP clients


def _peak_mb(pid: int) -> float:
    """The worker's peak resident memory (VmHWM), in MB; the one child of gunicorn's arbiter ``pid``."""
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid) and "VmHWM" in fields:
            return int(fields["VmHWM"].split()[0]) / 1024
    return float("nan")


def _serve(code: str, env: dict, port: int) -> subprocess.Popen:
    server = subprocess.Popen([str(Path(code) / ".venv" / "bin" / "gunicorn"), "-c", "config/gunicorn.conf.py",
                               "wsgi:app"], cwd=code,
                              env={**env, "TRIAGE_BIND": f"127.0.0.1:{port}", "TRIAGE_WORKERS": "1",
                                   "TRIAGE_THREADS": "1", "TRIAGE_TIMEOUT": "900",
                                   "TRIAGE_API_RATE_LIMIT": "100000000"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(240):
        try:
            _http(port, "GET", "/healthz")
            return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    sys.exit("gunicorn did not answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--port", type=int, default=18410)
    parser.add_argument("--only", default="", help="run only the requests whose name contains this")
    args = parser.parse_args()
    env = {**os.environ, "TRIAGE_ENV": os.environ.get("TRIAGE_ENV", "development")}
    flask = [str(Path(args.code) / ".venv" / "bin" / "flask"), "--app", "wsgi", "triage"]
    tokens = {email: subprocess.run([*flask, "create-token", email], cwd=args.code, env=env, capture_output=True,
                                    text=True, check=True).stdout.strip().splitlines()[-1]
              for email in ("manager@demo.invalid", "police@demo.invalid")}
    today = date.today()
    year = (today - timedelta(days=365)).isoformat()
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    api = {
        "API dashboard, one year": f"/api/v1/reports/dashboard?from={year}",
        "API board pack": "/api/v1/reports/board-pack",
        "API Annex A List 1, one year": f"/api/v1/exports/annex-a/list-1.csv?from={year}",
        "API Annex A List 3, one year": f"/api/v1/exports/annex-a/list-3.csv?from={year}",
        "API training export, one year": f"/api/v1/exports/training.jsonl?from={year}",
        "API partner report": f"/api/v1/reports/partners/1?month={last_month}",
        "API contact list": "/api/v1/contacts?per_page=50",
    }
    pages = {f"page {path}": path for path in (
        "/", "/reviews", "/reports/dashboard", f"/reports/dashboard?from={year}", "/reports/partners",
        "/reports/partners/1", "/reports/board-pack", "/reports/board-pack.pdf", "/quality-audit/results",
        "/contacts")}
    # the partner's feedback list, as the police partner (the only requests here not made by the manager)
    partner = {"API partner feedback list": "/api/v1/feedback", "page partner /feedback": "/feedback"}
    print(f"code: {args.code}  store: {env.get('DATABASE_URL')}  load average: {Path('/proc/loadavg').read_text().strip()}")
    print(f"{'request':45} {'after start MB':>15} {'after request MB':>17} {'seconds':>8}")
    port = args.port
    for name, path in {**api, **pages, **partner}.items():
        if args.only and args.only not in name:
            continue
        email = "police@demo.invalid" if name in partner else "manager@demo.invalid"
        server = _serve(args.code, env, port)
        try:
            browser = None if name.startswith("API") else _Browser(port, email)
            before = _peak_mb(server.pid)
            started = time.perf_counter()
            if browser is None:
                _http(port, "GET", path, tokens[email])
            else:
                browser.get(path)
            elapsed = time.perf_counter() - started
            print(f"{name:45} {before:15.0f} {_peak_mb(server.pid):17.0f} {elapsed:8.2f}", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=60)
        port += 1


if __name__ == "__main__":
    main()
