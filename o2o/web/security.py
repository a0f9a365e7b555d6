"""Security headers on every answer, and the Content-Security-Policy of the pages.

Pages may run only the app's own scripts: files from this origin (``/static``, ``/vendor``) and
the few inline blocks the server writes itself (folium's map scripts, the offline basemap's call),
which carry this response's nonce. Nothing else runs: no injected ``<script>``, no ``onerror=``
attribute, no ``javascript:`` URL, no script from another host. Images may come from the tile
server ``O2O_TILES`` names, and from nowhere else outside the app. No other site may frame a
page, and forms post only to the app.

Styles: Leaflet and its plugins position every tile, marker and popup with inline ``style``
attributes, and folium's map header writes ``<style>`` blocks, so ``style-src`` keeps
``'unsafe-inline'`` (styles cannot run script; a nonce there would switch ``'unsafe-inline'`` off
and break the maps).

JSON, CSV and image answers get ``default-src 'none'``: should a browser ever render one as a
page, nothing in it loads or runs; the API's JSON comes as an attachment (``api.json``) too.
Whatever a retailer or an analyst sees (their consoles, anything asked for with a key) is
``Cache-Control: no-store``. Over https (an https ``O2O_PUBLIC_URL``) the session cookie is
``Secure`` and named with the ``__Host-`` prefix, and every answer carries HSTS.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, g, request
from markupsafe import Markup

_SCRIPT_TAG = re.compile(r"<script(?=[\s>])", re.I)
_NONE_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def csp_nonce() -> str:
    """This response's nonce for inline scripts (made on first use, one per request)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def with_nonce(html: str) -> Markup:
    """Trusted server-written HTML (folium's map pieces) with this response's nonce on every
    ``<script>`` tag. Never use it on text that came from a user: folium's pieces hold store
    names only escaped (:func:`o2o.maps.inert_text`), so no ``<script`` can come from them."""
    return Markup(_SCRIPT_TAG.sub(f'<script nonce="{csp_nonce()}"', str(html)))


def tile_sources(template: str | None) -> list[str]:
    """CSP sources for a Leaflet tile URL template: its scheme and host, with a ``{s}``-style
    placeholder label turned into a ``*.`` wildcard; nothing for ``none`` or no template.

    >>> tile_sources("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png")
    ['https://*.tile.openstreetmap.org']
    >>> tile_sources("https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}&style=8")
    ['https://*.is.autonavi.com']
    >>> tile_sources("none"), tile_sources("/tiles/{z}/{x}/{y}.png")
    ([], [])
    """
    if not template or template == "none":
        return []
    parts = urlsplit(template.replace("{s}", "SUBDOMAIN"))
    if parts.scheme not in ("http", "https", "") or not parts.hostname:
        return []  # a path on this origin: 'self' covers it
    labels = parts.hostname.split(".")
    if any("{" in label or "SUBDOMAIN" in label.upper() for label in labels):
        first = max(i for i, label in enumerate(labels) if "{" in label or "SUBDOMAIN" in label.upper())
        labels = ["*"] + labels[first + 1:]
    if not re.fullmatch(r"(\*\.)?[A-Za-z0-9.-]+", ".".join(labels)):
        return []
    port = f":{parts.port}" if parts.port else ""
    scheme = f"{parts.scheme}://" if parts.scheme else ""  # "//host/…": the page's own scheme
    return [f"{scheme}{'.'.join(labels)}{port}"]


def page_policy(tiles: str | None, nonce: str | None) -> str:
    scripts = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    images = " ".join(["'self'", "data:", "blob:", *tile_sources(tiles)])
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        "script-src-attr 'none'",
        "style-src 'self' 'unsafe-inline'",
        f"img-src {images}",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


ALWAYS = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
          ("Referrer-Policy", "strict-origin-when-cross-origin"), ("Cross-Origin-Opener-Policy", "same-origin"),
          ("Permissions-Policy", "geolocation=(self), camera=(), microphone=(), payment=()")]
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
API_DOWNLOAD = ("Content-Disposition", 'attachment; filename="api.json"')


def api_data_headers(secure: bool, download: bool = True) -> list[tuple[str, str]]:
    """What the hook below adds to a public answer of JSON or GeoJSON that set none of these
    headers itself (for the WSGI-level paths, :mod:`o2o.web.fastpath`); ``download``: below
    ``/api/`` (an attachment if opened as a page)."""
    return [*ALWAYS, ("Content-Security-Policy", _NONE_POLICY), *((HSTS,) if secure else ()),
            *((API_DOWNLOAD,) if download else ())]


def init(app: Flask) -> None:
    """Add the headers to every response, the nonce helpers to templates, and secure cookies
    when the app is served over https (``O2O_PUBLIC_URL``)."""
    settings = app.config["O2O"]
    https = str(settings.get("PUBLIC_URL") or "").startswith("https://")
    if https:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["SESSION_COOKIE_NAME"] = "__Host-o2o_session"  # this host only, path /, Secure
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["with_nonce"] = with_nonce

    always, hsts = ALWAYS, HSTS

    @app.after_request
    def _security_headers(response):
        # One pass over the headers a view set, then plain appends: this runs on every answer,
        # the nearby searches included, and each ``setdefault`` would scan the list again.
        headers = response.headers
        present = {key.lower() for key, _ in headers.items()}
        mimetype = response.mimetype
        extra = [h for h in always if h[0].lower() not in present]
        if mimetype == "text/html":
            headers["Content-Security-Policy"] = page_policy(settings.get("TILES"), g.get("csp_nonce"))
        elif mimetype != "application/pdf" and "content-security-policy" not in present:
            extra.append(("Content-Security-Policy", _NONE_POLICY))  # (the PDF viewer needs its plug-in)
        if (request.is_secure or https) and "strict-transport-security" not in present:
            extra.append(hsts)
        path = request.path
        if mimetype in ("application/json", "application/geo+json") and path.startswith("/api/") \
                and "content-disposition" not in present:
            extra.append(API_DOWNLOAD)
        headers.extend(extra)
        if g.get("o2o_private") or "Authorization" in request.headers or path.startswith(("/retailer", "/analytics")):
            headers["Cache-Control"] = "no-store"  # a retailer's or analyst's data stays out of caches
        return response
