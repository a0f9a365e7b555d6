/* Retailer console, demand (issue 17): for each of the retailer's brands, the places where shoppers'
 * searches went unmet and none of its stores is within 5 km (where to open next), on the map and
 * as a list; and around each of its stores, the searches that found it. */
(function () {
  "use strict";
  var map = window.o2oMap;
  var box = document.getElementById("demand-panel");
  if (!map || !box) return;
  var cfg = JSON.parse(document.getElementById("o2o-config").textContent);
  var crs = cfg.tilesCrs || "wgs84";
  var el = O2O.el;
  var brandSel = document.getElementById("demand-brand");
  var list = document.getElementById("suggestion-list");
  var reachBody = document.querySelector("#reach-table tbody");
  var statusEl = document.getElementById("demand-status");
  var layer = L.featureGroup().addTo(map);
  var reachLayer = L.featureGroup().addTo(map);

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json", "Accept-Language": O2O.lang } })
      .then(function (r) {
        return r.json().then(function (b) { if (!r.ok) throw new Error(b.error ? b.error.message : "HTTP " + r.status); return b; });
      });
  }
  function at(lon, lat) { var p = O2O.toDisplay(lon, lat, crs); return [p[1], p[0]]; }

  function loadSuggestions() {
    var brand = brandSel.value;
    layer.clearLayers();
    list.textContent = "";
    if (!brand) return;
    statusEl.textContent = _("Loading…");
    getJSON("/api/v1/retailer/suggestions?brand=" + encodeURIComponent(brand)).then(function (body) {
      statusEl.textContent = body.features.length ? "" : _("No unmet demand for this brand away from your stores.");
      body.features.forEach(function (f, i) {
        var p = f.properties, c = f.geometry.coordinates;
        var text = _("%(searches)s unmet searches · %(people)s people · your nearest store %(distance)s", {
          searches: O2O.formatNumber(p.searches), people: O2O.formatNumber(p.population),
          distance: p.nearest_own_store_m === null ? "—" : O2O.formatDistance(p.nearest_own_store_m) });
        var name = O2O.lang === "zh" ? p.city : p.city_en;
        var m = L.circleMarker(at(c[0], c[1]), { radius: 6 + Math.min(14, Math.sqrt(p.searches)), color: "#1a5fb4",
          weight: 2, fillColor: "#62a0ea", fillOpacity: 0.7 });
        m.bindTooltip(el("span", {}, [el("strong", { text: (i + 1) + ". " + name, translate: "no" }), el("br"), text]));
        layer.addLayer(m);
        var li = el("li", { className: "zoomable", title: _("Zoom the map here") }, [el("strong", { text: name, translate: "no" }),
          p.province ? el("span", { className: "hint", text: " · " + p.province, translate: "no" }) : "", el("br"),
          el("span", { className: "hint", text: text })]);
        li.addEventListener("click", function () { map.setView(at(c[0], c[1]), 11); m.openTooltip(); });
        list.appendChild(li);
      });
    }).catch(function (e) { statusEl.textContent = _("Could not load: %(error)s", { error: e.message }); });
  }

  function loadReach() {
    return getJSON("/api/v1/retailer/demand/stores").then(function (body) {
      var brands = {};
      body.stores.forEach(function (s) { brands[s.brand] = true; });
      Object.keys(brands).sort().forEach(function (b) {
        brandSel.appendChild(el("option", { value: b, text: O2O.brandLabel(b), translate: "no" }));
      });
      reachBody.textContent = "";
      reachLayer.clearLayers();
      var top = body.stores.filter(function (s) { return s.searches > 0; }).sort(function (a, b) { return b.searches - a.searches; });
      top.slice(0, 10).forEach(function (s) {
        reachBody.appendChild(el("tr", {}, [el("td", { text: s.name, translate: "no" }), el("td", { text: O2O.formatNumber(s.searches) })]));
      });
      if (!top.length) reachBody.appendChild(el("tr", {}, [el("td", { colspan: "2", className: "hint", text: _("No searches have found your stores yet.") })]));
      top.forEach(function (s) {
        reachLayer.addLayer(L.circleMarker(at(s.lon, s.lat), { radius: 3 + Math.min(12, Math.sqrt(s.searches)), color: "#e66100",
          weight: 1, fillColor: "#ffa348", fillOpacity: 0.5, interactive: false }));
      });
      if (Object.keys(brands).length) { brandSel.value = Object.keys(brands).sort()[0]; loadSuggestions(); }
    }).catch(function (e) { statusEl.textContent = _("Could not load: %(error)s", { error: e.message }); });
  }
  brandSel.addEventListener("change", loadSuggestions);
  loadReach();
})();
