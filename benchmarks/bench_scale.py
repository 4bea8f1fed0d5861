"""Issue 19 item 5: stores of two sizes, loaded through the service's own code, timed over HTTP.

    make bench-scale                     # sizes from BENCH_SIZES (default "20000 200000"), SQLite
    BENCH_SIZES="1000 5000" make bench-scale
    BENCH_DATABASES="sqlite postgresql" BENCH_PG_URL=postgresql+psycopg://... make bench-scale

For each database and size: a fresh store loaded by ``flask triage seed-volume`` (load time
printed); gunicorn started on it (config/gunicorn.conf.py, the API rate limit lifted); then the
median of each operation of issue 19's table over HTTP (GET answers read to the end), the year's
List 1 export's first byte, each role's pages (signed in through the sign-in form as the demo
people), intake p50 at one client and ``/healthz`` in turn and in alternating blocks, intake p95
at 8 clients, intake p95 at 8 clients again while a year's Annex A export and a year's dashboard run
in a loop (and its ratio to the quiet one; each p95 of ``INTAKE_ROUNDS`` rounds' intakes together,
each round's printed too), the workers' peak memory, then full and incremental ``audit-verify``
(the incremental one covers what the run added after seed-volume's checkpoint), and incremental ``audit-verify`` again of a
day's events alone (``audit-checkpoint``, then 110 contacts each received, read, decided at the
level recommended and reviewed through the API; the decided-today queue is timed again with that
day in it). Each page and each quick operation is requested untimed about once per gunicorn worker
before it is timed: a worker's first answer compiles its templates and queries, whatever the
store's size. Prints a table per database with the ratio between the last and first size.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLASK = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "triage"]
#: Rounds of intake at 8 clients (``INTAKE_PER_CLIENT`` each), quiet and during the year's export and
#: dashboard; each p95 is of every round's intakes together (3,200). One round of 80 intakes had its
#: p95 in its fifth slowest intake, and such rounds differed by up to 3.6x on one server.
INTAKE_ROUNDS = 4
#: Intakes per client in each round at 8 clients, quiet and during: long enough for the year's export
#: to be served whole while intake runs, so the intakes timed fall all through it. Each round starts
#: the export loop with the intakes, and the export's write turns (``export_started``, its stored
#: list) come in its first few hundred milliseconds; niced under intake at 8 clients, a year's List 1
#: at 200,000 contacts then takes some 3-6 s. Rounds of 10 a client (80 intakes, some 0.6 s) timed
#: only that start: no export was served whole in any round. ``bench_intake_during_export.py`` on a
#: SQLite 200,000 store (``--per-client``, 8 clients): at 10, ratios 1.58-1.77 in four runs; at 30,
#: 1.17-1.43 in four, still no export whole; at 100, 1.44 with 2 and 1 exports served whole in its
#: rounds. The quiet p95 moved little (0.058-0.081 s in rounds of 80, 0.054-0.091 s in rounds of 800,
#: over stop 52's runs).
INTAKE_PER_CLIENT = 100
#: Untimed requests before each page or quick operation is timed, as many as gunicorn's workers
#: (config/gunicorn.conf.py's default): a worker's first answer compiles templates and queries, a
#: cost of the process's start, not of the store. Workers take requests as they come, so this
#: warms most of them, not certainly each.
WARM = int(os.environ.get("TRIAGE_WORKERS", min(4, (os.cpu_count() or 1) * 2)))
#: Timed requests per page (the median is printed).
PAGE_TIMES = 5


def run(env: dict, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(FLASK + list(args), cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    return time.perf_counter() - started, done.stdout


def median(env: dict, *args: str, times: int = 3) -> float:
    return statistics.median(run(env, *args)[0] for _ in range(times))


@contextmanager
def store_in_use(url: str) -> Iterator[str]:
    """The store a benchmark measures: PostgreSQL's as it is, a SQLite file as a copy in a temporary
    directory (removed after), so the loaded store is left as it was for the next run."""
    if not url.startswith("sqlite:///"):
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="bench-store-") as work:
        shutil.copy(url.removeprefix("sqlite:///"), Path(work) / "store.db")
        yield f"sqlite:///{Path(work) / 'store.db'}"


VERIFY = """
import sys, time
from triage.app import create_app
from triage.record import audit
app = create_app()
with app.app_context():
    started = time.perf_counter()
    result = audit.verify(incremental=sys.argv[1] == "incremental")
    print(time.perf_counter() - started, result.ok, result.summary())
