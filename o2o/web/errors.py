"""The contract's error format: ``{"error": {"code", "message", "field"}}`` with a 4xx status.

Messages are English unless the client asks for Chinese (:mod:`o2o.web.api_messages`)."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext
from werkzeug.exceptions import HTTPException

from ..storage import Conflict, StorageFull, database_unavailable


class ApiError(Exception):
    """An error a client caused; rendered as JSON with its HTTP status."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict | None = None, **extra):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}
        self.extra = extra

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        body.update(self.extra)
        return {"error": body}


def invalid(field: str, message: str) -> ApiError:
    return ApiError(400, "invalid_parameter", message, field)


def not_found(message: str = "not found") -> ApiError:
    return ApiError(404, "not_found", message)


class PageText(str):
    """An error description a page view has already put in the page's language (``abort(404,
    description=PageText(_("…")))``): an error page shows it instead of its status's general message."""


# What an error page says, by status, in the page's language (API errors keep their own
# English message in JSON; a page shows these instead, since that message is for programs).
_PAGE_TITLES = {
    400: lazy_gettext("Bad request"), 401: lazy_gettext("Sign-in needed"), 403: lazy_gettext("Not allowed"),
    404: lazy_gettext("Not found"), 405: lazy_gettext("Not supported"), 409: lazy_gettext("Conflict"),
    410: lazy_gettext("Gone"), 413: lazy_gettext("Too large"), 429: lazy_gettext("Too many requests"),
    500: lazy_gettext("Server error"), 503: lazy_gettext("Unavailable"), 507: lazy_gettext("Storage full"),
}
_PAGE_MESSAGES = {
    400: lazy_gettext("Something in that request was not right."),
    401: lazy_gettext("Please sign in first."),
    403: lazy_gettext("You are not allowed to do that."),
    404: lazy_gettext("There is no such page."),
    405: lazy_gettext("That page cannot be used this way."),
    409: lazy_gettext("That clashes with something already there."),
    410: lazy_gettext("This store has closed."),
    413: lazy_gettext("That file is too large."),
    429: lazy_gettext("Too many requests: please wait a moment and try again."),
    500: lazy_gettext("Something went wrong."),
    503: lazy_gettext("The service is busy or restarting: please try again shortly."),
    507: lazy_gettext("Our storage is full: nothing was saved. Please try again later."),
}


def error_page(status: int, description=None, headers=None):
    """An HTML error page in the page's language: the view's own words when it gave them
    (:class:`PageText`), else the general message for the status."""
    title = _PAGE_TITLES.get(status) or (_PAGE_TITLES[400] if status < 500 else _PAGE_TITLES[500])
    if isinstance(description, PageText):
        message = str(description)
    else:
        message = _PAGE_MESSAGES.get(status) or (_PAGE_MESSAGES[400] if status < 500 else _PAGE_MESSAGES[500])
    return render_template("error.html", status=status, title=title, message=message), status, headers or {}


_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 410: "gone", 413: "payload_too_large",
          415: "unsupported_media_type", 422: "unprocessable", 429: "rate_limited", 503: "unavailable",
          507: "storage_full"}


def _wants_json() -> bool:
    path = request.path
    if path.startswith(("/api/", "/healthz", "/geodata/", "/vendor/", "/tiles/")):
        return True
    if path.startswith("/ogc"):  # OGC API - Features: JSON unless f=html or the client prefers HTML
        best = request.accept_mimetypes.best_match(["application/json", "text/html"])
        return request.args.get("f") != "html" and (request.args.get("f") == "json" or best != "text/html"
                                                      or request.accept_mimetypes["application/json"] >= 1)
    if path.startswith("/go/"):  # JSON for programs, a page for a phone's browser
        return request.accept_mimetypes.best_match(["application/json", "text/html"]) != "text/html" \
            or request.accept_mimetypes["text/html"] < 1
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def register(app: Flask) -> None:
    from ..services.importer import ImportError_
    from ..services.registry import Forbidden, NotFound
    from ..services.validation import FieldProblem
    from .api_messages import localise_error

    @app.errorhandler(FieldProblem)
    def _field_problem(err: FieldProblem):
        field, message = err.problems[0]
        extra = dict(err.extra)
        if len(err.problems) > 1:
            extra["errors"] = [{"field": f, "message": m} for f, m in err.problems]
        return _api_error(ApiError(err.status, err.code, message, field, **extra))

    @app.errorhandler(NotFound)
    def _not_found(err):
        return _api_error(ApiError(404, "not_found", str(err)))

    @app.errorhandler(Forbidden)
    def _forbidden(err):
        return _api_error(ApiError(403, "forbidden", str(err)))

    @app.errorhandler(ImportError_)
    def _bad_file(err):
        return _api_error(ApiError(400, "invalid_file", str(err), err.field, **getattr(err, "extra", {})))

    @app.errorhandler(Conflict)
    def _conflict(err: Conflict):
        # A unique key taken by a concurrent write that a unit of work could not turn into an update.
        field = err.columns[-1]
        return _api_error(ApiError(409, "conflict", f"{field} is already taken: another write stored the same "
                                                    "value first", field))

    @app.errorhandler(StorageFull)
    def _storage_full(err: StorageFull):
        app.logger.error("storage full on %s %s: %s", request.method, request.path, err.__cause__ or err)
        return _api_error(ApiError(507, "storage_full", "the database's storage is full: nothing was stored; "
                                                        "try again later", headers={"Retry-After": "60"}))

    @app.errorhandler(ApiError)
    def _api_error(err: ApiError):
        if not _wants_json():
            return error_page(err.status, headers=err.headers)
        response = jsonify(localise_error(err.to_dict()))
        response.status_code = err.status
        response.headers.update(err.headers)
        response.vary.add("Accept-Language")
        return response

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        status = err.code or 500
        if _wants_json():
            message = err.description
            body = {"error": {"code": _CODES.get(status, "error"), "message": message}}
            if status == 413:
                limit_mb = (app.config.get("MAX_CONTENT_LENGTH") or 0) / 1024 / 1024
                upload = request.path.endswith("/import")
                body["error"]["message"] = f"the {'upload' if upload else 'body'} is too large (at most {limit_mb:g} MB)"
                body["error"]["field"] = "file" if upload else "body"
            response = jsonify(localise_error(body))
            response.status_code = status
            response.vary.add("Accept-Language")
            if status == 405 and err.valid_methods:
                response.headers["Allow"] = ", ".join(err.valid_methods)
            return response
        return error_page(status, err.description)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):  # a defect: log it, answer without leaking internals
        if database_unavailable(err):
            # Not a defect: the database is restarting, failing over, or locked by a long writer.
            # Nothing was half-written (each write is one transaction); the client may retry.
            app.logger.warning("database unavailable on %s %s: %s", request.method, request.path, err)
            return _api_error(ApiError(503, "database_unavailable",
                                       "the database is busy or unreachable; try again shortly",
                                       headers={"Retry-After": "2"}))
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_json():
            return jsonify(localise_error({"error": {"code": "internal_error",
                                                     "message": "internal server error"}})), 500
        return error_page(500)
