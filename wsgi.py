"""WSGI entry point: ``gunicorn -c config/gunicorn.conf.py wsgi:app`` or ``flask --app wsgi``."""

from triage import create_app

app = create_app()
