"""Analysts: ``/analytics`` (signed in with an analyst key) and the analytics API.

Every view answers JSON/GeoJSON, and ``?format=csv`` for a spreadsheet (cells that start with
``=``, ``+``, ``-`` or ``@`` are escaped so the spreadsheet does not run them).
"""

from __future__ import annotations

import csv
import io
import math
import re

from flask import Blueprint, Response, jsonify, render_template, request
from typing import Annotated, Literal

from pydantic import Field, field_validator

from ..services import windows
from ..services.export import spreadsheet_safe
from . import auth
from .errors import ApiError
from .limits import SIGN_IN, limit
from .pages import _client_config
from .params import Filtered, InViewport, OptionalBbox, parse_query
from .state import repo, state

bp = Blueprint("analytics", __name__)


class AnalyticsParams(Filtered):
    since: str | None = Field(None, description="Start, inclusive: ISO 8601 (UTC when no zone is given).")
    until: str | None = Field(None, description="End, exclusive: ISO 8601 (UTC when no zone is given).")
    format: Literal["json", "geojson", "csv"] = Field("json", description="json (GeoJSON for maps) or csv.")

    @field_validator("since", "until")
    @classmethod
    def _iso(cls, value, info):
        if value in (None, ""):
            return None
        try:
            windows.parse_time(value)
        except ValueError:
            raise ValueError(f"{info.field_name} must be an ISO 8601 date or time, e.g. 2026-11-11T00:00:00+08:00") from None
        return value

    def window(self) -> windows.Window:
        w = windows.Window(None if self.since is None else windows.parse_time(self.since),
                           None if self.until is None else windows.parse_time(self.until))
        if w.since is not None and w.until is not None and w.until <= w.since:
            raise ApiError(400, "invalid_parameter", "until must be after since", "until")
        return w

    def flt(self) -> windows.Filter:
        return windows.Filter(tuple(self.brand), tuple(self.retailer), tuple(self.category))


class HeatmapParams(InViewport, AnalyticsParams):
    layer: Literal["stores", "scans"] = Field(..., description="Open stores or counted scans.")
    res: int = Field(6, ge=3, le=9, description="H3 resolution (3–9)")
    bbox: OptionalBbox = None


class RegionParams(AnalyticsParams):
    level: Literal["province", "city"] = Field("province", description="One row per province or per city.")


class CoverageParams(AnalyticsParams):
    view: Literal["provinces", "gaps"] = Field(
        "provinces", description="With format=csv: the per-province table or the list of gaps.")


class ProductScanParams(AnalyticsParams):
    by: Literal["province", "city", "district", "product", "hour"] = Field(
        "province", description="The most scanned products per province, city or district, of the whole "
                                "country (product), or product scans per hour (hour, Beijing time labels).")
    product: list[Annotated[str, Field(max_length=20)]] = Field(
        default_factory=list, description="Only this product (its id); repeatable.")
    top: int = Field(10, ge=1, le=100, description="How many products per region (by=product: in all).")
    format: Literal["json", "csv"] = Field("json", description="json or csv.")

    @field_validator("product")
    @classmethod
    def _ids(cls, values):
        for value in values:
            if not _PRODUCT_ID.fullmatch(value):
                raise ValueError("product must be a product id (a whole number)")
        return values

    def products(self) -> list[int]:
        return [int(v) for v in self.product]


_PRODUCT_ID = re.compile(r"[1-9][0-9]{0,17}")


def _services():
    """pandas, scipy and h3ronpy behind the analytics: imported on the first analytics request."""
    from ..geo import h3agg
    from ..services import analytics

    return analytics, h3agg


def _csv(rows: list[dict], columns: list[str], name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([spreadsheet_safe(_plain(row.get(c))) for c in columns])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",  # BOM: Excel reads it as UTF-8
                    headers={"Content-Disposition": f'attachment; filename="o2o-{name}.csv"'})


def _plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _records(df) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items()} for row in df.to_dict("records")]


@bp.get("/api/v1/analytics/heatmap")
@auth.require("analyst")
def heatmap():
    """H3 hexagons with the number of open stores or counted scans in each."""
    p = parse_query(HeatmapParams, request.args)
    svc, h3agg = _services()
    cells, total = svc.heatmap(repo(), p.layer, p.res, p.window(), p.flt(), p.bounds())
    if p.format == "csv":
        return _csv(h3agg.heatmap_rows(cells), ["h3", "count"], f"heatmap-{p.layer}")
    response = jsonify(h3agg.heatmap_collection(cells, total, layer=p.layer, res=p.res))
    response.mimetype = "application/geo+json"
    return response


