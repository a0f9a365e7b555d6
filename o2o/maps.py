"""folium map builders for server-rendered pages, testable without Flask.

folium's templates load Leaflet, jQuery and Bootstrap from CDNs, which leaves a blank map on a
machine without internet. Every map built here is pointed at the app's own copies instead
(:func:`localise`), and uses only plain Leaflet markers, so nothing else is needed.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

import folium
from folium.plugins import FastMarkerCluster

from .geo import crs as crs_mod

# folium's names for the files it loads, and the app's own copies (served under content-hashed
# URLs, see o2o/web/assets.py).
LEAFLET_JS = [("leaflet", "vendor/leaflet/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", "vendor/leaflet/leaflet.css")]
CLUSTER_JS = [("markerclusterjs", "vendor/leaflet.markercluster/leaflet.markercluster.js")]
CLUSTER_CSS = [("markerclustercss", "vendor/leaflet.markercluster/MarkerCluster.css"),
               ("markerclusterdefaultcss", "vendor/leaflet.markercluster/MarkerCluster.Default.css")]
# folium's map header sets its own viewport (maximum-scale=1, user-scalable=no): on a page of ours
# it would stop shoppers zooming the text (WCAG 1.4.4); the page's own viewport meta is the one.
_FOLIUM_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>\s*')
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'


@dataclass
class TileSettings:
    url: str                    # a Leaflet URL template, or "none" for the offline basemap
    crs: str = crs_mod.WGS84    # the tiles' coordinate system: gcj02 for Amap-style tiles
    attribution: str | None = None

    @property
    def offline(self) -> bool:
        return self.url == "none"


def _versioned(files: list[tuple[str, str]]) -> list[tuple[str, str]]:
    from .web.assets import asset_url  # the web layer's URLs; imported late, maps stay Flask-free

    return [(name, asset_url(path)) for name, path in files]


def localise(element) -> None:
    """Point an element's JavaScript and CSS at the app's own copies (CDN-free)."""
    if isinstance(element, folium.Map):
        element.default_js = _versioned(LEAFLET_JS)
        element.default_css = _versioned(LEAFLET_CSS)
    elif isinstance(element, (FastMarkerCluster, folium.plugins.MarkerCluster)):
        element.default_js = _versioned(CLUSTER_JS)
        element.default_css = _versioned(CLUSTER_CSS)


def _base_map(tiles: TileSettings, location, zoom: int, map_id: str) -> folium.Map:
    m = folium.Map(location=location, zoom_start=zoom, tiles=None, control_scale=True, max_zoom=19, maxZoom=19,
                   prefer_canvas=False)
    m._id = map_id  # stable variable name (map_<id>) so page scripts can reach the map
    localise(m)
    if not tiles.offline:
        folium.TileLayer(tiles=tiles.url, attr=tiles.attribution or OSM_ATTRIBUTION,
                         max_zoom=19, name="tiles").add_to(m)
    return m


def _display(lon: float, lat: float, tiles: TileSettings) -> tuple[float, float]:
    """Where to draw a WGS-84 point on these tiles ([lat, lon], folium's order)."""
    if tiles.crs != crs_mod.WGS84:
        lon, lat = crs_mod.from_wgs84(lon, lat, tiles.crs)
    return lat, lon


def store_map(store: dict, tiles: TileSettings) -> folium.Map:
    """A small map of one store with its marker (the name in a tooltip, escaped by folium)."""
    where = _display(store["lon"], store["lat"], tiles)
    m = _base_map(tiles, where, 16, "store")
    folium.Marker(where, tooltip=folium.Tooltip(inert_text(store["name"]))).add_to(m)
    return m


def inert_text(text: str) -> str:
    """Untrusted text made safe for folium, which pastes it into an inline JavaScript template
    literal that Leaflet then renders as HTML: escape HTML, and the template's `, $ and \\."""
    return (html.escape(text, quote=True).replace("`", "&#96;").replace("$", "&#36;")
            .replace("\\", "&#92;"))


def fitted_map(stores: list[dict], tiles: TileSettings, map_id: str = "brand") -> folium.Map:
    """A map sized to fit these stores (China when there are none), with no marker: the page
    adds them (the brand page from the vector tiles, static/js/storetiles.js)."""
    points = [_display(s["lon"], s["lat"], tiles) for s in stores]
    if not points:
        return _base_map(tiles, [35.0, 105.0], 4, map_id)
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    m = _base_map(tiles, [sum(lats) / len(lats), sum(lons) / len(lons)], 5, map_id)
    m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], max_zoom=15)
    return m


def stores_map(stores: list[dict], tiles: TileSettings, map_id: str = "brand",
               popup_label: str = "Store page") -> folium.Map:
    """Many stores, clustered client-side; sized to fit them. Popups link to each store page
    (the link reads ``popup_label``: the page passes it in its own language)."""
    points = [(*_display(s["lon"], s["lat"], tiles), s["id"]) for s in stores]
    m = fitted_map(stores, tiles, map_id)
    # FastMarkerCluster sends only [lat, lon, id] triples: a few bytes a store, no HTML per marker.
    # The label goes into a JavaScript string literal: JSON, with "<" escaped (it is inside <script>).
    label = json.dumps(popup_label, ensure_ascii=False).replace("<", "\\u003c")
    callback = """function (row) {
        var marker = L.marker(new L.LatLng(row[0], row[1]));
        var link = document.createElement('a');
        link.href = '/stores/' + encodeURIComponent(row[2]);
        link.textContent = %s;
        marker.bindPopup(link);
        return marker;
    }""" % label
    # chunkedLoading: clustering a brand's thousand-odd stores in slices that keep the page
    # responsive, not in one long task (Lighthouse's total blocking time on a phone).
    cluster = FastMarkerCluster(points, callback=callback, name="stores", chunked_loading=True)
    localise(cluster)
    cluster.add_to(m)
    return m


def embed(m: folium.Map) -> dict:
    """The pieces of a folium map to put in a page: ``head`` (assets), ``html`` (the div), ``script``."""
    root = m.get_root()
    root.render()
    return {
        "head": _FOLIUM_VIEWPORT.sub("", root.header.render()),
        "html": root.html.render(),
        "script": "<script>\n" + root.script.render() + "\n</script>",
    }
