"""``/retailer``: retailers sign in with their key and manage their stores in the browser.

The page itself only signs in and out; everything else it does through the same JSON API that
scripts use, authenticated by the session cookie plus the CSRF token.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from ..seed.catalogue import CATEGORIES
from . import auth
from .limits import SIGN_IN, limit
from .pages import _client_config
from .state import repo

bp = Blueprint("retailer", __name__, url_prefix="/retailer")


@bp.get("")
def home():
    principal = auth.session_principal()
    if principal is None or principal.kind != "retailer":
        return render_template("retailer_signin.html", csrf_token=auth.csrf_token())
    categories = sorted({c for c, _ in repo().category_counts()} | set(CATEGORIES))
    return render_template("retailer.html", retailer=principal, csrf_token=auth.csrf_token(),
                           categories=categories,
                           config_json=_client_config(retailer={"id": principal.id, "name": principal.name,
                                                                "domains": list(principal.domains)}))


@bp.post("/sign-in")
@limit(SIGN_IN)
def sign_in():
    try:
        validate_csrf(request.form.get("csrf_token"))
    except (ValidationError, CSRFError):
        flash("Your sign-in form expired: please try again.", "error")
        return redirect(url_for("retailer.home"), 303)
    principal = auth.sign_in(request.form.get("key", ""))
    if principal is None or principal.kind != "retailer":
        auth.sign_out()
        flash("That key is not a valid retailer key.", "error")
        return render_template("retailer_signin.html", csrf_token=auth.csrf_token()), 401
    return redirect(url_for("retailer.home"), 303)


@bp.post("/sign-out")
def sign_out():
    try:
        validate_csrf(request.form.get("csrf_token"))
    except (ValidationError, CSRFError):
        return redirect(url_for("retailer.home"), 303)
    auth.sign_out()
    return redirect(url_for("retailer.home"), 303)
