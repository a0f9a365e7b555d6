/* My 11.11: follow brands (in localStorage) and see their nearest stores, nearest first; and followed
 * products (followed on their pages), each with the nearest store that has it in stock. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("o2o-config").textContent);
  var crs = cfg.tilesCrs || "wgs84";
  var el = O2O.el;
  var origin = null;   // [lat, lon] in display coordinates
  var map = L.map("map", { minZoom: 3, maxZoom: 19 }).setView([34.5, 108.0], 4);
  O2O.addBasemap(map, cfg);
  var layer = L.featureGroup().addTo(map);
  var productLayer = L.featureGroup().addTo(map);   // the nearest store of each followed product
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

  // ------------------------------------------------------------------ followed products
  // Each one's nearest open store with it in stock or limited (GET /api/v1/products/{id}/nearby, k=1).
  var productList = document.getElementById("product-results");
  var productStatus = document.getElementById("product-status");
  var productSeq = 0;
  var STALE_MS = 24 * 3600 * 1000;
  function productRow(item) {
    var li = el("li", { "data-product": String(item.id) });
    var unfollow = el("button", { type: "button", className: "unfollow", "aria-label": _("Stop following %(title)s", { title: item.title }),
                                  title: _("Stop following") }, ["★"]);
    unfollow.addEventListener("click", function () { O2O.toggleProductFollow(item.id, item.title); refreshProducts(); });
    var link = el("a", { href: "/products/" + item.id + (origin ? "?lat=" + origin[0].toFixed(5) + "&lon=" + origin[1].toFixed(5) : ""),
                         translate: "no", className: "title", text: item.title || "#" + item.id });
    var where = el("div", { className: "where" }, [origin ? _("Looking for the nearest store…") : _("Share your location or choose a city to see the nearest store that has it.")]);
    li.appendChild(el("div", { className: "row1" }, [link, unfollow]));
    li.appendChild(where);
    return { li: li, link: link, where: where };
  }
  function showNearest(row, body) {
    row.where.textContent = "";
    var f = (body.features || [])[0];
    if (body.product && body.product.title) row.link.textContent = body.product.title;
    if (!f) { row.where.textContent = _("No store has it in stock right now."); return; }
    var p = f.properties, c = f.geometry.coordinates;
    L.circleMarker([c[1], c[0]], { radius: 7, color: "#fff", weight: 2, fillColor: "#1a5fb4", fillOpacity: 1 })
      .bindTooltip(O2O.data(row.link.textContent + " · " + p.name)).addTo(productLayer);
    if (!layer.getLayers().length && origin) {  // no followed brand's stores on the map: show these
      map.fitBounds(productLayer.getBounds().extend(origin).pad(0.15), { maxZoom: 15 });
    }
    var stale = p.stock_updated_at && (Date.now() - Date.parse(p.stock_updated_at) > STALE_MS);
    row.where.appendChild(el("a", { href: p.url, translate: "no", text: p.name }));
    row.where.appendChild(el("span", { className: "dist", text: " " + O2O.formatDistance(p.distance_m) }));
    row.where.appendChild(el("br"));
    row.where.appendChild(el("span", { className: "stock stock-" + p.availability,
      text: p.availability === "limited" ? _("Limited stock") : _("In stock") }));
    if (p.price !== null && p.price !== undefined) row.where.appendChild(document.createTextNode(" · ¥" + O2O.formatNumber(p.price)));
    if (stale) row.where.appendChild(el("span", { className: "stale", text: " · " + _("possibly out of date") }));
    if (body.savedAt) row.where.appendChild(el("span", { className: "stale", text: " · " + O2O.staleNote(body.savedAt) }));
  }
  function refreshProducts() {
    var items = O2O.followedProducts();
    var my = ++productSeq;
    productList.textContent = "";
    productLayer.clearLayers();
    if (!items.length) {
      productStatus.textContent = _("Follow a product on its page to see here the nearest store that has it.");
      return;
    }
    productStatus.textContent = ngettext("%(num)s followed product", "%(num)s followed products", items.length);
    items.forEach(function (item) {
      var row = productRow(item);
      productList.appendChild(row.li);
      if (!origin) return;
      var qs = new URLSearchParams({ lat: origin[0].toFixed(6), lon: origin[1].toFixed(6), k: "1", crs: crs });
      fetch("/api/v1/products/" + item.id + "/nearby?" + qs.toString()).then(function (r) {
        if (my !== productSeq) return;
        if (r.status === 404) { row.where.textContent = _("This product is no longer sold."); return; }
        var savedAt = O2O.savedAt(r);
        return r.json().then(function (body) { if (my !== productSeq) return; body.savedAt = savedAt; showNearest(row, body); });
      }).catch(function () {
        if (my === productSeq) row.where.textContent = _("No connection: stores will show again once it is back.");
      });
    });
  }

  function setOrigin(lat, lon) { origin = [lat, lon]; refresh(); refreshProducts(); }
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
  refreshProducts();
  window.addEventListener("online", function () { refresh(); refreshProducts(); });
  locate();
  window.o2oMap = map;
})();
