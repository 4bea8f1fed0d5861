"""Who may do what: the one place every route declares the roles it admits.

``POLICY`` maps ``"METHOD /rule"`` to the roles allowed, or ``PUBLIC``. A route missing
from the table is refused (fail closed), and ``tests/http/test_access.py`` walks every route
in the app against every role. API calls authenticate with a bearer token; pages with a
signed session cookie that expires after a period of inactivity.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import Flask, current_app, g, redirect, request, session, url_for
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from triage.extensions import db
from triage.http.problems import Problem
from triage.record.tables import ApiToken, User
from triage.services import accounts, ratelimit
from triage.services.security import token_digest

PUBLIC = frozenset({"public"})
STAFF = frozenset({"practitioner", "manager"})
SENDERS = frozenset({"practitioner", "manager", "partner"})
READERS = frozenset({"practitioner", "manager", "partner"})
MANAGERS = frozenset({"manager"})
PARTNERS = frozenset({"partner"})
ADMINS = frozenset({"admin"})
AGENCIES = frozenset({"agency"})
SIGNED_IN = frozenset({"practitioner", "manager", "partner", "agency", "admin"})

POLICY: dict[str, frozenset[str]] = {
    # service and documentation
    "GET /healthz": PUBLIC,
    "GET /readyz": PUBLIC,
    "GET /static/<path:filename>": PUBLIC,
    "GET /api/openapi.json": PUBLIC,
    "GET /api/docs": PUBLIC,
    "GET /api/v1/model": SIGNED_IN,
    "GET /api/v1/guidance": SIGNED_IN,
    # intake and reading contacts (partners: their own organisation's only)
    "POST /api/v1/contacts": SENDERS,
    "GET /api/v1/contacts": READERS,
    "GET /api/v1/contacts/<contact_id>": READERS,
    # decisions, oversight and the record (spec section 6)
    "POST /api/v1/contacts/<contact_id>/decision": STAFF,
    "POST /api/v1/contacts/<contact_id>/review": MANAGERS,
    "POST /api/v1/contacts/<contact_id>/information-request": STAFF,
    "GET /api/v1/contacts/<contact_id>/history": STAFF,
    # a child across contacts (spec section 9): history, and linking two records of one child
    "GET /api/v1/children/<child_id>/history": STAFF,
    "POST /api/v1/children/<child_id>/links": STAFF,
    "POST /api/v1/children/<child_id>/links/<int:link_id>/undo": STAFF,
    # multi-agency checks (spec section 10): the front door asks, agency hub workers answer
    "POST /api/v1/contacts/<contact_id>/checks": STAFF,
    "GET /api/v1/checks": AGENCIES,
    "POST /api/v1/checks/<int:check_id>/response": AGENCIES,
    "GET /api/v1/queues/awaiting-checks": STAFF,
    # work queues (triage/queues.py)
    "GET /api/v1/queues/awaiting-decision": STAFF,
    "GET /api/v1/queues/overdue": STAFF,
    "GET /api/v1/queues/awaiting-my-review": STAFF,
    "GET /api/v1/queues/reviews-overdue": STAFF,
    "GET /api/v1/queues/decided-today": STAFF,
    # partner feedback (spec section 7)
    "GET /api/v1/feedback": PARTNERS,
    "GET /api/v1/contacts/<contact_id>/feedback/preview": MANAGERS,
    "POST /api/v1/contacts/<contact_id>/feedback/release": MANAGERS,
    # performance reports (partners: their own organisation's report only) and exports (managers)
    "GET /api/v1/reports/partners": MANAGERS,
    "GET /api/v1/reports/partners/<int:organisation_id>": frozenset({"manager", "partner"}),
    "GET /api/v1/reports/dashboard": MANAGERS,
    "GET /api/v1/reports/board-pack": MANAGERS,
    "GET /api/v1/exports/annex-a/list-1.csv": MANAGERS,
    "GET /api/v1/exports/annex-a/list-3.csv": MANAGERS,
    "GET /api/v1/exports/training.jsonl": MANAGERS,
    # pages (triage/web): sign in, the queues, a contact, decide and review, record a phone contact
    "GET /assets/<path:filename>": PUBLIC,
    "GET /login": PUBLIC,
    "POST /login": PUBLIC,
    "POST /logout": SIGNED_IN,
    "GET /account/password": SIGNED_IN,
    "POST /account/password": SIGNED_IN,
    "GET /": SIGNED_IN,
    "GET /contacts": STAFF,
    "GET /contacts/new": STAFF,
    "POST /contacts/new": STAFF,
    "GET /contacts/<contact_id>": STAFF,
    "POST /contacts/<contact_id>/decision": STAFF,
    "POST /contacts/<contact_id>/review": MANAGERS,
    "POST /contacts/<contact_id>/information-request": STAFF,
    "GET /children": STAFF,
    "POST /children/<child_id>/links": STAFF,
    "POST /children/<child_id>/links/<int:link_id>/undo": STAFF,
    "GET /reviews": MANAGERS,
    # multi-agency checks pages (triage/web/checks.py)
    "POST /contacts/<contact_id>/checks": STAFF,
    "GET /awaiting-checks": STAFF,
    "GET /checks": AGENCIES,
    # the morning domestic-abuse meeting (issue 17): front-door staff run it with partners
    "GET /meetings": STAFF,
    "POST /meetings": STAFF,
    "GET /meetings/<int:meeting_id>": STAFF,
    "GET /meetings/<int:meeting_id>/agenda": STAFF,
    "GET /meetings/<int:meeting_id>/minutes": STAFF,
    "GET /meetings/<int:meeting_id>/items/<int:item_id>": STAFF,
    "POST /meetings/<int:meeting_id>/items/<int:item_id>/decision": STAFF,
    "POST /meetings/<int:meeting_id>/items/<int:item_id>/discussed": STAFF,
    "POST /meetings/<int:meeting_id>/items/<int:item_id>/actions": STAFF,
    "POST /meetings/<int:meeting_id>/close": STAFF,
    # the monthly quality audit (issue 17): managers draw, audit others' decisions, read the results
    "GET /quality-audit": MANAGERS,
    "POST /quality-audit": MANAGERS,
    "GET /quality-audit/samples/<month>": MANAGERS,
    "GET /quality-audit/audits/<int:assignment_id>": MANAGERS,
    "POST /quality-audit/audits/<int:assignment_id>": MANAGERS,
    "GET /quality-audit/results": MANAGERS,
    "GET /quality-audit/results.csv": MANAGERS,
    # the improvement board's pack (issue 17): any six weeks against the three before, page and PDF
    "GET /reports/board-pack": MANAGERS,
    "GET /reports/board-pack.pdf": MANAGERS,
    "GET /checks/<int:check_id>": AGENCIES,
    "POST /checks/<int:check_id>": AGENCIES,
    # feedback and reporting pages (triage/web/feedback.py)
    "GET /feedback": PARTNERS,
    "GET /our-contacts": PARTNERS,
    "GET /our-contacts/<contact_id>": PARTNERS,
    "GET /contacts/<contact_id>/feedback": MANAGERS,
    "GET /feedback/to-release": MANAGERS,
    "POST /contacts/<contact_id>/feedback/release": MANAGERS,
    "GET /reports/partners": frozenset({"manager", "partner"}),
    "GET /reports/partners/<int:organisation_id>": frozenset({"manager", "partner"}),
    "GET /reports/partners/<int:organisation_id>/report.csv": frozenset({"manager", "partner"}),
    "GET /reports/dashboard": MANAGERS,
    "GET /reports/exports/annex-a-list-1.csv": MANAGERS,
    "GET /reports/exports/annex-a-list-3.csv": MANAGERS,
    "GET /reports/exports/confirmed-decisions.jsonl": MANAGERS,
    # threshold guidance versions and what-if runs (triage/web/guidance.py, issue 16)
    "GET /guidance": STAFF,
    "GET /guidance/what-if": MANAGERS,
    "POST /guidance/what-if": MANAGERS,
    "GET /guidance/what-if/<int:run_id>": MANAGERS,
    "GET /guidance/what-if/<int:run_id>/progress": MANAGERS,
    "GET /guidance/what-if/<int:run_id>/moved-contacts.csv": MANAGERS,
    # people and access (triage/web/admin.py): accounts and API tokens
    "GET /admin/users": ADMINS,
    "GET /admin/users/new": ADMINS,
    "POST /admin/users/new": ADMINS,
    "GET /admin/users/<int:user_id>": ADMINS,
    "POST /admin/users/<int:user_id>/password": ADMINS,
    "GET /admin/users/<int:user_id>/deactivate": ADMINS,
    "POST /admin/users/<int:user_id>/deactivate": ADMINS,
    "POST /admin/users/<int:user_id>/reactivate": ADMINS,
    "POST /admin/users/<int:user_id>/tokens": ADMINS,
    "POST /admin/tokens/<int:token_id>/revoke": ADMINS,
}


def _key() -> str | None:
    if request.url_rule is None:
        return None
    return f"{request.method if request.method != 'HEAD' else 'GET'} {request.url_rule.rule}"


#: The token with its person and their organisation (every API request reads all three), built once:
#: prebuilt, SQLAlchemy keeps its cache key instead of making it again on every request.
_TOKEN = (select(ApiToken).where(ApiToken.token_hash == bindparam("digest"))
          .options(joinedload(ApiToken.user).joinedload(User.organisation)))


def user_from_token() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    row = db.session.scalar(_TOKEN, {"digest": token_digest(token.strip())})
    if row is None or row.revoked_at is not None or not row.user.is_active:
        return None
    g.api_token_id = row.id
    return row.user


def user_from_session() -> User | None:
    user_id = session.get("user_id")
    last_seen = session.get("last_seen")
    if not user_id or not last_seen:
        return None
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    now = datetime.now(timezone.utc)
    if now - datetime.fromisoformat(last_seen) > idle:
        session.clear()
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or session.get("generation") != user.session_generation:
        session.clear()  # gone, deactivated, or signed out everywhere since this cookie was issued
        return None
    session["last_seen"] = now.isoformat()
    return user


def sign_in(user: User) -> None:
    session.clear()
    session["user_id"] = user.id
    session["generation"] = user.session_generation
    session["last_seen"] = datetime.now(timezone.utc).isoformat()
    session.permanent = False


def sign_out(user: User | None) -> None:
    """End this browser's session and, server-side, every other session the person holds."""
    if user is not None:
        accounts.sign_out_everywhere(user)
    session.clear()


