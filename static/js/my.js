/* My 11.11: follow brands (in localStorage) and see their nearest stores, nearest first. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("o2o-config").textContent);
  var crs = cfg.tilesCrs || "wgs84";
  var el = O2O.el;
  var origin = null;   // [lat, lon] in display coordinates
  var map = L.map("map", { minZoom: 3, maxZoom: 19 }).setView([34.5, 108.0], 4);
  O2O.addBasemap(map, cfg);
  var layer = L.featureGroup().addTo(map);
  var status = document.getElementById("status");
  var chips = document.getElementById("brand-chips");
  var list = document.getElementById("results");

  function renderChips() {
    var filter = document.getElementById("brand-filter").value.trim().toLowerCase();
    chips.textContent = "";
    var followed = O2O.followed();
    cfg.brands.slice().sort(function (a, b) {
      return (followed.indexOf(b) >= 0) - (followed.indexOf(a) >= 0) || a.localeCompare(b);
    }).forEach(function (brand) {
      var label = O2O.brandLabel(brand);  // 优衣库 on a Chinese page; the value kept is the English name
      if (filter && brand.toLowerCase().indexOf(filter) < 0 && label.toLowerCase().indexOf(filter) < 0
          && followed.indexOf(brand) < 0) return;
      var on = followed.indexOf(brand) >= 0;
      var b = el("button", { type: "button", "aria-pressed": String(on), "data-brand": brand },
                 [(on ? "★ " : "☆ "), O2O.data(label)]);
      b.addEventListener("click", function () { O2O.toggleFollow(brand); renderChips(); refresh(); });
      chips.appendChild(b);
    });
  }

  function refresh() {
    var brands = O2O.followed();
    layer.clearLayers();
    list.textContent = "";
    if (!brands.length) { status.textContent = _("Follow a brand or two above."); return; }
    if (!origin) { status.textContent = _("Share your location or choose a city to see the nearest stores."); return; }
    var qs = new URLSearchParams({ lat: origin[0].toFixed(6), lon: origin[1].toFixed(6), k: "30", crs: crs });
    brands.forEach(function (b) { qs.append("brand", b); });
    fetch("/api/v1/stores/nearby?" + qs.toString()).then(function (r) {
      var savedAt = O2O.savedAt(r);  // an answer the service worker kept, offline: since when
      return r.json().then(function (body) { body.savedAt = savedAt; return body; });
    }).then(function (body) {
      var features = body.features || [];
      // (Messages one by one: the extractor does not look inside another call's arguments.)
      var storesText = ngettext("%(num)s store", "%(num)s stores", features.length);
      var brandsText = ngettext("%(num)s followed brand", "%(num)s followed brands", brands.length);
      status.textContent = _("%(stores)s of %(brands)s, nearest first", { stores: storesText, brands: brandsText }) +
        (body.savedAt ? " · " + O2O.staleNote(body.savedAt) : "");
      features.forEach(function (f) {
        var p = f.properties, c = f.geometry.coordinates;
        L.circleMarker([c[1], c[0]], { radius: 7, color: "#fff", weight: 2, fillColor: "#d4a017", fillOpacity: 1 })
          .bindTooltip(O2O.data(p.name)).addTo(layer);
        list.appendChild(el("li", {}, [
          el("div", { className: "row1" }, [el("a", { href: p.url, translate: "no" }, [el("strong", { text: p.name })]),
                                            el("span", { className: "dist", text: O2O.formatDistance(p.distance_m) })]),
          el("div", { className: "meta" }, [O2O.data(O2O.brandLabel(p.brand, p.brand_zh)),
            p.open_now === false ? " · " + _("closed now") : p.open_now ? " · " + _("open now") : null]),
          el("div", { className: "addr", text: p.address, translate: "no" })
        ]));
      });
      L.circleMarker(origin, { radius: 6, color: "#fff", weight: 2, fillColor: "#1a73e8", fillOpacity: 1 }).addTo(layer);
      map.fitBounds(layer.getBounds().pad(0.15), { maxZoom: 15 });
    }, function () {
      O2O.connection.lost();
      status.textContent = _("No connection: stores will show again once it is back.");
    });
  }

  function setOrigin(lat, lon) { origin = [lat, lon]; refresh(); }
  document.getElementById("brand-filter").addEventListener("input", renderChips);
  document.getElementById("city").addEventListener("change", function (ev) {
    var c = cfg.cities[Number(ev.target.value)];
    if (c) { var p = O2O.toDisplay(c.lon, c.lat, crs); setOrigin(p[1], p[0]); }
  });
  function locate() {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(function (pos) {
      var p = O2O.toDisplay(pos.coords.longitude, pos.coords.latitude, crs);
      setOrigin(p[1], p[0]);
    }, function () { status.textContent = _("Location unavailable — choose a city."); }, { timeout: 8000, maximumAge: 60000 });
  }
  document.getElementById("locate").addEventListener("click", locate);
  renderChips();
  refresh();
  window.addEventListener("online", refresh);
  locate();
  window.o2oMap = map;
})();
