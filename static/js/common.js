/* Shared helpers for o2o pages: the page's language, coordinate systems, the offline basemap,
 * formatting. */
(function (global) {
  "use strict";
  var O2O = global.O2O || {};

  // Leaflet finds its marker images through a CSS rule, which makes the browser download the
  // 1x marker too; naming their folder (beside the content-hashed leaflet.css) spares that.
  if (global.L && global.L.Icon && global.L.Icon.Default) {
    var leafletCss = document.querySelector('link[rel="stylesheet"][href$="/leaflet.css"]');
    if (leafletCss) global.L.Icon.Default.imagePath = leafletCss.getAttribute("href").replace(/leaflet\.css$/, "images/");
  }

  // ------------------------------------------------------------------ language
  // The page's messages come from the app's one catalogue (o2o/web/i18n.py), embedded in every
  // page as JSON: {English msgid: translation}. Strings are marked _("…") / ngettext("…", "…", n)
  // here and in the page scripts, and `pybabel extract` finds them (babel.cfg).
  var messages = {};
  try {
    var i18nEl = document.getElementById("o2o-i18n");
    messages = (i18nEl && JSON.parse(i18nEl.textContent)) || {};
  } catch (e) { messages = {}; }
  var lang = (document.documentElement.getAttribute("lang") || "zh-CN").toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  O2O.lang = lang;
  O2O.locale = lang === "zh" ? "zh-CN" : "en";

  /** Python-style "%(name)s" placeholders filled from `values` ("%%" is a percent sign). */
  function format(text, values) {
    if (!values) return text;
    return text.replace(/%(?:\(([A-Za-z_][A-Za-z0-9_]*)\)s|%)/g, function (whole, name) {
      if (!name) return "%";
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }
  /** A message in the page's language, placeholders filled: _("%(n)s stores", {n: 3}). */
  function gettext(msgid, values) {
    var t = messages[msgid];
    return format(typeof t === "string" && t ? t : msgid, values);
  }
  /** One or many: ngettext("%(num)s store", "%(num)s stores", n) (`num` is n, formatted). */
  function ngettext(singular, plural, n, values) {
    var key = n === 1 ? singular : plural;   // Chinese: both keys hold the one form
    var t = messages[key];
    var all = { num: O2O.formatNumber(n) };
    Object.keys(values || {}).forEach(function (k) { all[k] = values[k]; });
    return format(typeof t === "string" && t ? t : key, all);
  }
  global._ = gettext;
  global.ngettext = ngettext;
  O2O.format = format;

  /** A message as nodes: like _() but a value may be a DOM node (say, a name marked
   *  translate="no"), put in where its placeholder is. */
  O2O.fragment = function (text, values) {
    var out = [], re = /%\(([A-Za-z_][A-Za-z0-9_]*)\)s/g, last = 0, m;
    while ((m = re.exec(text)) !== null) {
      var v = values[m[1]];
      if (v === undefined) continue;
      out.push(text.slice(last, m.index).replace(/%%/g, "%"));
      out.push(v && v.nodeType ? v : String(v));
      last = re.lastIndex;
    }
    out.push(text.slice(last).replace(/%%/g, "%"));
    return out.filter(function (x) { return x !== ""; });
  };
  /** Data shown as stored (a name, an address, a query): a span the translators leave alone. */
  O2O.data = function (text, tag) {
    var node = document.createElement(tag || "span");
    node.setAttribute("translate", "no");
    node.textContent = text === null || text === undefined ? "" : String(text);
    return node;
  };
  /** A category's label as a node: data (translate="no") when it has no Chinese name. */
  O2O.categoryNode = function (name, nameZh) {
    return O2O.isTranslatedCategory(name) ? document.createTextNode(O2O.categoryLabel(name, nameZh))
      : O2O.data(name);
  };
  // Number formats, made once per page and kept: making one costs far more than using it, and the
  // map formats a number for every cluster it draws (Lighthouse counted 0.1 s on / before).
  var formats = {};
  function numberFormat(key, options) {
    if (!(key in formats)) {
      try { formats[key] = new Intl.NumberFormat(O2O.locale, options); } catch (e) { formats[key] = null; }
    }
    return formats[key];
  }
  /** 12K, 1.2万: a big count in a few characters (map clusters). */
  O2O.formatCompact = function (n) {
    var f = numberFormat("compact", { notation: "compact", maximumSignificantDigits: 2 });
    return f ? f.format(n) : String(n);
  };

  O2O.formatNumber = function (n, digits) {
    if (n === null || n === undefined || !isFinite(n)) return "";
    var f = numberFormat("fixed" + (digits === undefined ? "" : digits), digits === undefined ? undefined
      : { minimumFractionDigits: digits, maximumFractionDigits: digits });
    return f ? f.format(Number(n)) : String(n);
  };

  // The page's o2o-config JSON (tiles, and the Chinese names of categories and brands).
  var pageConfig = null;
  O2O.config = function () {
    if (pageConfig === null) {
      try { pageConfig = JSON.parse(document.getElementById("o2o-config").textContent); } catch (e) { pageConfig = {}; }
    }
    return pageConfig;
  };
  /** A category as this page's language names it; the value sent to the API stays English. */
  O2O.categoryLabel = function (name, nameZh) {
    if (!name || lang !== "zh") return name || "";
    return nameZh || (O2O.config().categoryZh || {})[name] || name;
  };
  /** Whether the category has a Chinese name (else it is shown as stored: data, not a label). */
  O2O.isTranslatedCategory = function (name) {
    return Object.prototype.hasOwnProperty.call(O2O.config().categoryZh || {}, name);
  };
  /** A brand as shoppers know it: 优衣库 on a Chinese page where the catalogue knows it. */
  O2O.brandLabel = function (name, nameZh) {
    if (!name || lang !== "zh") return name || "";
    return nameZh || (O2O.config().brandZh || {})[name] || name;
  };

  // The header's language switch leads to this page as it is now: the page scripts keep the view
  // in the URL (history.replaceState), so the link the server wrote may be out of date.
  document.addEventListener("click", function (ev) {
    var link = ev.target && ev.target.closest ? ev.target.closest("a.lang-switch") : null;
    if (!link) return;
    var target = new URL(link.href, global.location.href), here = new URL(global.location.href);
    if (target.pathname !== here.pathname) return;  // (an answer to a form leads to the form's page)
    here.searchParams.set("lang", target.searchParams.get("lang"));
    link.href = here.pathname + here.search + here.hash;
  });

  // Leaflet's own words: the zoom buttons, the popup's close button, the marker's alt text.
  // The attribution is a notice of where the map comes from: left as it is (translate="no").
  // Miles and feet mean nothing to a shopper in China: the scale shows metres only.
  if (global.L && L.Control) {
    L.Control.Zoom.prototype.options.zoomInTitle = gettext("Zoom in");
    L.Control.Zoom.prototype.options.zoomOutTitle = gettext("Zoom out");
    L.Control.Scale.prototype.options.imperial = false;
    L.Marker.prototype.options.alt = gettext("Store marker");
    var attributionOnAdd = L.Control.Attribution.prototype.onAdd;
    L.Control.Attribution.prototype.onAdd = function (map) {
      var container = attributionOnAdd.call(this, map);
      container.setAttribute("translate", "no");
      return container;
    };
    var popupLayout = L.Popup.prototype._initLayout;
    L.Popup.prototype._initLayout = function () {
      popupLayout.call(this);
      if (this._closeButton) this._closeButton.setAttribute("aria-label", gettext("Close popup"));
    };
  }

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

  /** Great-circle metres on the contract's sphere (R = 6,371,008.8 m). */
  O2O.haversine = function (lon1, lat1, lon2, lat2) {
    var r = Math.PI / 180, R = 6371008.8;
    var a = Math.pow(Math.sin((lat2 - lat1) * r / 2), 2) +
      Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.pow(Math.sin((lon2 - lon1) * r / 2), 2);
    return 2 * R * Math.asin(Math.min(1, Math.sqrt(a)));
  };

  O2O.formatDistance = function (m) {
    if (m === null || m === undefined) return "";
    if (m < 1000) return gettext("%(m)s m", { m: O2O.formatNumber(Math.round(m)) });
    return gettext("%(km)s km", { km: O2O.formatNumber(m / 1000, m < 10000 ? 1 : 0) });
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

  /** The page's basemap: the configured tile server, or the offline outlines with O2O_TILES=none.
   *  Tiles that cannot load (an intranet, no signal) fall back to the offline outlines by themselves. */
  O2O.addBasemap = function (map, cfg) {
    if (cfg.tiles && cfg.tiles !== "none") {
      var layer = L.tileLayer(cfg.tiles, {
        maxZoom: 19,
        attribution: cfg.attribution || '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
      }).addTo(map);
      O2O.fallBackFromTiles(map, layer);
    } else {
      O2O.addOfflineBasemap(map);
    }
  };

  /** Watch a tile layer (ours, or the one a folium page made): if its tiles fail before any has
   *  loaded, or none has loaded after a while, take it off and draw the offline basemap instead,
   *  with a note saying so. Tiles that once loaded are left alone (one failed tile is not an outage). */
  O2O.fallBackFromTiles = function (map, layer) {
    if (!layer) map.eachLayer(function (l) { if (!layer && l instanceof L.TileLayer) layer = l; });
    if (!layer) return;
    var loaded = 0, failed = 0, done = false;
    function fallBack() {
      if (done || loaded) return;
      done = true;
      clearTimeout(timer);
      map.removeLayer(layer);
      O2O.addOfflineBasemap(map);
      var note = L.control({ position: "topright" });
      note.onAdd = function () {
        return O2O.el("div", { className: "basemap-note", role: "status", text: _("Map tiles unavailable: showing the offline map") });
      };
      note.addTo(map);
      // The note steps aside after a while (it would cover popups); the attribution keeps saying it.
      setTimeout(function () { map.removeControl(note); }, 12000);
      if (map.attributionControl) map.attributionControl.addAttribution(_("Offline map"));
      map.fire("o2o:basemapfallback");
    }
    layer.on("tileload", function () { loaded += 1; clearTimeout(timer); });
    layer.on("tileerror", function () { failed += 1; if (failed >= 2) fallBack(); });
    var timer = setTimeout(fallBack, 8000);  // a connection that swallows requests never errs
  };

  /** Province outlines, then city outlines and named districts as the map zooms in: a basemap
   *  that needs no tile server. */
  O2O.addOfflineBasemap = function (map) {
    map.getContainer().classList.add("offline-basemap");
    map.createPane("basemapLabels").style.zIndex = 450;  // above outlines, below store markers
    // One canvas for every outline: a country's thousands of vertices cost a phone far less drawn
    // on a canvas than as SVG paths (Lighthouse measured 0.8 s of main thread on / with SVG).
    var renderer = L.canvas({ padding: 0.3 });
    var container = map.getContainer();
    function drawn(level, n) {  // what is on the map, for tests and for anyone inspecting the page
      container.setAttribute("data-outlines-" + level, String(n));
    }
    var styles = {
      provinces: { color: "#7a8591", weight: 1.2, fillColor: "#f4f1ea", fillOpacity: 1 },
      cities: { color: "#a0a8b0", weight: 1, fill: false, dashArray: "4 3" },
      districts: { color: "#c3c9cf", weight: 0.8, fill: false }
    };
    var layers = {};
    function outlinesOf(r) {  // an error answer is no outline: the map goes on without that layer
      if (!r.ok) throw new Error("outlines: HTTP " + r.status);
      return r.json();
    }
    function load(level) {
      if (layers[level]) return;
      layers[level] = "loading";
      fetch("/geodata/" + level + ".geojson").then(outlinesOf).then(function (data) {
        layers[level] = L.geoJSON(data, { style: styles[level], interactive: false, renderer: renderer });
        drawn(level, data.features.length);
        onZoom();
      }).catch(function () { layers[level] = null; });
    }
    // Cities and districts come for the view only (a phone never downloads all of China's cities),
    // each answer kept by its rounded box so that panning back costs nothing.
    function byView(level, maxDeg, labels) {
      var group = L.layerGroup(), key = null, timer = null, seen = {};
      function draw(data) {
        group.clearLayers();
        L.geoJSON(data, { style: styles[level], interactive: false, renderer: renderer }).addTo(group);
        drawn(level, data.features.length);
        if (!labels) return;
        data.features.forEach(function (f) {
          // Names go in through textContent: geodata is ours, but every label stays inert anyway.
          var span = document.createElement("span");
          span.setAttribute("translate", "no");  // a place name, as the data has it
          span.textContent = f.properties.name;
          var p = f.properties.label;
          group.addLayer(L.marker([p[1], p[0]], { interactive: false, keyboard: false, pane: "basemapLabels",
            icon: L.divIcon({ className: "district-label", html: span, iconSize: null }) }));
        });
      }
      function load() {
        // Boxes snap to a grid (repeat views hit the cache) whose step is the power of two just
        // above the view's size: a street view asks for its few districts, not a whole degree's.
        var b = map.getBounds().pad(0.3), step = maxDeg / 4;
        var span = Math.max(b.getEast() - b.getWest(), b.getNorth() - b.getSouth());
        while (step / 2 >= span && step > maxDeg / 256) step /= 2;
        var w = Math.max(-180, Math.floor(b.getWest() / step) * step), e = Math.min(180, Math.ceil(b.getEast() / step) * step);
        var s = Math.max(-90, Math.floor(b.getSouth() / step) * step), n = Math.min(90, Math.ceil(b.getNorth() / step) * step);
        if (e - w > maxDeg || n - s > maxDeg) return;
        var k = [w, s, e, n].map(function (v) { return v.toFixed(3); }).join(",");
        if (k === key) return;
        key = k;
        if (seen[k]) { draw(seen[k]); return; }
        fetch("/geodata/" + level + ".geojson?bbox=" + k).then(outlinesOf)
          .then(function (data) { seen[k] = data; if (key === k) draw(data); })
          .catch(function () { key = null; });
      }
      return {
        layer: group,
        show: function (on) {
          if (on) { if (!map.hasLayer(group)) group.addTo(map); clearTimeout(timer); timer = setTimeout(load, 150); }
          else if (map.hasLayer(group)) map.removeLayer(group);
        }
      };
    }
    var cities = byView("cities", 20, false), districts = byView("districts", 4, true);
    load("provinces");
    function show(layer, on) {
      if (!layer || layer === "loading") return;
      if (on && !map.hasLayer(layer)) layer.addTo(map);
      if (!on && map.hasLayer(layer)) map.removeLayer(layer);
    }
    function onZoom() {
      var z = map.getZoom();
      show(layers.provinces, true);
      cities.show(z >= 7);
      districts.show(z >= 10);
      if (layers.provinces && layers.provinces.bringToBack) layers.provinces.bringToBack();
    }
    map.on("zoomend moveend", onZoom);
    onZoom();
  };

  // Brands this shopper follows ("My 11.11"): kept in the browser only, no account.
  var FOLLOW_KEY = "o2o.followedBrands";
  O2O.followed = function () {
    try {
      var list = JSON.parse(global.localStorage.getItem(FOLLOW_KEY) || "[]");
      return Array.isArray(list) ? list.filter(function (b) { return typeof b === "string"; }).slice(0, 100) : [];
    } catch (e) { return []; }
  };
  O2O.isFollowed = function (brand) { return O2O.followed().indexOf(brand) >= 0; };
  O2O.toggleFollow = function (brand) {
    var list = O2O.followed();
    var i = list.indexOf(brand);
    if (i >= 0) list.splice(i, 1); else list.push(brand);
    try { global.localStorage.setItem(FOLLOW_KEY, JSON.stringify(list)); } catch (e) { /* private mode */ }
    return i < 0;
  };

  // Products this shopper follows: [{id, title}] (the title as it was, shown until the API answers).
  var FOLLOW_PRODUCTS_KEY = "o2o.followedProducts";
  O2O.followedProducts = function () {
    try {
      var list = JSON.parse(global.localStorage.getItem(FOLLOW_PRODUCTS_KEY) || "[]");
      return Array.isArray(list) ? list.filter(function (p) {
        return p && typeof p.id === "number" && p.id > 0 && Math.floor(p.id) === p.id;
      }).map(function (p) { return { id: p.id, title: typeof p.title === "string" ? p.title.slice(0, 200) : "" }; }).slice(0, 50) : [];
    } catch (e) { return []; }
  };
  O2O.isProductFollowed = function (id) {
    return O2O.followedProducts().some(function (p) { return p.id === id; });
  };
  /** Follow or unfollow a product; returns whether it is followed now. */
  O2O.toggleProductFollow = function (id, title) {
    var list = O2O.followedProducts();
    var kept = list.filter(function (p) { return p.id !== id; });
    if (kept.length === list.length) kept.push({ id: id, title: title || "" });
    try { global.localStorage.setItem(FOLLOW_PRODUCTS_KEY, JSON.stringify(kept)); } catch (e) { /* private mode */ }
    return kept.length > list.length;
  };

  // ------------------------------------------------------------------ WeChat and QQ
  // Their in-app browsers do not hand a link over to another app: Amap's navigation link only
  // shows Amap's web page there. Offer what works instead (o2o/web/browsers.py does the same on
  // the server for the store page): open in the system browser (··· menu), copy the address, geo:.
  O2O.inAppBrowser = function (userAgent) {
    var ua = userAgent === undefined ? global.navigator.userAgent : userAgent || "";
    if (/MicroMessenger\//i.test(ua)) return "wechat";
    if (/(?:^|[\s;(])QQ\/\d/.test(ua)) return "qq";   // QQ's in-app browser; not the QQ Browser app
    return null;
  };
  /** A store's navigation buttons for a popup: Amap and geo:, or in WeChat/QQ a hint, "copy address"
   *  and geo:. `p` is a store Feature's properties. */
  O2O.navigationButtons = function (p) {
    var app = O2O.inAppBrowser();
    if (!app) {
      return [O2O.el("a", { href: p.nav.amap, target: "_blank", rel: "noopener", className: "button primary", text: gettext("Navigate") }),
              O2O.el("a", { href: p.nav.geo, className: "button", text: gettext("Maps app") })];
    }
    return [O2O.el("p", { className: "in-app-hint", text: app === "qq"
              ? gettext("In QQ, navigation apps do not open: tap ··· (top right) → Open in browser, or copy the address.")
              : gettext("In WeChat, navigation apps do not open: tap ··· (top right) → Open in browser, or copy the address.") }),
            O2O.el("button", { type: "button", className: "button primary", "data-copy": p.address || "", text: gettext("Copy address") }),
            O2O.el("a", { href: p.nav.geo, className: "button", text: gettext("Maps app") })];
  };
  /** Put `text` on the clipboard: the Clipboard API, else a selected textarea and the copy
   *  command (older in-app browsers, http). Resolves to whether it worked. */
  O2O.copyText = function (text) {
    function byCommand() {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "copy-buffer";
      document.body.appendChild(area);
      area.select();
      area.setSelectionRange(0, text.length);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      return ok;
    }
    var clip = global.navigator.clipboard;
    if (clip && typeof clip.writeText === "function") {
      return clip.writeText(text).then(function () { return true; }, function () { return byCommand(); });
    }
    return Promise.resolve(byCommand());
  };
  // Any button with data-copy (the store page's, the popups'): copy, and say how it went.
  document.addEventListener("click", function (ev) {
    var button = ev.target && ev.target.closest ? ev.target.closest("[data-copy]") : null;
    if (!button) return;
    var live = button.parentNode.querySelector(".copy-result");
    if (!live) {
      live = O2O.el("span", { className: "copy-result", role: "status" });
      button.parentNode.insertBefore(live, button.nextSibling);
    }
    O2O.copyText(button.getAttribute("data-copy")).then(function (ok) {
      live.textContent = ok ? gettext("Address copied") : gettext("Could not copy: select the address and copy it");
    });
  });

  global.O2O = O2O;
})(window);
