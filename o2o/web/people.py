"""People: ``/login``, ``/logout``, one-time set-up links, the account page (password change, and for
an owner the team and the named API keys), and the same management as JSON (``/api/v1/users``,
``/api/v1/keys``) for scripts.

Views are thin: they check the form's CSRF token, call :mod:`o2o.services.people` and render. A
sign-in is limited three ways: ``SIGN_IN`` attempts a minute per address (any answer), failures
per address (``FAILED_SIGN_INS``, then 429), and five wrong passwords per e-mail lock it for 15
minutes (kept in the database, so every worker agrees; the same for an e-mail nobody has).
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from ..services import people
from . import auth
from .errors import ApiError, PageText, error_page
from .limits import SIGN_IN, limit
from .state import repo

bp = Blueprint("people", __name__)
FAILED_SIGN_INS = "20/15 minutes"  # wrong passwords per address, whatever the e-mail


def hasher():
    return current_app.extensions["o2o_hasher"]


def _console(principal_kind: str) -> str:
    return url_for("retailer.home") if principal_kind == "retailer" else url_for("analytics.page")


def _csrf_ok() -> bool:
    try:
        validate_csrf(request.form.get("csrf_token"))
        return True
    except (ValidationError, CSRFError):
        return False


def password_message(exc: people.PeopleError) -> str:
    """A password's problem in the page's language."""
    return {
        "too_short": _("The password must have at least %(n)d characters.", n=people.MIN_PASSWORD),
        "too_long": _("The password must have at most %(n)d characters.", n=people.MAX_PASSWORD),
        "common": _("That password is one of the most common ones: choose another."),
        "like_email": _("The password must not contain your e-mail address."),
        "mismatch": _("The two passwords differ."),
        "wrong_current": _("The current password is not right."),
        "unchanged": _("The new password is the same as the current one."),
    }.get(exc.code, _("That password cannot be used."))


def people_message(exc: people.PeopleError) -> str:
    """Any other problem with people or keys, in the page's language."""
    return {
        "bad_email": _("That is not an e-mail address."),
        "email_taken": _("That e-mail already has an account."),
        "bad_role": _("That role is not available here."),
        "last_owner": _("Someone must stay an owner: make another person owner first."),
        "unknown_user": _("There is no such person in your team."),
        "bad_key_name": _("Give the key a name of up to 60 characters."),
        "key_name_taken": _("A key with that name already exists."),
        "unknown_key": _("There is no such key."),
    }.get(exc.code) or password_message(exc)


# ----------------------------------------------------------------------------- signing in and out
@bp.get("/login")
def login_form():
    principal = auth.session_principal()
    if principal is not None:
        return redirect(_console(principal.kind), 303)
    return render_template("login.html", csrf_token=auth.csrf_token())


@bp.post("/login")
@limit(SIGN_IN)
def login():
    def again(message: str, status: int, **headers):
        return render_template("login.html", csrf_token=auth.csrf_token(), error=message,
                               email=request.form.get("email", "")[:254]), status, headers

    if not _csrf_ok():
        return again(_("Your sign-in form expired: please try again."), 400)
    limits = current_app.extensions["o2o_limits"]
    address = request.remote_addr or ""
    retry_s = limits.exhausted(FAILED_SIGN_INS, "failed-sign-in", address)
    if retry_s:
        return again(_("Too many failed sign-ins from your network: try again in %(minutes)d minutes.",
                       minutes=max(1, round(retry_s / 60))), 429, **{"Retry-After": str(retry_s)})
    try:
        user = people.sign_in(repo(), request.form.get("email", ""), request.form.get("password", ""), hasher())
    except people.SignInFailed as exc:
        if exc.code == "locked":
            retry = exc.details["retry_s"]
            return again(_("Too many wrong passwords for this account: it is locked for %(minutes)d minutes.",
                           minutes=max(1, round(retry / 60))), 429, **{"Retry-After": str(retry)})
        limits.hit(FAILED_SIGN_INS, "failed-sign-in", address)
        return again(_("Wrong e-mail or password."), 401)
    principal = people.principal_for(repo(), user)
    if principal is None:
        return again(_("Wrong e-mail or password."), 401)
    auth.sign_in_person(user)
    return redirect(_console(principal.kind), 303)


@bp.post("/logout")
def logout():
    if not _csrf_ok():
        return error_page(400, PageText(_("This sign-out form expired: go back, reload the page and try again.")))
    auth.sign_out()
    return redirect(url_for("people.login_form"), 303)


