"""``flask --app wsgi triage ...`` (spec sections 4 and 5): people, tokens, the schema and demo data."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, inspect, select

from triage.app import create_app
from triage.extensions import db
from triage.record.tables import ApiToken, Contact, Event, Organisation, User
from triage.services import security


def triage(runner, *args: str):
    return runner.invoke(args=["triage", *args])


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- create-user ---------------------------------------------------------------------------------

def test_create_user_makes_a_partner_and_its_new_organisation(app, runner):
    result = triage(runner, "create-user", "PC4471@Police.Example", "--role", "partner",
                    "--organisation", "North Police")
    assert result.exit_code == 0, result.output
    assert "pc4471@police.example" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "pc4471@police.example"))
        assert (user.role, user.organisation.name) == ("partner", "North Police")
        assert user.password_hash is None  # token only: no way to sign in to the pages


def test_create_user_reuses_an_organisation_that_exists(app, runner):
    for email in ("a@police.example", "b@police.example"):
        assert triage(runner, "create-user", email, "--role", "partner", "--organisation", "North Police").exit_code == 0
    assert count(app, Organisation) == 1


def test_create_user_with_a_password_stores_only_an_argon2id_hash(app, runner):
    result = triage(runner, "create-user", "sw@council.example", "--role", "practitioner",
                    "--password", "a long demo password")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "sw@council.example"))
        assert user.password_hash.startswith("$argon2id$")
        assert "a long demo password" not in user.password_hash
        assert security.check_password(user.password_hash, "a long demo password")
        assert not security.check_password(user.password_hash, "a wrong password")
        assert user.organisation is None


def test_a_partner_needs_an_organisation(app, runner):
    result = triage(runner, "create-user", "x@police.example", "--role", "partner")
    assert result.exit_code != 0
    assert "--organisation: Enter the partner's organisation" in result.output
    assert count(app, User) == 0


@pytest.mark.parametrize("again", ["dup@council.example", "DUP@Council.example "])
def test_a_duplicate_email_is_an_error(app, runner, again):
    assert triage(runner, "create-user", "dup@council.example", "--role", "manager").exit_code == 0
    result = triage(runner, "create-user", again, "--role", "admin")
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert count(app, User) == 1


def test_an_unknown_role_is_an_error(app, runner):
    result = triage(runner, "create-user", "x@council.example", "--role", "director")
    assert result.exit_code != 0
    assert count(app, User) == 0


# --- create-token --------------------------------------------------------------------------------

def test_create_token_prints_the_token_last_and_it_works(app, runner, client):
    triage(runner, "create-user", "pc@police.example", "--role", "partner", "--organisation", "Demo Police")
    result = triage(runner, "create-token", "pc@police.example")
    assert result.exit_code == 0, result.output
    assert result.output.endswith("\n") and not result.output.endswith("\n\n")
    token = result.output.splitlines()[-1]
    assert token.startswith(security.TOKEN_PREFIX) and " " not in token
    assert client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {token}x"}).status_code == 401


def test_tokens_are_stored_only_as_hashes_and_each_is_new(app, runner):
    triage(runner, "create-user", "m@council.example", "--role", "manager")
    tokens = [triage(runner, "create-token", "M@council.example").output.splitlines()[-1] for _ in range(2)]
    assert tokens[0] != tokens[1]
    with app.app_context():
        rows = db.session.scalars(select(ApiToken)).all()
        assert {r.token_hash for r in rows} == {hashlib.sha256(t.encode()).hexdigest() for t in tokens}
        stored = " ".join(f"{r.token_hash} {r.prefix}" for r in rows)
        assert all(t not in stored for t in tokens)


def test_create_token_for_nobody_is_an_error(app, runner):
    result = triage(runner, "create-token", "nobody@council.example")
    assert result.exit_code != 0
    assert "no user" in result.output
    assert count(app, ApiToken) == 0


# --- init-db and seed-demo -----------------------------------------------------------------------

def test_init_db_creates_the_schema_and_is_safe_to_run_again(tmp_path):
    fresh = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.db'}"})
    runner = fresh.test_cli_runner()
    for _ in range(2):
        result = triage(runner, "init-db")
        assert result.exit_code == 0, result.output
        assert "up to date" in result.output
    with fresh.app_context():
        tables = set(inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert {"contacts", "children", "users", "organisations", "api_tokens", "events", "alembic_version"} <= tables


def test_init_db_on_the_test_database_changes_nothing(app, runner, people):
    users = count(app, User)
    assert triage(runner, "init-db").exit_code == 0
    assert triage(runner, "init-db").exit_code == 0
    assert count(app, User) == users


def test_init_db_refreshes_postgresqls_statistics_only_after_an_upgrade(app, runner, monkeypatch):
    """A migration that rewrote rows leaves PostgreSQL's planner and index-only scans behind until a VACUUM."""
    from triage.record import schema

    ran = []
    monkeypatch.setattr(schema, "refresh_statistics", lambda engine: ran.append(engine.dialect.name))
    assert triage(runner, "init-db").exit_code == 0 and ran == []  # already up to date: nothing to refresh
    monkeypatch.setattr(schema, "store_revisions", lambda connection: frozenset({"0018_review_queue_facts"}))
    result = triage(runner, "init-db")
    assert result.exit_code == 0, result.output
    with app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"
    assert ran == (["postgresql"] if postgresql else [])
    assert ("VACUUM ANALYZE" in result.output) == postgresql


