// Live updates for the server-rendered console: on each event re-fetch the list and the open
// thread as HTML fragments. Works without this file too (just reload).
(function () {
  "use strict";
  var body = document.body;
  var selected = Number(body.dataset.selected || 0);
  var qs = body.dataset.qs || "";
  var soundBox = document.getElementById("sound-toggle");
  if (soundBox) {
    soundBox.checked = localStorage.getItem("perepiska.sound") === "1";
    soundBox.addEventListener("change", function () {
      localStorage.setItem("perepiska.sound", soundBox.checked ? "1" : "0");
    });
  }

  // Which events sound is the member's choice on their profile; the box mutes this device.
  var sounds = (body.dataset.sounds || "").split(",");
  function beep(pitch) {
    if (!soundBox || !soundBox.checked) return;
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.frequency.value = pitch || 880;
      gain.gain.value = 0.08;
      osc.connect(gain); gain.connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + 0.15);
    } catch (e) { /* no audio: fine */ }
  }

  function unreadTitle() {
    var n = document.querySelectorAll("#list .row.unread").length;
    var base = document.title.replace(/^\(\d+\) /, "");
    document.title = n > 0 ? "(" + n + ") " + base : base;
  }

  function fetchInto(url, id, after) {
    return fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { if (r.status === 200) return r.text(); throw new Error(r.status); })
      .then(function (html) {
        var el = document.getElementById(id);
        if (el) { el.innerHTML = html; if (after) after(el); }
      })
      .catch(function () { /* next event or reload will catch up */ });
  }

  // An open conversation is read once the operator can see it (never by a GET: a link from
  // elsewhere must change nothing).
  var readShown = false;
  function markRead() {
    // Reading is not answering: an analyst's visit leaves the conversation unread for the team.
    if (!selected || document.hidden || body.dataset.answer === "0") return;
    var form = new URLSearchParams();
    form.set("csrf", body.dataset.csrf || "");
    fetch("/console/c/" + selected + "/read", { method: "POST", credentials: "same-origin", body: form })
      // The list was rendered before the read: show it read now, without waiting for the
      // live event (the stream may not be connected yet).
      .then(function (r) { if (r.ok && !readShown) { readShown = true; refresh(false); } })
      .catch(function () {});
  }
  document.addEventListener("visibilitychange", markRead);

  function scrollThread() {
    var t = document.getElementById("thread");
    if (t) t.scrollTop = t.scrollHeight;
  }

  var pending = null;
  var needThread = false;
  function refresh(thread) {
    needThread = needThread || thread;
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      var listUrl = "/console/partials/list?" + (qs ? qs + "&" : "") + "c=" + selected;
      fetchInto(listUrl, "list", unreadTitle);
      fetch("/console/partials/bell", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (n) {
          var b = document.getElementById("bell-count");
          if (b && n !== null) { b.textContent = n; b.parentNode.classList.toggle("has", n !== "0"); }
        })
        .catch(function () {});
      if (needThread && selected) {
        needThread = false;
        var t = document.getElementById("thread");
        var atBottom = !t || t.scrollHeight - t.scrollTop - t.clientHeight < 80;
        fetchInto("/console/partials/thread/" + selected, "thread", function () { if (atBottom) scrollThread(); markRead(); });
      }
    }, 150);
  }

  scrollThread();
  unreadTitle();
  markRead();
  if (!window.EventSource) return;
  var es = new EventSource("/console/live");
  es.addEventListener("update", function (ev) {
    var e;
    try { e = JSON.parse(ev.data); } catch (x) { return; }
    if (e.from_customer) {
      if (e.new_conversation && sounds.indexOf("conversation") >= 0) beep(660);
      else if (!e.new_conversation && sounds.indexOf("message") >= 0) beep(880);
    }
    refresh(e.conversation_id === selected);
  });
  es.addEventListener("resync", function () { refresh(true); });
  // Signed out elsewhere or switched off by an admin: nothing more arrives here.
  es.addEventListener("signed_out", function () { es.close(); location.href = "/login"; });
  es.onopen = function () { body.classList.add("live"); };
  es.onerror = function () { body.classList.remove("live"); };
})();
