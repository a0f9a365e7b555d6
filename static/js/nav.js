/* The phone menu: the top bar's links behind one button (a disclosure), closed by Escape, by a
 * tap outside it, or by choosing a link. On a wide screen the links are always shown. */
(function () {
  "use strict";
  var button = document.getElementById("menu-button");
  var nav = document.getElementById("site-nav");
  if (!button || !nav) return;
  function setOpen(open) {
    button.setAttribute("aria-expanded", String(open));
    nav.classList.toggle("open", open);
  }
  button.addEventListener("click", function () {
    var open = button.getAttribute("aria-expanded") !== "true";
    setOpen(open);
    if (open) { var first = nav.querySelector("a"); if (first) first.focus(); }
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && nav.classList.contains("open")) { setOpen(false); button.focus(); }
  });
  document.addEventListener("click", function (ev) {
    if (nav.classList.contains("open") && !nav.contains(ev.target) && !button.contains(ev.target)) setOpen(false);
  });
})();
