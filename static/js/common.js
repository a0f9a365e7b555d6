/* Shared helpers for o2o pages: coordinate systems, the offline basemap, formatting. */
(function (global) {
  "use strict";
  var O2O = global.O2O || {};

  // WGS-84 -> GCJ-02 (the published closed form), to draw GPS positions on Amap-style tiles.
  var A = 6378245.0, EE = 0.00669342162296594323;
  function inChina(lon, lat) { return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271; }
  function tLat(x, y) {
    var r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(y * Math.PI) + 40 * Math.sin(y / 3 * Math.PI)) * 2 / 3;
    r += (160 * Math.sin(y / 12 * Math.PI) + 320 * Math.sin(y * Math.PI / 30)) * 2 / 3;
    return r;
  }
  function tLon(x, y) {
    var r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(x * Math.PI) + 40 * Math.sin(x / 3 * Math.PI)) * 2 / 3;
    r += (150 * Math.sin(x / 12 * Math.PI) + 300 * Math.sin(x / 30 * Math.PI)) * 2 / 3;
    return r;
  }
  O2O.wgs84ToGcj02 = function (lon, lat) {
    if (!inChina(lon, lat)) return [lon, lat];
    var dLat = tLat(lon - 105, lat - 35), dLon = tLon(lon - 105, lat - 35);
    var radLat = lat / 180 * Math.PI, magic = 1 - EE * Math.sin(radLat) * Math.sin(radLat);
    var sq = Math.sqrt(magic);
    dLat = (dLat * 180) / ((A * (1 - EE)) / (magic * sq) * Math.PI);
    dLon = (dLon * 180) / (A / sq * Math.cos(radLat) * Math.PI);
    return [lon + dLon, lat + dLat];
  };
  /** A WGS-84 position in the tiles' coordinate system, as [lon, lat]. */
  O2O.toDisplay = function (lon, lat, crs) {
    return crs === "gcj02" ? O2O.wgs84ToGcj02(lon, lat) : [lon, lat];
  };

  O2O.formatDistance = function (m) {
    if (m === null || m === undefined) return "";
    return m < 1000 ? Math.round(m) + " m" : (m / 1000).toFixed(m < 10000 ? 1 : 0) + " km";
  };

  /** Build an element; text goes in through textContent, so untrusted names stay inert. */
  O2O.el = function (tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  };

  /** Province outlines, and city outlines when zoomed in: a basemap that needs no tile server. */
  O2O.addOfflineBasemap = function (map) {
    map.getContainer().classList.add("offline-basemap");
    var styles = {
      provinces: { color: "#7a8591", weight: 1.2, fillColor: "#f4f1ea", fillOpacity: 1 },
      cities: { color: "#b3bac2", weight: 0.7, fill: false, dashArray: "3 3" }
    };
    var layers = {};
    function load(level) {
      if (layers[level]) return;
      layers[level] = "loading";
      fetch("/geodata/" + level + ".geojson").then(function (r) { return r.json(); }).then(function (data) {
        layers[level] = L.geoJSON(data, { style: styles[level], interactive: false });
        if (level === "provinces" || map.getZoom() >= 7) layers[level].addTo(map);
        if (layers[level].bringToBack) layers[level].bringToBack();
      }).catch(function () { layers[level] = null; });
    }
    load("provinces");
    function onZoom() {
      if (map.getZoom() >= 7) {
        load("cities");
        if (layers.cities && layers.cities !== "loading" && !map.hasLayer(layers.cities)) layers.cities.addTo(map);
      } else if (layers.cities && layers.cities !== "loading" && map.hasLayer(layers.cities)) {
        map.removeLayer(layers.cities);
      }
    }
    map.on("zoomend", onZoom);
    onZoom();
  };

  global.O2O = O2O;
})(window);
