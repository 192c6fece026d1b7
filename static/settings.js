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

  // The profile's "browser notifications" box: this device's choice, asking the browser's
  // permission when ticked (the console shows them while its tab is in the background).
  var box = document.getElementById("browser-notify");
  if (box) {
    box.checked = localStorage.getItem("perepiska.notify") === "1" && window.Notification && Notification.permission === "granted";
    box.addEventListener("change", function () {
      if (!box.checked) { localStorage.setItem("perepiska.notify", "0"); return; }
      if (!window.Notification) { box.checked = false; return; }
      Notification.requestPermission().then(function (p) {
        box.checked = p === "granted";
        localStorage.setItem("perepiska.notify", box.checked ? "1" : "0");
      });
    });
  }
})();
