"""WSGI entry point: ``gunicorn -c config/gunicorn.conf.py wsgi:app`` or ``flask --app wsgi``.

A configuration the service must not run with (a broken threshold guidance file, production
without its own secret) stops start-up with one line saying what is wrong, not a traceback.
"""

import sys

from triage.app import create_app
from triage.engine.guidance_config import GuidanceConfigError
from triage.settings import SettingsError

try:
    app = create_app()
except (GuidanceConfigError, SettingsError) as exc:
    sys.exit(f"triage cannot start: {exc}")
