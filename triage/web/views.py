"""The pages: sign in and out, the queues, a contact explained, decide, review.

Views are thin: they read the form, call the service (``triage.decisions``, ``triage.queues``,
``triage.intake``) and render. A service refusal (``Problem``) is shown on the page it came
from: 422 as a GOV.UK error summary linking to each field, 409 and 403 as a clear message at
the top of the form, with nothing recorded.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from sqlalchemy import func, select

from triage.engine.errors import Conflict, DomainError, NotAllowed
from triage.engine.workdays import last_working_day_start
from triage.extensions import db
from triage.http import access
from triage.http.args import page_args
from triage.http.current import guidance
from triage.http.problems import Problem, problem_from
from triage.http.redirects import local_path
from triage.record import audit, workflow
from triage.record.queries import latest_decision, latest_review
from triage.record.tables import Contact, InformationRequest, User
from triage.services import accounts, checks, children, decisions, feedback, queues, signin, timeliness
from triage.services.security import check_sign_in
from triage.web.charts import explanation_chart
from triage.web.forms import (
    ChangePasswordForm,
    DecisionForm,
    InformationRequestForm,
    LoginForm,
    ReviewForm,
    attach_errors,
    error_list,
    expected_version,
    level_choices,
)
from triage.web.present import level_name, level_table

bp = Blueprint("web", __name__)

GOVUK_ASSETS = Path(__file__).resolve().parent.parent / "static" / "vendor" / "govuk" / "assets"
STAFF_ROLES = ("practitioner", "manager")


# -- Sign in and out -----------------------------------------------------------------------------


@bp.get("/assets/<path:filename>")
def govuk_assets(filename: str):
    """GOV.UK Frontend's stylesheet asks for its fonts and crest at /assets/."""
    return send_from_directory(GOVUK_ASSETS, filename, max_age=86400)


def _sign_in_refused(form: LoginForm, wait: int) -> Response:
    """The sign-in page again, saying why and for how long, without trying the password."""
    form.email.errors = [f"Too many failed attempts to sign in from here. {signin.wait_text(wait)} "
                         "and try again. If you have forgotten your password, ask your administrator to set a new one."]
    page = render_template("login.html", form=form, error_list=error_list(form), page_title="Sign in")
    return Response(page, status=429, headers={"Retry-After": str(wait)})


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        email, address, now = form.email.data.strip().lower(), request.remote_addr or "", datetime.now(timezone.utc)
        wait = signin.wait_seconds(email, address, now)
        if wait:
            return _sign_in_refused(form, wait)
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        if check_sign_in(user.password_hash if user else None, form.password.data) and user.is_active:
            signin.clear(email)
            access.sign_in(user)
            return redirect(local_path(request.args.get("next")) or url_for("web.home"))
        signin.record_failure(email, address, now, user=user)
        form.email.errors = ["Enter a correct email address and password"]
    status = 200 if request.method == "GET" or not form.errors else 400
    return render_template("login.html", form=form, error_list=error_list(form), page_title="Sign in"), status


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    """Anyone signed in replaces their own password, e.g. the one an administrator set for them."""
    form = ChangePasswordForm()
    status = 200
    if request.method == "POST":
        # Guessing the current password here counts like guessing it at sign-in (an open session is not a key).
        address, now = request.remote_addr or "", datetime.now(timezone.utc)
        wait = signin.wait_seconds(g.user.email, address, now)
        try:
            if wait:
                raise accounts.AccountError({"current_password": [
                    f"Too many wrong passwords. {signin.wait_text(wait)} and try again."]})
            if form.new_password.data != form.confirm_password.data:
                raise accounts.AccountError({"confirm_password": ["Enter the same new password twice"]})
            accounts.change_own_password(g.user, form.current_password.data, form.new_password.data)
        except accounts.AccountError as exc:
            if "current_password" in exc.errors and not wait:
                signin.record_failure(g.user.email, address, now, user=g.user)
            attach_errors(form, exc.errors)
            status = 429 if wait else 400
        else:
            access.sign_in(g.user)  # a session in the new generation: this browser stays signed in
            flash("Your password has been changed.")
            return redirect(url_for("web.home"))
    return render_template("account_password.html", form=form, error_list=error_list(form),
                           min_password=accounts.MIN_PASSWORD, page_title="Change your password"), status


@bp.post("/logout")
def logout():
    access.sign_out(g.user)
    flash("You have signed out.")
    return redirect(url_for("web.login"))


