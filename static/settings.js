// Settings pages: the copy buttons (the widget's install snippet).
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-copy]");
    if (!b) return;
    var text = document.getElementById(b.getAttribute("data-copy")).textContent;
    var done = function () { b.dataset.label = b.dataset.label || b.textContent; b.textContent = "✓"; setTimeout(function () { b.textContent = b.dataset.label; }, 1500); };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, function () {});
    else {
      var r = document.createRange(); r.selectNodeContents(document.getElementById(b.getAttribute("data-copy")));
      var s = window.getSelection(); s.removeAllRanges(); s.addRange(r); document.execCommand("copy"); done();
    }
  });
})();
