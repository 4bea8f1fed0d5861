"""The application factory, as in the Flask tutorial.

``create_app``: settings from the
environment, extensions bound with ``init_app``, blueprints registered, the council's
threshold guidance loaded (a broken file stops start-up) and the model loaded if it can be.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from triage.api.openapi import Api
from triage.engine.recommend import load_recommender
from triage.extensions import db, migrate
from triage.http import access, body_limit, bulk_priority, headers, ids, problems
from triage.record import canonical, txn
from triage.record.schema import MIGRATIONS
from triage.record.write_turns import TurnTakingConnection
from triage.services import security
from triage.settings import load_settings


def _sqlite_serialised_writes(engine) -> None:
    """SQLite: WAL, and the write lock taken at BEGIN by every transaction that may write.

    pysqlite's own transaction handling is turned off. A transaction that may write starts with
    BEGIN IMMEDIATE: two requests racing for the same contact are serialised, which is what
    makes the optimistic version check and the audit chain safe on the embedded store. A
    read-only request (``GET``/``HEAD``) starts with a plain BEGIN and reads WAL's snapshot
    without waiting for writers; what it must write goes through ``txn.writing`` (record/txn.py).
    A writer takes its turn before BEGIN IMMEDIATE, so writers queue instead of sleeping
    (record/write_turns.py).
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        statement = txn.begin_statement()
        driver = conn.connection.driver_connection
        if statement == "BEGIN" or not isinstance(driver, TurnTakingConnection):
            conn.exec_driver_sql(statement)
            return
        driver.take_turn()  # given back when the transaction ends (its commit or rollback)
        try:
            conn.exec_driver_sql(statement)
        except BaseException:
            driver.give_back_turn()
            raise


#: Writes that read and compute first without SQLite's write lock, then write in ``txn.write_phase``:
#: intake, whose scoring would otherwise hold the lock while every other writer waits.
READS_FIRST = frozenset({"contacts.create_contact"})


def _read_only_requests(app: Flask) -> None:
    """GET and HEAD requests (and ``READS_FIRST`` writes, until their write phase) read without SQLite's
    write lock (``txn``); a no-op on PostgreSQL."""
    from flask import g, request

    @app.before_request
    def _begin_reading():
        if request.endpoint in READS_FIRST:
            g._txn_reads_first = txn.start_reads_first()
            db.session.rollback()  # end anything begun before; the next transaction begins deferred on SQLite
        elif request.method in ("GET", "HEAD"):
            g._txn_reading = txn.start_reading()
            if g._txn_reading is not None:
                db.session.rollback()  # end anything begun before; the next transaction begins deferred

    @app.teardown_request
    def _end_reading(_exc):
        token = g.pop("_txn_reading", None)
        if token is not None:
            db.session.rollback()
            txn.stop_reading(token)
        tokens = g.pop("_txn_reads_first", None)
        if tokens is not None:
            db.session.rollback()
            txn.stop_reads_first(tokens)


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(load_settings(instance_path=Path(app.instance_path)))
    app.config.from_mapping(overrides or {})
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # writers queue for the write lock (record/write_turns.py); SQLite's own wait stays behind it
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30, "factory": TurnTakingConnection}}
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # Every server-side cursor the service opens (exports, audit-verify) is read to its end, so
        # plan for all its rows, not PostgreSQL's default first tenth: a fast-start plan made a
        # year's training file wait 0.5 s for its households at 200,000 contacts.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"],
                                                   "connect_args": {"options": "-c cursor_tuple_fraction=1"}}
    # JSON columns stored as the record's canonical text: audit-verify hashes it as it stands
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"],
                                               "json_serializer": canonical.storage_json}
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _sqlite_serialised_writes(db.engine)
    migrate.init_app(app, db, directory=MIGRATIONS)

    app.extensions["recommender"] = load_recommender(app.config)
    security.warm_up()  # sign-in's stand-in hash, so the first unknown email is not slower

    headers.init_app(app)  # first: every answer, refusals included, gets its headers and nonce
    body_limit.init_app(app)  # the body limit, chunked or not, with a 413 the client can read
    if app.config["PROXY_HOPS"]:  # behind nginx: the client's address and scheme from its headers
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    ids.init_app(app)  # before any route: ids in paths bounded by what the database holds
    api = Api(app)
    problems.init_app(app)  # after Api: our problem documents replace its error format
    _read_only_requests(app)  # before access: a GET's token or session is looked up without the write lock
    access.init_app(app)
    bulk_priority.init_app(app)  # reports and exports yield the CPU to intake

    from triage import web
    from triage.api.checks import blp as checks_blp
    from triage.api.children import blp as children_blp
    from triage.api.contacts import blp as contacts_blp
    from triage.api.decisions import blp as decisions_blp
    from triage.api.feedback import blp as feedback_blp
    from triage.api.guidance import blp as guidance_blp
    from triage.api.health import bp as health_bp
    from triage.api.model import blp as model_blp
    from triage.api.queues import blp as queues_blp
    from triage.web.admin import bp as admin_pages
    from triage.web.feedback import bp as reports_pages

    for blueprint in (contacts_blp, decisions_blp, checks_blp, queues_blp, feedback_blp, model_blp, children_blp,
                      guidance_blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(health_bp)
    web.init_app(app)  # the pages: GOV.UK templates, CSRF on every form outside /api/
    app.register_blueprint(reports_pages)  # feedback, partner reports, dashboard, exports
    app.register_blueprint(admin_pages)  # people and access: accounts and API tokens

    from triage.cli import triage_cli

    app.cli.add_command(triage_cli)
    return app