def enforce():
    """before_request: identify the caller and check the route's roles."""
    g.user = None
    if request.url_rule is None:  # 404/405 are answered by the error handlers
        return None
    key = _key()
    roles = POLICY.get(key)
    if roles is None:
        raise Problem(403, "This route has no access rule, so nobody may use it.")
    is_api = request.path.startswith("/api/")
    g.user = user_from_token() if is_api else user_from_session()
    if roles is PUBLIC or roles == PUBLIC:
        return None
    if g.user is None:
        if not is_api and "web.login" in current_app.view_functions:
            return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
        raise Problem(401, "Send a valid API token: Authorization: Bearer <token>." if is_api
                      else "Sign in to see this page.")
    if g.user.role not in roles:
        raise Problem(403, f"Your role ({g.user.role}) may not do this.")
    if is_api:
        _within_rate_limit()
    return None


def _within_rate_limit() -> None:
    """Each API token's requests are counted (in the database, reads in batches); over the limit, a 429."""
    config = current_app.config
    limit, seconds = config["API_RATE_LIMIT"], config["API_RATE_WINDOW_SECONDS"]
    wait = ratelimit.count_request(current_app.extensions["api_read_counts"], g.api_token_id,
                                   datetime.now(timezone.utc), read=request.method in ("GET", "HEAD"),
                                   limit=limit, seconds=seconds, batch=config["API_RATE_BATCH"])
    _refuse_if(wait, limit, seconds)


def count_held() -> None:
    """A read-first request (intake) is about to commit: its held count is added now; over the limit, a 429."""
    config = current_app.config
    limit, seconds = config["API_RATE_LIMIT"], config["API_RATE_WINDOW_SECONDS"]
    wait = ratelimit.add_held(current_app.extensions["api_read_counts"], datetime.now(timezone.utc),
                              limit=limit, seconds=seconds)
    _refuse_if(wait, limit, seconds)


def _refuse_if(wait: int, limit: int, seconds: int) -> None:
    if wait:
        raise Problem(429, f"This API token has made more than {limit} requests in {seconds} seconds. "
                           f"Wait {wait} seconds and try again.", extra={"retry_after": wait},
                      headers={"Retry-After": str(wait)})


def init_app(app: Flask) -> None:
    app.extensions["api_read_counts"] = ratelimit.ReadCounts()
    ratelimit.init_app(app)
    app.before_request(enforce)
