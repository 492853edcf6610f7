// copyseal — drag and drop onto file inputs. Without this script the inputs work as usual.
(function () {
  "use strict";

  function show(zone, input) {
    var out = zone.querySelector(".chosen");
    if (!out) return;
    var names = Array.prototype.map.call(input.files || [], function (f) { return f.name; });
    out.textContent = names.length ? "Chosen: " + names.join(", ") : "";
  }

  function wire(zone) {
    var input = zone.querySelector("input[type=file]");
    if (!input || zone.dataset.wired) return;
    zone.dataset.wired = "1";
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (e) {
        e.preventDefault();
        zone.classList.add("over");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      if (!e.dataTransfer || !e.dataTransfer.files.length) return;
      input.files = e.dataTransfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
    input.addEventListener("change", function () { show(zone, input); });
  }

  function init(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll(".dropzone"), wire);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (e) { init(e.target); });
})();
