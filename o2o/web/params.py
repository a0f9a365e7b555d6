"""Query-string and body validation with pydantic, errors turned into the contract's format.

A model per endpoint declares each parameter's type and range once; the same models feed the
OpenAPI description, so the documentation cannot drift from what is enforced.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..geo import crs as crs_mod
from ..services.validation import NUMBER_TEXT, FieldError, field_problems
from .errors import ApiError

Name = Annotated[str, Field(min_length=1, max_length=200)]
_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits only: str.isdigit() also takes "²", which int() refuses


def store_id(raw: str) -> int:
    """A store id from a URL path; a 404 naming ``id`` for anything but 1 to 18 ASCII digits
    (so an id beyond 64 bits is unknown, never an overflow)."""
    if not _ID.fullmatch(raw):
        raise ApiError(404, "not_found", f"no store with id {raw[:40]!r}", "id")
    return int(raw)


@functools.lru_cache(maxsize=None)  # per field type, not per request
def _is_numeric(annotation) -> bool:
    return annotation in (int, float) or (bool(get_args(annotation)) and
                                           set(get_args(annotation)) <= {int, float, type(None)})


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _plain_number(cls, value, info):
        if isinstance(value, str) and _is_numeric(cls.model_fields[info.field_name].annotation):
            text = value.strip()
            if not NUMBER_TEXT.fullmatch(text):
                whole = cls.model_fields[info.field_name].annotation is int
                raise ValueError(f"{info.field_name} must be a {'whole ' if whole else ''}number")
        return value

    @field_validator("crs", mode="before", check_fields=False)
    @classmethod
    def _crs(cls, value):
        try:
            return crs_mod.normalise_crs(value)
        except ValueError as exc:
            raise ValueError(str(exc)) from None


class TileParams(_Query):
    """``/tiles/stores/{z}/{x}/{y}.mvt``: which stores (tiles are WGS-84 Web Mercator)."""

    brand: list[Name] = Field(default_factory=list, description="Exact brand name; repeatable.")
    retailer: list[Name] = Field(default_factory=list, description="Exact retailer name; repeatable.")
    category: list[Name] = Field(default_factory=list, description="Exact category name; repeatable.")


class Filtered(TileParams):
    crs: crs_mod.Crs = Field("wgs84", description="Coordinate system of the input and output.")


class NearbyParams(Filtered):
    lat: float = Field(..., ge=-90, le=90, description="Latitude of the shopper.")
    lon: float = Field(..., ge=-180, le=180, description="Longitude of the shopper.")
    k: int = Field(20, ge=1, le=200, description="How many stores at most.")
    radius_km: float | None = Field(None, ge=0, le=100,
                                    description="Only stores within this great-circle distance.")
    q: str | None = Field(None, max_length=100,
                          description="Text search as shoppers type: characters, pinyin (youyiku), initials "
                                      "(yyk), traditional characters, English in any case, a small typo, "
                                      "category words (超市), malls and streets; a province, city or district "
                                      "word (杭州, 徐汇) keeps only the stores there. Stores holding every "
                                      "word first, then the nearest.")


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``minLon,minLat,maxLon,maxLat`` as four numbers, checked; a :class:`FieldError` naming ``bbox``
    otherwise. (A function, not a model: constructing a model per request to reuse its checks cost
    more than the rest of an OGC items page, as pydantic inspects each default factory anew.)"""
    parts = text.split(",")
    if len(parts) != 4:
        raise FieldError("bbox", "bbox must be four numbers: minLon,minLat,maxLon,maxLat")
    try:
        if not all(NUMBER_TEXT.fullmatch(p.strip()) for p in parts):
            raise ValueError
        w, s, e, n = (float(p) for p in parts)
    except ValueError:
        raise FieldError("bbox", "bbox must be four numbers: minLon,minLat,maxLon,maxLat") from None
    if not all(math.isfinite(v) for v in (w, s, e, n)):
        raise FieldError("bbox", "bbox values must be finite numbers")
    if not (-180 <= w <= 180 and -180 <= e <= 180):
        raise FieldError("bbox", "bbox longitudes must be between -180 and 180")
    if not (-90 <= s <= 90 and -90 <= n <= 90):
        raise FieldError("bbox", "bbox latitudes must be between -90 and 90")
    if w > e or s > n:
        raise FieldError("bbox", "bbox must list the minimum before the maximum (minLon,minLat,maxLon,maxLat)")
    return w, s, e, n


