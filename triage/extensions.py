"""The Flask extensions, created once here and bound to the app in ``create_app``."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base shared by every table."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
# Only sign-in is limited (see ``web.views.login``); storage comes from RATELIMIT_STORAGE_URI.
limiter = Limiter(key_func=get_remote_address, key_prefix="triage")
