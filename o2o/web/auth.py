"""Who is asking: ``Authorization: Bearer KEY`` for scripts, a signed session cookie for pages.

A session is made by a person signing in with e-mail and password (``/login``, :mod:`.people`) or,
as before, by pasting a key. A person's session remembers a fingerprint of their password hash, so
a new password ends their other sessions; disabling a person ends theirs at the next request.
Roles: any caller may read; a write (POST, PATCH, PUT, DELETE) needs an editor or owner; a view can
ask for more (``require(kind, role="owner")``).

A session made by signing in with a key remembers the key's fingerprint, so rotating or revoking
the key ends the session too; signing out records the session's id on the server, so a copy of
the cookie taken before stops working as well. Requests that change data through a session must carry the
session's CSRF token (header ``X-CSRFToken`` or form field ``csrf_token``); Bearer requests need
none, since a browser never adds that header by itself.
"""

from __future__ import annotations

import functools
import secrets
import time

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from wtforms import ValidationError

from ..services import accounts, people
from .errors import ApiError, PageText, error_page
from .limits import FAILED_KEYS
from .state import repo

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SESSION_KEY = "principal"


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="o2o"'})


def bearer_key() -> str | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise _unauthorized("use Authorization: Bearer <key>")
    return key.strip()


def _fresh_csrf() -> None:
    """A new CSRF token in the fresh session at once. The session is permanent and every answer
    re-sends its cookie as its request had it: without this, an answer to a request sent between
    the sign-in and the console (the service worker's precache, say) could come back last and put
    a signed-in cookie without any token back, and the console's first write would fail its CSRF
    check ("The CSRF session token is missing")."""
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    generate_csrf()


def sign_in(key: str) -> accounts.Principal | None:
    principal = accounts.authenticate(repo(), key)
    if principal is not None:
        session.clear()
        # ``sid`` names this sign-in, so that signing out can end it on the server too: the
        # cookie alone is stateless, and a copy taken before sign-out would otherwise stay valid.
        session[SESSION_KEY] = {"kind": principal.kind, "id": principal.id, "fp": principal.key_fingerprint,
                                "sid": secrets.token_urlsafe(18), "at": int(time.time())}
        session.permanent = True
        _fresh_csrf()
    return principal


def sign_in_person(user: dict) -> None:
    """A fresh session for a person who has just proved their password (or set it)."""
    session.clear()
    session[SESSION_KEY] = {"user": user["id"], "fp": people.fingerprint(user["password_hash"]),
                            "sid": secrets.token_urlsafe(18), "at": int(time.time())}
    session.permanent = True
    _fresh_csrf()


def sign_out() -> None:
    data = session.pop(SESSION_KEY, None)
    if data and data.get("sid"):
        lifetime = current_app.permanent_session_lifetime.total_seconds()
        repo().end_session(data["sid"], int(data.get("at", time.time()) + lifetime) + 60)


def session_principal() -> accounts.Principal | None:
    data = session.get(SESSION_KEY)
    if not data:
        return None
    if "user" in data:
        return _person_principal(data)
    table = accounts.KINDS["r" if data.get("kind") == "retailer" else "a"]
    row = repo().principal_by_id(table, int(data.get("id", 0)))
    if not row or not row.get("key_hash") or row["key_hash"][:16] != data.get("fp"):
        session.pop(SESSION_KEY, None)  # key rotated or revoked since
        return None
    if not data.get("sid") or repo().session_ended(data["sid"]):
        session.pop(SESSION_KEY, None)  # signed out (this cookie is a copy of an ended session)
        return None
    return accounts.Principal(kind=data["kind"], id=row["id"], name=row["name"],
                              domains=tuple(row.get("domains") or ()), key_fingerprint=data["fp"])


def _person_principal(data: dict) -> accounts.Principal | None:
    user = repo().get_user(int(data.get("user") or 0))
    if user is None or user["disabled_at"] or people.fingerprint(user["password_hash"]) != data.get("fp") \
            or not user["password_hash"]:
        session.pop(SESSION_KEY, None)  # disabled, or the password changed since
        return None
    if not data.get("sid") or repo().session_ended(data["sid"]):
        session.pop(SESSION_KEY, None)
        return None
    return people.principal_for(repo(), user)


