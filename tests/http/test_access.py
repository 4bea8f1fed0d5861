"""Every route declares its roles in ``access.POLICY``, and the declaration is what happens.

The walk is generic: it reads ``app.url_map`` and ``POLICY`` at run time, so routes added
later are covered as soon as they exist. Each route and method (HEAD and OPTIONS aside) is
called by every role and by nobody:

* with the views replaced by a stub that answers 204, so only the access layer decides:
  allowed roles reach the view; others get 403 (API) or 403 or a redirect (pages); nobody
  gets 401 (API) or is sent to sign in (pages);
* with the real views and dummy ids and bodies: an allowed role may get 404 or 422, but never
  401, never the access layer's 403 and never a 500.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from flask import Flask
from werkzeug.routing import IntegerConverter, PathConverter, Rule

from triage.http import access

ROLES = ("practitioner", "manager", "partner", "agency", "admin")
CALLERS = (*ROLES, None)  # None: nobody signed in
ACCESS_REFUSAL = "may not do this"  # the access layer's own 403 detail



def routes(app: Flask) -> list[tuple[str, Rule]]:
    """(method, rule) for every route the app serves."""
    return sorted(
        ((method, rule) for rule in app.url_map.iter_rules()
         for method in rule.methods - {"HEAD", "OPTIONS"}),
        key=lambda pair: (pair[1].rule, pair[0]),
    )


def policy_key(method: str, rule: Rule) -> str:
    return f"{method} {rule.rule}"


def dummy_url(rule: Rule) -> str:
    """The rule with a value of the right type for each variable (ids that match nothing)."""
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            values[name] = 987654
        elif isinstance(converter, PathConverter):
            values[name] = "no-such-file.css"
        else:
            values[name] = str(uuid.UUID(int=0))
    _, path = rule.build(values, append_unknown=False)
    return path


def is_api(rule: Rule) -> bool:
    return rule.rule.startswith("/api/")


def call(client, method: str, rule: Rule, person):
    """One request as ``person`` (None: anonymous): a bearer token for the API, a session for pages."""
    headers = {}
    if person is not None and is_api(rule):
        headers = person.headers
    with client.session_transaction() as session:
        session.clear()
        if person is not None and not is_api(rule):
            session["user_id"] = person.id
            session["generation"] = generation(client.application, person)  # POST /logout moves it on
            session["last_seen"] = datetime.now(timezone.utc).isoformat()
    kwargs = {"json": {}} if is_api(rule) and method in {"POST", "PUT", "PATCH"} else {}
    return client.open(dummy_url(rule), method=method, headers=headers, **kwargs)


def generation(app, person) -> int:
    """The person's session generation now: a session cookie from an earlier one opens nothing."""
    from triage.extensions import db
    from triage.record.tables import User

    with app.app_context():
        return db.session.get(User, person.id).session_generation


def is_sign_in_redirect(response) -> bool:
    return response.status_code in (302, 303) and "/login" in response.headers.get("Location", "")


def _refused_anonymous(response, rule: Rule) -> str | None:
    if is_api(rule):
        if response.status_code != 401 or response.mimetype != "application/problem+json":
            return f"anonymous got {response.status_code} {response.mimetype}, not a 401 problem"
    elif not (is_sign_in_redirect(response) or response.status_code == 401):
        return f"anonymous got {response.status_code}, not sent to sign in"
    return None


def _refused_role(response, rule: Rule) -> str | None:
    if response.status_code == 403:
        return None
    if not is_api(rule) and response.status_code in (302, 303):
        return None
    return f"got {response.status_code}, not 403"


def walk(app, client, people, check) -> list[str]:
    """Call every route as everyone; ``check`` returns a complaint or None. All complaints are returned."""
    complaints = []
    for method, rule in routes(app):
        roles = access.POLICY.get(policy_key(method, rule))
        if roles is None:
            complaints.append(f"{policy_key(method, rule)} is missing from access.POLICY")
            continue
        for caller in CALLERS:
            person = people[caller] if caller else None
            response = call(client, method, rule, person)
            complaint = check(rule, roles, caller, response)
            if complaint:
                complaints.append(f"{method} {rule.rule} as {caller or 'anonymous'}: {complaint}")
    return complaints


