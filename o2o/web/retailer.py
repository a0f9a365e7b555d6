"""``/retailer``: retailers sign in with their key and manage their stores in the browser.

The page itself only signs in and out; everything else it does through the same JSON API that
scripts use, authenticated by the session cookie plus the CSRF token.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from ..seed.catalogue import CATEGORIES
from ..services import importer
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
                                                                "domains": list(principal.domains),
                                                                "role": principal.role, "actor": principal.actor},
                                                      importFields=list(importer.COLUMN_FIELDS)))


@bp.post("/sign-in")
@limit(SIGN_IN)
def sign_in():
    return auth.form_sign_in("retailer", "retailer_signin.html", "retailer.home")


@bp.post("/sign-out")
def sign_out():
    return auth.form_sign_out("retailer.home")
