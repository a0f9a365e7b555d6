"""What a store may look like when a retailer sends one: types, ranges, formats, each error named.

One pydantic model checks a store whether it comes as JSON from the API, as a row of a CSV file
or as a GeoJSON feature, so every door applies the same rules and names the same fields.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..geo import crs as crs_mod
from ..geo.hours import HoursError, normalise_hours, normalise_special

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PHONE = re.compile(r"^[0-9+()\-\s/,，转#*]{3,40}$")
# A number written as text, as people and programs write one ("31.23", "-1e3"), or a non-finite
# word, which gets its own message. Python's float() would also take "3_1" or "٣١", which nobody
# means as a coordinate.
NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:nan|inf|infinity)",
                         re.IGNORECASE)
READ_ONLY = {"id", "retailer_id", "retailer", "province", "city", "district", "created_at", "updated_at",
             "distance_m", "go_url", "brand_slug", "open_now", "nav", "url"}


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def has_lone_surrogate(raw: bytes | str, parsed) -> bool:
    """Whether JSON text decoded to strings holding a lone UTF-16 surrogate (``"\\udfff"``), which no
    UTF-8 text (our database, our answers) can hold. Cheap unless the text escapes a surrogate."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if not _SURROGATE_ESCAPE.search(raw):
        return False
    try:
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class FieldProblem(ValueError):
    """Problems with named fields: ``[(field, message), …]``."""

    def __init__(self, problems: list[tuple[str, str]], status: int = 400, code: str = "invalid_parameter",
                 **extra):
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems
        self.status = status
        self.code = code
        self.extra = extra


def _text(value: Any) -> Any:
    if isinstance(value, str):
        if _CONTROL.search(value):
            raise ValueError("must not contain control characters")
        return value.strip()
    return value


class StoreFields(BaseModel):
    """Every writable field, all optional: :func:`clean_store` decides which are required."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)

    external_id: str | None = Field(None, min_length=1, max_length=64)
    name: str | None = Field(None, min_length=1, max_length=120)
    brand: str | None = Field(None, min_length=1, max_length=80)
    category: str | None = Field(None, min_length=1, max_length=60)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    crs: crs_mod.Crs | None = None
    address: str | None = Field(None, max_length=300)
    hours: str | None = Field(None, max_length=100)
    special_hours: str | None = Field(None, max_length=2000)
    phone: str | None = Field(None, max_length=40)
    online_url: str | None = Field(None, max_length=500)
    status: Literal["open", "closed"] | None = None
    allow_duplicate: bool = False

    @field_validator("external_id", "name", "brand", "category", "address", "hours", "special_hours", "phone",
                     "online_url", mode="before")
    @classmethod
    def _no_control_characters(cls, value):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("must be text, not a non-finite number")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # a store code or phone number a spreadsheet turned into a number
        return _text(value)

    @field_validator("external_id", "name", "brand", "category")
    @classmethod
    def _not_blank(cls, value):
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("crs", mode="before")
    @classmethod
    def _crs(cls, value):
        if value is None:
            return None
        return crs_mod.normalise_crs(str(value))

    @field_validator("hours")
    @classmethod
    def _hours(cls, value):
        if value in (None, ""):
            return None
        try:
            return normalise_hours(value)
        except HoursError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("special_hours")
    @classmethod
    def _special_hours(cls, value):
        """Festival hours: dated exceptions, canonical (``2026-11-10 10:00-02:00; 2026-11-12 closed``)."""
        if value in (None, ""):
            return None
        try:
            return normalise_special(value)
        except HoursError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value):
        if value in (None, ""):
            return None
        if not _PHONE.match(value):
            raise ValueError("must be a telephone number (digits, spaces, + - ( ))")
        return value

class FieldError(ValueError):
    """A validator's error that names its own field (a model check about one of several fields)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


# What a pydantic error kind means, after the field's name. The one mapping from pydantic's
# errors to the API's messages (the store fields and the query parameters alike); every shape
# has its Chinese template in o2o/web/api_messages.py.
_MESSAGES = {
    "missing": "is required",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "finite_number": "must be a finite number",
    "string_type": "must be text",
    "string_too_short": "must not be empty",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "extra_forbidden": "is not a store field",  # only the store models refuse unknown fields
}
_RANGE = {"greater_than_equal", "less_than_equal", "greater_than", "less_than", "int_parsing_size"}


def _bounds(model: type[BaseModel], field: str) -> tuple[Any, Any]:
    info = model.model_fields.get(field)
    metadata = info.metadata if info is not None else ()
    lo = next((m.ge for m in metadata if getattr(m, "ge", None) is not None), None)
    hi = next((m.le for m in metadata if getattr(m, "le", None) is not None), None)
    return lo, hi


