"""Multi-agency checks on the pages: request them from a contact, answer them as an agency, see who is late.

Front-door staff ask from the contact page ("Request checks", agencies preselected from the
recommendation) and follow them on "Awaiting checks". An agency's hub worker signs in like
everyone else and sees "Checks due": only its own agency type's checks, and only what a check
needs (the children's pseudonymous ids and ages, the concern, the question), never the narrative.
The rules are ``triage.services.checks``'s, shared with the API.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app, flash, g, redirect, render_template, request, url_for

from triage.engine.errors import DomainError
from triage.engine.guidance_config import CHECK_AGENCIES
from triage.http.args import page_args
from triage.http.problems import problem_from
from triage.record.tables import CONSENT_POSITIONS
from triage.services import checks, queues
from triage.web.forms import CheckAnswerForm, ChecksForm, attach_errors, error_list
from triage.web.views import _contact_or_404, _refused, bp

CONSENT_TEXT = {"obtained": "Obtained: the family agreed to the agencies being asked",
                "not_sought": "Not sought", "refused": "Refused by the family"}


def checks_form(contact) -> ChecksForm:
    """The "Request checks" form, with the agencies the recommendation names ticked.

    Consent is never preselected: the referrer's position is shown beside the question (the
    page's hint), and the practitioner answers it for this request (issue 15 item 6).
    """
    form = ChecksForm(prefix="checks")  # the decision form on the same page has its own "consent"
    config = current_app.extensions["recommender"].checks_config
    form.agencies.choices = [(a, config.agencies[a].name) for a in CHECK_AGENCIES]
    form.consent.choices = [(c, CONSENT_TEXT[c]) for c in CONSENT_POSITIONS]
    if request.method == "GET":
        form.agencies.data = [c["agency"] for c in (contact.recommendation or {}).get("checks") or []]
    return form


@bp.post("/contacts/<contact_id>/checks")
def request_checks(contact_id: str):
    item = _contact_or_404(contact_id)
    form = checks_form(item)
    try:
        rows = checks.request_checks(
            item, g.user, current_app.extensions["recommender"], agencies=list(form.agencies.data or []),
            reason=form.reason.data or "", consent=form.consent.data or "",
            without_consent_reason=form.without_consent_reason.data or None)
    except DomainError as exc:
        return _refused(contact_id, exc, checks_form=form)
    flash(f"Checks requested for {item.partner_reference} from "
          f"{', '.join(r.agency for r in rows)}. The contact comes back for a decision when they answer "
          "or their time runs out.")
    return redirect(url_for("web.contact", contact_id=contact_id))


@bp.get("/awaiting-checks")
def awaiting_checks():
    checks.settle_due(current_app.extensions["recommender"])
    now = datetime.now(timezone.utc)
    page = queues.awaiting_checks(now, *page_args())
    items = [{"id": q.contact.id, "partner_reference": q.contact.partner_reference,
              "primary_concern": q.contact.primary_concern, "urgency": q.contact.urgency,
              "decision_due_at": q.contact.decision_due_at, "time": q.time,
              "checks": [{"agency": c.agency, "answered": c.response is not None,
                          "overdue": c.response is None and c.due_at <= now} for c in q.checks]}
             for q in page]
    return render_template("awaiting_checks.html", items=items, page=page, page_title="Awaiting checks",
                           nav_active="awaiting-checks")


@bp.get("/checks")
def checks_due():
    checks.settle_due(current_app.extensions["recommender"])
    open_rows = [checks.check_json(r, for_agency=True) for r in checks.open_checks(g.user, checks.OPEN)]
    answered = [checks.check_json(r, for_agency=True) for r in checks.open_checks(g.user, checks.ANSWERED)]
    return render_template("checks_due.html", open_rows=open_rows, answered=answered, page_title="Checks due",
                           nav_active="checks")


def _answer_form(agency: str) -> CheckAnswerForm:
    form = CheckAnswerForm()
    config = current_app.extensions["recommender"].checks_config
    form.known.choices = [("yes", "Yes, we know this household"), ("no", "No, we do not know this household")]
    form.findings.choices = list(config.agencies[agency].findings.items())
    return form


def _render_check(check, form: CheckAnswerForm, status: int = 200, notice=None):
    return render_template("check.html", check=checks.check_json(check, for_agency=True), form=form,
                           error_list=error_list(form), notice=notice,
                           page_title=f"Check {check.id}", nav_active="checks"), status


@bp.route("/checks/<int:check_id>", methods=["GET", "POST"])
def check_page(check_id: int):
    check = checks.visible_check(check_id, g.user)
    form = _answer_form(check.agency)
    if request.method == "GET":
        return _render_check(check, form)
    known = {"yes": True, "no": False}.get(form.known.data or "")
    try:
        if known is None:
            raise checks.Invalid("The answer was not recorded; see errors.",
                                 errors={"known": ["Say whether your agency knows this household."]})
        checks.answer_check(check, g.user, current_app.extensions["recommender"], known=known,
                            findings=list(form.findings.data or []), summary=form.summary.data or None)
    except DomainError as exc:
        problem = problem_from(exc)
        attach_errors(form, exc.errors)
        return _render_check(checks.visible_check(check_id, g.user), form, problem.status,
                             notice=None if exc.errors else problem)
    flash("Your answer has been sent to the front door.")
    return redirect(url_for("web.checks_due"))
