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

  // The tab's title counts unread conversations and unseen notifications: "(3) 🔔2 …".
  var bellCount = Number((document.getElementById("bell-count") || {}).textContent || 0);
  function unreadTitle() {
    var n = document.querySelectorAll("#list .row.unread").length;
    var base = document.title.replace(/^(\(\d+\) )?(🔔\d+ )?/, "");
    document.title = (n > 0 ? "(" + n + ") " : "") + (bellCount > 0 ? "🔔" + bellCount + " " : "") + base;
  }

  // A new notification while this tab is in the background: the browser shows it, where the
  // member allowed it on their profile.
  function bellRang(n) {
    if (n <= bellCount) { bellCount = n; unreadTitle(); return; }
    bellCount = n;
    unreadTitle();
    if (!document.hidden || localStorage.getItem("perepiska.notify") !== "1") return;
    if (!window.Notification || Notification.permission !== "granted") return;
    try {
      var note = new Notification(body.dataset.bellText || "perepiska", { body: "🔔 " + n, tag: "perepiska-bell" });
      note.onclick = function () { window.focus(); location.href = "/console/notifications"; };
    } catch (e) { /* not allowed here: the bell and the title still say it */ }
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
          if (b && n !== null) { b.textContent = n; b.parentNode.classList.toggle("has", n !== "0"); bellRang(Number(n)); }
        })
        .catch(function () {});
      if (needThread && selected) {
        needThread = false;
        var t = document.getElementById("thread");
        var atBottom = !t || t.scrollHeight - t.scrollTop - t.clientHeight < 80;
        fetchInto("/console/partials/thread/" + selected, "thread", function () { if (atBottom) scrollThread(); markRead(); });
        // A CRM may have made the lead since: its link in the sidebar.
        if (document.getElementById("crm-links")) fetchInto("/console/partials/crm/" + selected, "crm-links");
      }
    }, 150);
  }

  // Canned replies: "/" at the start of a word in the reply box opens the list; typing
  // narrows it, arrows choose, Enter or Tab inserts (filled for this conversation), Escape
  // closes. The operator edits the text before sending; the chosen reply's files go with it.
  function cannedPicker() {
    var form = document.getElementById("reply-form");
    if (!form || !selected) return;
    var box = form.querySelector("textarea[name=text]");
    var chosen = form.querySelector("input[name=canned]");
    var list = form.querySelector(".canned-picker");
    var filesNote = form.querySelector(".canned-files");
    if (!box || !chosen || !list) return;
    var all = null, shown = [], at = 0, start = -1;
    function load() {
      if (all) return Promise.resolve(all);
      return fetch("/console/c/" + selected + "/canned", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : []; })
        .catch(function () { return []; })
        .then(function (a) { all = a; return a; });
    }
    // The "/word" just before the caret, at the start of the box or after a space.
    function word() {
      var v = box.value, caret = box.selectionStart, i = caret - 1;
      while (i >= 0 && !/[\s\/]/.test(v[i])) i--;
      if (i < 0 || v[i] !== "/" || (i > 0 && !/\s/.test(v[i - 1]))) return null;
      return { start: i, query: v.slice(i + 1, caret).toLowerCase() };
    }
    function close() { list.hidden = true; shown = []; }
    function render() {
      list.textContent = "";
      if (!shown.length) {
        var none = document.createElement("li");
        none.className = "none";
        none.textContent = list.dataset.none || "";
        list.appendChild(none);
      }
      shown.forEach(function (c, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", i === at ? "true" : "false");
        var code = document.createElement("code"); code.textContent = "/" + c.shortcut;
        var b = document.createElement("b"); b.textContent = c.title;
        var small = document.createElement("small"); small.textContent = c.text;
        li.appendChild(code); li.appendChild(b); li.appendChild(small);
        li.addEventListener("mousedown", function (e) { e.preventDefault(); insert(c); });
        list.appendChild(li);
        if (i === at) li.scrollIntoView({ block: "nearest" });
      });
      list.hidden = false;
    }
    function narrow(q) {
      shown = all.filter(function (c) {
        return c.shortcut.indexOf(q) === 0 || c.title.toLowerCase().indexOf(q) >= 0 ||
          c.text.toLowerCase().indexOf(q) >= 0;
      });
      // Exact and prefix shortcuts first; otherwise the server's order (most used first).
      shown.sort(function (a, b) {
        return (b.shortcut.indexOf(q) === 0) - (a.shortcut.indexOf(q) === 0);
      });
      at = 0;
      render();
    }
    function insert(c) {
      var v = box.value, caret = box.selectionStart;
      box.value = v.slice(0, start) + c.text + v.slice(caret);
      var pos = start + c.text.length;
      box.focus();
      box.setSelectionRange(pos, pos);
      chosen.value = String(c.id);
      if (filesNote) {
        filesNote.hidden = !c.files.length;
        filesNote.querySelector("span").textContent = c.files.map(function (f) { return "📎 " + f; }).join(", ");
      }
      close();
    }
    if (filesNote) {
      filesNote.querySelector("button").addEventListener("click", function () {
        chosen.value = ""; filesNote.hidden = true;
      });
    }
    box.addEventListener("input", function () {
      var w = word();
      if (!w) { close(); return; }
      start = w.start;
      load().then(function () { var again = word(); if (again) narrow(again.query); });
    });
    box.addEventListener("keydown", function (e) {
      if (list.hidden) return;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        if (shown.length) at = (at + (e.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length;
        render();
        e.preventDefault();
      } else if ((e.key === "Enter" && !e.ctrlKey && !e.metaKey) || e.key === "Tab") {
        if (shown.length) { insert(shown[at]); e.preventDefault(); }
      } else if (e.key === "Escape") {
        close();
        e.preventDefault();
      }
    });
    box.addEventListener("blur", close);
    // The reply sent (or the form reset), the next one starts without a chosen reply.
    form.addEventListener("reset", function () { chosen.value = ""; if (filesNote) filesNote.hidden = true; });
  }

  // Keyboard: j/k next and previous conversation, r the reply box, Ctrl+Enter sends, a assigns
  // to me, e resolves, / the search, ? the list of keys; none of them while typing.
  function shortcuts() {
    var help = document.getElementById("shortcuts");
    var opener = document.querySelector(".shortcuts-open");
    function toggleHelp(show) {
      if (!help) return;
      help.hidden = !show;
      if (show) { var b = help.querySelector("[data-close]"); if (b) b.focus(); }
    }
    if (help) {
      help.addEventListener("click", function (e) {
        if (e.target === help || e.target.hasAttribute("data-close")) toggleHelp(false);
      });
    }
    if (opener) opener.addEventListener("click", function () { toggleHelp(true); });
    function typing(t) {
      return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    }
    function go(step) {
      var links = Array.prototype.slice.call(document.querySelectorAll("#list .row[data-id] > a"));
      if (!links.length) return;
      var i = -1;
      links.forEach(function (a, j) { if (a.parentNode.classList.contains("selected")) i = j; });
      var j = i < 0 ? 0 : Math.min(links.length - 1, Math.max(0, i + step));
      if (j !== i) location.href = links[j].href;
    }
    function submit(id) {
      var f = document.getElementById(id);
      if (f) f.submit();
    }
    document.addEventListener("keydown", function (e) {
      var t = e.target;
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && t.matches && t.matches("#reply-form textarea")) {
        e.preventDefault();
        var form = document.getElementById("reply-form");
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
        return;
      }
      if (e.key === "Escape") {
        if (help && !help.hidden) { toggleHelp(false); e.preventDefault(); }
        else if (typing(t)) t.blur();
        return;
      }
      if (typing(t) || e.ctrlKey || e.metaKey || e.altKey) return;
      var reply = document.querySelector("#reply-form textarea");
      var search = document.querySelector(".filters input[name=q]");
      switch (e.key) {
        case "j": go(1); break;
        case "k": go(-1); break;
        case "r": if (!reply) return; reply.focus(); break;
        case "a": submit("assign-me-form"); break;
        case "e": submit("resolve-form"); break;
        case "/": if (!search) return; search.focus(); search.select(); break;
        case "?": toggleHelp(help && help.hidden); break;
        default: return;
      }
      e.preventDefault();
    });
  }

  // The customer sees «Оператор печатает…» (or the messenger's typing action) while the
  // operator types an answer; a note is not an answer, so it says nothing.
  function typingSignal() {
    var form = document.getElementById("reply-form");
    if (!form || !selected) return;
    var box = form.querySelector("textarea[name=text]");
    var note = form.querySelector("input[name=private]");
    var last = 0;
    if (!box) return;
    box.addEventListener("input", function () {
      if (!box.value.trim() || (note && note.checked) || Date.now() - last < 4000) return;
      last = Date.now();
      var f = new URLSearchParams();
      f.set("csrf", body.dataset.csrf || "");
      fetch("/console/c/" + selected + "/typing", { method: "POST", credentials: "same-origin", body: f }).catch(function () {});
    });
  }

  shortcuts();
  cannedPicker();
  typingSignal();
  scrollThread();
  unreadTitle();
  markRead();
  if (!window.EventSource) return;
  var es = new EventSource("/console/live");
  es.addEventListener("update", function (ev) {
    var e;
    try { e = JSON.parse(ev.data); } catch (x) { return; }
    // A colleague typing changes nothing on this page.
    if (e.kind === "typing") return;
    if (e.from_customer) {
      if (e.new_conversation && sounds.indexOf("conversation") >= 0) beep(660);
      else if (!e.new_conversation && sounds.indexOf("message") >= 0) beep(880);
    }
    refresh(e.conversation_id === selected);
  });
  es.addEventListener("resync", function () { refresh(true); });
  // Signed out elsewhere or switched off by an admin: nothing more arrives here.
  es.addEventListener("signed_out", function () { es.close(); location.href = "/login"; });
  // Whatever happened between rendering this page and the stream connecting (a reply's
  // reload, a reconnect) is fetched once now, or it would show only with the next event.
  es.onopen = function () { body.classList.add("live"); refresh(true); };
  es.onerror = function () { body.classList.remove("live"); };
})();