"""


#: The cursor of the contact list's last page (the key of the row before it, newest first), made in the
#: store: reaching it by next_cursor from the first page is a request a page (4,000 at 200,000 contacts),
#: and page numbers reach only the first COUNT_LIMIT contacts. Prints the contacts stored, the deepest page
#: a number reaches, then the cursor.
LAST_PAGE_CURSOR = """
import sys
from sqlalchemy import func, select
from triage.api.contacts import CONTACT_LIST_ORDER
from triage.app import create_app
from triage.extensions import db
from triage.record.paging import COUNT_LIMIT, encode_cursor
from triage.record.tables import Contact
per_page = int(sys.argv[1])
app = create_app()
with app.app_context():
    total = db.session.scalar(select(func.count()).select_from(Contact))
    row = db.session.execute(select(Contact.received_at, Contact.id).order_by(Contact.received_at, Contact.id)
                             .offset(total % per_page or per_page).limit(1)).first()
    deepest = min(-(-total // per_page), -(-COUNT_LIMIT // per_page))
    print(total, deepest, encode_cursor(CONTACT_LIST_ORDER, list(row)) if row else "")
"""


def _last_page(env: dict, per_page: int) -> tuple[int, int, str]:
    """(contacts stored, the deepest page a number reaches, the path of the contact list's last page by its
    cursor)."""
    done = subprocess.run([sys.executable, "-c", LAST_PAGE_CURSOR, str(per_page)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"the last page's cursor: {done.stderr[-500:]}")
    total, deepest, *cursor = done.stdout.strip().splitlines()[-1].split(" ")
    path = f"/api/v1/contacts?per_page={per_page}" + (f"&cursor={cursor[0]}" if cursor and cursor[0] else "")
    return int(total), int(deepest), path


def verify_seconds(env: dict, mode: str, times: int = 3) -> float:
    """audit.verify timed inside one process (the app's start-up, a few seconds here, left out)."""
    found = []
    for _ in range(times):
        done = subprocess.run([sys.executable, "-c", VERIFY, mode], cwd=ROOT, env=env, capture_output=True,
                              text=True)
        seconds, ok, summary = done.stdout.strip().splitlines()[-1].split(" ", 2)
        if ok != "True":
            sys.exit(f"audit-verify failed: {summary}")
        found.append(float(seconds))
    return statistics.median(found)


def serve(env: dict) -> tuple[subprocess.Popen, int]:
    """gunicorn (config/gunicorn.conf.py) on a free local port with the API rate limit lifted, once it answers."""
    with socket.socket() as probe:  # BENCH_PORT: a port of one's own on a shared machine
        probe.bind(("127.0.0.1", int(os.environ.get("BENCH_PORT", 0))))
        port = probe.getsockname()[1]
    errors = tempfile.TemporaryFile()  # noqa: SIM115 - open for the server's life: why it stopped, if it does
    config = env.get("BENCH_GUNICORN_CONFIG", "config/gunicorn.conf.py")  # another (bench_gc_pauses) runs this one
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", config, "wsgi:app"],
                              cwd=ROOT, env={**env, "TRIAGE_BIND": f"127.0.0.1:{port}",
                                             "TRIAGE_API_RATE_LIMIT": "100000000"},
                              stdout=subprocess.DEVNULL, stderr=errors)
    for _ in range(120):
        try:
            _http(port, "GET", "/healthz")
            return server, port
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.5)
    server.kill()
    errors.seek(0)
    said = errors.read().decode(errors="replace").strip().splitlines()[-5:]
    sys.exit("gunicorn did not answer on the store; its last words:\n  " + "\n  ".join(said or ["(nothing)"]))


def store_url(store: str, workdir: Path, name: str = "store") -> str:
    """The database URL to time a loaded store at: a PostgreSQL URL as given; a SQLite file copied into
    ``workdir`` first, so the store is left as it was."""
    if "://" in store:
        return store
    copy = workdir / f"{name}.db"
    shutil.copyfile(store, copy)
    os.sync()  # the copy written out first: its writeback would slow the fsync of every commit timed
    return f"sqlite:///{copy}"


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


def _http(port: int, method: str, path: str, token: str | None = None, body: dict | None = None):
    import http.client
    import json as _json

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = _json.dumps(body)
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    conn.request(method, path, body=data, headers=headers)
    answer = conn.getresponse()
    content = answer.read()
    elapsed = time.perf_counter() - started
    conn.close()
    if answer.status >= 400:
        raise RuntimeError(f"{method} {path}: {answer.status} {content[:300]!r}")
    return elapsed, content


def _token(env: dict, email: str) -> str:
    return run(env, "create-token", email)[1].strip().splitlines()[-1]


def _contacts(count: int, seed: int):
    """Fresh contract-valid contacts from the generator, received now, with unique references."""
    import random
    from datetime import datetime, timezone

    sys.path.insert(0, str(ROOT))
    from training.generate import generate
    from triage.services.demo import narrative

    rng = random.Random(seed)
    for i, record in enumerate(generate(count, seed=seed)):
        contact = record["contact"]
        if contact["source"].get("organisation") != "Demo Police":
            continue  # sent with the police partner's token
        now = datetime.now(timezone.utc)
        contact["received_at"] = now.isoformat(timespec="seconds")
        contact.pop("incident_at", None)
        contact["partner_reference"] = f"BENCH-{seed}-{i:06d}"
        contact["narrative"] = narrative(contact, rng)
        yield contact


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _intake(port: int, tokens: list[str], contacts, clients: int, per_client: int) -> list[float]:
    import threading

    times: list[float] = []
    lock = threading.Lock()
    items = iter(contacts)

    def client(token):
        for _ in range(per_client):
            with lock:
                body = next(items)
            elapsed, _ = _http(port, "POST", "/api/v1/contacts", token, body)
            with lock:
                times.append(elapsed)

    errors: list[Exception] = []

    def guarded(token):
        try:
            client(token)
        except Exception as exc:  # reported after the join: a failed intake is a failed benchmark
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(tokens[i % len(tokens)],)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} intake clients failed; first: {errors[0]}")
    return times


