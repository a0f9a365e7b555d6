/* Store points from the app's vector tiles (/tiles/stores/{z}/{x}/{y}.mvt) drawn as plain Leaflet
 * markers: a store is a marker with a popup linking to its page, a cluster a numbered circle that
 * zooms in when tapped. The server clusters (o2o/geo/tiles.py), so the page carries no store list
 * and the browser clusters nothing; a tile is a few hundred bytes.
 *
 * The decoder reads only what these tiles hold (points in one layer, string/number/bool values):
 * a few dozen lines instead of a Leaflet VectorGrid bundle.
 */
(function () {
  "use strict";

  // --------------------------------------------------------------------------- protobuf reading
  function Reader(buf) { this.b = new Uint8Array(buf); this.p = 0; }
  Reader.prototype.varint = function () {
    var b = this.b, result = 0, mul = 1, byte;
    do {  // multiplication, not shifts: ids past 2^31 stay exact (up to 2^53)
      byte = b[this.p++];
      result += (byte & 0x7f) * mul;
      mul *= 128;
    } while (byte & 0x80);
    return result;
  };
  Reader.prototype.bytes = function () { var n = this.varint(), s = this.p; this.p += n; return this.b.subarray(s, s + n); };
  Reader.prototype.skip = function (wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.p += 8;
    else if (wire === 2) this.p += this.varint();
    else if (wire === 5) this.p += 4;
    else throw new Error("unknown wire type " + wire);
  };
  /** Calls fn(field, wire) for each field of the message; fn reads the value or returns false to skip it. */
  Reader.prototype.each = function (fn) {
    var end = this.b.length;
    while (this.p < end) {
      var tag = this.varint(), field = tag >> 3, wire = tag & 7;
      if (fn(field, wire) === false) this.skip(wire);
    }
  };
  function packed(bytes) { var r = new Reader(bytes), out = []; while (r.p < bytes.length) out.push(r.varint()); return out; }
  function zigzag(n) { return n % 2 ? -(n + 1) / 2 : n / 2; }
  var utf8 = new TextDecoder();

  function readValue(bytes) {
    var r = new Reader(bytes), v = null;
    r.each(function (field, wire) {
      var view = new DataView(r.b.buffer, r.b.byteOffset + r.p);
      if (field === 1) v = utf8.decode(r.bytes());
      else if (field === 2) { v = view.getFloat32(0, true); r.p += 4; }
      else if (field === 3) { v = view.getFloat64(0, true); r.p += 8; }
      else if (field === 4 || field === 5) v = r.varint();
      else if (field === 6) v = zigzag(r.varint());
      else if (field === 7) v = r.varint() === 1;
      else return false;
    });
    return v;
  }

  /** The points of layer `name` of an MVT: [{id, x, y, extent, properties}], tile coordinates y down. */
  function decodePoints(buf, name) {
    var out = [], tile = new Reader(buf);
    tile.each(function (field, wire) {
      if (field !== 3 || wire !== 2) return false;
      var layer = new Reader(tile.bytes()), keys = [], values = [], features = [], extent = 4096, layerName = "";
      layer.each(function (f) {
        if (f === 1) layerName = utf8.decode(layer.bytes());
        else if (f === 2) features.push(layer.bytes());
        else if (f === 3) keys.push(utf8.decode(layer.bytes()));
        else if (f === 4) values.push(readValue(layer.bytes()));
        else if (f === 5) extent = layer.varint();
        else return false;
      });
      if (layerName !== name) return;
      features.forEach(function (bytes) {
        var fr = new Reader(bytes), feature = { id: null, properties: {}, extent: extent }, tags = [], geom = [];
        fr.each(function (f) {
          if (f === 1) feature.id = fr.varint();
          else if (f === 2) tags = packed(fr.bytes());
          else if (f === 4) geom = packed(fr.bytes());
          else return false;
        });
        for (var i = 0; i + 1 < tags.length; i += 2) feature.properties[keys[tags[i]]] = values[tags[i + 1]];
        // A point: MoveTo(1) with one (dx, dy) pair (a multi-point: several; each drawn).
        var x = 0, y = 0, i2 = 0;
        while (i2 < geom.length) {
          var cmd = geom[i2++], count = cmd >> 3;
          if ((cmd & 7) !== 1) break;
          for (var k = 0; k < count; k++) {
            x += zigzag(geom[i2++]); y += zigzag(geom[i2++]);
            out.push({ id: feature.id, x: x, y: y, extent: extent, properties: feature.properties });
          }
        }
      });
    });
    return out;
  }

  window.O2O = window.O2O || {};
  O2O.decodeStorePoints = decodePoints;

  // --------------------------------------------------------------------------- the layer
  function clusterIcon(n) {
    var size = n < 10 ? 34 : n < 100 ? 40 : n < 1000 ? 48 : 56;
    return L.divIcon({
      html: "<div><span>" + (n >= 10000 ? O2O.formatCompact(n) : n) + "</span></div>",
      className: "tile-cluster " + (n < 10 ? "tile-cluster-s" : n < 100 ? "tile-cluster-m" : "tile-cluster-l"),
      iconSize: L.point(size, size)
    });
  }

  /**
   * Adds the stores of the tiles in view to `map`.
   * opts: url (a template with {z}, {x}, {y}), crs (the basemap's: "wgs84" or "gcj02"),
   * label (the popup link's text), maxZoom, bounds ([[south, west], [north, east]]: no tile is
   * asked for outside them).
   */
  O2O.storeTiles = function (map, opts) {
    var markers = L.layerGroup().addTo(map);
    var groups = {};      // tile key -> L.layerGroup of its markers
    var crs = opts.crs || "wgs84";

    function marker(p, z, coords) {
      // Tile units -> global pixels at zoom z -> lon/lat (the tiles are WGS-84 Web Mercator).
      var scale = 256 / p.extent;
      var ll = map.options.crs.pointToLatLng(L.point(coords.x * 256 + p.x * scale, coords.y * 256 + p.y * scale), z);
      var d = O2O.toDisplay(ll.lng, ll.lat, crs), at = [d[1], d[0]];
      var props = p.properties;
      if (props.cluster) {
        var n = props.point_count;
        var m = L.marker(at, { icon: clusterIcon(n), keyboard: false,
                               title: ngettext("%(num)s store", "%(num)s stores", n) });
        m.on("click", function () { map.setView(at, Math.min(z + 2, opts.maxZoom || 18)); });
        return m;
      }
      var store = L.marker(at, { keyboard: false, title: props.name || "" });
      store.on("add", function () { var el = store.getElement(); if (el) el.setAttribute("translate", "no"); });
      store.bindPopup(function () {
        var box = O2O.el("div", { className: "popup" }, [
          O2O.el("h3", { text: props.name || "", translate: "no" }),
          O2O.el("a", { href: "/stores/" + encodeURIComponent(p.id), text: opts.label })
        ]);
        return box;
      });
      return store;
    }

    var Layer = L.GridLayer.extend({
      createTile: function (coords, done) {
        var tile = document.createElement("div");  // drawn as markers, not in the tile
        var key = this._tileCoordsToKey(coords), layer = this;
        var url = L.Util.template(opts.url, { z: coords.z, x: coords.x, y: coords.y });
        fetch(url, { credentials: "same-origin" }).then(function (r) {
          if (!r.ok) throw new Error("tile " + r.status);
          return r.arrayBuffer();
        }).then(function (buf) {
          if (!layer._tiles[key]) return done(null, tile);  // left the view meanwhile
          var group = groups[key] = L.layerGroup(decodePoints(buf, "stores").map(function (p) {
            return marker(p, coords.z, coords);
          }));
          markers.addLayer(group);
          done(null, tile);
        }).catch(function (err) { done(err, tile); });
        return tile;
      }
    });
    var layer = new Layer({ maxZoom: opts.maxZoom || 19, updateWhenZooming: false, keepBuffer: 1,
                            bounds: opts.bounds ? L.latLngBounds(opts.bounds) : undefined });
    layer.on("tileunload", function (e) {
      var key = layer._tileCoordsToKey(e.coords);
      if (groups[key]) { markers.removeLayer(groups[key]); delete groups[key]; }
    });
    layer.addTo(map);
    return layer;
  };
})();