@bp.get("/")
def home():
    """Staff start at their queue; agency hub workers at their checks; partners at their own page."""
    if g.user.role == "manager":
        return manager_home()
    if g.user.role in STAFF_ROLES:
        return redirect(url_for("web.queue"))
    if g.user.role == "agency":
        return redirect(url_for("web.checks_due"))
    return render_template("home.html", page_title="Front door triage")


def manager_home():
    """What needs a manager now: reviews due and overdue, decisions overdue, feedback waiting to be released."""
    summary = queues.manager_summary(g.user, level_urgency=queues.level_urgencies(guidance().config.urgency_rules))
    return render_template("manager_home.html", page_title="What needs you now", summary=summary,
                           to_release=feedback.awaiting_release_count(summary.limit))


# -- Queues --------------------------------------------------------------------------------------


@bp.get("/contacts")
def queue():
    police_da = request.args.get("view") == "police-da"
    printable = request.args.get("print") == "1"
    now = datetime.now(timezone.utc)
    # The daily triage with police colleagues: police domestic-abuse contacts accepted since the last working day.
    since = last_working_day_start(now) if police_da else None
    items = queues.awaiting_decision(now, *page_args(), police_da_since=since)
    return render_template(
        "queue.html", rows=items, police_da=police_da, printable=printable, since=since,
        page_title="Police domestic abuse triage" if police_da else "Contacts awaiting decision",
        nav_active="queue", bodyClasses="app-wide", now=now,
    )


@bp.get("/reviews")
def reviews():
    by_level = queues.level_urgencies(guidance().config.urgency_rules)
    items = queues.awaiting_review(g.user, datetime.now(timezone.utc), *page_args(), level_urgency=by_level)
    return render_template("reviews.html", rows=items, page_title="Awaiting my review",
                           nav_active="reviews", bodyClasses="app-wide", review_urgency=lambda row: queues.review_urgency(
                               row.contact, row.decision, by_level))


# -- A contact -----------------------------------------------------------------------------------


def _contact_or_404(contact_id: str) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise Problem(404, "There is no contact with that reference.")
    return contact


def _decision_form(contact: Contact) -> DecisionForm:
    form = DecisionForm()
    form.level.choices = level_choices(level_table())
    form.consent.choices = [("obtained", "Sought and obtained"), ("refused", "Sought and refused"),
                            ("not_sought", "Not sought")]
    if request.method == "GET":  # nothing chosen for the worker: the recommendation is marked, not ticked
        form.expected_version.data = str(contact.version)
    return form


def _review_form(contact: Contact) -> ReviewForm:
    form = ReviewForm()
    form.level.choices = level_choices(level_table())
    if request.method == "GET":
        form.expected_version.data = str(contact.version)
    return form


def _info_form(contact: Contact) -> InformationRequestForm:
    form = InformationRequestForm()
    gaps = (contact.recommendation or {}).get("information_gaps") or []
    form.fields.choices = [(gap["field"], gap["why"]) for gap in gaps]
    if request.method == "GET":
        form.fields.data = [gap["field"] for gap in gaps]
    return form


def _explanation(contact: Contact):
    rec = contact.recommendation or {}
    if not rec.get("explanation"):
        return None
    level = rec.get("level")
    return explanation_chart(rec["explanation"], subject=f"level {level} ({level_name(level)})")


def _record_view(contact: Contact) -> None:
    """Every time a person opens a contact, the record says who and when (spec section 6)."""
    audit.record("viewed", contact_id=contact.id, user=g.user, data={"via": "web"})
    db.session.commit()


def render_contact(contact: Contact, *, decision_form=None, review_form=None, info_form=None, checks_form=None,
                   notice: Problem | None = None, status: int = 200):
    """The contact page, with whichever forms the contact's state and the person's role allow."""
    from triage.web.checks import checks_form as new_checks_form  # the checks pages extend this blueprint

    checks.settle(contact, current_app.extensions["recommender"])  # checks past due: lazily, on read
    actions = workflow.available_actions(contact.status, g.user.role)
    if workflow.REQUEST_CHECKS in actions:
        checks_form = checks_form if checks_form is not None else new_checks_form(contact)
    decision = latest_decision(contact.id)
    if workflow.DECIDE in actions:
        decision_form = decision_form if decision_form is not None else _decision_form(contact)
    if workflow.REQUEST_INFORMATION in actions:
        info_form = info_form if info_form is not None else _info_form(contact)
    if workflow.REVIEW in actions and decision is not None:
        review_form = review_form if review_form is not None else _review_form(contact)
    errors = []
    for form in (decision_form, review_form, info_form, checks_form):
        if form is not None:
            errors += error_list(form)
    return render_template(
        "contact.html", contact=contact, rec=contact.recommendation or {}, payload=contact.payload,
        known=_known_to_us(contact), late_by=timeliness.notification_delay(contact.received_at, contact.accepted_at),
        chart=_explanation(contact), history=audit.history(contact.id), decision=decision,
        review=latest_review(contact.id), info_requests=_information_requests(contact.id),
        decision_form=decision_form, review_form=review_form, info_form=info_form, checks_form=checks_form,
        checks_list=[checks.check_json(row) for row in checks.checks_on(contact.id)],
        screening=contact.screening_recommendation,
        own_decision=decision is not None and decision.decided_by_id == g.user.id,
        drafts=decisions.offered_drafts(contact),
        notice=notice, error_list=errors, time=queues.time_left(contact.decision_due_at, datetime.now(timezone.utc)),
        page_title=f"Contact {contact.partner_reference}", nav_active="queue",
    ), status


