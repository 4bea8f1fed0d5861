"""Settings from the environment (spec section 5) and the health probes."""

from __future__ import annotations

import pytest

from triage.app import create_app
from triage.settings import DEV_AUDIT_KEY, DEV_IDENTIFIER_KEY, DEV_SECRET, SettingsError, load_settings

GOOD_SECRET = "b" * 16 + "9f2c41d7e8a05b36"
GOOD_IDENTIFIER_KEY = "c" * 16 + "41d7e8a05b369f2c"
GOOD_AUDIT_KEY = "d" * 16 + "41d7e8a05b369f2c"


@pytest.fixture
def production(monkeypatch, tmp_path):
    monkeypatch.setenv("TRIAGE_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.db'}")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("TRIAGE_IDENTIFIER_KEY", GOOD_IDENTIFIER_KEY)
    monkeypatch.setenv("TRIAGE_AUDIT_KEY", GOOD_AUDIT_KEY)


@pytest.mark.parametrize(("secret", "why"), [
    (None, "missing"),
    ("", "empty"),
    (DEV_SECRET, "the development default"),
    ("x" * 31, "shorter than 32 characters"),
])
def test_production_refuses_to_start_without_its_own_secret(production, monkeypatch, secret, why):
    if secret is not None:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(SettingsError, match="SECRET_KEY of at least 32 characters"):
        create_app()


@pytest.mark.parametrize("key", [None, "", DEV_AUDIT_KEY, "k" * 31])
def test_production_refuses_to_start_without_its_own_audit_key(production, monkeypatch, key):
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)
    monkeypatch.delenv("TRIAGE_AUDIT_KEY", raising=False)
    if key is not None:
        monkeypatch.setenv("TRIAGE_AUDIT_KEY", key)
    with pytest.raises(SettingsError, match="TRIAGE_AUDIT_KEY of at least 32 characters"):
        create_app()


def test_production_starts_with_a_good_secret(production, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)
    app = create_app()
    assert app.config["SECRET_KEY"] == GOOD_SECRET
    assert app.config["TRIAGE_ENV"] == "production"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["TESTING"] is False
    assert app.test_client().get("/healthz").status_code == 200
    assert app.config["IDENTIFIER_KEY"] == GOOD_IDENTIFIER_KEY


@pytest.mark.parametrize(("key", "why"), [
    (None, "missing"),
    ("", "empty"),
    (DEV_IDENTIFIER_KEY, "the development default"),
    ("k" * 31, "shorter than 32 characters"),
])
def test_production_refuses_to_start_without_its_own_identifier_key(production, monkeypatch, key, why):
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)
    if key is None:
        monkeypatch.delenv("TRIAGE_IDENTIFIER_KEY")
    else:
        monkeypatch.setenv("TRIAGE_IDENTIFIER_KEY", key)
    with pytest.raises(SettingsError, match="TRIAGE_IDENTIFIER_KEY of at least 32 characters"):
        create_app()


def test_production_refuses_the_session_secret_as_the_identifier_key(production, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("TRIAGE_IDENTIFIER_KEY", GOOD_SECRET)
    with pytest.raises(SettingsError, match="must differ from SECRET_KEY"):
        create_app()


@pytest.mark.parametrize("env", ["development", "test"])
def test_development_and_test_start_without_a_secret(monkeypatch, env):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("TRIAGE_IDENTIFIER_KEY", raising=False)
    settings = load_settings(env)
    assert settings["SECRET_KEY"] == DEV_SECRET
    assert settings["IDENTIFIER_KEY"] == DEV_IDENTIFIER_KEY
    assert settings["SESSION_COOKIE_SECURE"] is False


def test_an_unknown_environment_is_refused(monkeypatch):
    monkeypatch.setenv("TRIAGE_ENV", "staging")
    with pytest.raises(SettingsError, match="development, test or production"):
        load_settings()


@pytest.mark.parametrize(("given", "used"), [
    ("postgresql://u@db.example:5432/triage", "postgresql+psycopg://u@db.example:5432/triage"),
    ("postgres://u:p@db.example/triage", "postgresql+psycopg://u:p@db.example/triage"),
    ("postgresql+psycopg://u@db.example/triage", "postgresql+psycopg://u@db.example/triage"),
    ("sqlite:////var/lib/triage/triage.db", "sqlite:////var/lib/triage/triage.db"),
])
def test_database_url_is_mapped_to_psycopg_3(monkeypatch, given, used):
    monkeypatch.setenv("DATABASE_URL", given)
    assert load_settings("development")["SQLALCHEMY_DATABASE_URI"] == used


def test_without_database_url_the_store_is_sqlite_under_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = load_settings("development", instance_path=tmp_path)["SQLALCHEMY_DATABASE_URI"]
    assert url == f"sqlite:///{tmp_path / 'triage.db'}"


def test_the_body_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRIAGE_MAX_BODY_BYTES", "2048")
    assert load_settings("test")["MAX_CONTENT_LENGTH"] == 2048


# --- health probes --------------------------------------------------------------------------------

def test_healthz_says_the_process_is_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_says_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["database"] == "reachable"


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://nobody@127.0.0.1:9/nowhere?connect_timeout=2",
    "sqlite:////nonexistent-directory/for/triage.db",
])
def test_readyz_is_503_when_the_database_is_unreachable(url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}
    assert client.get("/healthz").status_code == 200  # the process itself is still up
