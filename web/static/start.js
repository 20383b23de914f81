// The start page's lengths say how long they take over the stages ticked right now.
(function () {
  "use strict";
  var form = document.getElementById("start-form");
  if (!form) return;
  function update() {
    var ticked = Array.prototype.map.call(
      form.querySelectorAll('input[name="stages"]:checked'), function (box) { return box.value; });
    form.querySelectorAll('input[name="length"]').forEach(function (radio) {
      var fixed = Number(radio.getAttribute("data-fixed") || 0);
      var total = fixed;
      (fixed ? [] : ticked).forEach(function (stage) {
        total += Number(radio.getAttribute("data-stage-" + stage.replace(/_/g, "-")) || 0);
      });
      var label = radio.parentNode.querySelector(".length-minutes");
      if (label) label.textContent = "about " + total + " min";
    });
  }
  form.addEventListener("change", update);
})();
