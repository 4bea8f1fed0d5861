"""Sign-in timing for a real account and an unknown email (a benchmark, not a test).

Posts the real sign-in form through the app with production-strength Argon2id and prints the
median time of a wrong password for an account that exists, and of any password for an email
that does not. Equal medians mean the answer's timing does not say which addresses have
accounts. Failed sign-ins are cleared between requests so throttling never answers instead.

    .venv/bin/python benchmarks/bench_signin.py [--n 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TRIAGE_ENV", "test")

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import delete  # noqa: E402

from triage.app import MIGRATIONS, create_app  # noqa: E402
from triage.extensions import db  # noqa: E402
from triage.record.tables import SignInFailure  # noqa: E402
from triage.services import accounts  # noqa: E402


def timed_sign_in(client, app, email: str, n: int) -> list[float]:
    times = []
    for i in range(n):
        with app.app_context():
            db.session.execute(delete(SignInFailure))
            db.session.commit()
        start = time.perf_counter()
        response = client.post("/login", data={"email": email, "password": f"wrong guess {i}"},
                               environ_base={"REMOTE_ADDR": f"10.1.{i // 250}.{i % 250}"})
        times.append(time.perf_counter() - start)
        assert response.status_code == 400, response.status_code
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db"})
        with app.app_context():
            upgrade(directory=MIGRATIONS)
            accounts.create_user("real@bench.invalid", "practitioner", password="a real long passphrase")
        client = app.test_client()
        timed_sign_in(client, app, "real@bench.invalid", 3)  # warm up
        known = timed_sign_in(client, app, "real@bench.invalid", args.n)
        unknown = timed_sign_in(client, app, "nobody@bench.invalid", args.n)
    print(f"sign-in, {args.n} each, production Argon2id parameters")
    print(f"  real account, wrong password: median {statistics.median(known) * 1000:.1f} ms")
    print(f"  unknown email:                median {statistics.median(unknown) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