@bp.get("/api/v1/analytics/timeseries")
@auth.require("analyst")
def timeseries():
    """Counted scans per hour (hours labelled in Beijing time)."""
    p = parse_query(AnalyticsParams, request.args)
    svc, _ = _services()
    df = svc.timeseries(repo(), p.window(), p.flt())
    rows = [{"hour": svc.hour_label(h), "hour_utc": svc.Window(h).iso()[0], "scans": int(c)}
            for h, c in zip(df["hour"].tolist(), df["scans"].tolist())]
    if p.format == "csv":
        return _csv(rows, ["hour", "hour_utc", "scans"], "timeseries")
    return jsonify({"bucket": "hour", "timezone": "UTC+08:00", "series": rows, "total": int(df["scans"].sum())})


@bp.get("/api/v1/analytics/regions")
@auth.require("analyst")
def regions():
    """Stores, scans, scans per store and the busiest brand per province or city."""
    p = parse_query(RegionParams, request.args)
    svc, _ = _services()
    df = svc.regions(repo(), p.level, p.window(), p.flt())
    rows = _records(df)
    columns = (["province"] if p.level == "province" else ["province", "city"]) + \
        ["stores", "scans", "scans_per_store", "top_brand", "west", "south", "east", "north"]
    if p.format == "csv":
        return _csv(rows, columns, f"regions-{p.level}")
    if p.format == "geojson":
        features = [{"type": "Feature", "bbox": [r["west"], r["south"], r["east"], r["north"]],
                     "geometry": None if r["west"] is None else {"type": "Point", "coordinates": [
                         (r["west"] + r["east"]) / 2, (r["south"] + r["north"]) / 2]},
                     "properties": {c: r.get(c) for c in columns[:-4]}} for r in rows]
        return jsonify({"type": "FeatureCollection", "features": features})
    return jsonify({"level": p.level, "rows": rows})


@bp.get("/api/v1/analytics/products")
@auth.require("analyst")
def product_scans():
    """Scans of products in stores (``/go/{store}?product=``): the most scanned per region, or per hour."""
    p = parse_query(ProductScanParams, request.args)
    svc, _ = _services()
    if p.by == "hour":
        df = svc.product_timeseries(repo(), p.window(), p.flt(), p.products())
        rows = [{"hour": svc.hour_label(h), "hour_utc": svc.Window(h).iso()[0], "scans": int(c)}
                for h, c in zip(df["hour"].tolist(), df["scans"].tolist())]
        if p.format == "csv":
            return _csv(rows, ["hour", "hour_utc", "scans"], "product-scans-hourly")
        return jsonify({"by": "hour", "timezone": "UTC+08:00", "rows": rows, "total": int(df["scans"].sum())})
    df, total = svc.product_regions(repo(), p.by, p.window(), p.flt(), p.products(), p.top)
    rows = _records(df)
    if p.format == "csv":
        return _csv(rows, list(df.columns), f"product-scans-{p.by}")
    return jsonify({"by": p.by, "top": p.top, "rows": rows, "total": total})


@bp.get("/api/v1/analytics/coverage")
@auth.require("analyst")
def coverage():
    """Share of urban population within 1, 3 and 5 km of an open store; the largest gaps."""
    p = parse_query(CoverageParams, request.args)
    svc, _ = _services()
    per_province, gaps = svc.coverage(repo(), state().regions(), p.flt())
    if p.format == "csv":
        df = per_province if p.view == "provinces" else gaps
        return _csv(_records(df), list(df.columns), f"coverage-{p.view}")
    gap_rows = _records(gaps)
    if p.format == "geojson":
        return jsonify({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
             "properties": {k: v for k, v in r.items() if k not in ("lon", "lat")}} for r in gap_rows]})
    return jsonify({"radii_km": list(svc.COVERAGE_RADII_KM), "provinces": _records(per_province), "gaps": gap_rows})


# ----------------------------------------------------------------------------- the page
@bp.get("/analytics")
def page():
    principal = auth.session_principal()
    if principal is None or principal.kind != "analyst":
        return render_template("analytics_signin.html", csrf_token=auth.csrf_token())
    r = repo()
    first, last = r.scan_time_range()
    brands = [b for b, _ in r.brand_counts()]
    retailers = [x["name"] for x in r.list_retailers()]
    categories = [c for c, _ in r.category_counts()]
    return render_template("analytics.html", analyst=principal, csrf_token=auth.csrf_token(),
                           brands=brands, retailers=retailers, categories=categories,
                           config_json=_client_config(scanRange=[first, last]))


@bp.post("/analytics/sign-in")
@limit(SIGN_IN)
def sign_in():
    return auth.form_sign_in("analyst", "analytics_signin.html", "analytics.page")


@bp.post("/analytics/sign-out")
def sign_out():
    return auth.form_sign_out("analytics.page")
