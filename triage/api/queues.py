"""The front door's work queues as JSON, for the pages and for anyone's own tooling.

Each answer is ``{"queue", "description", "count", "items", "next_cursor"}``, one page at a
time: ``count`` is the whole queue (counted up to 10,000: ``count_capped`` says there are more),
``items`` at most ``per_page`` of it (default 50, at most
200), and ``next_cursor`` is passed back as ``?cursor=`` for the next page (null on the last).
Every item has ``time`` with ``seconds_left`` (negative when overdue), ``overdue`` and ``text``
to show as it is. In the
review queues the time is against the review's deadline; elsewhere against the decision's.
"""

from __future__ import annotations

from flask import current_app, g

from triage.api.contacts import summary
from triage.api.openapi import PAGING, Blueprint
from triage.api.schemas import QueueSchema
from triage.engine.contract import rfc3339
from triage.http.args import only_args, page_args
from triage.http.current import guidance
from triage.record.tables import utcnow
from triage.services import checks, queues

blp = Blueprint("queues", __name__, url_prefix="/api/v1/queues",
                description="Work queues: awaiting decision, overdue, awaiting review, reviews overdue, "
                            "decided today.")


def item_json(entry: queues.QueueItem) -> dict:
    """One queue entry as JSON: the contact's summary, its time left and, where there is one, its decision."""
    doc = {**summary(entry.contact, g.user), "time": entry.time}
    if entry.decision is not None:
        doc["decision"] = {"id": entry.decision.id, "level": entry.decision.level,
                           "decided_by": entry.decision.decided_by.label,
                           "decided_at": rfc3339(entry.decision.decided_at),
                           "review_due_at": rfc3339(entry.review_due_at)}
    if entry.checks:
        doc["checks"] = [{"id": c.id, "agency": c.agency, "due_at": rfc3339(c.due_at),
                          "answered": c.response is not None, "overdue": c.response is None
                          and entry.time is not None and c.due_at <= _now()} for c in entry.checks]
        doc["overdue_checks"] = [c["agency"] for c in doc["checks"] if c["overdue"]]
    return doc


def _now():
    return utcnow()


@blp.before_request
def _settle_checks() -> None:
    """Checks past their due time bring their contacts back before any queue is read (lazy expiry)."""
    checks.settle_due(current_app.extensions["recommender"])


def _paged() -> tuple[str | None, int]:
    """A queue's only parameters: the page link (``cursor``) and the page size; anything else is a 422."""
    only_args("cursor", "per_page")
    return page_args()


def _answer(name: str, description: str, page: queues.Page) -> dict:
    return {"queue": name, "description": description, "count": page.limit if page.capped else page.total,
            "count_capped": page.capped,
            "items": [item_json(entry) for entry in page], "next_cursor": page.next_cursor}


@blp.route("/awaiting-decision", methods=["GET"])
@blp.doc(summary="Contacts awaiting a decision, most urgent first, then by deadline", parameters=PAGING)
@blp.response(200, QueueSchema, description="The queue.")
@blp.problems(401, 403, 422)
def awaiting_decision():
    return _answer("awaiting-decision", "No decision yet (including those waiting on the referrer), "
                   "red before amber before green, then earliest deadline.", queues.awaiting_decision(None, *_paged()))


@blp.route("/awaiting-checks", methods=["GET"])
@blp.doc(summary="Contacts waiting on agency checks, soonest check due first, with what is overdue", parameters=PAGING)
@blp.response(200, QueueSchema, description="The queue; each item lists its checks.")
@blp.problems(401, 403, 422)
def awaiting_checks():
    return _answer("awaiting-checks", "Contacts waiting on partner agencies' checks, the soonest due first; "
                   "overdue_checks names the agencies past their due time.", queues.awaiting_checks(None, *_paged()))


@blp.route("/overdue", methods=["GET"])
@blp.doc(summary="Contacts past their one-working-day deadline with no decision", parameters=PAGING)
@blp.response(200, QueueSchema, description="The queue.")
@blp.problems(401, 403, 422)
def overdue():
    return _answer("overdue", "Past the decision deadline with no decision, longest overdue first.",
                   queues.overdue(None, *_paged()))


@blp.route("/awaiting-my-review", methods=["GET"])
@blp.doc(summary="Decisions awaiting review: a manager's to review, or a practitioner's own awaiting one", parameters=PAGING)
@blp.response(200, QueueSchema, description="The queue.")
@blp.problems(401, 403, 422)
def awaiting_my_review():
    description = ("Decisions awaiting review that you did not make, most urgent first, then the review due soonest."
                   if g.user.role == "manager" else "Your decisions still awaiting a manager's review.")
    by_level = queues.level_urgencies(guidance().config.urgency_rules)
    return _answer("awaiting-my-review", description, queues.awaiting_review(g.user, None, *_paged(), level_urgency=by_level))


@blp.route("/reviews-overdue", methods=["GET"])
@blp.doc(summary="Decisions awaiting review past their one-working-day review deadline, whoever made them", parameters=PAGING)
@blp.response(200, QueueSchema, description="The queue.")
@blp.problems(401, 403, 422)
def reviews_overdue():
    return _answer("reviews-overdue", "Decisions still awaiting a manager's review more than one working day "
                   "after they were made, longest overdue first.", queues.reviews_overdue(None, *_paged()))


@blp.route("/decided-today", methods=["GET"])
@blp.doc(summary="Contacts decided today (London time), newest first", parameters=PAGING)
@blp.response(200, QueueSchema, description="The queue.")
@blp.problems(401, 403, 422)
def decided_today():
    return _answer("decided-today", "Decisions recorded today, newest first, with how each met its deadline.",
                   queues.decided_today(None, *_paged()))
