/* Analysts' demand layer (issue 17): H3 hexagons of shoppers' searches coloured by the share unmet
 * (nearest match over 5 km, or none), with its own time window and playback, and a table of
 * searches, unmet searches and the share met by province or city. Beside analytics.js, on its map. */
(function () {
  "use strict";
  var map = window.o2oMap;
  var box = document.getElementById("demand-controls");
  if (!map || !box) return;
  var el = O2O.el;
  var HOUR = 3600;
  var FIRST = Date.parse("2026-11-01T00:00:00+08:00") / 1000, LAST = Date.parse("2026-11-13T00:00:00+08:00") / 1000;
  var st = { on: false, windowH: 0, start: Date.parse("2026-11-10T00:00:00+08:00") / 1000, level: "province" };
  var show = document.getElementById("demand-on");
  var windowSel = document.getElementById("demand-window");
  var slider = document.getElementById("demand-time");
  var label = document.getElementById("demand-time-label");
  var statusEl = document.getElementById("demand-status");
  var play = document.getElementById("demand-play");
  slider.min = 0; slider.max = Math.round((LAST - FIRST) / HOUR) - 1; slider.value = Math.round((st.start - FIRST) / HOUR);

  // Green where searches were met, through amber, to red where none were: the share unmet.
  var RAMP = ["#2b9348", "#80b918", "#ffd166", "#f8961e", "#e4393c", "#9d0208"];
  var layer = L.geoJSON(null, { style: function (f) {
    var p = f.properties, share = p.searches ? p.unmet / p.searches : 0;
    var c = RAMP[Math.min(RAMP.length - 1, Math.floor(share * RAMP.length))];
    return { color: c, weight: 0.6, fillColor: c, fillOpacity: 0.35 + 0.4 * Math.log(1 + p.searches) / Math.log(1 + maxCount) };
  }, onEachFeature: function (f, l) {
    var p = f.properties;
    l.bindTooltip(ngettext("%(num)s search", "%(num)s searches", p.searches) + " · " +
      ngettext("%(num)s unmet", "%(num)s unmet", p.unmet), { sticky: true });
  } });
  var maxCount = 1;

  function sel(id) { var x = document.getElementById(id); return x ? x.value : ""; }
  function query(extra) {
    var q = new URLSearchParams();
    if (sel("f-brand")) q.append("brand", sel("f-brand"));
    if (sel("f-category")) q.append("category", sel("f-category"));
    if (st.windowH > 0) {
      q.set("since", new Date(st.start * 1000).toISOString());
      q.set("until", new Date((st.start + st.windowH * HOUR) * 1000).toISOString());
    }
    Object.keys(extra || {}).forEach(function (k) { q.set(k, extra[k]); });
    return q;
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().then(function (b) { if (!r.ok) throw new Error(b.error ? b.error.message : "HTTP " + r.status); return b; });
    });
  }
  function bbox() {
    var b = map.getBounds().pad(0.1);
    return [Math.max(-180, b.getWest()), Math.max(-90, b.getSouth()), Math.min(180, b.getEast()), Math.min(90, b.getNorth())]
      .map(function (v) { return v.toFixed(4); }).join(",");
  }
  function res() { return Math.min(9, Math.max(3, Math.round(map.getZoom() * 0.55 + 0.6))); }
  function beijing(t) { return new Date((t + 8 * HOUR) * 1000).toISOString().slice(5, 16).replace("T", " "); }

  var seq = 0;
  function loadCells() {
    var q = query({ res: res() });
    var url = "/api/v1/analytics/demand?" + q.toString();
    document.getElementById("x-demand-geojson").href = url;
    document.getElementById("x-demand-csv").href = url + "&format=csv";
    if (!st.on) return;
    var my = ++seq;
    q.set("bbox", bbox());
    statusEl.textContent = _("Loading…");
    getJSON("/api/v1/analytics/demand?" + q.toString()).then(function (body) {
      if (my !== seq) return;
      maxCount = Math.max(1, body.max);
      layer.clearLayers();
      layer.addData(body);
      var met = body.searches ? 1 - body.unmet / body.searches : 0;
      statusEl.textContent = [ngettext("%(num)s search in view", "%(num)s searches in view", body.searches),
        ngettext("%(num)s unmet", "%(num)s unmet", body.unmet),
        _("%(share)s met", { share: O2O.formatNumber(met * 100, 1) + "%" })].join(" · ");
    }).catch(function (e) { statusEl.textContent = _("Could not load: %(error)s", { error: e.message }); });
  }

  var thead = document.querySelector("#demand-table thead"), tbody = document.querySelector("#demand-table tbody");
  function loadTable() {
    var q = query({ level: st.level });
    var url = "/api/v1/analytics/demand/regions?" + q.toString();
    document.getElementById("x-demand-table-csv").href = url + "&format=csv";
    document.getElementById("x-demand-table-geojson").href = url + "&format=geojson";
    if (!st.on) return;
    getJSON(url).then(function (body) {
      thead.textContent = ""; tbody.textContent = "";
      var cols = (st.level === "city" ? [["city", _("City")]] : [["province", _("Province")]])
        .concat([["searches", _("Searches")], ["unmet", _("Unmet")], ["share_met", _("Share met")]]);
      thead.appendChild(el("tr", {}, cols.map(function (c) { return el("th", { text: c[1] }); })));
      body.rows.slice(0, 30).forEach(function (r) {
        var tr = el("tr", {}, cols.map(function (c) {
          var v = r[c[0]];
          if (c[0] === "share_met") return el("td", { text: O2O.formatNumber(v * 100, 1) + "%" });
          if (typeof v === "number") return el("td", { text: O2O.formatNumber(v) });
          return el("td", { text: v || "", translate: "no" });
        }));
        tr.classList.add("zoomable");
        tr.title = _("Zoom the map here");
        tr.addEventListener("click", function () { map.fitBounds([[r.south, r.west], [r.north, r.east]], { padding: [20, 20], maxZoom: 11 }); });
        tbody.appendChild(tr);
      });
    }).catch(function (e) { statusEl.textContent = _("Could not load: %(error)s", { error: e.message }); });
  }
  function refresh() { loadCells(); loadTable(); }

  function updateLabel() {
    slider.disabled = st.windowH <= 0;
    if (st.windowH <= 0) { label.textContent = _("All searches, 1–12 November"); return; }
    st.start = FIRST + Number(slider.value) * HOUR;
    label.textContent = _("%(from)s → %(to)s (Beijing time)", { from: beijing(st.start), to: beijing(st.start + st.windowH * HOUR) });
  }
  show.addEventListener("change", function () {
    st.on = show.checked;
    box.classList.toggle("muted", !st.on);
    document.getElementById("demand-table-wrap").hidden = !st.on;
    if (st.on) { layer.addTo(map); refresh(); } else { map.removeLayer(layer); statusEl.textContent = ""; }
  });
  windowSel.addEventListener("change", function () { st.windowH = Number(windowSel.value); updateLabel(); refresh(); });
  slider.addEventListener("input", function () { updateLabel(); loadCells(); });
  slider.addEventListener("change", loadTable);
  Array.prototype.forEach.call(document.querySelectorAll("input[name=demand-level]"), function (r) {
    r.addEventListener("change", function () { st.level = r.value; loadTable(); });
  });
  ["f-brand", "f-category"].forEach(function (id) {
    var x = document.getElementById(id);
    if (x) x.addEventListener("change", refresh);
  });
  var moveTimer = null;
  map.on("moveend", function () { clearTimeout(moveTimer); moveTimer = setTimeout(loadCells, 150); });

  var playing = null;
  function stop() { clearInterval(playing); playing = null; play.textContent = "▶ " + _("Play 10–12 Nov"); }
  play.addEventListener("click", function () {
    if (playing) { stop(); return; }
    if (!st.on) { show.checked = true; show.dispatchEvent(new Event("change")); }
    if (st.windowH <= 0) { st.windowH = 1; windowSel.value = "1"; }
    slider.value = Math.round((Date.parse("2026-11-10T00:00:00+08:00") / 1000 - FIRST) / HOUR);
    play.textContent = "❚❚ " + _("Pause");
    updateLabel(); refresh();
    playing = setInterval(function () {
      var next = Number(slider.value) + 1;
      if (next > Number(slider.max)) { stop(); return; }
      slider.value = next;
      updateLabel(); loadCells();
    }, 800);
  });
  updateLabel();
  if (show.checked) show.dispatchEvent(new Event("change"));  // ticked before this script ran
  else { loadCells(); loadTable(); }  // the export links, before the layer is shown
})();