def _intake_beside_healthz(port: int, police: str, contacts, times: int) -> tuple[list[float], list[float]]:
    """Intake at one client and ``/healthz``, one of each in turn: (intake times, ``/healthz`` times).

    Their medians are divided, so both are taken under the same machine speed: this 2-core machine's
    speed moves by up to a third within the hour (intake at one client over gunicorn 8.2 to 12.1 ms
    on one store and code, an hour apart), and ``/healthz`` timed minutes before the intakes gave a
    ratio that moved with it. Timed in turn (each after an intake, not after another ``/healthz``),
    ``/healthz`` itself is slower: 1.5-1.6 ms against 0.9-1.0 ms alone (PostgreSQL, 200,000
    contacts). So both ratios are printed, this one and the one against ``/healthz`` timed alone.
    """
    intakes: list[float] = []
    health: list[float] = []
    for _ in range(times):
        health.append(_http(port, "GET", "/healthz")[0])
        intakes.append(_http(port, "POST", "/api/v1/contacts", police, next(contacts))[0])
    return intakes, health


def _intake_and_healthz_in_blocks(port: int, police: str, contacts, blocks: int = 5,
                                  each: int = 10) -> tuple[list[float], list[float]]:
    """Intake at one client and ``/healthz``, each timed after its own kind, in alternating blocks.

    Like for like: in turn (``_intake_beside_healthz``) each request follows the other kind, which
    slows both; ``/healthz`` timed alone with the pages, minutes earlier, saw another machine speed.
    Here each block of ``each`` requests of one kind follows one untimed request of that kind, and
    the blocks alternate, so both kinds are timed after their own kind and at the same time.
    """
    intakes: list[float] = []
    health: list[float] = []
    for _ in range(blocks):
        _http(port, "GET", "/healthz")
        health.extend(_http(port, "GET", "/healthz")[0] for _ in range(each))
        _http(port, "POST", "/api/v1/contacts", police, next(contacts))
        intakes.extend(_http(port, "POST", "/api/v1/contacts", police, next(contacts))[0] for _ in range(each))
    return intakes, health


