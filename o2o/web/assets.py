"""Front-end libraries served by the app itself, from the npm packages installed at set-up.

Only the files under each package's ``dist/`` are reachable. Nothing is loaded from a CDN:
the machines this runs on, like many corporate intranets, have no internet.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, send_from_directory

ROOT = Path(__file__).resolve().parent.parent.parent
NODE_MODULES = ROOT / "node_modules"
PACKAGES = {
    "leaflet": "leaflet/dist",
    "leaflet.markercluster": "leaflet.markercluster/dist",
    "leaflet.heat": "leaflet.heat/dist",
    "chart.js": "chart.js/dist",
}
ONE_WEEK_S = 7 * 24 * 3600

bp = Blueprint("assets", __name__)


@bp.get("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str):
    subdir = PACKAGES.get(package)
    if subdir is None or filename.endswith(".map"):
        abort(404)
    directory = NODE_MODULES / subdir
    if not directory.is_dir():
        abort(404, description=f"{package} is not installed: run the set-up script (npm ci)")
    return send_from_directory(directory, filename, max_age=ONE_WEEK_S)


def vendor_url(package: str, filename: str) -> str:
    """Path of a vendored file, for templates and folium (``/vendor/leaflet/leaflet.js``)."""
    return f"/vendor/{package}/{filename}"
