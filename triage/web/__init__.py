"""The pages: server-rendered with Jinja and the GOV.UK Design System.

``init_app`` wires what every page needs: the template loader (our templates first, then the
``govuk_frontend_jinja`` macros under their own prefix), CSRF protection on every form, and the
``web`` blueprint. CSRF is checked here for every unsafe request outside ``/api/``: the API
authenticates with bearer tokens, which a browser never sends on its own, so it needs none,
and blueprints added later are covered without anyone having to remember an exemption.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader

from triage.engine.contract import unstorable_text
from triage.http.problems import Problem, handle_problem
from triage.web import present

csrf = CSRFProtect()

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _check_csrf() -> None:
    if (request.method in UNSAFE and not request.path.startswith("/api/")
            and current_app.config.get("WTF_CSRF_ENABLED", True)):
        csrf.protect()


def _refuse_unstorable_form() -> None:
    """A form value no database can keep (a NUL character) is refused before any page acts on it.

    Browsers never send one from a typed field; this stops a crafted request from failing as a
    500 on PostgreSQL, with the same check the API applies to JSON bodies.
    """
    if request.method in UNSAFE and not request.path.startswith("/api/") and request.form:
        bad = unstorable_text(request.form.to_dict(flat=False))
        if bad:
            raise Problem(400, "Some text in the form cannot be stored, so nothing was recorded: "
                               + ", ".join(sorted(path.split(".")[0] for path in bad)) + ".")


def _csrf_refused(_exc: CSRFError):
    """A form without a valid token: usually one left open too long. Nothing was recorded."""
    return handle_problem(Problem(400, "This form had expired or did not come from this service, so "
                                       "nothing was recorded. Go back, reload the page and try again."))


def init_app(app: Flask) -> None:
    app.jinja_loader = ChoiceLoader([
        PackageLoader("triage"),
        PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
    ])
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    app.before_request(_check_csrf)
    app.before_request(_refuse_unstorable_form)
    app.register_error_handler(CSRFError, _csrf_refused)
    present.init_app(app)

    from triage.web import board_pack, checks, children, guidance, meetings, quality_audit, record  # noqa: F401 - add their pages to the blueprint
    from triage.web.views import bp

    app.register_blueprint(bp)
