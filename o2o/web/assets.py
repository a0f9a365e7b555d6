"""The app's own static files and the front-end libraries it serves, under content-hashed URLs.

Nothing is loaded from a CDN: the machines this runs on, like many corporate intranets, have no
internet. Leaflet and its plugins are the npm packages installed at set-up; only the files under
each package's ``dist/`` are reachable (``/vendor/<package>/…``).

Every page names its scripts and styles with :func:`asset_url`, whose URL carries a hash of the
content, so a browser keeps them for a year and a new version is a new URL:

- a file under ``static/``: the hash of its bytes before the extension,
  ``/static/css/app.3f2a9c1b04.css``;
- a vendor file: the hash of its package's files as a folder, ``/vendor/leaflet/5d3c0e9a1b/leaflet.css``,
  so the relative ``url(images/marker-icon.png)`` inside Leaflet's CSS, and the marker images
  Leaflet's script finds from it, are versioned as well.

A versioned URL answers ``Cache-Control: public, max-age=31536000, immutable``. An unversioned
one, or one whose hash is not the file's (an old page after an update), gets the current file
with ``no-cache`` and an ``ETag``: a repeat costs a ``304``, never a year of a wrong file.

Text files of 1 KB or more are compressed once per process (brotli at its best quality, gzip at 9),
kept in memory and sent as the client accepts (``Vary: Accept-Encoding``); each encoding has its
own ``ETag``.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
import threading
from dataclasses import dataclass, field
from collections.abc import Callable
from pathlib import Path

import brotli
from flask import Blueprint, Flask, Response, abort, request
from werkzeug.security import safe_join

from .compression import negotiate

ROOT = Path(__file__).resolve().parent.parent.parent
STATIC = ROOT / "static"
NODE_MODULES = ROOT / "node_modules"
PACKAGES = {
    "leaflet": "leaflet/dist",
    "leaflet.markercluster": "leaflet.markercluster/dist",
    "leaflet.heat": "leaflet.heat/dist",
    "chart.js": "chart.js/dist",
}
HASH_CHARS = 10
YEAR_S = 365 * 24 * 3600
IMMUTABLE = f"public, max-age={YEAR_S}, immutable"
REVALIDATE = "no-cache"
COMPRESS_MIN_BYTES = 1024
# Types worth compressing: text (SVG and web manifests included). Images, PDFs and fonts in
# woff2 are compressed already.
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "application/geo+json",
                "application/manifest+json", "application/xml", "image/svg+xml")
# What the app's shell needs on every shopper page, besides the scripts and styles in static/.
SHELL_VENDOR = (
    "vendor/leaflet/leaflet.js",
    "vendor/leaflet/leaflet.css",
    "vendor/leaflet/images/marker-icon.png",
    "vendor/leaflet/images/marker-icon-2x.png",
    "vendor/leaflet/images/marker-shadow.png",
    "vendor/leaflet.markercluster/leaflet.markercluster.js",
    "vendor/leaflet.markercluster/MarkerCluster.css",
    "vendor/leaflet.markercluster/MarkerCluster.Default.css",
)
# Scripts in static/js/ that are not part of the shell: the service worker (it must not cache
# itself) and the staff consoles' (never kept offline, and no shopper needs them).
NOT_SHELL = ("sw.js", "retailer.js", "analytics.js")

# Brotli at its best beats the others on text; gzip for the clients without it.
STATIC_ENCODINGS = ("br", "gzip")

_HASHED_NAME = re.compile(rf"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{{{HASH_CHARS}}})(?P<ext>\.[^./]+)$")
_HASH_DIR = re.compile(rf"^(?P<hash>[0-9a-f]{{{HASH_CHARS}}})/(?P<rest>.+)$")

bp = Blueprint("assets", __name__)


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()[:HASH_CHARS]


@dataclass
class _File:
    """One file's bytes, hash and compressed forms (made on first demand, then kept)."""

    path: Path | None                # None: bytes the app made (send_bytes)
    stamp: tuple[int, int] | None    # (mtime_ns, size) when read
    body: bytes
    digest: str
    mimetype: str
    _encoded: dict[str, bytes] = field(default_factory=dict)

    @property
    def compressible(self) -> bool:
        return len(self.body) >= COMPRESS_MIN_BYTES and self.mimetype.startswith(COMPRESSIBLE)

    def encoded(self, encoding: str) -> bytes:
        data = self._encoded.get(encoding)
        if data is None:
            if encoding == "br":
                data = brotli.compress(self.body, quality=11)
            else:
                data = gzip.compress(self.body, compresslevel=9, mtime=0)
            self._encoded[encoding] = data
        return data


_lock = threading.Lock()
_files: dict[Path, _File] = {}
_blobs: dict[str, _File] = {}
_packages: dict[str, str] = {}


def _file(path: Path) -> _File:
    """The file at ``path`` as it is on disk (read again only when its time or size changed)."""
    st = path.stat()
    stamp = (st.st_mtime_ns, st.st_size)
    cached = _files.get(path)
    if cached is not None and cached.stamp == stamp:
        return cached
    with _lock:
        body = path.read_bytes()
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if mimetype == "text/javascript":
            mimetype = "application/javascript"
        entry = _File(path, stamp, body, _digest(body), mimetype)
        _files[path] = entry
        return entry


def _package_dir(package: str) -> Path:
    subdir = PACKAGES.get(package)
    if subdir is None:
        raise KeyError(package)
    return NODE_MODULES / subdir


