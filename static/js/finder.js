/* The shopper's store finder: a map of the stores in view (clustered), a list of the nearest
 * beside it, search and filters, all kept in the URL so a view can be shared. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("o2o-config").textContent);
  var crs = cfg.tilesCrs || "wgs84";
  var params = new URLSearchParams(window.location.search);
  var state = {
    brand: params.getAll("brand"),
    category: params.get("category") || "",
    q: params.get("q") || "",
    user: null,            // shopper's position in display coordinates [lat, lon]
    selected: params.get("store") ? Number(params.get("store")) : null
  };

  var map = L.map("map", { zoomControl: true, worldCopyJump: false, minZoom: 3, maxZoom: 19 });
  O2O.addBasemap(map, cfg);
  var clusterLayer = L.layerGroup().addTo(map);
  var storeLayer = L.markerClusterGroup({ maxClusterRadius: 40, showCoverageOnHover: false, spiderfyOnMaxZoom: true }).addTo(map);
  var userLayer = L.layerGroup().addTo(map);
  // The chosen store's marker is kept out of the clusters while its popup is open: markers added
  // as the map moves would otherwise gather it into a cluster and close the popup.
  var pinnedLayer = L.layerGroup().addTo(map);
  var pinning = false;
  function pin(m) {
    if (pinnedLayer.hasLayer(m)) return;
    pinning = true;
    if (storeLayer.hasLayer(m)) storeLayer.removeLayer(m);
    pinning = false;
    pinnedLayer.addLayer(m);
  }
  function unpin(m) {
    if (!pinnedLayer.hasLayer(m)) return;
    pinnedLayer.removeLayer(m);
    if (markers[m.storeId] === m) storeLayer.addLayer(m);
  }
  var markers = {};   // store id -> marker currently on the map
  var statusEl = document.getElementById("status");
  var listEl = document.getElementById("results");
  var titleEl = document.getElementById("results-title");

  /** The status line: a string, or a list of strings and nodes (names marked translate="no"). */
  function setStatus(parts) {
    statusEl.textContent = "";
    (Array.isArray(parts) ? parts : [parts || ""]).forEach(function (x) {
      statusEl.appendChild(typeof x === "string" ? document.createTextNode(x) : x);
    });
  }

  // ------------------------------------------------------------------ the list as a sheet (phone)
  // On a phone the list lies over the map as a sheet: a strip at the bottom (the nearest store
  // showing), half the screen, or nearly all of it. The thumb drags its handle or title; a tap on
  // the handle (or Enter) opens and closes it. On a wide screen it is a plain column.
  var sheet = (function () {
    var el = document.getElementById("sheet"), handle = document.getElementById("sheet-handle");
    var phone = window.matchMedia("(max-width: 760px)");
    function set(name) {
      el.setAttribute("data-sheet", name);
      var open = name !== "peek";
      handle.setAttribute("aria-expanded", String(open));
      handle.setAttribute("aria-label", open ? handle.getAttribute("data-label-close") : handle.getAttribute("data-label-open"));
    }
    function offset() {  // the sheet's translateY now, in px
      var t = getComputedStyle(el).transform;
      return !t || t === "none" ? 0 : new DOMMatrixReadOnly(t).m42;
    }
    var startY = null, startOffset = 0, moved = false;
    function down(ev) {
      if (!phone.matches || (ev.pointerType === "mouse" && ev.button !== 0)) return;
      startY = ev.clientY; startOffset = offset(); moved = false;
      try { ev.currentTarget.setPointerCapture(ev.pointerId); } catch (e) { /* released already */ }
    }
    function move(ev) {
      if (startY === null) return;
      var dy = ev.clientY - startY;
      if (!moved && Math.abs(dy) < 6) return;
      if (!moved) { moved = true; el.classList.add("dragging"); }
      var peek = el.offsetHeight - parseFloat(getComputedStyle(el).getPropertyValue("--sheet-peek") || 128);
      el.style.transform = "translateY(" + Math.max(0, Math.min(peek, startOffset + dy)) + "px)";
      ev.preventDefault();
    }
    function up() {
      if (startY === null) return;
      startY = null;
      if (!moved) return;
      var h = el.offsetHeight, now = offset();
      var peek = h - (parseFloat(getComputedStyle(el).getPropertyValue("--sheet-peek")) || 128);
      var snaps = [["full", 0], ["half", h * 0.5], ["peek", peek]];
      snaps.sort(function (a, b) { return Math.abs(a[1] - now) - Math.abs(b[1] - now); });
      el.classList.remove("dragging");
      el.style.transform = "";
      set(snaps[0][0]);
      setTimeout(function () { moved = false; }, 0);  // the click that ends a drag is not a tap
    }
    [handle, document.getElementById("results-title")].forEach(function (target) {
      target.addEventListener("pointerdown", down);
      target.addEventListener("pointermove", move);
      target.addEventListener("pointerup", up);
      target.addEventListener("pointercancel", up);
    });
    handle.addEventListener("click", function () {
      if (moved) return;
      set(el.getAttribute("data-sheet") === "peek" ? "half" : "peek");
    });
    return { set: set, isPhone: function () { return phone.matches; } };
  })();

  // ------------------------------------------------------------------ API
  var inflight = {};
  function api(kind, path, query) {
    if (inflight[kind]) inflight[kind].abort();
    var ctrl = new AbortController();
    inflight[kind] = ctrl;
    var qs = new URLSearchParams();
    Object.keys(query).forEach(function (k) {
      var v = query[k];
      if (Array.isArray(v)) v.forEach(function (x) { qs.append(k, x); });
      else if (v !== null && v !== undefined && v !== "") qs.append(k, v);
    });
    return fetch(path + "?" + qs.toString(), { signal: ctrl.signal, headers: { Accept: "application/json" } })
      .catch(function (err) {
        if (err.name !== "AbortError") { err.offline = true; O2O.connection.lost(); }
        throw err;
      })
      .then(function (r) {
        var savedAt = O2O.savedAt(r);  // an answer the service worker kept, offline: since when
        return r.json().then(function (body) {
          if (!r.ok) throw new Error((body.error && body.error.message) || ("HTTP " + r.status));
          if (savedAt) body.savedAt = savedAt;
          return body;
        });
      });
  }

  function filters() {
    return { brand: state.brand, category: state.category ? [state.category] : [], crs: crs };
  }

  // ------------------------------------------------------------------ popups and markers
  function popupContent(f) {
    var p = f.properties;
    var badge = p.open_now === true ? O2O.el("span", { className: "badge open", text: _("Open now") })
      : p.open_now === false ? O2O.el("span", { className: "badge shut", text: _("Closed now") }) : null;
    var metres = p.distance_m;
    if (metres === undefined && state.user) {  // viewport features: measure from the shopper
      var c = f.geometry.coordinates;
      metres = O2O.haversine(state.user[1], state.user[0], c[0], c[1]);
    }
    var dist = (metres !== undefined) ? O2O.el("div", { className: "dist", text: _("%(distance)s from you", { distance: O2O.formatDistance(metres) }) }) : null;
    return O2O.el("div", { className: "popup" }, [
      O2O.el("h3", { text: p.name, translate: "no" }),
      O2O.el("div", { className: "meta" }, [O2O.data(O2O.brandLabel(p.brand, p.brand_zh)), " · ", O2O.categoryNode(p.category, p.category_zh)]),
      O2O.el("div", { className: "addr", text: p.address, translate: "no" }),
      O2O.el("div", { className: "hours" }, [_("Hours") + " ", p.hours ? O2O.data(p.hours) : "—", " ", badge]),
      dist,
      followButton(p.brand, p.brand_zh),
      // Amap and geo:, or in WeChat/QQ what works there (common.js)
      O2O.el("div", { className: "popup-actions" }, O2O.navigationButtons(p).concat([
        O2O.el("a", { href: p.url, className: "button", text: _("Details") }),
        O2O.el("a", { href: p.go_url, rel: "noopener", className: "button buy", text: _("Buy online") })
      ]))
    ]);
  }

  function followButton(brand, brandZh) {
    var b = O2O.el("button", { type: "button", className: "follow" });
    function label() {
      b.textContent = "";
      var text = O2O.isFollowed(brand) ? _("★ Following %(brand)s") : _("☆ Follow %(brand)s");
      O2O.fragment(text, { brand: O2O.data(O2O.brandLabel(brand, brandZh)) }).forEach(function (x) {
        b.appendChild(typeof x === "string" ? document.createTextNode(x) : x);
      });
    }
    label();
    b.addEventListener("click", function () { O2O.toggleFollow(brand); label(); markFollowed(); });
    return b;
  }

  function markFollowed() {
    Object.keys(markers).forEach(function (id) {
      var m = markers[id], el = m.getElement && m.getElement();
      if (el) el.classList.toggle("followed-marker", O2O.isFollowed(m.brand));
    });
    Array.prototype.forEach.call(listEl.children, function (li) {
      li.classList.toggle("followed", O2O.isFollowed(li.getAttribute("data-brand")));
    });
  }

  function storeMarker(f) {
    var c = f.geometry.coordinates;
    // Markers are for the pointer; the keyboard and screen readers have the list (the nearest
    // stores, each a tab stop, Enter opens its popup) and the map's own keys (arrows, +/-):
    // hundreds of marker tab stops would bury the list, and a marker under the sheet or the
    // map's controls would be a button half covered (WCAG 2.5.8).
    var m = L.marker([c[1], c[0]], { title: f.properties.name, alt: f.properties.name, keyboard: false });
    m.brand = f.properties.brand;
    m.on("add", function () {
      var el = m.getElement();
      if (!el) return;
      el.classList.toggle("followed-marker", O2O.isFollowed(m.brand));
      el.setAttribute("translate", "no");  // its title and alt are the store's name
    });
    m.bindPopup(function () { return popupContent(f); }, { maxWidth: 280 });
    m.storeId = f.id;
    m.on("popupopen", function () {
      state.selected = f.id;
      if (!pinnedLayer.hasLayer(m)) { pin(m); m.openPopup(); return; }
      highlight(f.id); writeUrl();
    });
    m.on("popupclose", function () {
      if (pinning) return;
      if (state.selected === f.id) { state.selected = null; writeUrl(); }
      setTimeout(function () { if (state.selected !== f.id) unpin(m); }, 0);
    });
    return m;
  }

  function clusterMarker(f) {
    var c = f.geometry.coordinates, n = f.properties.point_count;
    var size = n < 10 ? 34 : n < 100 ? 40 : n < 1000 ? 48 : 56;
    var icon = L.divIcon({
      html: "<div><span>" + (n >= 10000 ? O2O.formatCompact(n) : n) + "</span></div>",
      className: "marker-cluster server-cluster " + (n < 10 ? "marker-cluster-small" : n < 100 ? "marker-cluster-medium" : "marker-cluster-large"),
      iconSize: L.point(size, size)
    });
    var m = L.marker([c[1], c[0]], { icon: icon, title: ngettext("%(num)s store", "%(num)s stores", n), keyboard: false });
    m.on("click", function () {
      var b = f.bbox;
      if (b && (b[2] - b[0] > 1e-6 || b[3] - b[1] > 1e-6)) map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [30, 30] });
      else map.setView([c[1], c[0]], Math.min(map.getZoom() + 3, 19));
    });
    return m;
  }

  function showFeatures(features) {
    clusterLayer.clearLayers();
    var keep = {};
    var add = [];
    features.forEach(function (f) {
      if (f.properties.cluster) { clusterLayer.addLayer(clusterMarker(f)); return; }
      keep[f.id] = true;
      if (!markers[f.id]) { markers[f.id] = storeMarker(f); add.push(markers[f.id]); }
    });
    var remove = [];
    Object.keys(markers).forEach(function (id) {
      if (!keep[id] && Number(id) !== state.selected) { remove.push(markers[id]); delete markers[id]; }
    });
    storeLayer.removeLayers(remove);
    storeLayer.addLayers(add);
  }

  // ------------------------------------------------------------------ the list
  function origin() {
    if (state.user && map.getBounds().contains(state.user)) return { lat: state.user[0], lon: state.user[1], from: "you" };
    var c = map.getCenter();
    return { lat: c.lat, lon: c.lng, from: "centre" };
  }

  // Stores the service worker kept (no network): the list says since when.
  var staleEl = O2O.el("p", { className: "stale-note", role: "note" });
  staleEl.hidden = true;
  titleEl.parentNode.insertBefore(staleEl, titleEl.nextSibling);

  function renderList(body, from) {
    listEl.textContent = "";
    staleEl.hidden = !body.savedAt;
    staleEl.textContent = body.savedAt ? O2O.staleNote(body.savedAt) : "";
    var features = body.features;
    if (!features.length && body.nearest) features = [body.nearest];
    titleEl.textContent = !features.length ? _("No stores match")
      : from === "you" ? _("Nearest to you") : _("Nearest to the map centre");
    features.forEach(function (f) {
      var p = f.properties;
      var li = O2O.el("li", { "data-id": f.id, "data-brand": p.brand, tabindex: "0",
                              className: O2O.isFollowed(p.brand) ? "followed" : "" }, [
        O2O.el("div", { className: "row1" }, [
          O2O.el("strong", { text: p.name, translate: "no" }),
          O2O.el("span", { className: "dist", text: O2O.formatDistance(p.distance_m) })
        ]),
        O2O.el("div", { className: "meta" }, [O2O.data(O2O.brandLabel(p.brand, p.brand_zh)), " · ",
          O2O.categoryNode(p.category, p.category_zh), p.open_now === false ? " · " + _("closed now") : null]),
        O2O.el("div", { className: "addr", text: p.address, translate: "no" })
      ]);
      li.addEventListener("click", function () { focusStore(f); });
      li.addEventListener("keydown", function (ev) { if (ev.key === "Enter") focusStore(f); });
      listEl.appendChild(li);
    });
    highlight(state.selected);
  }

  function highlight(id) {
    Array.prototype.forEach.call(listEl.children, function (li) {
      li.classList.toggle("selected", Number(li.getAttribute("data-id")) === id);
    });
  }

  function focusStore(f) {
    var c = f.geometry.coordinates;
    var m = markers[f.id];
    if (!m) m = markers[f.id] = storeMarker(f);
    state.selected = f.id;
    if (sheet.isPhone()) sheet.set("peek");  // the map, with the store's popup, comes back into view
    if (map.getZoom() < 15) map.setView([c[1], c[0]], 16, { animate: false });
    else map.panTo([c[1], c[0]]);
    pin(m);
    m.openPopup();
  }

  // ------------------------------------------------------------------ refresh on every move
  var timer = null;
  function scheduleRefresh() { clearTimeout(timer); timer = setTimeout(refresh, 200); }

  function refresh() {
    writeUrl();
    var b = map.getBounds();
    var o = origin();
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v, i) {
      var lim = i % 2 === 0 ? 180 : 90;
      return Math.max(-lim, Math.min(lim, v)).toFixed(6);
    }).join(",");
    var f = filters();
    if (state.q) {
      // Text search: the matches nearest the shopper, on the map and in the list.
      api("list", "/api/v1/stores/nearby", Object.assign({ lat: o.lat.toFixed(6), lon: o.lon.toFixed(6), k: 50, q: state.q }, f))
        .then(function (body) {
          showFeatures(body.features);
          renderList(body, o.from);
          // The words named a place (优衣库 杭州): show its matches, once per query.
          var placeKey = body.place ? state.q + "|" + body.place.properties.name : null;
          if (placeKey && placeKey !== state.flownTo && body.features.length) {
            state.flownTo = placeKey;
            var pts = body.features.map(function (f) { var c = f.geometry.coordinates; var p = O2O.toDisplay(c[0], c[1], crs); return [p[1], p[0]]; });
            map.flyToBounds(L.latLngBounds(pts), { padding: [30, 30], maxZoom: 15, duration: 0.8 });
          }
          var n = body.features.length;
          setStatus(O2O.fragment(ngettext("%(num)s store matches “%(q)s”", "%(num)s stores match “%(q)s”", n),
                                 { num: O2O.formatNumber(n), q: O2O.data(state.q) })
                    .concat(body.savedAt ? [" · ", O2O.staleNote(body.savedAt)] : []));
        }).catch(handleError);
      return;
    }
    api("view", "/api/v1/stores", Object.assign({ bbox: bbox, zoom: map.getZoom() }, f)).then(function (body) {
      showFeatures(body.features);
      var parts = [ngettext("%(num)s store in view", "%(num)s stores in view", body.total)];
      if (state.brand.length) parts.push(" · ", O2O.data(state.brand.map(function (b) { return O2O.brandLabel(b); }).join(", ")));
      if (state.category) parts.push(" · ", O2O.categoryNode(state.category));
      if (body.savedAt) parts.push(" · ", O2O.staleNote(body.savedAt));
      setStatus(parts);
    }).catch(handleError);
    api("list", "/api/v1/stores/nearby", Object.assign({ lat: o.lat.toFixed(6), lon: o.lon.toFixed(6), k: 30 }, f))
      .then(function (body) { renderList(body, o.from); }).catch(handleError);
  }

  function handleError(err) {
    if (err.name === "AbortError") return;
    if (err.offline) {  // no network, and nothing the service worker kept for this view
      setStatus(state.q ? _("Search needs a connection.") : _("No connection: stores will show again once it is back."));
      return;
    }
    setStatus(O2O.fragment(_("Could not load stores: %(error)s"), { error: O2O.data(err.message) }));
  }

  function writeUrl() {
    var c = map.getCenter();
    var qs = new URLSearchParams();
    qs.set("lat", c.lat.toFixed(5)); qs.set("lon", c.lng.toFixed(5)); qs.set("z", map.getZoom());
    state.brand.forEach(function (b) { qs.append("brand", b); });
    if (state.category) qs.set("category", state.category);
    if (state.q) qs.set("q", state.q);
    if (state.selected) qs.set("store", state.selected);
    history.replaceState(null, "", "?" + qs.toString());
  }

  // ------------------------------------------------------------------ controls
  var qInput = document.getElementById("q");
  var catSelect = document.getElementById("category");
  var citySelect = document.getElementById("city");
  qInput.value = state.brand.length ? state.brand.map(function (b) { return O2O.brandLabel(b); }).join(", ") : state.q;
  catSelect.value = state.category;

  // As-you-type suggestions: a brand filters, a category selects, a place flies the map there,
  // a store opens its page.
  O2O.suggest(qInput, {
    near: function () { var o = origin(); return { lat: o.lat, lon: o.lon }; },
    crs: crs,
    choose: function (item) {
      if (item.query) {  // the last word completed, the words before it kept: 海尔 xu → 海尔 徐汇区
        qInput.value = item.query; state.q = item.query; state.brand = []; refresh();
      } else if (item.type === "place") {
        state.q = ""; state.brand = []; qInput.value = "";
        flyToBox(item.bbox);
        setStatus(O2O.fragment(_("Showing %(place)s"), { place: O2O.data(item.text) }));
      } else if (item.type === "brand") {
        state.brand = [item.value]; state.q = ""; refresh();
      } else if (item.type === "category") {
        state.category = item.value; catSelect.value = item.value; state.q = ""; qInput.value = ""; refresh();
      } else if (item.type === "store") {
        window.location.href = "/stores/" + encodeURIComponent(item.id);
      } else {
        state.q = item.text; state.brand = []; refresh();
      }
    }
  });

  function flyToBox(b) {  // [w, s, e, n], already in the map's system (suggest was asked with crs)
    map.flyToBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [20, 20], maxZoom: 16, duration: 0.8 });
  }

  document.getElementById("search-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (navigator.onLine === false) {  // the note under the search box says so too (suggest.js)
      setStatus(_("Search needs a connection."));
      return;
    }
    var text = qInput.value.trim();
    var brand = cfg.brands.filter(function (b) {  // the English name, or the Chinese one shown
      return b.toLowerCase() === text.toLowerCase() || O2O.brandLabel(b) === text;
    })[0];
    state.brand = brand ? [brand] : [];
    state.q = brand ? "" : text;
    refresh();
  });
  catSelect.addEventListener("change", function () { state.category = catSelect.value; refresh(); });
  citySelect.addEventListener("change", function () {
    var city = cfg.cities[Number(citySelect.value)];
    if (!city) return;
    var p = O2O.toDisplay(city.lon, city.lat, crs);
    map.setView([p[1], p[0]], 12);
  });

  function locate(auto) {
    if (!navigator.geolocation) { if (!auto) setStatus(_("This browser cannot share a location: choose a city.")); return; }
    setStatus(_("Finding your location…"));
    navigator.geolocation.getCurrentPosition(function (pos) {
      var p = O2O.toDisplay(pos.coords.longitude, pos.coords.latitude, crs);
      state.user = [p[1], p[0]];
      userLayer.clearLayers();
      L.circleMarker(state.user, { radius: 8, color: "#fff", weight: 2, fillColor: "#1a73e8", fillOpacity: 1 })
        .bindTooltip(_("You are here")).addTo(userLayer);
      map.setView(state.user, 15);
    }, function () {
      setStatus(_("Location unavailable — choose a city instead."));
      citySelect.classList.add("attention");
      citySelect.focus();
    }, { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 });
  }
  document.getElementById("locate").addEventListener("click", function () { locate(false); });

  // ------------------------------------------------------------------ start
  map.on("moveend", scheduleRefresh);
  window.addEventListener("online", scheduleRefresh);  // back online: fresh stores for the view
  var lat = parseFloat(params.get("lat")), lon = parseFloat(params.get("lon")), z = parseInt(params.get("z"), 10);
  if (isFinite(lat) && isFinite(lon)) {
    map.setView([lat, lon], isFinite(z) ? z : 14);
  } else {
    map.setView([34.5, 108.0], 5);  // all of China until the shopper's location is known
    locate(true);
  }
  window.o2oMap = map; // for tests and debugging
})();
