/* Brand page: "use my location" reloads the list sorted from the shopper's position. */
(function () {
  "use strict";
  var link = document.getElementById("brand-locate");
  if (!link || !navigator.geolocation) return;
  link.addEventListener("click", function (ev) {
    ev.preventDefault();
    navigator.geolocation.getCurrentPosition(function (pos) {
      var url = new URL(window.location.href);
      url.searchParams.set("lat", pos.coords.latitude.toFixed(6));
      url.searchParams.set("lon", pos.coords.longitude.toFixed(6));
      window.location.assign(url.toString());
    }, function () { link.textContent = _("location unavailable"); });
  });
})();