def package_hash(package: str) -> str:
    """One hash of a vendor package's served files (names and bytes), once per process."""
    digest = _packages.get(package)
    if digest is None:
        directory = _package_dir(package)
        h = hashlib.blake2b(digest_size=16)
        for path in sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix != ".map"):
            h.update(str(path.relative_to(directory)).encode() + b"\0")
            h.update(path.read_bytes())
        digest = _packages[package] = h.hexdigest()[:HASH_CHARS]
    return digest


def asset_url(path: str) -> str:
    """The content-hashed URL of a file under ``static/``, or of ``vendor/<package>/<file>``.

    >>> asset_url("css/app.css")                    # doctest: +SKIP
    '/static/css/app.3f2a9c1b04.css'
    >>> asset_url("vendor/leaflet/leaflet.js")      # doctest: +SKIP
    '/vendor/leaflet/5d3c0e9a1b/leaflet.js'
    """
    if path.startswith("vendor/"):
        _, package, filename = path.split("/", 2)
        return f"/vendor/{package}/{package_hash(package)}/{filename}"
    digest = _file(STATIC / path).digest
    stem, dot, ext = path.rpartition(".")
    if not dot or "/" in ext:
        return f"/static/{path}?v={digest}"
    return f"/static/{stem}.{digest}.{ext}"


def shell_assets() -> list[str]:
    """The versioned URLs of the app shell: the shopper pages' scripts and every style in
    ``static/``, the favicon, Leaflet (script, style, marker images) and markercluster."""
    names = sorted(
        [str(p.relative_to(STATIC)) for p in (STATIC / "js").glob("*.js") if p.name not in NOT_SHELL]
        + [str(p.relative_to(STATIC)) for p in (STATIC / "css").glob("*.css")]
    )
    if (STATIC / "favicon.svg").is_file():
        names.append("favicon.svg")
    return [asset_url(name) for name in names + list(SHELL_VENDOR)]


def asset_version() -> str:
    """One hash of the whole shell: it changes when any file of :func:`shell_assets` does."""
    return _digest("\n".join(shell_assets()).encode())


def send_bytes(name: str, make: Callable[[], bytes], mimetype: str, cache_control: str) -> Response:
    """Bytes the app makes once per process (``make()``, called once), sent like a static file:
    compressed once at the best levels, as the client accepts, an ETag per encoding, 304.

    >>> send_bytes("geodata/provinces", lambda: outlines, "application/geo+json",
    ...            "public, max-age=86400")   # doctest: +SKIP
    """
    entry = _blobs.get(name)
    if entry is None:
        with _lock:
            entry = _blobs.get(name)
            if entry is None:
                body = make()
                entry = _blobs[name] = _File(None, None, body, _digest(body), mimetype)
    return _send(entry, cache_control=cache_control)


def _send(entry: _File, versioned: bool = False, cache_control: str | None = None) -> Response:
    """The file's answer: compressed as accepted, its variant's ETag, the cache policy."""
    encoding = None
    if entry.compressible:
        encoding = negotiate(request.headers.get("Accept-Encoding", ""), STATIC_ENCODINGS)
    tag = entry.digest if encoding is None else f"{entry.digest}-{encoding}"
    headers = {
        "Cache-Control": cache_control or (IMMUTABLE if versioned else REVALIDATE),
        "ETag": f'"{tag}"',
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    variants = (entry.digest, f"{entry.digest}-br", f"{entry.digest}-gzip")
    if any(request.if_none_match.contains_weak(v) for v in variants):
        return Response(status=304, headers=headers)
    body = entry.body if encoding is None else entry.encoded(encoding)
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    mimetype = entry.mimetype
    if mimetype.startswith("text/") or mimetype in ("application/javascript", "image/svg+xml"):
        mimetype += "; charset=utf-8"
    return Response(body, headers=headers, content_type=mimetype)


def _found(directory: Path, filename: str) -> _File:
    """The file ``filename`` under ``directory`` (never outside it, never a source map), or 404."""
    if filename.endswith(".map"):
        abort(404)
    joined = safe_join(str(directory), filename)
    if joined is None or not Path(joined).is_file():
        abort(404)
    return _file(Path(joined))


def serve_static(filename: str):
    """``/static/<filename>``, in place of Flask's own view: a name with the file's hash is for
    a year; without it, or with another hash, the current file, revalidated each time."""
    match = _HASHED_NAME.match(filename)
    if match is None or (STATIC / filename).is_file():
        return _send(_found(STATIC, filename), versioned=False)
    entry = _found(STATIC, match["stem"] + match["ext"])
    return _send(entry, versioned=entry.digest == match["hash"])


@bp.get("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str):
    try:
        directory = _package_dir(package)
    except KeyError:
        abort(404)
    if not directory.is_dir():
        abort(404, description=f"{package} is not installed: run the set-up script (npm ci)")
    match = _HASH_DIR.match(filename)
    if match is None or (directory / filename).is_file():
        return _send(_found(directory, filename), versioned=False)
    return _send(_found(directory, match["rest"]), versioned=match["hash"] == package_hash(package))


def init(app: Flask) -> None:
    """Serve ``static/`` as above, and give templates ``asset_url``."""
    app.view_functions["static"] = serve_static
    app.jinja_env.globals["asset_url"] = asset_url
    app.register_blueprint(bp)
