/* Works offline, on every page: registers the service worker (/sw.js, static/js/sw.js), keeps
 * track of the connection, and says when what is shown came from the worker's cache ("possibly
 * out of date", with the time it was fetched).
 *
 * Loaded before the page scripts, which use:
 *   O2O.connection.offline()   true when the browser says so or a request just failed for want
 *                              of a network; <html> then has the class "o2o-offline" (CSS shows
 *                              what needs a connection), and window gets an "o2o:connection" event
 *   O2O.connection.lost()      a request failed: the network is gone (navigator.onLine can lie)
 *   O2O.savedAt(response)      the time a cached answer was fetched (a Date), or null for a fresh
 *                              one; notes the connection either way
 *   O2O.staleNote(date)        "Possibly out of date — as of 11月11日 14:03" (Beijing time)
 * A page served from the cache has <meta name="o2o-saved-at"> (the worker adds it): a banner says so.
 */
(function (global) {
  "use strict";
  var O2O = global.O2O || (global.O2O = {});
  var doc = global.document;
  var root = doc.documentElement;
  var SAVED_AT = "X-O2O-Saved-At";

  // The page's messages: common.js's _() once it is there; the embedded catalogue otherwise
  // (a page without the finder's scripts).
  var own = null;
  function _(msgid, values) {
    if (typeof global._ === "function" && global._ !== _) return global._(msgid, values);
    if (own === null) {
      var el = doc.getElementById("o2o-i18n");
      if (el) { try { own = JSON.parse(el.textContent) || {}; } catch (e) { own = {}; } }
    }
    var text = own && typeof own[msgid] === "string" && own[msgid] ? own[msgid] : msgid;
    return text.replace(/%\(([A-Za-z_]+)\)s/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }
  var lang = (root.getAttribute("lang") || "zh-CN").toLowerCase().indexOf("zh") === 0 ? "zh-CN" : "en";

  // ------------------------------------------------------------------ the connection
  var lost = false;
  function offline() { return lost || global.navigator.onLine === false; }
  function changed() {
    var now = offline();
    root.classList.toggle("o2o-offline", now);
    var event;
    try { event = new CustomEvent("o2o:connection", { detail: { offline: now } }); } catch (e) { return; }
    global.dispatchEvent(event);
  }
  O2O.connection = {
    offline: offline,
    lost: function () { if (!lost) { lost = true; changed(); } },
    back: function () { if (lost) { lost = false; changed(); } }
  };
  global.addEventListener("online", function () { lost = false; changed(); });
  global.addEventListener("offline", changed);
  changed();

  // ------------------------------------------------------------------ cached answers
  O2O.savedAt = function (response) {
    var text = response && response.headers && response.headers.get(SAVED_AT);
    var when = text ? new Date(text) : null;
    if (when && !isNaN(when.getTime())) { O2O.connection.lost(); return when; }
    O2O.connection.back();
    return null;
  };
  /** A time in Beijing time, short: 11月11日 14:03 / Nov 11, 14:03. */
  O2O.formatSavedTime = function (date) {
    try {
      return new Intl.DateTimeFormat(lang, { timeZone: "Asia/Shanghai", month: "short", day: "numeric",
        hour: "2-digit", minute: "2-digit", hour12: false }).format(date);
    } catch (e) { return date.toISOString().slice(0, 16).replace("T", " ") + " UTC"; }
  };
  O2O.staleNote = function (date) {
    return _("Possibly out of date — as of %(time)s", { time: O2O.formatSavedTime(date) });
  };

  // A page the worker answered from its cache: say so, and offer a reload once back online.
  // (Not on the finder: its page is only a frame, and its list and status say how old the stores are.)
  function savedPageBanner() {
    var meta = doc.querySelector('meta[name="o2o-saved-at"]');
    var savedAt = meta ? new Date(meta.getAttribute("content")) : null;
    if (!savedAt || isNaN(savedAt.getTime()) || doc.body.classList.contains("finder")) return;
    var banner = doc.createElement("div");
    banner.className = "offline-banner";
    banner.setAttribute("role", "status");
    var text = doc.createElement("span");
    text.textContent = _("This page was saved on this device: possibly out of date — as of %(time)s.",
                         { time: O2O.formatSavedTime(savedAt) });
    var reload = doc.createElement("button");
    reload.type = "button";
    reload.className = "reload";
    reload.textContent = _("Reload");
    reload.addEventListener("click", function () { global.location.reload(); });
    banner.appendChild(text);
    banner.appendChild(reload);
    var header = doc.querySelector("header.topbar");
    if (header && header.parentNode) header.parentNode.insertBefore(banner, header.nextSibling);
    else doc.body.insertBefore(banner, doc.body.firstChild);
    root.classList.add("o2o-saved-page");
  }
  // (once the page is parsed: its messages come after this script)
  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", savedPageBanner);
  else savedPageBanner();

  // ------------------------------------------------------------------ the service worker
  // Registered once the page has loaded and gone quiet: installing it never competes with the
  // page's own first requests, and what the page has fetched by then (its scripts, the basemap)
  // the install takes from the HTTP cache instead of downloading it twice.
  // Needs a secure context: https, or http://127.0.0.1 / localhost.
  if ("serviceWorker" in global.navigator && global.isSecureContext !== false) {
    var register = function () {
      global.navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {
        /* a private window or a browser without storage: the app works online as before */
      });
    };
    var whenQuiet = function () {
      if (typeof global.requestIdleCallback === "function") global.requestIdleCallback(register, { timeout: 4000 });
      else global.setTimeout(register, 1000);
    };
    if (doc.readyState === "complete") whenQuiet(); else global.addEventListener("load", whenQuiet);
  }
})(window);
