"""folium map builders: local assets only, GCJ-02 markers on GCJ-02 tiles, inert text."""

import re

from o2o import maps
from o2o.geo import crs

STORE = {"id": 7, "name": "<img src=x onerror=alert(1)>`${x}`", "lon": 121.4737, "lat": 31.2304}


def page_of(m):
    parts = maps.embed(m)
    return parts["head"] + parts["html"] + parts["script"]


def test_store_map_loads_only_the_apps_own_assets():
    html = page_of(maps.store_map(STORE, maps.TileSettings("none")))
    assert re.search(r"/vendor/leaflet/[0-9a-f]{10}/leaflet\.js", html)
    assert re.search(r"/vendor/leaflet/[0-9a-f]{10}/leaflet\.css", html)
    for host in ("cdn.jsdelivr.net", "code.jquery.com", "cdnjs.cloudflare.com", "bootstrapcdn"):
        assert host not in html


def test_cluster_map_uses_local_markercluster():
    html = page_of(maps.stores_map([STORE | {"id": i} for i in range(3)], maps.TileSettings("none")))
    assert re.search(r"/vendor/leaflet\.markercluster/[0-9a-f]{10}/leaflet\.markercluster\.js", html)
    assert "cdnjs" not in html


def test_markers_are_drawn_in_gcj02_on_amap_tiles():
    tiles = maps.TileSettings("https://webrd01.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}", "gcj02", "Amap")
    html = page_of(maps.store_map(STORE, tiles))
    g_lon, g_lat = crs.wgs84_to_gcj02(STORE["lon"], STORE["lat"])
    assert f"{g_lat}" in html and f"{g_lon}" in html


def test_store_names_are_inert_in_folium_scripts():
    html = page_of(maps.store_map(STORE, maps.TileSettings("none")))
    assert "<img src=x" not in html
    assert "${x}" not in html and "`${" not in html