def _intake_during_export(port: int, police: str, manager: str, contacts, year: str,
                          per_client: int = INTAKE_PER_CLIENT) -> tuple[list[float], int]:
    """Intake at 8 clients while one client loops over a year's List 1 and another over a year's dashboard.

    Returns the intakes' times and how many year's exports were served whole meanwhile.
    """
    import threading

    stop = threading.Event()
    served = {"exports": 0}
    export = f"/api/v1/exports/annex-a/list-1.csv?from={year}"

    def busy(path: str) -> None:
        while not stop.is_set():
            _http(port, "GET", path, manager)
            if path == export and not stop.is_set():
                served["exports"] += 1

    background = [threading.Thread(target=busy, args=(p,)) for p in (export, f"/api/v1/reports/dashboard?from={year}")]
    for thread in background:
        thread.start()
    try:
        times = _intake(port, [police], contacts, 8, per_client)
    finally:
        stop.set()
        for thread in background:
            thread.join()
    return times, served["exports"]


#: A large council's day: some 40,000 contacts a year over 365 days.
DAY_OF_CONTACTS = 110
DAY_RATIONALE = ("Police attended a verbal argument; no injuries, the child was asleep and the mother has "
                 "support from her sister nearby, so the level recommended fits what we know.")
DAY_REVIEW = "I agree with the level: the account and the history support it, and the next steps are proportionate."


def _a_days_work(port: int, police: str, practitioner: str, manager: str, contacts) -> dict:
    """A day's events through the API: each contact received, read, decided at the level recommended, reviewed.

    Returns how many of each step were accepted (a decision the service refuses is counted, not
    retried: the events measured are the ones stored).
    """
    import json as _json

    done = {"received": 0, "decided": 0, "reviewed": 0, "refused": 0}
    for _ in range(DAY_OF_CONTACTS):
        contact_id = _json.loads(_http(port, "POST", "/api/v1/contacts", police, next(contacts))[1])["id"]
        done["received"] += 1
        stored = _json.loads(_http(port, "GET", f"/api/v1/contacts/{contact_id}", practitioner)[1])
        advice = stored.get("recommendation") or {}
        body = {"level": advice.get("level", 2), "rationale": DAY_RATIONALE,
                "marac_referral": bool((advice.get("marac") or {}).get("recommended")),
                "next_steps": "As the level sets out, with the family told today.", "consent": "obtained"}
        try:
            _http(port, "POST", f"/api/v1/contacts/{contact_id}/decision", practitioner, body)
            done["decided"] += 1
            _http(port, "POST", f"/api/v1/contacts/{contact_id}/review", manager,
                  {"outcome": "confirmed", "rationale": DAY_REVIEW})
            done["reviewed"] += 1
        except RuntimeError:
            done["refused"] += 1
    return done


def _first_byte(port: int, path: str, token: str) -> float:
    """Seconds until the first byte of the body arrives (a streamed export starts at once)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    answer = conn.getresponse()
    answer.read(1)
    elapsed = time.perf_counter() - started
    answer.read()
    conn.close()
    if answer.status >= 400:
        raise RuntimeError(f"GET {path}: {answer.status}")
    return elapsed


DEMO_PASSWORD = "demo-password-2026"  # the README's published demo password (local demo accounts only)


class _Browser:
    """One signed-in person's session over plain HTTP: the sign-in form (with its CSRF token), then pages."""

    def __init__(self, port: int, email: str):
        import re
        import urllib.parse

        self.port, self.cookies = port, {}
        page = self.get("/login")[1].decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or \
            re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
        body = urllib.parse.urlencode({"email": email, "password": DEMO_PASSWORD,
                                       "csrf_token": token.group(1) if token else ""})
        status, _ = self._request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"sign-in as {email} failed ({status})")

    def _request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        content = answer.read()
        for name, value in answer.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        conn.close()
        return answer.status, content

    def get(self, path: str) -> tuple[float, bytes]:
        started = time.perf_counter()
        status, content = self._request("GET", path)
        elapsed = time.perf_counter() - started
        if status >= 400:
            raise RuntimeError(f"GET {path}: {status}")
        return elapsed, content


