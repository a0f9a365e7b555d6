"""Stores as GeoJSON Features, in the coordinate system the client asked for."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from flask import current_app, request, url_for

from ..geo import crs as crs_mod
from ..geo.hours import is_open_at, now_beijing
from ..seed.catalogue import brand_zh, category_zh
from ..services.finder import brand_slug


def public_base() -> str:
    """Base URL for absolute links: ``O2O_PUBLIC_URL``, else the request's own host URL (worked out
    once per request: a page of items asks for it for every link)."""
    base = current_app.config["O2O"].get("PUBLIC_URL")
    if base:
        return base.rstrip("/")
    environ = request.environ
    found = environ.get("o2o.public_base")
    if found is None:
        # scheme://host, as request.host_url gives, without Werkzeug re-building the whole URL.
        found = environ["o2o.public_base"] = f"{request.scheme}://{request.host}".rstrip("/")
    return found


def go_url(store_id: int) -> str:
    return f"{public_base()}/go/{store_id}"


def nav_links(store: dict) -> dict:
    """Navigation links: Amap's URI API (fed GCJ-02, which it expects) and a plain ``geo:`` URI."""
    g_lon, g_lat = crs_mod.wgs84_to_gcj02(store["lon"], store["lat"])
    name = quote(store["name"])
    return {
        "amap": (f"https://uri.amap.com/navigation?to={g_lon:.6f},{g_lat:.6f},{name}"
                 f"&mode=car&coordinate=gaode&callnative=1&src=o2o"),
        "amap_marker": (f"https://uri.amap.com/marker?position={g_lon:.6f},{g_lat:.6f}&name={name}"
                        f"&coordinate=gaode&callnative=1&src=o2o"),
        "geo": f"geo:{store['lat']:.6f},{store['lon']:.6f}?q={store['lat']:.6f},{store['lon']:.6f}({name})",
    }


def store_feature(store: dict, crs: str = crs_mod.WGS84, when: datetime | None = None) -> dict:
    """A store as a GeoJSON Feature: every contract field, plus links and open-now."""
    props = dict(store)
    lon, lat = store["lon"], store["lat"]
    if crs != crs_mod.WGS84:
        lon, lat = crs_mod.from_wgs84(lon, lat, crs)
        lon, lat = round(lon, 7), round(lat, 7)
        props["lon"], props["lat"] = lon, lat
    props["go_url"] = go_url(store["id"])
    props["category_zh"] = category_zh(store["category"])
    props["brand_zh"] = brand_zh(store["brand"])
    props["brand_slug"] = brand_slug(store["brand"])
    props["open_now"] = is_open_at(store.get("hours"), when or now_beijing(), store.get("special_hours"))
    props["nav"] = nav_links(store)
    props["url"] = url_for("pages.store_page", store_id=store["id"])
    return {"type": "Feature", "id": store["id"],
            "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}


def cluster_feature(cluster: dict, crs: str = crs_mod.WGS84) -> dict:
    lon, lat = cluster["lon"], cluster["lat"]
    w, s, e, n = cluster["bbox"]
    if crs != crs_mod.WGS84:
        lon, lat = crs_mod.from_wgs84(lon, lat, crs)
        w, s = crs_mod.from_wgs84(w, s, crs)
        e, n = crs_mod.from_wgs84(e, n, crs)
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "bbox": [w, s, e, n],
            "properties": {"cluster": True, "point_count": cluster["count"]}}


def collection(features: list[dict], crs: str = crs_mod.WGS84, **members) -> dict:
    out = {"type": "FeatureCollection", "features": features}
    if crs != crs_mod.WGS84:
        out["crs_name"] = crs
    out.update(members)
    return out
