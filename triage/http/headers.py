"""Security headers on every answer, from a maintained library (flask-talisman, pinned).

Why flask-talisman rather than ``secure``: it is a Flask extension that makes a fresh nonce per
request and puts it in the policy and the templates (``csp_nonce()``), and it can vary headers by
view; ``secure`` writes fixed header values and would leave nonces to us.

The policy (``POLICY``) admits only this site's own files. Inline ``<script>`` and ``<style>``
run only with the request's nonce: GOV.UK Frontend's template reads it as ``cspNonce``, and our
templates (and ``swagger_ui.html``, which replaces flask-smorest's) write ``nonce="{{ csp_nonce() }}"``.
Swagger UI draws its icons as ``data:`` images, which ``img-src`` allows; nothing else is
loosened. HSTS is sent in production only (over HTTPS, or behind the nginx site in ``config/``
which sets ``X-Forwarded-Proto``), because a developer's http://localhost must keep working.

``no_store`` keeps every answer except static files out of caches: pages and the API show
children's records, and an error page can echo what was asked for.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_talisman import Talisman

POLICY: dict[str, str | list[str]] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": ["'self'", "data:"],
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
#: Powerful browser features this service never uses, switched off for its pages.
PERMISSIONS = {"camera": "()", "microphone": "()", "geolocation": "()", "payment": "()"}
#: Paths whose answers may be cached: our own static files and GOV.UK Frontend's fonts and images.
CACHEABLE = ("/static/", "/assets/")
HSTS_SECONDS = 365 * 24 * 3600

def no_store(response: Response) -> Response:
    """after_request: nothing that can show a child's record is kept by a browser or a proxy."""
    if not request.path.startswith(CACHEABLE):
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Register before any other before_request, so even a refusal's error page has its nonce."""
    talisman = Talisman(
        app,
        force_https=False,  # nginx redirects to HTTPS; the app may sit behind it on plain HTTP
        strict_transport_security=app.config["TRIAGE_ENV"] == "production",
        strict_transport_security_max_age=HSTS_SECONDS,
        strict_transport_security_include_subdomains=False,
        content_security_policy=POLICY,
        content_security_policy_nonce_in=["script-src", "style-src"],
        frame_options="DENY",
        referrer_policy="same-origin",
        permissions_policy=PERMISSIONS,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
        x_xss_protection=False,  # obsolete, and harmful in old browsers; the CSP does this job
    )
    app.extensions["talisman"] = talisman
    app.after_request(no_store)
    nonce = app.jinja_env.globals["csp_nonce"]  # talisman's: this request's nonce
    app.context_processor(lambda: {"cspNonce": nonce()})  # the name GOV.UK Frontend's template reads
