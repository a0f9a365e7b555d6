/* As-you-type suggestions for a search box: brands, categories, places and nearby stores, from
 * /api/v1/suggest. The WAI-ARIA 1.2 combobox pattern (input role=combobox with a listbox popup,
 * aria-activedescendant), so the keyboard (↑ ↓ Enter Esc) and screen readers can use it; the number
 * of suggestions is announced through a polite live region.
 *
 *   O2O.suggest(input, { near: function () { return {lat, lon}; }, crs: "wgs84",
 *                        choose: function (item) { … } });
 */
(function (global) {
  "use strict";
  var O2O = global.O2O || (global.O2O = {});
  // Written out so that pybabel finds each label.
  function kindLabel(type) {
    return { brand: _("Brand"), category: _("Category"), place: _("Place"), store: _("Store"),
             product: _("Product") }[type] || _("Store");
  }
  var counter = 0;

  O2O.suggest = function (input, options) {
    var id = "suggest-" + (++counter);
    var list = document.createElement("ul");
    list.id = id;
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", _("Suggestions"));
    list.hidden = true;
    var live = document.createElement("div");
    live.className = "visually-hidden";
    live.setAttribute("role", "status");
    live.setAttribute("aria-live", "polite");
    input.parentNode.insertBefore(list, input.nextSibling);
    input.parentNode.appendChild(live);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id);
    input.removeAttribute("list");  // no datalist beside it: one popup at a time
    // Offline, neither suggestions nor the search can work: a note under the search box says so,
    // shown while <html> has the class o2o-offline (static/js/offline.js), gone once back online.
    var box = input.form || input.parentNode;
    var note = document.createElement("p");
    note.className = "needs-connection";
    note.textContent = _("Search needs a connection. The stores last seen stay on the map.");
    box.parentNode.insertBefore(note, box.nextSibling);

    var items = [], active = -1, timer = null, controller = null, lastQuery = null;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function setActive(i) {
      var options = list.children;
      if (active >= 0 && options[active]) options[active].setAttribute("aria-selected", "false");
      active = i;
      if (i >= 0 && options[i]) {
        options[i].setAttribute("aria-selected", "true");
        input.setAttribute("aria-activedescendant", options[i].id);
        options[i].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function render(found) {
      items = found;
      list.textContent = "";
      found.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = id + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.className = "suggestion " + item.type;
        var kind = document.createElement("span");
        kind.className = "kind";
        kind.textContent = kindLabel(item.type);
        // Brands and categories by the page's language's name (优衣库 / Uniqlo), the other beside it.
        var english = O2O.lang === "en" && (item.type === "brand" || item.type === "category") && item.name;
        var text = O2O.data(english ? item.name : item.text);
        text.className = "text";
        li.appendChild(kind);
        li.appendChild(text);
        var extra = english ? (item.name_zh && item.name_zh !== item.name ? item.name_zh : "")
          : item.type === "brand" && item.name && item.name !== item.text ? item.name
          : item.type === "place" ? [item.city !== item.text ? item.city : null, item.province !== item.text && item.province !== item.city ? item.province : null].filter(Boolean).join(" · ")
          : item.type === "store" && item.distance_m !== undefined ? O2O.formatDistance(item.distance_m) : "";
        if (extra) {
          var more = O2O.data(extra);
          more.className = "more";
          li.appendChild(more);
        }
        // mousedown, not click: it comes before the input's blur closes the list
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); pick(i); });
        list.appendChild(li);
      });
      list.hidden = !found.length;
      input.setAttribute("aria-expanded", found.length ? "true" : "false");
      active = -1;
      live.textContent = found.length ? ngettext("%(num)s suggestion", "%(num)s suggestions", found.length) : "";
    }

    function pick(i) {
      var item = items[i];
      if (!item) return;
      close();
      if (item.query) input.value = item.query;
      else if (item.type !== "place" && item.type !== "store") {
        input.value = O2O.lang === "en" && item.name ? item.name : item.text;
      }
      options.choose(item);
    }

    function fetchSuggestions() {
      var q = input.value.trim();
      if (!q || navigator.onLine === false) { render([]); return; }
      if (q === lastQuery) return;
      lastQuery = q;
      if (controller) controller.abort();
      controller = typeof AbortController === "function" ? new AbortController() : null;
      var qs = new URLSearchParams({ q: q });
      var near = options.near && options.near();
      if (near) { qs.set("lat", near.lat.toFixed(6)); qs.set("lon", near.lon.toFixed(6)); }
      // Positions and boxes in the map's own system (GCJ-02 under Amap's tiles)
      if (options.crs && options.crs !== "wgs84") qs.set("crs", options.crs);
      fetch("/api/v1/suggest?" + qs.toString(), { signal: controller ? controller.signal : undefined })
        .then(function (r) { O2O.connection.back(); return r.ok ? r.json() : { suggestions: [] }; }, function (err) {
          if (err.name === "AbortError") throw err;  // a newer query is on its way
          lastQuery = null;
          O2O.connection.lost();  // no network: the note under the search box says so
          return { suggestions: [] };
        })
        .then(function (body) { if (input.value.trim() === q) render(body.suggestions || []); })
        .catch(function () { /* aborted */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      lastQuery = null;
      timer = setTimeout(fetchSuggestions, 120);
    });
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowDown") {
        if (list.hidden) { fetchSuggestions(); return; }
        ev.preventDefault();
        setActive(Math.min(items.length - 1, active + 1));
      } else if (ev.key === "ArrowUp") {
        if (list.hidden) return;
        ev.preventDefault();
        setActive(Math.max(-1, active - 1));
      } else if (ev.key === "Enter") {
        if (!list.hidden && active >= 0) { ev.preventDefault(); pick(active); }
        else close();
      } else if (ev.key === "Escape") {
        if (!list.hidden) { ev.preventDefault(); close(); }
      } else if (ev.key === "Tab") {
        close();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    return { close: close, refresh: fetchSuggestions };
  };
})(window);
