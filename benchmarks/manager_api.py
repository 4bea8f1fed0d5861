"""The demo manager's API on a loaded store, for the benchmarks that time API requests in this process.

    from benchmarks.manager_api import manager_api
    app, headers, today = manager_api(url)

Each run adds a fresh API token for ``manager@demo.invalid`` (so run on a copy of a store) and
lifts the API rate limit. ``today`` is the newest contact's London day: report windows end there,
so a store loaded some days ago is measured as it was loaded.
"""

from __future__ import annotations

from datetime import date

from flask import Flask


def manager_api(url: str, **config) -> tuple[Flask, dict[str, str], date]:
    """(the app on ``url`` with ``config``, the manager's Authorization header, the newest contact's London day)."""
    from sqlalchemy import func, select

    from triage.app import create_app
    from triage.engine.workdays import london_date
    from triage.extensions import db
    from triage.record.tables import ApiToken, Contact, User
    from triage.services.security import new_token, token_digest

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "API_RATE_LIMIT": 10**9, **config})
    with app.app_context():
        manager = db.session.scalar(select(User).where(User.email == "manager@demo.invalid"))
        token = new_token()
        db.session.add(ApiToken(user_id=manager.id, token_hash=token_digest(token), prefix=token[:12]))
        db.session.commit()
        newest = db.session.scalar(select(func.max(Contact.accepted_at)))
    return app, {"Authorization": f"Bearer {token}"}, london_date(newest)