# ----------------------------------------------------------------------------- set-up links
def _link_or_error(token: str):
    try:
        return people.link_user(repo(), token)[0], None
    except people.LinkUnusable as exc:
        message = {"used": _("This set-up link has already been used. Sign in, or ask your team's owner "
                             "for a new link."),
                   "expired": _("This set-up link has expired (links last 72 hours). Ask your team's owner "
                                "for a new one.")}.get(exc.code, _("There is no such set-up link."))
        return None, error_page(exc.status, PageText(message))


@bp.get("/account/setup/<token>")
def setup_form(token: str):
    user, problem = _link_or_error(token)
    if problem:
        return problem
    g.o2o_private = True
    return render_template("account_setup.html", user=user, csrf_token=auth.csrf_token())


@bp.post("/account/setup/<token>")
@limit(SIGN_IN)
def setup(token: str):
    user, problem = _link_or_error(token)
    if problem:
        return problem
    g.o2o_private = True
    if not _csrf_ok():
        return render_template("account_setup.html", user=user, csrf_token=auth.csrf_token(),
                               error=_("Your form expired: please try again.")), 400
    try:
        user = people.complete_setup(repo(), token, request.form.get("password", ""),
                                     request.form.get("password2", ""), hasher())
    except people.LinkUnusable:
        return _link_or_error(token)[1] or error_page(410)
    except people.PasswordRejected as exc:
        return render_template("account_setup.html", user=user, csrf_token=auth.csrf_token(),
                               error=password_message(exc), error_field=exc.field), 400
    principal = people.principal_for(repo(), user)
    auth.sign_in_person(user)
    return redirect(_console(principal.kind if principal else "retailer"), 303)


# ----------------------------------------------------------------------------- the account page
def _account(principal, status: int = 200, **extra):
    org = people.Organisation(principal.kind, principal.id)
    team = people.people(repo(), org) if principal.can("owner") else []
    api_keys = people.keys(repo(), org) if principal.can("owner") else []
    return render_template("account.html", principal=principal, team=team, api_keys=api_keys,
                           roles=org.roles(), key_roles=people.KEY_ROLES, console=_console(principal.kind),
                           csrf_token=auth.csrf_token(), **extra), status


def _signed_in_person():
    principal = auth.session_principal()
    if principal is None:
        return None
    g.o2o_private = True
    return principal


@bp.get("/account")
def account():
    principal = _signed_in_person()
    if principal is None:
        return redirect(url_for("people.login_form"), 303)
    return _account(principal)


@bp.post("/account/<action>")
def account_action(action: str):
    """The account page's forms: ``password``, and for an owner ``invite``, ``person``, ``key``,
    ``revoke``. Each answers the page again with what happened (a new link or key shown once)."""
    principal = _signed_in_person()
    if principal is None:
        return redirect(url_for("people.login_form"), 303)
    g.lang_base = url_for("people.account")  # the language switch of the answer opens the page itself
    if not _csrf_ok():
        return _account(principal, 400, error=_("Your form expired: please try again."))
    form = request.form
    org = people.Organisation(principal.kind, principal.id)
    try:
        if action == "password":
            if principal.user_id is None:
                return _account(principal, 400, error=_("Signed in with a key: there is no password to change."))
            user = people.change_password(repo(), principal.user_id, form.get("current_password", ""),
                                          form.get("password", ""), form.get("password2", ""), hasher())
            auth.sign_in_person(user)  # this session goes on; every other one ends
            return _account(principal, done=_("Your password has been changed. Other sessions have been signed out."))
        if not principal.can("owner"):
            return error_page(403, PageText(_("Only an owner can manage the team and its keys.")))
        if action == "invite":
            path = people.invite(repo(), form.get("email", ""), org, form.get("role", ""))[1]
            return _account(principal, invited=form.get("email", "").strip().lower(),
                            link=request.host_url.rstrip("/") + path)
        if action == "person":
            disabled = {"disable": True, "enable": False}.get(form.get("change", ""))
            people.change_person(repo(), org, _int(form.get("id")), role=form.get("role") or None, disabled=disabled)
            return _account(principal, done=_("Saved."))
        if action == "key":
            made, key = people.create_key(repo(), org, form.get("name", ""), form.get("role", ""), principal.actor)
            return _account(principal, new_key=key, new_key_name=made["name"])
        if action == "revoke":
            people.revoke_key(repo(), org, _int(form.get("id")))
            return _account(principal, done=_("The key has been revoked."))
    except people.PeopleError as exc:
        return _account(principal, exc.status, error=people_message(exc))
    return error_page(404)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# ----------------------------------------------------------------------------- the JSON API
