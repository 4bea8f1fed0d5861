"""Settings read from the environment, in the cookiecutter-flask style.

Three profiles: development (the default, SQLite under ``instance/``), test and
production. Production refuses to start without its own ``SECRET_KEY`` because a
default key would let anyone forge a session cookie, nor without its own
``TRIAGE_IDENTIFIER_KEY``, which keys the hashes of children's identifiers.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "dev-only-not-secret"
# Keys the HMAC of children's identifiers (services/identity.py). Production must bring its own:
# with this public default anyone could hash a guessed NHS number and find the child's record.
DEV_IDENTIFIER_KEY = "dev-only-identifier-key-not-secret"
#: The audit chain's HMAC key in development and tests. Production must set its own
#: ``TRIAGE_AUDIT_KEY``, kept outside the database, or anyone who can write the database could
#: re-hash a rewritten chain.
DEV_AUDIT_KEY = "dev-only-audit-key-not-secret"


class SettingsError(RuntimeError):
    """The environment does not describe a service that may start."""


def _database_url(instance_path: Path) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Heroku-style URLs name the driver-less scheme; psycopg 3 is the one we ship.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://") :]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url
    return f"sqlite:///{instance_path / 'triage.db'}"


def load_settings(env: str | None = None, instance_path: Path | None = None) -> dict:
    """Return the Flask config mapping for ``env`` (default: ``TRIAGE_ENV`` or development)."""
    env = env or os.environ.get("TRIAGE_ENV", "development")
    if env not in {"development", "test", "production"}:
        raise SettingsError(f"TRIAGE_ENV must be development, test or production, not {env!r}")
    instance_path = instance_path or PROJECT_ROOT / "instance"
    secret = os.environ.get("SECRET_KEY", "")
    if env == "production" and (not secret or secret == DEV_SECRET or len(secret) < 32):
        raise SettingsError(
            "TRIAGE_ENV=production needs its own SECRET_KEY of at least 32 characters "
            "(for example: python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    identifier_key = os.environ.get("TRIAGE_IDENTIFIER_KEY", "")
    if env == "production" and (not identifier_key or identifier_key == DEV_IDENTIFIER_KEY
                                or len(identifier_key) < 32):
        raise SettingsError(
            "TRIAGE_ENV=production needs its own TRIAGE_IDENTIFIER_KEY of at least 32 characters, "
            "different from SECRET_KEY, to key the hashes of children's NHS numbers and UPNs"
        )
    if env == "production" and identifier_key == secret:
        raise SettingsError("TRIAGE_IDENTIFIER_KEY must differ from SECRET_KEY")
    audit_key = os.environ.get("TRIAGE_AUDIT_KEY", "")
    if env == "production" and (not audit_key or audit_key == DEV_AUDIT_KEY or len(audit_key) < 32):
        raise SettingsError(
            "TRIAGE_ENV=production needs its own TRIAGE_AUDIT_KEY of at least 32 characters, kept outside "
            "the database (for example: python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    retention = os.environ.get("TRIAGE_RETENTION_NFA_MONTHS", "72")
    if not retention.isdigit() or not 1 <= int(retention) <= 1200:
        raise SettingsError("TRIAGE_RETENTION_NFA_MONTHS must be a whole number of months from 1 to 1200 "
                            f"(the council's retention period for contacts that led to no further action), "
                            f"not {retention!r}")
    return {
        "TRIAGE_ENV": env,
        "IDENTIFIER_KEY": identifier_key or DEV_IDENTIFIER_KEY,
        "AUDIT_KEY": audit_key or DEV_AUDIT_KEY,
        "TESTING": env == "test",
        "SECRET_KEY": secret or DEV_SECRET,
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # A contact is a few KiB; 512 KiB leaves room for a 20,000-character narrative
        # and twelve children while refusing anything that is clearly not a contact.
        "MAX_CONTENT_LENGTH": int(os.environ.get("TRIAGE_MAX_BODY_BYTES", 512 * 1024)),
        # Requests per API token per window. A police force's overnight batch of a few hundred
        # contacts goes through in one go; a runaway client or a stolen token is slowed to this.
        "API_RATE_LIMIT": int(os.environ.get("TRIAGE_API_RATE_LIMIT", 1000)),
        "API_RATE_WINDOW_SECONDS": int(os.environ.get("TRIAGE_API_RATE_WINDOW_SECONDS", 600)),
        # Reads a worker counts in memory before adding them to the shared count in one write
        # (services/ratelimit.py): a token may pass its limit by batch - 1 reads per worker; 1 is exact.
        "API_RATE_BATCH": int(os.environ.get("TRIAGE_API_RATE_BATCH", 10)),
        # How long a contact that led to no further action (confirmed at level 1) keeps its personal
        # content after the outcome was confirmed; `flask triage apply-retention` enforces it.
        "RETENTION_NFA_MONTHS": int(retention),
        # Proxies in front of gunicorn whose X-Forwarded-For/-Proto are trusted (1 behind the nginx
        # site in config/); without this every sign-in would seem to come from 127.0.0.1.
        "PROXY_HOPS": int(os.environ.get("TRIAGE_PROXY_HOPS", 0)),
        # The nice value added to a thread serving a report or an export, so intake beside it gets the
        # CPU first (http/bulk_priority.py); 0 serves them at intake's priority.
        "BULK_NICE": int(os.environ.get("TRIAGE_BULK_NICE", 19)),
        "THRESHOLDS_PATH": os.environ.get(
            "TRIAGE_THRESHOLDS", str(PROJECT_ROOT / "config" / "thresholds.yaml")
        ),
        "MODELS_DIR": os.environ.get("TRIAGE_MODELS_DIR", str(PROJECT_ROOT / "models")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env == "production",
        "SESSION_IDLE_MINUTES": int(os.environ.get("TRIAGE_SESSION_IDLE_MINUTES", 30)),
        "WTF_CSRF_ENABLED": env != "test" or os.environ.get("TRIAGE_TEST_CSRF") == "1",
        # OpenAPI document and interactive docs (flask-smorest); the UI is served from
        # our own static files so nothing is fetched from a CDN at run time.
        "API_TITLE": "Front door triage",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/static/vendor/swagger-ui/",
    }