def role_pages(contact_id: str, org_id: int, police_id: int) -> dict[str, tuple[str, list[str]]]:
    """Each role's pages (the navigation's destinations, a contact and a report): role -> (email, paths)."""
    return {
        "practitioner": ("practitioner@demo.invalid", ["/", "/contacts", f"/contacts/{contact_id}",
                                                       "/awaiting-checks", "/children", "/meetings", "/guidance"]),
        "manager": ("manager@demo.invalid", ["/", "/reviews", "/feedback/to-release", "/reports/dashboard",
                                             "/reports/partners", f"/reports/partners/{org_id}",
                                             "/reports/board-pack", "/quality-audit", "/quality-audit/results",
                                             "/contacts"]),
        "partner": ("police@demo.invalid", ["/", "/feedback", f"/reports/partners/{police_id}"]),
        "admin": ("admin@demo.invalid", ["/admin/users"]),
        "agency": ("police-hub@demo.invalid", ["/checks"]),
    }


def _path_name(path: str, contact_id: str) -> str:
    """A page's name the same at every size: its contact and organisation ids as placeholders."""
    return re.sub(r"/reports/partners/\d+$", "/reports/partners/<organisation>", path.replace(contact_id, "<id>"))


def _worker_peak_rss_mb(server_pid: int) -> float:
    """The largest peak resident memory (VmHWM) among the gunicorn server's workers, in MB."""
    peak = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(server_pid) and "VmHWM" in fields:
            peak = max(peak, int(fields["VmHWM"].split()[0]))
    return peak / 1024


