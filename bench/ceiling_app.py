"""The smallest Flask JSON endpoint there is: the ceiling ``bench_http.py`` compares o2o against.

    .venv/bin/gunicorn -w 2 -b 127.0.0.1:8001 --chdir bench ceiling_app:app

It answers every path under ``/api/v1/stores/nearby`` (and ``/``) with ``{"ok": true}``, so the
very same wrk command and Lua script (same query strings) can be pointed at it and at o2o.
"""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
@app.get("/api/v1/stores/nearby")
def ok():
    return jsonify({"ok": True})
