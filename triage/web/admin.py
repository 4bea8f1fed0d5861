"""People and access: the system administrator's pages.

Onboard staff and partner users, issue and revoke partner API tokens, and remove a leaver's
access at once. Thin like the other pages: read the form, call ``triage.accounts`` (the same
functions as the command line, which record every change) and render. A refusal is shown on
the page it came from, with nothing changed. A new API token is shown once, on the page the
POST returns, and never again: only its SHA-256 is stored.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from triage.extensions import db
from triage.http.problems import Problem
from triage.record.tables import AGENCY_TYPES, ROLES, ApiToken, Organisation, User
from triage.services import accounts, signin
from triage.web.forms import NewPasswordForm, NewUserForm, attach_errors, error_list

bp = Blueprint("admin", __name__)

ROLE_HINTS = {
    "practitioner": "Front-door social worker: triages contacts and records decisions.",
    "manager": "Team manager: reviews decisions, releases feedback, reads reports and exports.",
    "partner": "A partner agency's person or system: sends contacts and reads feedback on its own.",
    "admin": "System administrator: manages people and access, and sees no contacts.",
    "agency": "A partner agency's hub worker: answers the front door's checks for their agency, and sees no contacts.",
}


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise Problem(404, "There is no account with that number.")
    return user


def _refusal(exc: accounts.AccountError) -> list[dict[str, str]]:
    return [{"text": message, "href": "#account-actions"} for messages in exc.errors.values() for message in messages]


@bp.get("/admin/users")
def users():
    people = db.session.scalars(select(User).order_by(User.is_active.desc(), User.email)).all()
    by_id = {person.id: person for person in people}
    alerts = [(alert, by_id.get(alert["user_id"])) for alert in signin.recent_alerts(datetime.now(timezone.utc))]
    return render_template("admin/users.html", people=people, live=accounts.live_token_counts(), alerts=alerts,
                           page_title="People and access", nav_active="admin")


def _new_user_page(form: NewUserForm, status: int = 200):
    form.role.choices = [(role, role.capitalize()) for role in ROLES]
    form.agency_type.choices = [(kind, kind.capitalize()) for kind in AGENCY_TYPES]
    organisations = db.session.scalars(select(Organisation.name).order_by(Organisation.name)).all()
    return render_template("admin/new_user.html", form=form, error_list=error_list(form), role_hints=ROLE_HINTS,
                           organisations=organisations, min_password=accounts.MIN_PASSWORD,
                           page_title="Create an account", nav_active="admin"), status


@bp.route("/admin/users/new", methods=["GET", "POST"])
def new_user():
    form = NewUserForm()
    if request.method == "GET":
        return _new_user_page(form)
    details = (form.email.data, form.role.data, form.organisation.data, form.password.data)
    agency_type = form.agency_type.data or None
    if not form.validate():  # a field left empty: show it with every other reason at once
        attach_errors(form, {field: messages for field, messages
                             in accounts.new_user_errors(*details, agency_type).items() if not form[field].errors})
        return _new_user_page(form, 400)
    try:
        person = accounts.create_user(*details, actor=g.user, agency_type=agency_type)
    except accounts.AccountError as exc:
        attach_errors(form, exc.errors)
        return _new_user_page(form, 400)
    org = f" of {person.organisation.name}" if person.organisation else ""
    if person.role == "agency":
        org += f", {person.organisation.agency_type}"
    flash(f"Account created for {person.email} ({person.role}{org}). They can sign in with the password you set.")
    return redirect(url_for("admin.user", user_id=person.id))


def render_user(user: User, *, new_token: tuple[ApiToken, str] | None = None,
                refusal: list[dict[str, str]] | None = None, password_form: NewPasswordForm | None = None,
                status: int = 200):
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())).all()
    password_form = password_form or NewPasswordForm()
    response = render_template("admin/user.html", person=user, tokens=tokens, new_token=new_token,
                               error_list=(refusal or []) + error_list(password_form), is_self=user.id == g.user.id,
                               password_form=password_form, min_password=accounts.MIN_PASSWORD,
                               page_title=user.email, nav_active="admin")
    return response, status, {"Cache-Control": "no-store"} if new_token else {}


@bp.get("/admin/users/<int:user_id>")
def user(user_id: int):
    return render_user(_user_or_404(user_id))


@bp.get("/admin/users/<int:user_id>/deactivate")
def confirm_deactivate(user_id: int):
    """Deactivating acts at once, so it is asked twice: this page says what will happen, then acts."""
    person = _user_or_404(user_id)
    if person.id == g.user.id or not person.is_active:
        return redirect(url_for("admin.user", user_id=person.id))
    return render_template("admin/deactivate.html", person=person, page_title=f"Deactivate {person.email}?",
                           nav_active="admin", tokens=accounts.live_token_counts().get(person.id, 0))


@bp.post("/admin/users/<int:user_id>/deactivate")
def deactivate(user_id: int):
    person = _user_or_404(user_id)
    try:
        changed = accounts.deactivate(person, actor=g.user)
    except accounts.AccountError as exc:
        return render_user(person, refusal=_refusal(exc), status=403)
    flash(f"{person.email} is deactivated: they cannot sign in, their open sessions have ended and their "
          "API tokens no longer work." if changed else f"{person.email} was already deactivated; nothing changed.")
    return redirect(url_for("admin.user", user_id=person.id))


@bp.post("/admin/users/<int:user_id>/reactivate")
def reactivate(user_id: int):
    person = _user_or_404(user_id)
    changed = accounts.reactivate(person, actor=g.user)
    flash(f"{person.email} is active again: they can sign in, and their live API tokens work." if changed
          else f"{person.email} was already active; nothing changed.")
    return redirect(url_for("admin.user", user_id=person.id))


@bp.post("/admin/users/<int:user_id>/password")
def set_password(user_id: int):
    person = _user_or_404(user_id)
    form = NewPasswordForm()
    try:  # the CSRF token is checked for every form before this; the password rules are accounts'
        accounts.set_password(person, form.password.data or "", actor=g.user)
    except accounts.AccountError as exc:
        attach_errors(form, exc.errors)
        return render_user(person, password_form=form, status=400)
    flash(f"New password set for {person.email}. Give it to them by a secure route; any lock from failed "
          "sign-ins is lifted.")
    return redirect(url_for("admin.user", user_id=person.id))


@bp.post("/admin/users/<int:user_id>/tokens")
def issue_token(user_id: int):
    person = _user_or_404(user_id)
    try:
        issued = accounts.issue_token(person, actor=g.user)
    except accounts.AccountError as exc:
        return render_user(person, refusal=_refusal(exc), status=409)
    return render_user(person, new_token=issued, status=201)


@bp.post("/admin/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise Problem(404, "There is no API token with that number.")
    changed = accounts.revoke_token(token, actor=g.user)
    flash(f"API token {token.prefix}… is revoked: it no longer works." if changed
          else f"API token {token.prefix}… was already revoked; nothing changed.")
    return redirect(url_for("admin.user", user_id=token.user_id))