def operations_of(env: dict, port: int, manager: str, police: str,
                  practitioner: str) -> tuple[dict[str, tuple[str, str | None, int]], str, int, int]:
    """The issue's operations on the store served at ``port``, and what the role pages need.

    Returns (name -> (path, token, times timed), a contact's id, an organisation's id, the police
    partner's organisation id).
    """
    import json as _json
    from datetime import date, timedelta

    today = date.today()
    month, year = (today - timedelta(days=30)).isoformat(), (today - timedelta(days=365)).isoformat()
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    listing = _json.loads(_http(port, "GET", "/api/v1/contacts?per_page=50", manager)[1])
    # The list's own way to its last page is the cursor of the page before (keyset: read from the
    # index at that key). By number, a page is OFFSET, every earlier row passed, so numbers reach
    # only the first 10,000 contacts (COUNT_LIMIT): the deepest page they reach is timed too.
    stored, deepest_page, last_by_cursor = _last_page(env, 50)
    last = _json.loads(_http(port, "GET", last_by_cursor, manager)[1])
    if len(last["items"]) != (stored % 50 or 50) or last["next_cursor"] is not None:
        sys.exit("the cursor made for the contact list's last page does not give its last page")
    some_contact = listing["items"][0]["id"]
    orgs = _json.loads(_http(port, "GET", "/api/v1/reports/partners", manager)[1])
    org_id = (orgs.get("items") or orgs.get("organisations") or [{}])[0].get("id", 1) \
        if isinstance(orgs, dict) else orgs[0]["id"]
    operations = {
        "healthz": ("/healthz", None, 31),  # a median of many (the ratio to intake uses the one beside it)
        "Annex A List 1, one year": (f"/api/v1/exports/annex-a/list-1.csv?from={year}", manager, 3),
        "Annex A List 1, one month": (f"/api/v1/exports/annex-a/list-1.csv?from={month}", manager, 5),
        "Annex A List 3, one month": (f"/api/v1/exports/annex-a/list-3.csv?from={month}", manager, 5),
        "dashboard, one month": (f"/api/v1/reports/dashboard?from={month}", manager, 5),
        # warmed once per worker like the other answers under a second: each worker holds the kept days it
        # has read (reporting/daysum.py), so a worker's first year costs more (benchmarks/bench_dashboard_cpu.py)
        "dashboard, one year": (f"/api/v1/reports/dashboard?from={year}", manager, 5),
        "partner monthly report": (f"/api/v1/reports/partners/{org_id}?month={last_month}", manager, 5),
        "queue: awaiting decision": ("/api/v1/queues/awaiting-decision", practitioner, 5),
        "queue: overdue": ("/api/v1/queues/overdue", practitioner, 5),
        "queue: awaiting my review": ("/api/v1/queues/awaiting-my-review", manager, 5),
        "queue: reviews overdue": ("/api/v1/queues/reviews-overdue", manager, 5),
        "queue: decided today": ("/api/v1/queues/decided-today", manager, 5),
        "contact list, first page": ("/api/v1/contacts?per_page=50", manager, 5),
        "contact list, last page (by cursor)": (last_by_cursor, manager, 5),
        "contact list, deepest page by number (OFFSET)": (f"/api/v1/contacts?per_page=50&page={deepest_page}",
                                                          manager, 5),
        "one contact": (f"/api/v1/contacts/{some_contact}", practitioner, 9),
        "one contact's history": (f"/api/v1/contacts/{some_contact}/history", practitioner, 5),
        "partner's feedback, first page": ("/api/v1/feedback", police, 5),
    }
    items = (orgs.get("items") or []) if isinstance(orgs, dict) else orgs
    police_id = next((o["id"] for o in items if o.get("name") == "Demo Police"), org_id)
    return operations, some_contact, org_id, police_id


def http_operations(env: dict, size: int) -> dict:
    """Start gunicorn on the store and time the issue's operations; returns name -> seconds."""
    from datetime import date, timedelta

    manager, police = _token(env, "manager@demo.invalid"), _token(env, "police@demo.invalid")
    practitioner = _token(env, "practitioner@demo.invalid")
    server, port = serve(env)
    try:
        operations, some_contact, org_id, police_id = operations_of(env, port, manager, police, practitioner)
        year = (date.today() - timedelta(days=365)).isoformat()
        results = {}
        for name, (path, token, times) in operations.items():
            for _ in range(WARM if times >= 5 else 1):  # the long windows (3 times) warmed once
                _http(port, "GET", path, token)
            results[name] = statistics.median(_http(port, "GET", path, token)[0] for _ in range(times))
        results["Annex A List 1, one year: first byte"] = statistics.median(
            _first_byte(port, f"/api/v1/exports/annex-a/list-1.csv?from={year}", manager) for _ in range(3))
        for role, (email, paths) in role_pages(some_contact, org_id, police_id).items():
            browser = _Browser(port, email)
            for path in paths:
                try:
                    for _ in range(WARM):
                        browser.get(path)
                    results[f"page ({role}) {_path_name(path, some_contact)}"] = statistics.median(
                        browser.get(path)[0] for _ in range(PAGE_TIMES))
                except RuntimeError as exc:
                    print(f"  skipped {role} {path}: {exc}", flush=True)
        contacts = _contacts(40_000, seed=size)
        _intake(port, [police], contacts, 1, 3)  # warm every worker's path once
        one, health = _intake_beside_healthz(port, police, contacts, 31)
        results["intake p50, 1 client"] = statistics.median(one)
        results["healthz p50, beside intake"] = statistics.median(health)
        results["intake p50 / healthz p50, in turn"] = (results["intake p50, 1 client"]
                                                       / results["healthz p50, beside intake"])
        results["intake p50 / healthz p50, healthz timed alone"] = results["intake p50, 1 client"] / results["healthz"]
        one, health = _intake_and_healthz_in_blocks(port, police, contacts)
        results["intake p50, 1 client, in blocks"] = statistics.median(one)
        results["healthz p50, in blocks"] = statistics.median(health)
        results["intake p50 / healthz p50, each in blocks"] = (results["intake p50, 1 client, in blocks"]
                                                              / results["healthz p50, in blocks"])
        quiet, during, exports = [], [], []
        for _ in range(INTAKE_ROUNDS):  # in turn, so both see the machine at the same speed
            quiet.append(_intake(port, [police], contacts, 8, INTAKE_PER_CLIENT))
            times, served = _intake_during_export(port, police, manager, contacts, year)  # as many clients
            during.append(times)
            exports.append(served)
        print(f"  {size}: intake p95 at 8 clients by round, s: quiet "
              f"{[round(_percentile(times, 0.95), 3) for times in quiet]}, during year export+dashboard "
              f"{[round(_percentile(times, 0.95), 3) for times in during]} (year's exports served whole in each "
              f"round: {exports})", flush=True)
        results["intake p95, 8 clients"] = _percentile([t for times in quiet for t in times], 0.95)
        results["intake p95, 8 clients, during year export+dashboard"] = _percentile(
            [t for times in during for t in times], 0.95)
        results["  ratio to the quiet p95 (target under 1.5)"] = (
            results["intake p95, 8 clients, during year export+dashboard"] / results["intake p95, 8 clients"])
        results["worker peak memory, MB (target under 400)"] = _worker_peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return results