def _known_to_us(contact: Contact) -> dict:
    """The "Known to us" panel: earlier contacts about these children; showing them is a read of each."""
    names = {n: v["name"] for n, v in level_table().items()}
    known = children.child_history([c.child_id for c in contact.children], names,
                                   as_of=contact.accepted_at, exclude=contact.id)
    audit.record_reads((item["contact_id"] for item in known["contacts"]), g.user,
                       {"via": "web", "what": "known_to_us", "from_contact": contact.id})
    db.session.commit()
    return known


def _information_requests(contact_id: str) -> list[InformationRequest]:
    return list(db.session.scalars(
        select(InformationRequest).where(InformationRequest.contact_id == contact_id)
        .order_by(InformationRequest.id)
    ))


@bp.get("/contacts/<contact_id>")
def contact(contact_id: str):
    item = _contact_or_404(contact_id)
    _record_view(item)
    return render_contact(item)


def _refused(contact_id: str, exc: DomainError, **forms):
    """Show a service refusal on the contact page, with what the person typed kept."""
    db.session.rollback()
    item = _contact_or_404(contact_id)
    problem = problem_from(exc)
    for form in forms.values():
        if form is not None and exc.errors:
            attach_errors(form, exc.errors)
    notice = problem if isinstance(exc, NotAllowed | Conflict) else None
    return render_contact(item, notice=notice, status=problem.status, **forms)


@bp.post("/contacts/<contact_id>/decision")
def decide(contact_id: str):
    item = _contact_or_404(contact_id)
    form = _decision_form(item)
    if not form.validate():
        return render_contact(item, decision_form=form, status=422)
    try:
        decisions.record_decision(
            item, g.user, level=form.level.data, rationale=form.rationale.data or "",
            marac_referral=bool(form.marac_referral.data), next_steps=form.next_steps.data or None,
            override_reason=form.override_reason.data or None,
            expected_version=expected_version(form.expected_version.data),
            consent=form.consent.data or None, consent_reason=form.consent_reason.data or None,
        )
    except DomainError as exc:
        return _refused(contact_id, exc, decision_form=form)
    flash(f"Decision recorded for {item.partner_reference}: level {form.level.data} "
          f"({level_name(form.level.data)}). It now awaits a manager's review.")
    return redirect(url_for("web.queue"))


@bp.post("/contacts/<contact_id>/review")
def review(contact_id: str):
    item = _contact_or_404(contact_id)
    form = _review_form(item)
    outcome = request.form.get("outcome", "")
    form.outcome.data = outcome
    if not form.validate():
        return render_contact(item, review_form=form, status=422)
    level = form.level.data if outcome == "changed" else None
    try:
        decisions.record_review(item, g.user, outcome=outcome, rationale=form.rationale.data or "",
                                level=level, expected_version=expected_version(form.expected_version.data))
    except DomainError as exc:
        return _refused(contact_id, exc, review_form=form)
    flash(f"Review recorded for {item.partner_reference}: decision {outcome}. "
          f"Check the feedback below and release it to {item.organisation.name}.")
    # The release step is where the manager already is: the feedback the confirmed outcome makes.
    return redirect(url_for("reports.feedback_preview", contact_id=item.id))


@bp.post("/contacts/<contact_id>/information-request")
def information_request(contact_id: str):
    item = _contact_or_404(contact_id)
    form = _info_form(item)
    if not form.validate():
        return render_contact(item, info_form=form, status=422)
    try:
        decisions.request_information(item, g.user, fields=list(form.fields.data or []),
                                      message=form.message.data or "")
    except DomainError as exc:
        return _refused(contact_id, exc, info_form=form)
    flash(f"Information requested from the referrer for {item.partner_reference}. "
          "The decision is still due on time.")
    return redirect(url_for("web.contact", contact_id=contact_id))