class ViewportParams(Filtered):
    bbox: str = Field(..., description="minLon,minLat,maxLon,maxLat", examples=["121.40,31.18,121.55,31.28"])
    zoom: float | None = Field(None, ge=0, le=22, description="Map zoom level; decides clustering.")

    @model_validator(mode="after")
    def _check_bbox(self):
        self.bounds()  # raises a ValueError naming bbox
        return self

    def bounds(self) -> tuple[float, float, float, float]:
        return parse_bbox(self.bbox)


# An optional viewport of the analytics views (heat map, demand): declared by each model where its
# fields want it, read through :class:`InViewport`.
OptionalBbox = Annotated[str | None, Field(description="Only this viewport: minLon,minLat,maxLon,maxLat")]


class InViewport:
    """For a query model with a ``bbox: OptionalBbox`` field: :meth:`bounds` checks it as
    :class:`ViewportParams` does, after validation (a 400 naming ``bbox``)."""

    def bounds(self) -> tuple[float, float, float, float] | None:
        if not self.bbox:
            return None
        try:
            return parse_bbox(self.bbox)
        except FieldError as exc:
            raise ApiError(400, "invalid_parameter", exc.message, "bbox") from None


def validation_error(model: type[BaseModel], exc: ValidationError) -> ApiError:
    """The first problem of a pydantic error, as a 400 naming the field."""
    field, message = field_problems(model, exc)[0]
    return ApiError(400, "invalid_parameter", message, field)


def parse_query(model: type[BaseModel], args) -> Any:
    """Validate a request's query string (a werkzeug MultiDict) against ``model``."""
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name not in args:
            continue
        values = args.getlist(name)
        is_list = getattr(info.annotation, "__origin__", None) is list
        if is_list:
            data[name] = [v for v in values if v.strip() != ""]
        else:
            if len(values) > 1:
                raise ApiError(400, "invalid_parameter", f"{name} must be given once", name)
            data[name] = values[0]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(model, exc) from None


class _TextQuery(_Query):
    q: str = Field(..., min_length=1, max_length=100,
                   description="What the shopper typed: characters, pinyin, initials, English; traditional "
                               "characters are folded to simplified.")
    limit: int = Field(10, ge=1, le=50, description="How many results at most.")
    lat: float | None = Field(None, ge=-90, le=90, description="Latitude of the shopper (optional).")
    lon: float | None = Field(None, ge=-180, le=180, description="Longitude of the shopper (optional).")
    crs: crs_mod.Crs = Field("wgs84", description="Coordinate system of lat/lon and of the answer.")

    @model_validator(mode="after")
    def _both_or_neither(self):
        if (self.lat is None) != (self.lon is None):
            missing = "lon" if self.lon is None else "lat"
            raise FieldError(missing, f"{missing} is required with {'lat' if missing == 'lon' else 'lon'}")
        return self


class PlacesParams(_TextQuery):
    """``/api/v1/places``: provinces, cities, districts, malls and streets by name or pinyin."""


class SuggestParams(_TextQuery):
    """``/api/v1/suggest``: as-you-type suggestions (brands, categories, places, stores)."""

    limit: int = Field(10, ge=1, le=10, description="How many suggestions at most (10).")


# ----------------------------------------------------------------------------- documented only
# Parameters that o2o/web/api.py reads one by one (flags, a QR scale, a poster size): their
# models give the OpenAPI document the same types and ranges.
class CrsParams(_Query):
    crs: crs_mod.Crs = Field("wgs84", description="Coordinate system of the coordinates in the answer.")


class ImportParams(_Query):
    atomic: bool = Field(False, description="Store every row or none.")
    allow_duplicates: bool = Field(False, description="Store rows that look like an open store nearby.")
    crs: crs_mod.Crs = Field("wgs84", description="Coordinate system of rows without a crs column.")
    dry_run: bool = Field(False, description="Check and report (with the first rows as a preview); store nothing.")
    columns: str = Field(None, description='How to understand headers, overriding the automatic mapping: JSON '
                                           '{header: field}, a field of null leaves the column out, e.g. '
                                           '{"座机": "phone", "备注": null}. Also a multipart field.')


class PosterParams(_Query):
    size: Literal["a5", "a4"] = Field("a5", description="Paper size of each poster.")


class QrParams(_Query):
    scale: int = Field(None, ge=1, le=40, description="Pixels (PNG) or units (SVG) per module.")