def _api_error(exc: people.PeopleError) -> ApiError:
    messages = {
        "bad_email": "email must be an e-mail address",
        "email_taken": "that e-mail already has an account",
        "bad_role": "role must be one of " + ", ".join(exc.details.get("roles", ())),
        "last_owner": "the team must keep an active owner: make another person owner first",
        "unknown_user": "no such person in your organisation",
        "bad_key_name": "name must be 1 to 60 characters",
        "key_name_taken": "a key with that name already exists",
        "unknown_key": "no such key in your organisation",
    }
    return ApiError(exc.status, exc.code, messages.get(exc.code, exc.code), exc.field)


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object", "body")
    return body


def _org() -> people.Organisation:
    return people.Organisation(g.principal.kind, g.principal.id)


def _owner_api(view):
    """Either kind of organisation, owners only (a session needs X-CSRFToken for writes)."""
    import functools

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        principal = auth.current_principal()
        if principal is None:
            raise ApiError(401, "unauthorized", "this needs an owner's session or API key: Authorization: Bearer <key>",
                           headers={"WWW-Authenticate": 'Bearer realm="o2o"'})
        if not principal.can("owner"):
            raise ApiError(403, "forbidden_role", f"your role ({principal.role}) cannot do this: it needs an owner",
                           "role")
        g.principal, g.o2o_private = principal, True
        try:
            return view(*args, **kwargs)
        except people.PeopleError as exc:
            raise _api_error(exc) from None

    return wrapper


@bp.get("/api/v1/users")
@_owner_api
def api_users():
    """The organisation's people (no password hashes)."""
    return jsonify({"users": people.people(repo(), _org())})


@bp.post("/api/v1/users")
@_owner_api
def api_invite():
    """Invite a person: ``{"email", "role"}`` → 201 with their one-time ``setup_path``."""
    body = _body()
    user_id, path = people.invite(repo(), str(body.get("email") or ""), _org(), str(body.get("role") or ""))
    person = next(u for u in people.people(repo(), _org()) if u["id"] == user_id)
    return jsonify({**person, "setup_path": path}), 201


@bp.patch("/api/v1/users/<int:user_id>")
@_owner_api
def api_change_person(user_id: int):
    """Change a person's ``role`` and/or ``disabled`` (true/false)."""
    body = _body()
    disabled = body.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise ApiError(400, "invalid_parameter", "disabled must be true or false", "disabled")
    role = body.get("role")
    if role is not None and not isinstance(role, str):
        raise ApiError(400, "invalid_parameter", "role must be text", "role")
    return jsonify(people.change_person(repo(), _org(), user_id, role=role, disabled=disabled))


@bp.get("/api/v1/keys")
@_owner_api
def api_keys():
    """The organisation's named API keys (never the keys themselves)."""
    return jsonify({"keys": people.keys(repo(), _org())})


@bp.post("/api/v1/keys")
@_owner_api
def api_create_key():
    """A named key: ``{"name", "role": "editor"|"viewer"}`` → 201 with the ``key``, shown this once."""
    body = _body()
    made, key = people.create_key(repo(), _org(), str(body.get("name") or ""), str(body.get("role") or "editor"),
                                  g.principal.actor)
    return jsonify({**made, "key": key}), 201


@bp.delete("/api/v1/keys/<int:key_id>")
@_owner_api
def api_revoke_key(key_id: int):
    """Revoke a named key: it stops working at once."""
    return jsonify(people.revoke_key(repo(), _org(), key_id))


def role_label(role: str) -> str:
    """A role's name in the page's language."""
    return {"owner": _("owner"), "editor": _("editor"), "viewer": _("viewer")}.get(role, role)


def init(app) -> None:
    cfg = app.config["O2O"]
    app.extensions["o2o_hasher"] = people.make_hasher(cfg["PASSWORD_MEMORY_KIB"], cfg["PASSWORD_TIME_COST"],
                                                      cfg["PASSWORD_PARALLELISM"])
    app.jinja_env.globals["role_label"] = role_label
    app.register_blueprint(bp)

