"""gunicorn settings; every value can be overridden from the environment."""

import multiprocessing
import os

bind = os.environ.get("TRIAGE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("TRIAGE_WORKERS", min(4, multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("TRIAGE_THREADS", 2))
timeout = int(os.environ.get("TRIAGE_TIMEOUT", 30))
graceful_timeout = 20
accesslog = "-"
# Paths and status codes only: query strings could carry a reference, bodies are never logged.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
forwarded_allow_ips = os.environ.get("TRIAGE_FORWARDED_ALLOW_IPS", "127.0.0.1")


def when_ready(server):
    """Say where the service really listens (the bound sockets, not the default address)."""
    for listener in server.LISTENERS:
        address = str(listener)  # "http://host:port" for TCP, "unix:/path" for a socket
        url = address if "://" in address or address.startswith("unix:") else f"http://{address}"
        print(f"Serving on {url} (Ctrl-C to stop). API docs: {url}/api/docs", flush=True)


def on_starting(server):
    """Refuse to serve a store this code's migrations have not reached (or a broken configuration).

    Every page would otherwise fail on its first query of a new column. The check reads only
    Alembic's version row; a database that does not answer yet is not a reason to refuse (the
    orchestrator retries, and ``/readyz`` says 503 until it answers).

    Also makes the note of which workers are serving a report or an export (``_bulk``), here in
    the arbiter: memory the workers it forks share.
    """
    import sys

    from sqlalchemy.exc import OperationalError

    from triage.http.bulk_workers import BulkWorkers
    from triage.record.schema import schema_problem_at
    from triage.settings import SettingsError, load_settings

    global _bulk
    _bulk = BulkWorkers(enabled=os.environ.get("TRIAGE_BULK_ALONE", "1") != "0")
    try:
        url = load_settings()["SQLALCHEMY_DATABASE_URI"]
        problem = schema_problem_at(url)
    except SettingsError as exc:
        problem = str(exc)
    except OperationalError:
        server.log.warning("the database does not answer yet; /readyz says 503 until it does")
        return
    if problem:
        print(f"triage cannot start: {problem}", file=sys.stderr, flush=True)
        sys.exit(1)


# A worker serving a report or an export takes no new connections meanwhile (triage/http/bulk_workers.py);
# TRIAGE_BULK_ALONE=0 turns it off. Made by on_starting, in the arbiter, so that every worker it forks shares it.
_bulk = None


def post_worker_init(worker):
    """Take what the loaded application holds out of the garbage collector's full passes (TRIAGE_GC_FREEZE=0: not).

    A worker holds some 240,000 objects that live as long as it does (the modules, the model, the
    guidance, the mapped tables and schemas). Python's full collection walks every one of them,
    holding the interpreter lock, so it stopped every request of its worker: by worker, a median
    of 158-452 ms and up to 734 ms, on stores of 20,000 contacts on both databases, warmed by a
    year's export and dashboard, then intake at 8 clients, quiet and while they loop
    (``benchmarks/bench_gc_pauses.py``). Frozen (after one collection, so no garbage is kept for
    ever), they are never walked again; the collector sees only what requests make: full passes
    a median of 11-35 ms and up to 111 ms, and 0.3-0.6 s spent collecting per worker in that run
    against 1.1-2.0 s.
    """
    if os.environ.get("TRIAGE_GC_FREEZE", "1") != "0":
        import gc

        gc.collect()
        gc.freeze()


def pre_request(worker, req):
    _bulk.started(worker, req.path)


def post_request(worker, req, environ, resp):
    _bulk.finished(worker, req.path)


def child_exit(server, worker):
    _bulk.exited(worker.pid)