def _verify_a_day(env: dict, size: int) -> dict:
    """Incremental ``audit-verify`` of a day's events: a checkpoint, a day's work (``_a_days_work``), then verify.

    The queue of what was decided today is timed again once the day's work is in it: timed with the
    other operations, before any of today's decisions, it is an empty page.
    """
    run(env, "audit-checkpoint")
    police, practitioner, manager = (_token(env, f"{who}@demo.invalid") for who in ("police", "practitioner", "manager"))
    server, port = serve(env)
    try:
        done = _a_days_work(port, police, practitioner, manager, _contacts(40_000, seed=size + 1))
        path = "/api/v1/queues/decided-today"
        for _ in range(WARM):
            _http(port, "GET", path, manager)
        decided_today = statistics.median(_http(port, "GET", path, manager)[0] for _ in range(PAGE_TIMES))
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(f"  a day's work: {', '.join(f'{n} {step}' for step, n in done.items())}", flush=True)
    return {"queue: decided today, after a day's work": decided_today,
            "audit-verify --incremental (a day's events)": verify_seconds(env, "incremental")}


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "20000 200000").split()]
    databases = os.environ.get("BENCH_DATABASES", "sqlite").split()
    with tempfile.TemporaryDirectory() as tmp:
        for database in databases:
            results = {}
            for size in sizes:
                env = store(database, size, Path(tmp))
                load, out = run(env, "seed-volume", "--contacts", str(size), "--no-verify")
                print(f"{database} {size}: loaded in {load:.1f} s ({size / load:.0f} contacts a second)",
                      flush=True)
                results[size] = {"load (seed-volume)": load, **http_operations(env, size)}
                results[size]["audit-verify (full)"] = verify_seconds(env, "full")
                results[size]["audit-verify --incremental (after the run)"] = verify_seconds(env, "incremental")
                results[size].update(_verify_a_day(env, size))
                for name, seconds in results[size].items():  # as soon as measured: a long run shows progress
                    print(f"  {database} {size}: {name:<52}{seconds:>10.4f}", flush=True)
            print(f"\n{database}: seconds (medians unless p95), contacts stored per size")
            print(f"{'operation':<52}" + "".join(f"{s:>10}" for s in sizes) + "     ratio")
            for name in results[sizes[0]]:
                row = [results[s].get(name, float("nan")) for s in sizes]  # a page skipped at one size: nan
                ratio = row[-1] / row[0] if row[0] else float("nan")
                print(f"{name:<52}" + "".join(f"{v:>10.4f}" for v in row) + f"{ratio:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