def test_refreshing_statistics_runs_outside_a_transaction_on_postgresql_and_not_on_sqlite(app):
    from triage.record import schema

    with app.app_context():
        assert schema.refresh_statistics(db.engine) == (db.engine.dialect.name == "postgresql")


def test_seed_demo_is_refused_in_production_and_stores_nothing(app, runner):
    app.config["TRIAGE_ENV"] = "production"
    users, contacts = count(app, User), count(app, Contact)
    result = triage(runner, "seed-demo", "--contacts", "2")
    assert result.exit_code != 0
    assert result.output.strip().count("\n") == 0 and "production" in result.output
    assert (count(app, User), count(app, Contact)) == (users, contacts)


def test_seed_demo_makes_people_and_contacts_and_is_safe_to_run_again(app, runner, client):
    first = triage(runner, "seed-demo", "--contacts", "6")
    assert first.exit_code == 0, first.output
    assert "Demo sign-ins" in first.output and "police@demo.invalid" in first.output
    with app.app_context():
        roles = set(db.session.scalars(select(User.role)).all())
    assert roles == {"practitioner", "manager", "partner", "agency", "admin"}
    contacts, users, events = count(app, Contact), count(app, User), count(app, Event)
    assert contacts >= 4  # the shared examples at least

    second = triage(runner, "seed-demo", "--contacts", "6")
    assert second.exit_code == 0, second.output
    assert "already stored" in second.output
    assert (count(app, Contact), count(app, User), count(app, Event)) == (contacts, users, events)

    token = triage(runner, "create-token", "police@demo.invalid").output.splitlines()[-1]
    page = client.get("/api/v1/contacts?per_page=200", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert page["total"] >= 1
    assert {item["organisation"] for item in page["items"]} == {"Demo Police"}


def test_a_revoked_token_no_longer_opens_the_api(app, runner, client):
    assert runner.invoke(args=["triage", "create-user", "pc9@police.example", "--role", "partner",
                               "--organisation", "Demo Police"]).exit_code == 0
    token = runner.invoke(args=["triage", "create-token", "pc9@police.example"]).output.splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/contacts", headers=headers).status_code == 200
    result = runner.invoke(args=["triage", "revoke-token", token[:8]])
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/contacts", headers=headers).status_code == 401
    assert runner.invoke(args=["triage", "revoke-token", token[:8]]).exit_code != 0


# --- deactivate-user and the record of account changes -------------------------------------------

def access_events(app) -> list[dict]:
    with app.app_context():
        return [{"actor_id": e.actor_id, "actor": e.actor, "contact_id": e.contact_id, **e.data}
                for e in db.session.scalars(select(Event).where(Event.kind == "access_changed").order_by(Event.seq))]


def test_deactivate_user_stops_sign_in_sessions_and_tokens(app, runner, client):
    assert triage(runner, "create-user", "leaver@council.example", "--role", "practitioner",
                  "--password", "a long demo password").exit_code == 0
    token = triage(runner, "create-token", "leaver@council.example").output.splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    signed_in = client.post("/login", data={"email": "leaver@council.example", "password": "a long demo password"})
    assert signed_in.status_code == 302
    assert client.get("/contacts").status_code == 200
    assert client.get("/api/v1/contacts", headers=headers).status_code == 200

    result = triage(runner, "deactivate-user", "Leaver@Council.example")
    assert result.exit_code == 0, result.output
    assert "deactivated practitioner leaver@council.example" in result.output

    assert client.get("/contacts").status_code == 302  # the open session ends at its next request
    assert client.get("/api/v1/contacts", headers=headers).status_code == 401
    again = client.post("/login", data={"email": "leaver@council.example", "password": "a long demo password"})
    assert again.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "leaver@council.example")).is_active is False

    second = triage(runner, "deactivate-user", "leaver@council.example")
    assert second.exit_code == 0 and "already deactivated" in second.output
    assert [e["action"] for e in access_events(app)] == ["user_created", "token_issued", "user_deactivated"]


