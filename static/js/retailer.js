/* Retailer console: own stores on a map and in a table; a pin and lat/lon fields kept in step;
 * save, close and bulk upload through the JSON API (session cookie + CSRF token). */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("o2o-config").textContent);
  var crs = cfg.tilesCrs || "wgs84";
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var el = O2O.el;

  var map = L.map("map", { minZoom: 3, maxZoom: 19 }).setView([34.5, 108.0], 5);
  O2O.addBasemap(map, cfg);
  var storeLayer = L.featureGroup().addTo(map);
  var pin = null;
  var editing = null;          // the store being edited, or null for a new one
  var stores = [];

  var form = document.getElementById("store-form");
  var f = function (name) { return document.getElementById("f-" + name); };
  var errorBox = document.getElementById("form-error");
  var canEdit = cfg.retailer.role !== "viewer";  // a viewer reads only: no pin, no edit (the API says 403 too)

  function api(method, path, body, isForm) {
    // The API answers in the language asked for: this page's (its messages, and an import's reasons).
    var headers = { "X-CSRFToken": csrf, Accept: "application/json",
                    "Accept-Language": cfg.lang === "en" ? "en" : "zh-CN" };
    if (body && !isForm) headers["Content-Type"] = "application/json";
    return fetch(path, { method: method, headers: headers, credentials: "same-origin",
                         body: body ? (isForm ? body : JSON.stringify(body)) : undefined })
      .then(function (r) {
        if (r.status === 204) return null;
        return r.json().then(function (data) {
          if (!r.ok) { var e = new Error((data.error && data.error.message) || ("HTTP " + r.status)); e.data = data; e.status = r.status; throw e; }
          return data;
        });
      });
  }

  // ------------------------------------------------------------------ pin and fields in step
  function setPin(lat, lon, pan) {
    if (!pin) {
      pin = L.marker([lat, lon], { draggable: true, autoPan: true, title: _("New store position"), alt: _("New store position") }).addTo(map);
      pin.on("drag dragend", function () { var p = pin.getLatLng(); writeFields(p.lat, p.lng); });
    } else {
      pin.setLatLng([lat, lon]);
    }
    if (pan) map.setView([lat, lon], Math.max(map.getZoom(), 16));
  }
  function writeFields(lat, lon) { f("lat").value = lat.toFixed(6); f("lon").value = lon.toFixed(6); }
  map.on("click", function (ev) { if (!canEdit) return; setPin(ev.latlng.lat, ev.latlng.lng, false); writeFields(ev.latlng.lat, ev.latlng.lng); });
  ["lat", "lon"].forEach(function (name) {
    f(name).addEventListener("input", function () {
      var lat = parseFloat(f("lat").value), lon = parseFloat(f("lon").value);
      if (isFinite(lat) && isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) setPin(lat, lon, true);
    });
  });

  // ------------------------------------------------------------------ the store list
  function load() {
    return api("GET", "/api/v1/retailer/stores?crs=" + crs).then(function (data) {
      stores = data.features;
      storeLayer.clearLayers();
      stores.forEach(function (s) {
        var c = s.geometry.coordinates, p = s.properties;
        var m = L.circleMarker([c[1], c[0]], { radius: 7, weight: 2, color: "#fff",
          fillColor: p.status === "open" ? "#e4393c" : "#8a939c", fillOpacity: 0.95 });
        m.bindTooltip(O2O.data(p.name));  // a string would be parsed as HTML
        m.on("click", function () { if (canEdit) edit(s); else showHistory(s); });
        storeLayer.addLayer(m);
      });
      renderTable();
      var brands = {};
      stores.forEach(function (s) { brands[s.properties.brand] = true; });
      var list = document.getElementById("my-brands");
      list.textContent = "";
      Object.keys(brands).sort().forEach(function (b) { list.appendChild(el("option", { value: b })); });
      if (stores.length && !editing && !pin) map.fitBounds(storeLayer.getBounds().pad(0.2), { maxZoom: 14 });
    });
  }

  function renderTable() {
    var body = document.querySelector("#store-table tbody");
    body.textContent = "";
    document.getElementById("store-count").textContent = "(" + stores.length + ")";
    stores.forEach(function (s) {
      var p = s.properties;
      var editButton = el("button", { type: "button", className: "button small", text: _("Edit") });
      editButton.addEventListener("click", function () { edit(s); });
      var row = el("tr", { "data-id": s.id, className: p.status }, [
        el("td", { translate: "no" }, [el("a", { href: "/stores/" + s.id, text: p.name })]),
        el("td", { text: O2O.brandLabel(p.brand, p.brand_zh), translate: "no" }),
        el("td", { text: [p.city, p.district].filter(Boolean).join(" "), translate: "no" }),
        el("td", { text: p.status === "open" ? _("Open") : p.status === "closed" ? _("Closed") : p.status }),
        el("td", { text: p.external_id, translate: "no" }),
        el("td", {}, [canEdit ? editButton : "", canEdit ? " " : "", historyButton(s), " ", el("a", { href: "/stores/" + s.id + "/poster.pdf?size=a5", className: "button small", text: _("Poster") }), " ", el("a", { href: "/api/v1/stores/" + s.id + "/qr.png?scale=12", className: "button small", text: _("QR code"), download: "qr-" + s.id + ".png" })])
      ]);
      body.appendChild(row);
    });
  }
  function edit(s) {
    editing = s;
    var p = s.properties, c = s.geometry.coordinates;
    var title = document.getElementById("form-title");
    title.textContent = "";
    O2O.fragment(_("Edit: %(name)s"), { name: O2O.data(p.name) }).forEach(function (x) {
      title.appendChild(typeof x === "string" ? document.createTextNode(x) : x);
    });
    ["name", "brand", "external_id", "address", "hours", "special_hours", "phone", "online_url"].forEach(function (k) { f(k).value = p[k] || ""; });
    f("category").value = p.category;
    writeFields(c[1], c[0]);
    setPin(c[1], c[0], true);
    document.getElementById("close-store").hidden = p.status !== "open";
    document.getElementById("save").textContent = p.status === "open" ? _("Save changes") : _("Save and reopen");
    hideError();
  }

  function reset() {
    editing = null;
    form.reset();
    document.getElementById("form-title").textContent = _("New store");
    document.getElementById("close-store").hidden = true;
    document.getElementById("save").textContent = _("Save");
    if (pin) { map.removeLayer(pin); pin = null; }
    hideError();
  }

  function showError(err) {
    errorBox.hidden = false;
    var e = err.data && err.data.error;
    // The API explains in the page's language (api() asks for it); every problem when there are several.
    var sep = cfg.lang === "en" ? "; " : "；";
    var detail = e ? (e.errors ? e.errors.map(function (x) { return x.message; }).join(sep) : e.message) : err.message;
    errorBox.textContent = _("Not saved: %(error)s", { error: detail });
    if (e && e.field && f(e.field)) f(e.field).focus();
  }
  function hideError() { errorBox.hidden = true; errorBox.textContent = ""; }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = { crs: crs };
    ["name", "brand", "category", "external_id", "address", "hours", "special_hours", "phone", "online_url"].forEach(function (k) {
      var v = f(k).value.trim();
      if (v !== "" || editing) body[k] = v === "" ? null : v;
    });
    // Emptied festival hours are sent as null (cleared); the other optional fields are left as they were.
    ["external_id", "online_url", "hours", "phone"].forEach(function (k) { if (body[k] === null) delete body[k]; });
    body.lat = f("lat").value.trim() === "" ? null : Number(f("lat").value);
    body.lon = f("lon").value.trim() === "" ? null : Number(f("lon").value);
    if (body.lat === null) delete body.lat;
    if (body.lon === null) delete body.lon;
    if (f("allow_duplicate").checked) body.allow_duplicate = true;
    if (editing && editing.properties.status !== "open") body.status = "open";
    var req = editing ? api("PATCH", "/api/v1/stores/" + editing.id, body) : api("POST", "/api/v1/stores", body);
    req.then(function (saved) {
      reset();
      return load().then(function () {
        map.setView([saved.geometry.coordinates[1], saved.geometry.coordinates[0]], Math.max(map.getZoom(), 15));
        flashRow(saved.id);
      });
    }).catch(showError);
  });
  document.getElementById("new-store").addEventListener("click", reset);
  document.getElementById("close-store").addEventListener("click", function () {
    if (!editing || !window.confirm(_("Close %(name)s? It leaves the shoppers’ map; its record stays.", { name: editing.properties.name }))) return;
    api("DELETE", "/api/v1/stores/" + editing.id).then(function () { reset(); return load(); }).catch(showError);
  });

  function flashRow(id) {
    var row = document.querySelector('#store-table tr[data-id="' + id + '"]');
    if (row) { row.classList.add("just-saved"); row.scrollIntoView({ block: "nearest" }); }
  }

  // ------------------------------------------------------------------ bulk upload: check first, then import
  // Choosing a file runs a dry run (?dry_run=true): the preview shows how each column was understood
  // (a select per column, which the retailer may change: the choice goes back as `columns`), the
  // first rows, and every problem by row. Only the button "Import N stores" stores anything.
  var FIELD_LABELS = {
    external_id: _("Store code"), name: _("Store name"), brand: _("Brand"), category: _("Category"),
    lat: _("Latitude"), lon: _("Longitude"), lonlat: _("Longitude and latitude in one cell"),
    crs: _("Coordinate system"), address: _("Address"), hours: _("Hours"), special_hours: _("Festival hours"),
    phone: _("Phone"), online_url: _("Online shop"), status: _("Status"),
    allow_duplicate: _("A separate store even if near another")
  };
  var importFields = cfg.importFields || Object.keys(FIELD_LABELS);
  var upload = { file: null, columns: null, seq: 0 };
  var importButton = document.getElementById("upload-import");
  var previewBox = document.getElementById("upload-preview");
  var fileInput = document.getElementById("upload-file");

  function uploadBody() {
    var data = new FormData();
    data.append("file", upload.file);
    if (upload.columns) data.append("columns", JSON.stringify(upload.columns));
    return data;
  }
  function setImportButton(report) {
    importButton.disabled = !report;
    importButton.textContent = report ? ngettext("Import %(num)s store", "Import %(num)s stores", report.inserted + report.updated)
                                      : _("Import");
  }

  function check() {
    var seq = ++upload.seq;
    setImportButton(null);
    previewBox.textContent = "";
    previewBox.appendChild(el("p", { className: "hint", text: _("Checking the file…") }));
    api("POST", "/api/v1/stores/import?dry_run=true", uploadBody(), true).then(function (report) {
      if (seq !== upload.seq) return;
      showPreview(report, null);
      setImportButton(report);
    }).catch(function (err) {
      if (seq !== upload.seq) return;
      var e = err.data && err.data.error;
      if (e && e.preview) {   // the file cannot be imported as it is (no lat/lon column), but the columns can be assigned
        showPreview({ columns: e.columns || {}, unknown_columns: e.unknown_columns || [], preview: e.preview, rejected: [] }, e.message);
      } else {
        previewBox.textContent = "";
        previewBox.appendChild(el("p", { className: "flash error", role: "alert", text: e ? e.message : err.message }));
        if (!err.status || err.status === 429 || err.status >= 500) {   // not the file's fault: let it be tried again
          var again = el("button", { type: "button", className: "button small", text: _("Check again") });
          again.addEventListener("click", check);
          previewBox.appendChild(again);
        }
      }
    });
  }

  fileInput.addEventListener("change", function (ev) {
    var name = document.getElementById("upload-name"), file = ev.target.files[0];
    name.textContent = file ? file.name : _("No file chosen");
    if (file) name.setAttribute("translate", "no"); else name.removeAttribute("translate");  // a file name is data
    upload.file = file || null;
    upload.columns = null;
    document.getElementById("upload-report").textContent = "";
    if (file) { check(); } else { previewBox.textContent = ""; setImportButton(null); }
  });

  function previewSummary(r) {
    var n = O2O.formatNumber;
    return _("Checked, nothing stored yet: %(inserted)s to add, %(updated)s to update, %(unchanged)s unchanged, %(rejected)s with problems.",
             { inserted: n(r.inserted), updated: n(r.updated), unchanged: n(r.unchanged), rejected: n((r.rejected || []).length) });
  }

  function fieldSelect(header, value) {
    var select = el("select", { "aria-label": _("How to import the column %(name)s", { name: header }), "data-header": header },
      [el("option", { value: "", text: _("Not imported") })].concat(importFields.map(function (name) {
        return el("option", { value: name, text: (FIELD_LABELS[name] || name) + " (" + name + ")" });
      })));
    select.value = value || "";
    select.addEventListener("change", function () {
      // One column per field: a field chosen here is taken from the column that had it.
      var all = previewBox.querySelectorAll("select[data-header]");
      Array.prototype.forEach.call(all, function (other) {
        if (other !== select && select.value && other.value === select.value) other.value = "";
      });
      upload.columns = {};
      Array.prototype.forEach.call(all, function (s) { upload.columns[s.getAttribute("data-header")] = s.value || null; });
      check();
    });
    return select;
  }

  function showPreview(r, fileError) {
    previewBox.textContent = "";
    previewBox.appendChild(fileError ? el("p", { className: "flash error", role: "alert", text: fileError })
                                     : el("p", { className: "report-summary preview-summary", text: previewSummary(r) }));
    var preview = r.preview || { header: Object.keys(r.columns || {}).concat(r.unknown_columns || []), rows: [] };
    var unknown = r.unknown_columns || [];
    if (unknown.length) {
      previewBox.appendChild(el("p", { className: "flash warn", text: ngettext(
        "%(num)s column is not understood and would not be imported: %(columns)s. Choose a field for it below if it holds one.",
        "%(num)s columns are not understood and would not be imported: %(columns)s. Choose a field for them below if they hold one.",
        unknown.length, { columns: unknown.join(cfg.lang === "en" ? ", " : "、") }) }));
    }
    var mapping = preview.header.map(function (header, i) {
      var sample = "";
      preview.rows.some(function (row) { sample = row.cells[i] || ""; return sample !== ""; });
      var known = (r.columns || {})[header];
      return el("tr", { className: known ? "" : "unknown" }, [
        el("th", { scope: "row", text: header, translate: "no" }),
        el("td", {}, [fieldSelect(header, known)]),
        el("td", { text: sample, translate: "no" })]);
    });
    previewBox.appendChild(el("table", { className: "report columns" }, [
      el("caption", { text: _("How the columns were understood") }),
      el("thead", {}, [el("tr", {}, [el("th", { text: _("Column") }), el("th", { text: _("Imported as") }),
                                     el("th", { text: _("First value") })])]),
      el("tbody", {}, mapping)]));
    if (preview.rows.length) {
      // Scrolls sideways when the file is wide: focusable, so the keyboard can scroll it too.
      previewBox.appendChild(el("div", { className: "scroll-x", tabindex: "0", role: "region", "aria-label": _("The first rows") },
                                [el("table", { className: "report first-rows" }, [
        el("caption", { text: _("The first rows") }),
        el("thead", {}, [el("tr", {}, [el("th", { text: _("Row") })].concat(preview.header.map(function (h) {
          return el("th", { text: h, translate: "no" });
        })))]),
        el("tbody", {}, preview.rows.map(function (row) {
          return el("tr", {}, [el("td", { text: String(row.row) })].concat(row.cells.map(function (c) {
            return el("td", { text: c, translate: "no" });
          })));
        }))])]));
    }
    if (r.rejected && r.rejected.length) {
      previewBox.appendChild(el("h3", { text: _("Problems, by row") }));
      rejectedTable(previewBox, r.rejected);
    }
  }

  document.getElementById("upload-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var out = document.getElementById("upload-report");
    if (!upload.file) return;
    var atomic = document.getElementById("upload-atomic").checked;
    importButton.disabled = true;
    out.textContent = _("Uploading…");
    api("POST", "/api/v1/stores/import" + (atomic ? "?atomic=true" : ""), uploadBody(), true)
      .then(function (report) { finished(); showReport(report); return load(); })
      .catch(function (err) {
        if (err.data && err.data.rejected) { finished(); showReport(err.data); } else { importButton.disabled = false; out.textContent = err.message; }
      });
  });
  function finished() {   // the file is in: its preview goes, the next file starts afresh
    upload.seq += 1;
    upload.file = null;
    upload.columns = null;
    fileInput.value = "";
    document.getElementById("upload-name").textContent = _("No file chosen");
    document.getElementById("upload-name").removeAttribute("translate");
    previewBox.textContent = "";
    setImportButton(null);
  }

  /** The report's summary in the page's language, from its counts (the rows' reasons come from the API,
   *  in the page's language too). */
  function reportSummary(r) {
    var n = O2O.formatNumber, rejected = (r.rejected || []).length;
    if (r.stored === false) {
      return _("Nothing stored: %(rejected)s of %(rows)s rows were rejected, and the import was all or nothing.",
               { rejected: n(rejected), rows: n(r.rows) });
    }
    if (!r.inserted && !r.updated && !rejected) {
      return _("Nothing changed: all %(unchanged)s stores were already up to date.", { unchanged: n(r.unchanged) });
    }
    return _("%(inserted)s added, %(updated)s updated, %(unchanged)s unchanged, %(rejected)s rejected.",
             { inserted: n(r.inserted), updated: n(r.updated), unchanged: n(r.unchanged), rejected: n(rejected) });
  }

  function showReport(r) {
    var out = document.getElementById("upload-report");
    out.textContent = "";
    out.appendChild(el("p", { className: "report-summary", text: reportSummary(r) }));
    if (r.rejected && r.rejected.length) rejectedTable(out, r.rejected);
  }

  /** Every rejected row with its reasons (the first 200, and how many more). */
  function rejectedTable(out, rejected) {
    var rows = rejected.slice(0, 200).map(function (x) {
      return el("tr", {}, [el("td", { text: x.line ? _("%(row)s (line %(line)s)", { row: x.row, line: x.line }) : String(x.row) }),
                           el("td", { text: x.external_id || "", translate: "no" }), el("td", { text: x.errors.join(cfg.lang === "en" ? "; " : "；") })]);
    });
    out.appendChild(el("table", { className: "report" }, [
      el("thead", {}, [el("tr", {}, [el("th", { text: _("Row") }), el("th", { text: _("Code") }), el("th", { text: _("Why") })])]),
      el("tbody", {}, rows)]));
    if (rejected.length > 200) out.appendChild(el("p", { text: _("… and %(n)s more.", { n: O2O.formatNumber(rejected.length - 200) }) }));
  }

  // ------------------------------------------------------------------ a store's history: who changed what, when
  var FIELD_LABELS = { name: _("Name"), brand: _("Brand"), category: _("Category"), lat: _("Latitude"),
    lon: _("Longitude"), address: _("Address"), hours: _("Hours"), special_hours: _("Festival hours"), phone: _("Phone"),
    online_url: _("Online shop"), status: _("Status"), external_id: _("Code"), province: _("Province"),
    city: _("City"), district: _("District") };
  function historyButton(s) {
    var b = el("button", { type: "button", className: "button small history", text: _("History") });
    b.addEventListener("click", function () { showHistory(s); });
    return b;
  }
  function beijingTime(iso) {
    try {
      return new Date(iso).toLocaleString(O2O.locale, { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit",
        day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    } catch (e) { return iso; }
  }
  function shown(v) { return v === null || v === undefined || v === "" ? "—" : String(v); }
  function showHistory(s) {
    var dialog = document.getElementById("history-dialog"), body = document.getElementById("history-body");
    document.getElementById("history-title").textContent = _("History of %(name)s", { name: s.properties.name });
    body.textContent = _("Loading…");
    if (!dialog.open) dialog.showModal();
    api("GET", "/api/v1/stores/" + s.id + "/history").then(function (data) {
      var rows = data.history.slice().reverse().map(function (h) {
        var what = h.change === "created" ? _("Registered") : Object.keys(h.after && Object.keys(h.after).length ? h.after : h.before)
          .map(function (k) {
            var after = h.after && k in h.after ? h.after[k] : undefined;
            return (FIELD_LABELS[k] || k) + ": " + shown(h.before[k]) + (after === undefined ? "" : " → " + shown(after));
          }).join("; ");
        return el("tr", {}, [el("td", { text: beijingTime(h.changed_at) }),
                             el("td", { text: h.actor || _("unknown"), translate: "no", className: "actor" }),
                             el("td", h.change === "created" ? { text: what } : { text: what, translate: "no" })]);
      });
      body.textContent = "";
      body.appendChild(el("table", { className: "report", id: "history-table" }, [
        el("thead", {}, [el("tr", {}, [el("th", { text: _("When") }), el("th", { text: _("Who") }), el("th", { text: _("What changed") })])]),
        el("tbody", {}, rows)]));
    }).catch(function (err) { body.textContent = err.message; });
  }

  load();
  window.o2oMap = map;
})();
