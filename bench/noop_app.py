"""A no-op Flask endpoint for ``bench_go.py``: ``/go/<id>`` answers ``{"ok": true}`` and does nothing."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/go/<int:store_id>")
def go(store_id):
    return jsonify({"ok": True})
