"""The smallest Flask JSON endpoint there is: the ceiling ``bench_http.py`` compares o2o against.

    .venv/bin/gunicorn -w 2 -b 127.0.0.1:8001 --chdir bench ceiling_app:app

``/api/v1/stores/nearby`` (and ``/``) answer ``{"ok": true}`` whatever the query string, so the
very same wrk command and Lua script (same query strings) can be pointed at it and at o2o.

``/ceiling/body`` answers the bytes of the file named by ``CEILING_BODY_FILE`` (read once), as
``application/geo+json``: ``bench_http.py`` saves a real nearby response there, so this second
baseline costs what sending a nearby-sized body through Flask and gunicorn costs, and nothing else.
"""

import os

from flask import Flask, jsonify

app = Flask(__name__)
_body: bytes | None = None


@app.get("/")
@app.get("/api/v1/stores/nearby")
def ok():
    return jsonify({"ok": True})


@app.get("/ceiling/body")
def body():
    global _body
    if _body is None:
        path = os.environ.get("CEILING_BODY_FILE")
        _body = open(path, "rb").read() if path else b"{}"
    return app.response_class(_body, mimetype="application/geo+json")
