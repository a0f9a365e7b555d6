/* Product page: follow the product in "My 11.11" (kept in this browser only, like followed brands). */
(function () {
  "use strict";
  var button = document.getElementById("follow-product");
  if (!button) return;
  var id = Number(button.getAttribute("data-product")), title = button.getAttribute("data-title");
  function label() {
    var on = O2O.isProductFollowed(id);
    button.setAttribute("aria-pressed", String(on));
    button.textContent = button.getAttribute(on ? "data-following" : "data-follow");
  }
  button.addEventListener("click", function () { O2O.toggleProductFollow(id, title); label(); });
  label();
  button.hidden = false;  // it needs this script and the browser's storage: shown by them
})();