def _problem(model: type[BaseModel], err: dict) -> tuple[str, str]:
    loc = [str(p) for p in err.get("loc", ()) if not isinstance(p, int)]
    field = loc[0] if loc else "body"
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if isinstance(ctx.get("error"), FieldError):
        return ctx["error"].field, ctx["error"].message
    lo, hi = _bounds(model, field) if kind in _RANGE else (None, None)
    if lo is not None and hi is not None:
        message = f"must be between {lo:g} and {hi:g}"
    elif kind == "string_too_long":
        message = f"is too long (at most {ctx.get('max_length')} characters)"
    elif kind == "literal_error":  # "'json', 'geojson' or 'csv'"
        message = "must be " + str(ctx.get("expected", "")).replace("'", "")
    elif kind == "value_error":
        message = str(err.get("msg", "")).removeprefix("Value error, ")
    elif kind in _MESSAGES:
        message = _MESSAGES[kind]
    else:
        return field, f"{field}: {err.get('msg', 'invalid value')}"
    return field, message if message.startswith(field) else f"{field} {message}"


def field_problems(model: type[BaseModel], exc: ValidationError) -> list[tuple[str, str]]:
    """Every problem of a pydantic error as ``(field, message)``, the message naming the field.

    >>> try:
    ...     StoreFields.model_validate({"lat": 91, "status": "gone"})
    ... except ValidationError as exc:
    ...     field_problems(StoreFields, exc)
    [('lat', 'lat must be between -90 and 90'), ('status', 'status must be open or closed')]
    """
    return [_problem(model, err) for err in exc.errors()]


def check_online_url(url: str, domains: tuple[str, ...] | list[str]) -> str | None:
    """None if ``url`` is https on one of ``domains`` (or a sub-domain), else the reason."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "online_url is not a valid URL"
    if parts.scheme != "https":
        return "online_url must be an https:// URL"
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.username or parts.password or not host or " " in url:
        return "online_url is not a valid URL"
    if not any(host == d or host.endswith("." + d) for d in domains):
        return f"online_url must point to one of the retailer's domains ({', '.join(domains) or 'none registered'})"
    return None


def clean_store(data: dict, domains: tuple[str, ...] | list[str], partial: bool = False,
                convert: bool = True) -> dict:
    """Validate a store's fields; returns them cleaned (lat/lon in WGS-84) or raises FieldProblem.

    ``partial`` is for PATCH: only the fields given are checked and returned. With
    ``convert=False`` the coordinates stay as sent, with ``crs`` kept, for a caller that converts
    many rows at once (the importer).
    """
    if not isinstance(data, dict):
        raise FieldProblem([("body", "the body must be a JSON object of store fields")])
    data = {("lon" if k == "lng" else k): v for k, v in data.items() if k not in READ_ONLY}
    for key in ("lat", "lon"):
        value = data.get(key)
        if isinstance(value, bool):
            raise FieldProblem([(key, f"{key} must be a number")])
        if isinstance(value, str):
            value = value.strip()
            if value and not NUMBER_TEXT.fullmatch(value):
                raise FieldProblem([(key, f"{key} must be a number (decimal degrees, e.g. 31.2304)")])
            data[key] = None if value == "" else value
    try:
        fields = StoreFields.model_validate(data)
    except ValidationError as exc:
        raise FieldProblem(field_problems(StoreFields, exc)) from None
    given = fields.model_dump(exclude_unset=True)
    problems = []
    if not partial:
        for required in ("name", "brand", "category", "lat", "lon"):
            if given.get(required) is None:
                problems.append((required, f"{required} is required"))
    if ("lat" in given) != ("lon" in given):
        missing = "lon" if "lat" in given else "lat"
        problems.append((missing, f"{missing} is required when moving a store (send lat and lon)"))
    if given.get("online_url"):
        reason = check_online_url(given["online_url"], domains)
        if reason:
            problems.append(("online_url", reason))
    if problems:
        raise FieldProblem(problems)
    if not convert:
        given["crs"] = given.get("crs") or crs_mod.WGS84
        return given
    if given.get("lat") is not None and given.get("lon") is not None:
        lon, lat = crs_mod.to_wgs84(given["lon"], given["lat"], given.get("crs"))
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise FieldProblem([("lat", "lat/lon could not be converted")])
        given["lon"], given["lat"] = round(lon, 7), round(lat, 7)
    given.pop("crs", None)
    return given