def check_csrf() -> None:
    token = request.headers.get("X-CSRFToken") or request.form.get("csrf_token")
    try:
        validate_csrf(token)
    except (ValidationError, CSRFError) as exc:
        raise ApiError(403, "csrf_failed", f"CSRF check failed: {exc}", "csrf_token") from None


def current_principal() -> accounts.Principal | None:
    """The caller, from a Bearer key or else the session (CSRF-checked for writes)."""
    key = bearer_key()
    if key is not None:
        principal = accounts.authenticate(repo(), key)
        if principal is None:
            # Keys are 256 random bits, so guessing is hopeless; still, a client that keeps
            # sending wrong keys is slowed down (per address; right keys are never counted).
            allowed, retry_s = current_app.extensions["o2o_limits"].hit(FAILED_KEYS, "failed-key",
                                                                      request.remote_addr or "")
            if not allowed:
                raise ApiError(429, "rate_limited", f"too many wrong keys: at most {FAILED_KEYS.replace('/', ' per ')}",
                               headers={"Retry-After": str(retry_s)})
            raise _unauthorized("the API key is not valid (unknown, rotated or revoked)")
        return principal
    principal = session_principal()
    if principal is not None and request.method not in SAFE_METHODS:
        check_csrf()
    return principal


def require(kind: str, role: str | None = None):
    """Decorator: the view needs a retailer (or an analyst); 401 without one, 403 for the other kind.

    ``role``: the least role the view needs (viewer, editor, owner); by default a viewer for reads
    and an editor for anything else, so a viewer can never change data."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            article = "an" if kind[0] in "aeiou" else "a"
            if principal is None:
                raise _unauthorized(f"this needs {article} {kind}'s API key: Authorization: Bearer <key>")
            if principal.kind != kind:
                raise ApiError(403, "forbidden", f"this needs {article} {kind}'s key, not a {principal.kind}'s"
                               if principal.kind == "retailer" else f"this needs {article} {kind}'s key, "
                               f"not an {principal.kind}'s")
            needed = role or ("viewer" if request.method in SAFE_METHODS else "editor")
            if not principal.can(needed):
                raise ApiError(403, "forbidden_role", f"your role ({principal.role}) cannot do this: it needs "
                               f"{'an' if needed[0] in 'aeiou' else 'a'} {needed}" + (" or owner" if needed == "editor"
                                                                                    else ""), "role")
            g.principal = principal
            g.o2o_private = True  # answered with Cache-Control: no-store
            return view(*args, **kwargs)

        return wrapper

    return decorate


def csrf_token() -> str:
    return generate_csrf()


def form_sign_in(kind: str, signin_template: str, home_endpoint: str):
    """The sign-in form's POST for a page of ``kind`` (retailer or analyst): CSRF-checked, then
    a session on success; the form again with a 401 on a wrong key."""
    g.lang_base = url_for(home_endpoint)  # the language switch on the answer leads to the form's page
    try:
        validate_csrf(request.form.get("csrf_token"))
    except (ValidationError, CSRFError):  # forged, or expired: the form again, with a fresh token
        flash(_("Your sign-in form expired: please try again."), "error")
        return render_template(signin_template, csrf_token=csrf_token()), 400
    principal = sign_in(request.form.get("key", ""))
    if principal is None or principal.kind != kind:
        sign_out()
        flash(_("That key is not a valid retailer key.") if kind == "retailer"
              else _("That key is not a valid analyst key."), "error")
        return render_template(signin_template, csrf_token=csrf_token()), 401
    return redirect(url_for(home_endpoint), 303)


def form_sign_out(home_endpoint: str):
    """The sign-out form's POST: CSRF-checked, so no other site can sign anyone out."""
    try:
        validate_csrf(request.form.get("csrf_token"))
    except (ValidationError, CSRFError):
        g.lang_base = url_for(home_endpoint)
        return error_page(400, PageText(_("This sign-out form expired: go back, reload the page and try again.")))
    sign_out()
    return redirect(url_for(home_endpoint), 303)
