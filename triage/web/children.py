"""Linking a contact's child to the service's earlier record of the same child, and undoing it.

The search finds child records by the service's own ids (a ``child_id``, a contact id, a
partner reference) or offers the children of recent contacts; it never takes an NHS number or
UPN typed in clear, which would put an identifier in a URL, a server log and the browser's
history. Linking and undoing are ``services.children`` calls, recorded events with a reason.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from triage.engine.errors import DomainError
from triage.extensions import db
from triage.http.problems import problem_from
from triage.services import children
from triage.web.views import bp


def _back(contact_id: str | None, child_id: str):
    if contact_id:
        return redirect(url_for("web.contact", contact_id=contact_id) + "#known-to-us")
    return redirect(url_for("web.find_children", child=child_id))


@bp.get("/children")
def find_children():
    child_id = request.args.get("child", "").strip()
    contact_id = request.args.get("contact", "").strip() or None
    query = request.args.get("q", "").strip()
    rows = [row for row in children.find(query) if row["child_id"] != child_id]
    same = children.group([child_id]) if child_id else set()
    return render_template("children.html", rows=rows, query=query, child_id=child_id, contact_id=contact_id,
                           same=same, errors={}, page_title="Find a child's earlier record", nav_active="queue")


@bp.post("/children/<child_id>/links")
def link_child(child_id: str):
    form = request.form
    contact_id = form.get("contact_id") or None
    try:
        children.link(child_id, form.get("linked_child_id", ""), form.get("reason", ""), g.user, contact_id)
    except DomainError as exc:
        db.session.rollback()
        problem = problem_from(exc)
        rows = [row for row in children.find(form.get("q", "")) if row["child_id"] != child_id]
        return render_template(
            "children.html", rows=rows, query=form.get("q", ""), child_id=child_id, contact_id=contact_id,
            same=children.group([child_id]), errors=problem.errors or {"reason": [problem.detail]},
            failed=form.get("linked_child_id"), page_title="Find a child's earlier record", nav_active="queue",
        ), problem.status
    flash("Linked: this child's contacts now show the earlier record's history.")
    return _back(contact_id, child_id)


@bp.post("/children/<child_id>/links/<int:link_id>/undo")
def unlink_child(child_id: str, link_id: int):
    form = request.form
    contact_id = form.get("contact_id") or None
    try:
        children.unlink(child_id, link_id, form.get("reason", ""), g.user, contact_id)
    except DomainError as exc:
        db.session.rollback()
        problem = problem_from(exc)
        flash(f"The link was not undone: {' '.join(sum((problem.errors or {}).values(), [])) or problem.detail}")
        return _back(contact_id, child_id)
    flash("Link undone. It stays in the record, marked undone.")
    return _back(contact_id, child_id)