def test_deactivate_user_for_nobody_is_an_error(app, runner):
    result = triage(runner, "deactivate-user", "nobody@council.example")
    assert result.exit_code != 0
    assert "no user" in result.output


def test_the_commands_record_each_account_change_by_id_with_no_actor(app, runner):
    triage(runner, "create-user", "pc1@police.example", "--role", "partner", "--organisation", "North Police")
    token = triage(runner, "create-token", "pc1@police.example").output.splitlines()[-1]
    triage(runner, "revoke-token", token[:8])
    triage(runner, "deactivate-user", "pc1@police.example")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "pc1@police.example"))
        token_id = db.session.scalar(select(ApiToken.id))
    events = access_events(app)
    assert [e["action"] for e in events] == ["user_created", "token_issued", "token_revoked", "user_deactivated"]
    for event in events:
        assert (event["actor_id"], event["actor"], event["contact_id"]) == (None, None, None)
        assert (event["user_id"], event["role"]) == (user.id, "partner")
        assert "police.example" not in str(event)  # ids, never the email
    assert events[1]["token_id"] == events[2]["token_id"] == token_id
    result = triage(runner, "audit-verify")
    assert result.exit_code == 0, result.output
    assert "4 events verified" in result.output


def test_create_user_refuses_a_short_password(app, runner):
    result = triage(runner, "create-user", "sw@council.example", "--role", "practitioner", "--password", "short")
    assert result.exit_code != 0
    assert "--password: Password must be 12 characters or more" in result.output
    assert count(app, User) == 0


def test_create_token_for_a_deactivated_user_is_an_error(app, runner):
    triage(runner, "create-user", "m@council.example", "--role", "manager")
    triage(runner, "deactivate-user", "m@council.example")
    result = triage(runner, "create-token", "m@council.example")
    assert result.exit_code != 0
    assert "deactivated" in result.output
    assert count(app, ApiToken) == 0


def test_set_password_gives_a_new_password_and_refuses_a_short_one(app, runner, client):
    assert triage(runner, "create-user", "sw@council.example", "--role", "practitioner",
                  "--password", "the first long password").exit_code == 0
    short = triage(runner, "set-password", "sw@council.example", "--password", "short")
    assert short.exit_code != 0 and "--password: Password must be 12 characters or more" in short.output
    result = triage(runner, "set-password", "SW@council.example", "--password", "the second long password")
    assert result.exit_code == 0, result.output
    assert client.post("/login", data={"email": "sw@council.example",
                                       "password": "the second long password"}).status_code == 302
    assert [e["action"] for e in access_events(app)] == ["user_created", "password_set"]
