"""The guidance pages (issue 16): the versions served with what changed, and the manager's what-if.

``/guidance`` lists every version of the threshold guidance the service has served, the one in
force and since when, and a line-by-line difference between each version and the one before.

``/guidance/what-if``: a manager uploads a draft (checked as at start-up and kept with its hash),
chooses a window and optionally another model, and the replay runs in a background thread
(``services.whatif.execute_run``) while the run's page shows its progress (a small script under
the page's CSP nonce asks for it; without script, a link to check again). The report is tables and
charts with the same figures in words, and the moved contacts download as CSV.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

from flask import current_app, g, jsonify, redirect, render_template, request, url_for

from triage.engine.errors import DomainError, Invalid
from triage.engine.whatif import ModelLoadError, load_model_version, model_version
from triage.engine.workdays import london_days
from triage.extensions import db
from triage.http.args import _day_error as day_error
from triage.http.downloads import attachment
from triage.http.problems import problem_from
from triage.record import audit
from triage.reporting.whatif import report_csv
from triage.services import guidance_versions, whatif
from triage.web.present import SOURCE_NAMES
from triage.web.views import bp

#: Background runs by id (the tests wait on them).
RUNNING: dict[int, threading.Thread] = {}


@bp.get("/guidance")
def guidance_versions_page():
    config = current_app.extensions["recommender"].guidance.config
    rows = guidance_versions.summaries(config)
    changes = guidance_versions.changes()
    db.session.commit()  # its first use, if nothing has used it since start-up
    return render_template("guidance/versions.html", page_title="Threshold guidance versions", versions=rows,
                           changes=changes, nav_active="guidance")


@bp.app_template_global()
def what_if_window(run) -> str:
    """"1 Oct 2026 to 31 Oct 2026": the London days a run's window covers, both included."""
    from datetime import timedelta

    from triage.web.present import london

    return f"{london(run.window_from, '%-d %b %Y')} to {london(run.window_to - timedelta(seconds=1), '%-d %b %Y')}"


def _models() -> list[str]:
    root = Path(current_app.config["MODELS_DIR"])
    return sorted(p.name for p in root.iterdir() if (p / "manifest.json").is_file()) if root.is_dir() else []


def _form(values: dict | None = None, errors: dict | None = None, status: int = 200):
    errors = errors or {}
    recommender = current_app.extensions["recommender"]
    error_list = [{"text": " ".join(messages), "href": f"#{field}"} for field, messages in errors.items()]
    return render_template("guidance/what_if.html", page_title="What if the guidance changed?",
                           values=values or {}, errors={k: " ".join(v) for k, v in errors.items()},
                           error_list=error_list, models=_models(), served_model=model_version(recommender.model),
                           in_force=recommender.guidance.config, runs=whatif.recent_runs(),
                           nav_active="guidance"), status


@bp.get("/guidance/what-if")
def what_if_form():
    return _form()


def _day(name: str, errors: dict) -> date | None:
    day, error = day_error(request.form.get(name, "").strip())
    if error:
        errors[name] = [f"Enter a date. {error}"]
    return day


def _start(app, run_id: int, model, in_force, served: str) -> None:
    def work():
        with app.app_context():
            whatif.execute_run(run_id, model=model, in_force=in_force, served_model=served)

    for finished in [k for k, t in RUNNING.items() if not t.is_alive()]:
        del RUNNING[finished]
    thread = threading.Thread(target=work, name=f"what-if-{run_id}", daemon=True)
    RUNNING[run_id] = thread
    thread.start()


@bp.post("/guidance/what-if")
def what_if_start():
    form = request.form
    values = {k: form.get(k, "") for k in ("from", "to", "model")}
    errors: dict[str, list[str]] = {}
    first, last = _day("from", errors), _day("to", errors)
    recommender = current_app.extensions["recommender"]
    model = recommender.model
    chosen = form.get("model", "")
    if chosen:
        try:
            model = load_model_version(current_app.config["MODELS_DIR"], chosen)
        except ModelLoadError:
            errors["model"] = ["Choose a model from the list."]
    upload = request.files.get("draft")
    try:
        draft = whatif.keep_draft(upload.read() if upload else b"", upload.filename if upload else "", g.user)
    except Invalid as exc:
        errors.update(exc.errors or {"draft": [exc.detail]})
        draft = None
    if errors or draft is None or first is None or last is None:
        db.session.rollback()
        return _form(values, errors, 400)
    start, end = london_days(first, last)
    try:
        run = whatif.create_run(draft, g.user, start=start, end=end, model_version=chosen or None)
    except DomainError as exc:
        db.session.rollback()
        problem = problem_from(exc)
        return _form(values, {"from": [problem.detail]}, problem.status)
    db.session.commit()
    _start(current_app._get_current_object(), run.id, model, recommender.guidance, model_version(recommender.model))
    return redirect(url_for("web.what_if_run", run_id=run.id))


def _run_or_404(run_id: int):
    try:
        return whatif.get_run(run_id)
    except DomainError as exc:
        raise problem_from(exc) from None


@bp.get("/guidance/what-if/<int:run_id>")
def what_if_run(run_id: int):
    run = _run_or_404(run_id)
    names = {n: v["name"] for n, v in current_app.extensions["recommender"].guidance.levels.items()}
    return render_template("guidance/run.html", page_title=f"What if: run {run.id}", run=run, report=run.report,
                           level_names=names, source_names=SOURCE_NAMES, nav_active="guidance")


@bp.get("/guidance/what-if/<int:run_id>/progress")
def what_if_progress(run_id: int):
    run = _run_or_404(run_id)
    return jsonify(status=run.status, done=run.done, total=run.total)


@bp.get("/guidance/what-if/<int:run_id>/moved-contacts.csv")
def what_if_csv(run_id: int):
    run = _run_or_404(run_id)
    if run.report is None:
        return redirect(url_for("web.what_if_run", run_id=run.id))
    audit.record_export(f"what-if-run-{run.id}", (row["contact_id"] for row in run.report["moved"]), g.user)
    db.session.commit()
    return attachment(report_csv(run.report), f"what-if-run-{run.id}-moved-contacts.csv")
