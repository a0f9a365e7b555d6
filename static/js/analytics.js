/* Analyst view: H3 heatmaps of stores or scans (resolution follows zoom, viewport only), an hourly
 * chart with a playable time window, tables by province/city and population coverage. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("o2o-config").textContent);
  var el = O2O.el;
  var HOUR = 3600;
  var state = { layer: "scans", brand: "", retailer: "", category: "", windowH: 0, start: null, tab: "province" };

  var map = L.map("map", { minZoom: 3, maxZoom: 16 }).setView([34.5, 108.0], 4);
  O2O.addBasemap(map, cfg);
  var hexLayer = L.geoJSON(null, { style: hexStyle, onEachFeature: function (f, layer) {
    var n = f.properties.count;
    layer.bindTooltip(state.layer === "scans" ? ngettext("%(num)s scan", "%(num)s scans", n)
      : ngettext("%(num)s store", "%(num)s stores", n), { sticky: true });
  } }).addTo(map);
  var gapLayer = L.layerGroup();
  var heatLayer = null;        // leaflet.heat, drawn from the same hexagons' centres and counts
  var lastBody = null;
  var statusEl = document.getElementById("status");
  var maxCount = 1;

  // Colours: a sequential yellow-to-red ramp on a log scale of the count.
  var RAMP = ["#fff3b0", "#ffd166", "#f8961e", "#f3722c", "#e4393c", "#9d0208"];
  function hexStyle(f) {
    var t = Math.log(1 + f.properties.count) / Math.log(1 + maxCount);
    var c = RAMP[Math.min(RAMP.length - 1, Math.floor(t * RAMP.length))];
    return { color: c, weight: 0.6, fillColor: c, fillOpacity: 0.65 };
  }

  function resForZoom(z) { return Math.min(9, Math.max(3, Math.round(z * 0.55 + 0.6))); }

  function query(extra) {
    var q = new URLSearchParams();
    if (state.brand) q.append("brand", state.brand);
    if (state.retailer) q.append("retailer", state.retailer);
    if (state.category) q.append("category", state.category);
    if (state.layer === "scans" && state.windowH > 0 && state.start !== null) {
      q.set("since", new Date(state.start * 1000).toISOString());
      q.set("until", new Date((state.start + state.windowH * HOUR) * 1000).toISOString());
    }
    Object.keys(extra || {}).forEach(function (k) { q.set(k, extra[k]); });
    return q;
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().then(function (b) { if (!r.ok) throw new Error(b.error ? b.error.message : "HTTP " + r.status); return b; });
    });
  }

  // ------------------------------------------------------------------ the hexagons
  var seq = 0;
  function bboxParam() {
    var b = map.getBounds().pad(0.1);
    return [Math.max(-180, b.getWest()), Math.max(-90, b.getSouth()), Math.min(180, b.getEast()), Math.min(90, b.getNorth())]
      .map(function (v) { return v.toFixed(4); }).join(",");
  }
  function loadHexes() {
    var my = ++seq;
    var res = resForZoom(map.getZoom());
    var q = query({ layer: state.layer, res: res, bbox: bboxParam() });
    statusEl.textContent = _("Loading…");
    getJSON("/api/v1/analytics/heatmap?" + q.toString()).then(function (body) {
      if (my !== seq) return;
      maxCount = Math.max(1, body.max);
      lastBody = body;
      draw();
      hexLayer.getLayers().forEach(function (layer) { layer.getElement && layer.getElement() && layer.getElement().setAttribute("data-h3", layer.feature.properties.h3); });
      statusEl.textContent = [
        state.layer === "scans" ? ngettext("%(num)s scan in view", "%(num)s scans in view", body.total)
          : ngettext("%(num)s open store in view", "%(num)s open stores in view", body.total),
        _("H3 resolution %(res)s", { res: res }),
        ngettext("%(num)s hexagon", "%(num)s hexagons", body.features.length)
      ].join(" · ");
      var geo = "/api/v1/analytics/heatmap?" + q.toString();
      document.getElementById("x-heat-geojson").href = geo;
      document.getElementById("x-heat-csv").href = geo + "&format=csv";
    }).catch(function (e) { statusEl.textContent = _("Could not load: %(error)s", { error: e.message }); });
  }
  function draw() {
    if (!lastBody) return;
    hexLayer.clearLayers();
    if (heatLayer) { map.removeLayer(heatLayer); heatLayer = null; }
    if (document.getElementById("style").value === "heat") {
      var pts = lastBody.features.map(function (f) {
        var ring = f.geometry.coordinates[0], x = 0, y = 0;
        for (var i = 0; i < ring.length - 1; i++) { x += ring[i][0]; y += ring[i][1]; }
        return [y / (ring.length - 1), x / (ring.length - 1), Math.log(1 + f.properties.count) / Math.log(1 + maxCount)];
      });
      heatLayer = L.heatLayer(pts, { radius: 22, blur: 18, maxZoom: 12, max: 1.0 }).addTo(map);
    } else {
      hexLayer.addData(lastBody);
    }
  }
  document.getElementById("style").addEventListener("change", draw);

  var moveTimer = null;
  map.on("moveend", function () { clearTimeout(moveTimer); moveTimer = setTimeout(loadHexes, 150); });

  // ------------------------------------------------------------------ time: chart, slider, playback
  var chart = null, series = [];
  var slider = document.getElementById("time");
  var timeLabel = document.getElementById("time-label");
  function beijing(t) {
    var d = new Date((t + 8 * HOUR) * 1000);
    return d.toISOString().slice(5, 16).replace("T", " ");
  }
  function loadSeries() {
    var q = query({});
    q.delete("since"); q.delete("until");
    document.getElementById("x-series-csv").href = "/api/v1/analytics/timeseries?" + q.toString() + "&format=csv";
    return getJSON("/api/v1/analytics/timeseries?" + q.toString()).then(function (body) {
      series = body.series.map(function (p) { return { t: Date.parse(p.hour_utc) / 1000, n: p.scans }; });
      slider.max = Math.max(0, series.length - 1);
      if (state.start === null && series.length) {
        // Start the window on 10 November (Beijing), the eve of the festival.
        var tenth = Date.parse("2026-11-10T00:00:00+08:00") / 1000;
        var i = series.findIndex(function (p) { return p.t >= tenth; });
        slider.value = i >= 0 ? i : 0;
      }
      drawChart();
      updateTimeLabel();
    });
  }
  function drawChart() {
    var ctx = document.getElementById("chart");
    var labels = series.map(function (p) { return beijing(p.t); });
    var colours = series.map(function (p, i) { return inWindow(i) ? "#e4393c" : "#f4a6a7"; });
    if (!chart) {
      chart = new Chart(ctx, {
        type: "bar",
        data: { labels: labels, datasets: [{ label: _("Scans per hour"), data: series.map(function (p) { return p.n; }), backgroundColor: colours, borderWidth: 0, barPercentage: 1, categoryPercentage: 1 }] },
        options: { animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } },
          scales: { x: { ticks: { maxTicksLimit: 6, autoSkip: true } }, y: { beginAtZero: true, ticks: { maxTicksLimit: 4 } } },
          onClick: function (ev, items) { if (items.length) { slider.value = items[0].index; onSlide(); } } }
      });
    } else {
      chart.data.labels = labels;
      chart.data.datasets[0].data = series.map(function (p) { return p.n; });
      chart.data.datasets[0].backgroundColor = colours;
      chart.update();
    }
  }
  function inWindow(i) {
    if (state.windowH <= 0) return true;
    var s = Number(slider.value);
    return i >= s && i < s + state.windowH;
  }
  function updateTimeLabel() {
    var on = state.layer === "scans" && state.windowH > 0 && series.length;
    slider.disabled = !on;
    if (!on) { timeLabel.textContent = state.layer === "scans" ? _("All scans, 1–12 November") : _("Stores do not change with time here"); state.start = null; return; }
    state.start = series[Number(slider.value)].t;
    timeLabel.textContent = _("%(from)s → %(to)s (Beijing time)", { from: beijing(state.start), to: beijing(state.start + state.windowH * HOUR) });
  }
  function onSlide() {
    updateTimeLabel();
    if (chart) { chart.data.datasets[0].backgroundColor = series.map(function (p, i) { return inWindow(i) ? "#e4393c" : "#f4a6a7"; }); chart.update(); }
    loadHexes();
  }
  slider.addEventListener("input", onSlide);
  document.getElementById("window").addEventListener("change", function (ev) {
    state.windowH = Number(ev.target.value);
    onSlide();
  });
  var playing = null;
  document.getElementById("play").addEventListener("click", function () {
    var btn = this;
    if (playing) { clearInterval(playing); playing = null; btn.textContent = "▶ " + _("Play 10–12 Nov"); return; }
    if (state.windowH <= 0) { state.windowH = 1; document.getElementById("window").value = "1"; }
    var tenth = Date.parse("2026-11-10T00:00:00+08:00") / 1000, end = Date.parse("2026-11-13T00:00:00+08:00") / 1000;
    var i = series.findIndex(function (p) { return p.t >= tenth; });
    slider.value = Math.max(0, i);
    btn.textContent = "❚❚ " + _("Pause");
    onSlide();
    playing = setInterval(function () {
      var next = Number(slider.value) + 1;
      if (next >= series.length || series[next].t >= end) { clearInterval(playing); playing = null; btn.textContent = "▶ " + _("Play 10–12 Nov"); return; }
      slider.value = next;
      onSlide();
    }, 800);
  });

  // ------------------------------------------------------------------ tables
  var thead = document.querySelector("#table thead"), tbody = document.querySelector("#table tbody");
  var tableRows = [], sortKey = "scans", sortDir = -1, columns = [];
  function loadTable() {
    gapLayer.remove();
    var q = query({});
    var products = state.tab === "products";
    document.getElementById("product-extra").hidden = !products;
    document.getElementById("x-geojson").hidden = products;
    document.getElementById("x-products-hourly").hidden = !products;
    document.getElementById("table-body").classList.toggle("with-chart", products);
    if (products) return loadProducts(q);
    if (state.tab === "coverage") {
      q.delete("since"); q.delete("until");
      document.getElementById("x-table-csv").href = "/api/v1/analytics/coverage?" + q.toString() + "&format=csv";
      document.getElementById("x-table-geojson").href = "/api/v1/analytics/coverage?" + q.toString() + "&format=geojson";
      return getJSON("/api/v1/analytics/coverage?" + q.toString()).then(function (body) {
        columns = [["province", _("Province")], ["urban_population", _("Urban population")]].concat([1, 3, 5].map(function (km) {
          return ["share_" + km + "km", "≤" + _("%(km)s km", { km: km })];
        }));
        tableRows = body.provinces;
        sortKey = "urban_population"; sortDir = -1;
        renderTable();
        gapLayer.clearLayers();
        body.gaps.forEach(function (g) {
          var m = L.circleMarker([g.lat, g.lon], { radius: 4 + Math.sqrt(g.population / 1e5), color: "#1a5fb4", weight: 2, fillColor: "#62a0ea", fillOpacity: 0.7 });
          m.bindTooltip(el("span", {}, [O2O.data(g.name_zh), " · ",
            _("%(people)s people · nearest store %(distance)s", { people: O2O.formatNumber(g.population), distance: O2O.formatDistance(g.nearest_store_m) })]));
          gapLayer.addLayer(m);
        });
        gapLayer.addTo(map);
        var cap = el("tr", {}, [el("td", { colspan: "5", className: "hint", text: _("Blue circles: the largest cities with no open store within 5 km — where to open next.") })]);
        tbody.appendChild(cap);
      });
    }
    q.set("level", state.tab);
    document.getElementById("x-table-csv").href = "/api/v1/analytics/regions?" + q.toString() + "&format=csv";
    document.getElementById("x-table-geojson").href = "/api/v1/analytics/regions?" + q.toString() + "&format=geojson";
    return getJSON("/api/v1/analytics/regions?" + q.toString()).then(function (body) {
      columns = (state.tab === "city" ? [["city", _("City")], ["province", _("Province")]] : [["province", _("Province")]])
        .concat([["stores", _("Stores")], ["scans", _("Scans")], ["scans_per_store", _("Scans per store")], ["top_brand", _("Busiest brand")]]);
      tableRows = body.rows;
      sortKey = "scans"; sortDir = -1;
      renderTable();
    });
  }
  // ------------------------------------------------------------------ products: the most scanned per region, per hour
  // (scans of the QR codes on shelf labels, /go/{store}?product=; the same filters and time window)
  var productChart = null;
  var LEVEL_COLUMNS = {
    province: [["province", _("Province")]], city: [["city", _("City")], ["province", _("Province")]],
    district: [["district", _("District")], ["city", _("City")]], product: []
  };
  function loadProducts(q) {
    var level = document.getElementById("product-level").value;
    q.set("by", level);
    q.set("top", level === "product" ? "50" : "5");
    document.getElementById("x-table-csv").href = "/api/v1/analytics/products?" + q.toString() + "&format=csv";
    var hq = query({ by: "hour" });
    hq.delete("since"); hq.delete("until");
    document.getElementById("x-product-series-csv").href = "/api/v1/analytics/products?" + hq.toString() + "&format=csv";
    var totalEl = document.getElementById("product-total");
    getJSON("/api/v1/analytics/products?" + hq.toString()).then(drawProductChart)
      .catch(function (e) { totalEl.textContent = _("Could not load: %(error)s", { error: e.message }); });
    return getJSON("/api/v1/analytics/products?" + q.toString()).then(function (body) {
      columns = LEVEL_COLUMNS[level].concat([["rank", "#"], ["title", _("Product")], ["brand", _("Brand")], ["scans", _("Scans")]]);
      if (level !== "product") columns.push(["region_scans", _("Region total")]);
      tableRows = body.rows;
      sortKey = level === "product" ? "scans" : "region_scans"; sortDir = -1;
      renderTable();
      totalEl.textContent = ngettext("%(num)s scan of a product's shelf label", "%(num)s scans of products' shelf labels", body.total) +
        (state.layer === "scans" && state.windowH > 0 ? " · " + _("in the time window") : "");
      if (!body.rows.length) {
        tbody.appendChild(el("tr", {}, [el("td", { colspan: String(columns.length), className: "hint",
          text: _("No product scans here yet: they come from the QR codes on shelf labels.") })]));
      }
    }).catch(function (e) { totalEl.textContent = _("Could not load: %(error)s", { error: e.message }); });
  }
  function drawProductChart(body) {
    var labels = body.rows.map(function (p) { return beijing(Date.parse(p.hour_utc) / 1000); });
    var data = body.rows.map(function (p) { return p.scans; });
    if (productChart) {
      productChart.data.labels = labels;
      productChart.data.datasets[0].data = data;
      productChart.update();
      return;
    }
    productChart = new Chart(document.getElementById("product-chart"), {
      type: "bar",
      data: { labels: labels, datasets: [{ label: _("Product scans per hour"), data: data, backgroundColor: "#1a5fb4", borderWidth: 0, barPercentage: 1, categoryPercentage: 1 }] },
      options: { animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } },
        scales: { x: { ticks: { maxTicksLimit: 5, autoSkip: true } }, y: { beginAtZero: true, ticks: { maxTicksLimit: 4 } } } }
    });
  }
  document.getElementById("product-level").addEventListener("change", loadTable);

  // The coverage table's first row is the whole country, named so by the API (o2o/services/analytics.py).
  var NATIONAL = "全国 (mainland China)";
  function fmt(key, v) {
    if (v === null || v === undefined) return "";
    if (key === "province" && v === NATIONAL) return _("All of mainland China");
    if (key.indexOf("share_") === 0) return O2O.formatNumber(v * 100, 1) + "%";
    if (typeof v === "number") return O2O.formatNumber(v);
    if (key === "top_brand" || key === "brand") return O2O.brandLabel(v);
    return String(v);
  }
  function renderTable() {
    thead.textContent = "";
    tbody.textContent = "";
    var head = el("tr");
    columns.forEach(function (c) {
      var th = el("th", { text: c[1] + (c[0] === sortKey ? (sortDir < 0 ? " ▼" : " ▲") : ""), tabindex: "0", "aria-sort": c[0] === sortKey ? (sortDir < 0 ? "descending" : "ascending") : "none" });
      th.addEventListener("click", function () { sortDir = c[0] === sortKey ? -sortDir : -1; sortKey = c[0]; renderTable(); });
      head.appendChild(th);
    });
    thead.appendChild(head);
    var rows = tableRows.slice().sort(function (a, b) {
      var x = a[sortKey], y = b[sortKey];
      if (typeof x === "number" || typeof y === "number") return ((x || 0) - (y || 0)) * sortDir;
      return String(x || "").localeCompare(String(y || "")) * sortDir;
    });
    rows.slice(0, 400).forEach(function (r) {
      var tr = el("tr", {}, columns.map(function (c) {
        var data = (c[0] === "province" && r.province !== NATIONAL) || c[0] === "city" || c[0] === "top_brand" ||
          c[0] === "district" || c[0] === "title" || c[0] === "brand";  // names, as stored
        if (r.rank > 1 && sortKey === "region_scans" && (c[0] === "province" || c[0] === "city" || c[0] === "district")) {
          return el("td", { text: fmt(c[0], r[c[0]]), translate: "no", className: "repeat" });  // the region's next product
        }
        if (c[0] === "title" && r.product_id) {
          return el("td", { translate: "no" }, [el("a", { href: "/products/" + r.product_id, text: fmt(c[0], r[c[0]]) })]);
        }
        return el("td", data ? { text: fmt(c[0], r[c[0]]), translate: "no" } : { text: fmt(c[0], r[c[0]]) });
      }));
      if (r.west !== undefined && r.west !== null) {
        tr.classList.add("zoomable");
        tr.title = _("Zoom the map here");
        tr.addEventListener("click", function () { map.fitBounds([[r.south, r.west], [r.north, r.east]], { padding: [20, 20], maxZoom: 12 }); });
      }
      tbody.appendChild(tr);
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll(".tabs [role=tab]"), function (b) {
    b.addEventListener("click", function () {
      state.tab = b.getAttribute("data-tab");
      Array.prototype.forEach.call(document.querySelectorAll(".tabs [role=tab]"), function (x) { x.setAttribute("aria-selected", String(x === b)); });
      loadTable();
    });
  });

  // ------------------------------------------------------------------ controls
  Array.prototype.forEach.call(document.querySelectorAll("input[name=layer]"), function (r) {
    r.addEventListener("change", function () { state.layer = r.value; document.getElementById("time-controls").classList.toggle("muted", state.layer !== "scans"); updateTimeLabel(); loadHexes(); });
  });
  ["brand", "retailer", "category"].forEach(function (k) {
    document.getElementById("f-" + k).addEventListener("change", function (ev) { state[k] = ev.target.value; loadSeries().then(function () { loadHexes(); loadTable(); }); });
  });

  loadSeries().then(function () { loadHexes(); loadTable(); });
  window.o2oMap = map;
})();
