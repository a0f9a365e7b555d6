"""WSGI entry point: ``gunicorn app:app``, ``flask --app app run`` and ``flask --app app COMMAND``."""

import sys

from o2o.cli import register_commands
from o2o.web import create_app
from o2o.web.startup import setup_for

try:
    app = create_app(setup=setup_for(sys.argv))  # a command waits for a server's set-up; `db …` touches nothing
except Exception as exc:
    # Say why first: `flask` would otherwise report some failures only as "Could not import 'app'".
    print(f"o2o: could not build the app: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    raise
register_commands(app)
