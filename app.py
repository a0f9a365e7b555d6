"""WSGI entry point: ``flask --app app run`` or ``gunicorn app:app``."""

from o2o.cli import register_commands
from o2o.web import create_app

app = create_app()
register_commands(app)