def _access_layer_check(rule, roles, caller, response) -> str | None:
    if roles == access.PUBLIC:
        return None if response.status_code == 204 else f"public route got {response.status_code}"
    if caller is None:
        return _refused_anonymous(response, rule)
    if caller in roles:
        return None if response.status_code == 204 else f"allowed role got {response.status_code}"
    return _refused_role(response, rule)


def _real_view_check(rule, roles, caller, response) -> str | None:
    if response.status_code >= 500:
        return f"got {response.status_code}"
    allowed = roles == access.PUBLIC or caller in roles
    if not allowed:
        return _refused_anonymous(response, rule) if caller is None else _refused_role(response, rule)
    # (a view may send someone to sign in on purpose, as logging out does; the access layer's
    # redirect is the one that carries next=)
    if response.status_code == 401 or (is_sign_in_redirect(response) and "next=" in response.headers["Location"]):
        return f"allowed but got {response.status_code}"
    if response.status_code == 403 and ACCESS_REFUSAL in response.get_data(as_text=True):
        return "allowed by POLICY but refused by the access layer"
    return None


def test_every_route_is_in_the_policy_table(app):
    missing = [policy_key(m, r) for m, r in routes(app) if policy_key(m, r) not in access.POLICY]
    assert missing == [], f"add these to access.POLICY: {missing}"


def test_the_policy_names_only_known_roles(app):
    for key, roles in access.POLICY.items():
        assert roles == access.PUBLIC or roles <= set(ROLES), key


def test_the_access_layer_does_what_the_policy_says(app, client, people):
    def reached(**_kwargs):
        return "", 204

    for endpoint in list(app.view_functions):
        app.view_functions[endpoint] = reached
    complaints = walk(app, client, people, _access_layer_check)
    assert complaints == [], "\n".join(complaints)


def test_with_the_real_views_allowed_roles_get_in_and_others_are_refused(app, client, people):
    complaints = walk(app, client, people, _real_view_check)
    assert complaints == [], "\n".join(complaints)


def test_the_walk_covers_the_api_and_the_pages(app):
    keys = {policy_key(m, r) for m, r in routes(app)}
    assert {"POST /api/v1/contacts", "GET /api/v1/contacts", "GET /api/v1/contacts/<contact_id>",
            "GET /healthz", "GET /readyz", "GET /api/openapi.json"} <= keys


def test_api_routes_take_a_token_not_a_session(app, client, people):
    """A signed-in browser session does not authenticate an API call (no CSRF on the API)."""
    with client.session_transaction() as session:
        session["user_id"] = people["practitioner"].id
        session["generation"] = 0  # a fresh account's session generation
        session["last_seen"] = datetime.now(timezone.utc).isoformat()
    response = client.get("/api/v1/contacts")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_an_idle_session_is_signed_out(app, client, people):
    idle = app.config["SESSION_IDLE_MINUTES"]
    protected = next((r for m, r in routes(app) if m == "GET" and not is_api(r)
                      and access.POLICY.get(policy_key(m, r), access.PUBLIC) != access.PUBLIC
                      and "practitioner" in access.POLICY[policy_key(m, r)] and not r.arguments), None)
    if protected is None:
        pytest.skip("no signed-in page exists yet")
    with client.session_transaction() as session:
        session["user_id"] = people["practitioner"].id
        session["generation"] = 0  # a fresh account's session generation
        session["last_seen"] = datetime(2000, 1, 1, tzinfo=timezone.utc).isoformat()
    response = client.get(protected.rule)
    assert is_sign_in_redirect(response) or response.status_code == 401, (idle, response.status_code)


def test_a_route_missing_from_the_policy_is_refused_to_everyone(app, people):
    @app.get("/api/v1/throwaway")
    def throwaway_api():
        return {"reached": True}

    @app.get("/throwaway")
    def throwaway_page():
        return "reached"

    client = app.test_client()
    for path in ("/api/v1/throwaway", "/throwaway"):
        for person in (None, *people.values()):
            headers = person.headers if person else {}
            if person is not None:
                with client.session_transaction() as session:
                    session["user_id"] = person.id
                    session["generation"] = 0  # a fresh account's session generation
                    session["last_seen"] = datetime.now(timezone.utc).isoformat()
            response = client.get(path, headers={**headers, "Accept": "application/json"})
            assert response.status_code == 403, (path, person and person.role, response.status_code)
            assert b"reached" not in response.get_data()
