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
