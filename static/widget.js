// perepiska chat widget. Embed with:
//   <script src="https://YOUR-SERVER/static/widget.js" data-channel="web" async></script>
// The visitor keeps a random token in localStorage, so the conversation survives reloads.
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-channel][src*='widget.js']");
  if (!script || window.__perepiskaWidget) return;
  window.__perepiskaWidget = true;
  var base = new URL(script.src, location.href).origin;
  var channel = script.getAttribute("data-channel") || "web";
  var api = base + "/widget/" + encodeURIComponent(channel);
  var storeKey = "perepiska.visitor." + base + "." + channel;

  function randomId(bytes) {
    var a = new Uint8Array(bytes);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  var visitor = localStorage.getItem(storeKey);
  if (!visitor) { visitor = randomId(24); localStorage.setItem(storeKey, visitor); }

  // Every text the visitor reads, in both languages; the channel says which one (or "auto":
  // the browser's, Russian when it is neither).
  var TEXTS = {
    ru: { chat: "Чат", placeholder: "Напишите сообщение…", message: "Сообщение", file: "Файл", send: "Отправить",
      name: "Имя", phone: "Телефон", email: "Email", thanks: "Спасибо, мы с вами свяжемся.", error: "Ошибка",
      offline: "Сейчас никого нет в сети. Оставьте сообщение — мы ответим здесь же или по вашим контактам.",
      your_message: "Ваше сообщение", phone_or_email: "Укажите телефон или email",
      offline_sent: "Спасибо! Сообщение получено, мы ответим, как только появимся в сети.",
      no_server: "Нет связи с сервером", open: "Открыть чат", typing: "Оператор печатает…" },
    en: { chat: "Chat", placeholder: "Write a message…", message: "Message", file: "File", send: "Send",
      name: "Name", phone: "Phone", email: "Email", thanks: "Thank you, we will get in touch.", error: "Error",
      offline: "Nobody is online right now. Leave a message and we will answer here or through your contacts.",
      your_message: "Your message", phone_or_email: "Give a phone or an e-mail",
      offline_sent: "Thank you! We have your message and will answer as soon as we are online.",
      no_server: "No connection to the server", open: "Open the chat", typing: "An operator is typing…" }
  };
  var T = TEXTS.ru;
  function pickLanguage(setting) {
    if (setting === "en" || setting === "ru") return TEXTS[setting];
    var langs = navigator.languages || [navigator.language || ""];
    for (var i = 0; i < langs.length; i++) {
      var l = String(langs[i]).toLowerCase();
      if (l.indexOf("ru") === 0) return TEXTS.ru;
      if (l.indexOf("en") === 0) return TEXTS.en;
    }
    return TEXTS.ru;
  }

  var host = document.createElement("div");
  host.id = "perepiska-widget";
  document.body.appendChild(host);
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  root.innerHTML =
    "<style>" +
    ":host{all:initial;--c:#2563eb}[hidden]{display:none!important}" +
    ".btn{display:flex;align-items:center;justify-content:center;position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:var(--c);color:#fff;font-size:26px;cursor:pointer;box-shadow:0 4px 16px #0003;z-index:2147483646}" +
    ".btn .badge{position:absolute;top:-2px;right:-2px;background:#e11d48;color:#fff;border-radius:9px;font:bold 11px/18px sans-serif;min-width:18px;display:none}" +
    ".panel{position:fixed;right:20px;bottom:88px;width:340px;max-width:calc(100vw - 40px);height:460px;max-height:calc(100vh - 120px);display:none;flex-direction:column;background:#fff;border-radius:12px;box-shadow:0 8px 40px #0003;font:14px/1.4 system-ui,sans-serif;color:#1d2733;z-index:2147483647;overflow:hidden}" +
    ".panel.open{display:flex}" +
    ".head{background:var(--c);color:#fff;padding:12px 14px;font-weight:600}" +
    ".msgs{flex:1;overflow:auto;padding:10px;display:flex;flex-direction:column;gap:6px;background:#f4f6f8}" +
    ".m{max-width:80%;padding:7px 10px;border-radius:10px;white-space:pre-wrap;overflow-wrap:anywhere}" +
    ".m.customer{align-self:flex-end;background:var(--c);color:#fff}" +
    ".m.operator{align-self:flex-start;background:#fff;box-shadow:0 1px 2px #0001}" +
    ".typing{align-self:flex-start;color:#6b7280;font-size:12px;font-style:italic;padding:2px 4px}" +
    ".m .who{font-size:11px;opacity:.7}.m .who .av{width:18px;height:18px;border-radius:50%;vertical-align:middle;margin-right:4px;object-fit:cover}.m a{color:inherit}.m.sending{opacity:.6}.m.failed{outline:1px solid #e11d48}" +
    ".m img{max-width:200px;max-height:160px;display:block;border-radius:6px}" +
    "form{display:flex;gap:6px;padding:8px;border-top:1px solid #e1e5ea}" +
    "textarea{flex:1;resize:none;border:1px solid #e1e5ea;border-radius:8px;padding:6px;font:inherit;height:38px}" +
    "button.send,label.attach{border:0;background:var(--c);color:#fff;border-radius:8px;padding:0 12px;cursor:pointer;display:flex;align-items:center}" +
    "label.attach{background:#e8effd;color:var(--c)}label.attach input{display:none}" +
    ".err{color:#e11d48;font-size:12px;padding:0 10px}" +
    ".cf{display:flex;flex-direction:column;gap:4px;margin-top:6px;border:0;padding:0}" +
    ".cf input{border:1px solid #e1e5ea;border-radius:6px;padding:5px;font:inherit}" +
    ".cf button{border:0;background:var(--c);color:#fff;border-radius:6px;padding:5px;cursor:pointer}" +
    ".cf .cerr{color:#e11d48;font-size:12px}" +
    ".left .btn{right:auto;left:20px}.left .panel{right:auto;left:20px}" +
    ".btn.text{width:auto;border-radius:28px;padding:0 18px 0 14px;gap:8px;font:600 15px/1 system-ui,sans-serif}" +
    ".btn .label:empty{display:none}" +
    ".off{display:flex;flex-direction:column;gap:6px;padding:10px;border-top:1px solid #e1e5ea}" +
    ".off p{margin:0;font-size:13px;color:#4b5563}" +
    ".off input,.off textarea{border:1px solid #e1e5ea;border-radius:6px;padding:6px;font:inherit}" +
    ".off button{border:0;background:var(--c);color:#fff;border-radius:6px;padding:7px;cursor:pointer}" +
    "@media (max-width:640px){.panel{right:0;left:0;bottom:0;width:100vw;max-width:100vw;height:100vh;max-height:100vh;border-radius:0}}" +
    "</style>" +
    "<div class='w'><button class='btn' aria-label='Chat'><svg width='26' height='26' viewBox='0 0 24 24' fill='none' stroke='currentColor' stroke-width='2' stroke-linecap='round' stroke-linejoin='round' aria-hidden='true'><path d='M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z'/></svg><span class='label'></span><span class='badge'></span></button>" +
    "<div class='panel' role='dialog' aria-label='Chat'>" +
    "<div class='head'>Чат</div><div class='msgs'></div><div class='err'></div>" +
    "<form><label class='attach' title='Файл' aria-label='Файл'><svg width='18' height='18' viewBox='0 0 24 24' fill='none' stroke='currentColor' stroke-width='2' stroke-linecap='round' stroke-linejoin='round' aria-hidden='true'><path d='M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48'/></svg><input type='file'></label>" +
    "<textarea placeholder='Напишите сообщение…' aria-label='Сообщение'></textarea>" +
    "<button class='send' type='submit' aria-label='Send'>➤</button></form>" +
    "<form class='off' hidden><p></p><input name='name' required><input name='phone' type='tel'><input name='email' type='email'>" +
    "<textarea name='text' rows='3' required></textarea><div class='err'></div><button type='submit'></button></form></div></div>";

  var btn = root.querySelector(".btn");
  var badge = root.querySelector(".badge");
  var panel = root.querySelector(".panel");
  var msgs = root.querySelector(".msgs");
  var head = root.querySelector(".head");
  var err = root.querySelector(".err");
  var form = root.querySelector("form");
  var input = root.querySelector("textarea");
  var file = root.querySelector("input[type=file]");
  var lastId = 0;
  var shown = {};
  var unread = 0;
  var live = null;

  var wrap = root.querySelector(".w");
  var label = root.querySelector(".btn .label");
  var offForm = root.querySelector("form.off");
  var config = {};

  // The channel's look and language, then every text in that language.
  function applyConfig(c) {
    config = c || {};
    T = pickLanguage(config.language);
    if (config.color) host.style.setProperty("--c", config.color);
    if (config.side === "left") wrap.classList.add("left");
    if (config.launcher_text) { label.textContent = config.launcher_text; btn.classList.add("text"); }
    head.textContent = config.title || config.company || T.chat;
    btn.setAttribute("aria-label", T.open);
    panel.setAttribute("aria-label", T.chat);
    input.placeholder = T.placeholder;
    input.setAttribute("aria-label", T.message);
    var attach = root.querySelector("label.attach");
    attach.title = T.file; attach.setAttribute("aria-label", T.file);
    root.querySelector("button.send").setAttribute("aria-label", T.send);
    offForm.querySelector("p").textContent = T.offline;
    [["name", T.name + " *"], ["phone", T.phone], ["email", T.email], ["text", T.your_message + " *"]].forEach(function (f) {
      var el = offForm.querySelector("[name=" + f[0] + "]");
      el.placeholder = f[1]; el.setAttribute("aria-label", f[1]);
    });
    offForm.querySelector("button").textContent = T.send;
    if (config.greeting) {
      var g = document.createElement("div");
      g.className = "m operator greeting";
      g.textContent = config.greeting;
      if (config.greeting_contact_form) g.appendChild(contactForm(config.greeting_contact_form));
      msgs.insertBefore(g, msgs.firstChild);
    }
  }

  // Nobody online and the visitor has not written: a request form instead of the chat.
  function offlineMode(on) {
    offForm.hidden = !on;
    form.hidden = on;
  }
  offForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var e = offForm.querySelector(".err");
    var val = function (n) { return offForm.querySelector("[name=" + n + "]").value.trim(); };
    if (!val("phone") && !val("email")) { e.textContent = T.phone_or_email; return; }
    var body = { visitor: visitor, client_id: randomId(12), text: val("text"), name: val("name"),
      phone: val("phone") || null, email: val("email") || null, offline: true };
    fetch(api + "/messages", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, d: d }; }); })
      .then(function (x) {
        if (!x.ok) { e.textContent = (x.d.error && x.d.error.message) || T.error; return; }
        offlineMode(false);
        msgs.appendChild(node("div", { "class": "m operator offline-sent" }, T.offline_sent));
        load().then(function () { if (live) { live.close(); live = null; } connect(); });
      })
      .catch(function () { e.textContent = T.no_server; });
  });

  function open() {
    panel.classList.add("open");
    unread = 0; badge.style.display = "none";
    input.focus();
    msgs.scrollTop = msgs.scrollHeight;
    markRead();
  }

  // The operators see their answers as read once the visitor has the chat open in front of
  // them (not merely loaded in a background tab).
  var readUpTo = 0, newestAnswer = 0;
  function markRead() {
    if (!newestAnswer || newestAnswer <= readUpTo || document.hidden || !panel.classList.contains("open")) return;
    var upTo = newestAnswer;
    fetch(api + "/read", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ visitor: visitor, up_to: upTo }) })
      .then(function (r) { if (r.ok && upTo > readUpTo) readUpTo = upTo; })
      .catch(function () {});
  }
  document.addEventListener("visibilitychange", markRead);

  // «Оператор печатает…» while an operator types; gone when the answer arrives or after a
  // few quiet seconds.
  var typingEl = null, typingTimer = null;
  function hideTyping() {
    if (typingTimer) { clearTimeout(typingTimer); typingTimer = null; }
    if (typingEl) { typingEl.remove(); typingEl = null; }
  }
  function showTyping() {
    if (!typingEl) {
      typingEl = node("div", { "class": "typing", "aria-live": "polite" }, T.typing);
      msgs.appendChild(typingEl);
      msgs.scrollTop = msgs.scrollHeight;
    }
    if (typingTimer) clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, 6000);
  }

  // Opens by itself once per visit, on phones only where the admin wants it.
  function autoOpen() {
    var after = config.auto_open_after;
    if (!after || sessionStorage.getItem(storeKey + ".opened")) return;
    if (!config.auto_open_on_mobile && window.matchMedia && window.matchMedia("(max-width: 640px)").matches) return;
    setTimeout(function () {
      sessionStorage.setItem(storeKey + ".opened", "1");
      if (!panel.classList.contains("open")) open();
    }, after * 1000);
  }

  // The contact request: the fields the channel asks for, sent to /contact.
  function contactForm(spec) {
    var f = document.createElement("form");
    f.className = "cf";
    var labels = { name: T.name, phone: T.phone, email: T.email };
    var types = { name: "text", phone: "tel", email: "email" };
    ["name", "phone", "email"].forEach(function (k) {
      if (!spec[k] || spec[k] === "hidden") return;
      var i = document.createElement("input");
      i.name = k; i.type = types[k];
      i.placeholder = labels[k] + (spec[k] === "required" ? " *" : "");
      i.setAttribute("aria-label", labels[k]);
      if (spec[k] === "required") i.required = true;
      f.appendChild(i);
    });
    var b = document.createElement("button");
    b.type = "submit"; b.textContent = T.send;
    f.appendChild(b);
    var e = document.createElement("div");
    e.className = "cerr";
    f.appendChild(e);
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = { visitor: visitor };
      Array.prototype.forEach.call(f.querySelectorAll("input"), function (i) { body[i.name] = i.value; });
      fetch(api + "/contact", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
        .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, d: d }; }); })
        .then(function (x) {
          if (!x.ok) { e.textContent = (x.d.error && x.d.error.message) || T.error; return; }
          f.textContent = T.thanks;
        })
        .catch(function () { e.textContent = T.no_server; });
    });
    return f;
  }

  // Built with DOM nodes and textContent only: names and texts from customers, operators and
  // platforms never become markup on the business's own page.
  function node(tag, attrs, text) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text != null) n.textContent = text;
    return n;
  }

  function render(m) {
    if (shown[m.id]) return;
    shown[m.id] = true;
    if (m.id > lastId) lastId = m.id;
    if (m.kind === "operator" && m.id > newestAnswer) newestAnswer = m.id;
    var el = document.createElement("div");
    el.className = "m " + m.kind;
    el.dataset.id = m.id;
    if (m.kind === "operator" && m.author) {
      var who = node("div", { "class": "who" });
      // Only our own picture addresses: nothing else is loaded into the page.
      if (m.author_avatar && /^\/avatars\/[0-9a-f]{2}\/[0-9a-f]{32}$/.test(m.author_avatar)) {
        who.appendChild(node("img", { "class": "av", src: base + m.author_avatar, alt: "" }));
      }
      who.appendChild(document.createTextNode(m.author));
      el.appendChild(who);
    }
    if (m.text) el.appendChild(document.createTextNode(m.text));
    (m.attachments || []).forEach(function (a) {
      var url = api + "/attachments/" + encodeURIComponent(a.id) + "?visitor=" + encodeURIComponent(visitor);
      if (a.image) {
        var link = node("a", { href: url, target: "_blank", rel: "noopener" });
        link.appendChild(node("img", { src: url, alt: a.file_name }));
        el.appendChild(link);
      } else {
        var row = node("div");
        row.appendChild(node("a", { href: url }, "📎 " + a.file_name));
        el.appendChild(row);
      }
    });
    if (m.contact_form) el.appendChild(contactForm(m.contact_form));
    msgs.appendChild(el);
    msgs.scrollTop = msgs.scrollHeight;
    if (m.kind === "operator" && !panel.classList.contains("open")) {
      unread++; badge.textContent = unread; badge.style.display = "block";
    }
  }

  function load() {
    return fetch(api + "/messages?visitor=" + visitor + "&after=" + lastId)
      .then(function (r) { return r.json(); })
      .then(function (d) {
        var list = d.messages || [];
        if (list.some(function (m) { return m.kind === "operator"; })) hideTyping();
        list.forEach(render);
        if (typingEl) msgs.appendChild(typingEl);
        markRead();
      })
      .catch(function () {});
  }

  function connect() {
    if (live || !window.EventSource) return;
    live = new EventSource(api + "/live?visitor=" + visitor);
    live.addEventListener("update", function (ev) {
      var e = {};
      try { e = JSON.parse(ev.data); } catch (x) { /* an update all the same */ }
      if (e.kind === "typing") showTyping(); else load();
    });
    live.addEventListener("resync", load);
  }

  // Retries with the same client_id until the server has committed it; a repeat is stored once.
  function deliver(url, opts, el, attempt) {
    return fetch(url, opts).then(function (r) {
      return r.json().then(function (d) {
        if (!r.ok) throw { fatal: r.status < 500, message: (d.error && d.error.message) || r.status };
        return d;
      });
    }).then(function (d) {
      el.remove();
      err.textContent = "";
      var first = !live;
      load().then(function () { if (first || d.new_conversation) { if (live) { live.close(); live = null; } connect(); } });
    }).catch(function (e) {
      if (e && e.fatal) { el.classList.add("failed"); err.textContent = e.message; return; }
      if (attempt < 6) setTimeout(function () { deliver(url, opts, el, attempt + 1); }, 500 * Math.pow(2, attempt));
      else { el.classList.add("failed"); err.textContent = T.no_server; }
    });
  }

  function pendingBubble(text) {
    var el = document.createElement("div");
    el.className = "m customer sending";
    el.textContent = text;
    msgs.appendChild(el);
    msgs.scrollTop = msgs.scrollHeight;
    return el;
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    var body = JSON.stringify({ visitor: visitor, client_id: randomId(12), text: text });
    deliver(api + "/messages", { method: "POST", headers: { "Content-Type": "application/json" }, body: body }, pendingBubble(text), 0);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  file.addEventListener("change", function () {
    var f = file.files && file.files[0];
    if (!f) return;
    file.value = "";
    var url = api + "/files?visitor=" + visitor + "&client_id=" + randomId(12) + "&name=" + encodeURIComponent(f.name);
    deliver(url, { method: "POST", headers: { "Content-Type": f.type || "application/octet-stream" }, body: f }, pendingBubble("📎 " + f.name), 0);
  });
  btn.addEventListener("click", function () {
    if (panel.classList.contains("open")) panel.classList.remove("open");
    else open();
  });

  var configured = fetch(api + "/config").then(function (r) {
    if (!r.ok) throw r.status;
    return r.json();
  });
  Promise.all([configured, load()]).then(function (x) {
    applyConfig(x[0]);
    if (config.offline_form && lastId === 0) offlineMode(true);
    if (lastId > 0) connect();
    autoOpen();
  }).catch(function (status) {
    // A refused site or address: the widget stays hidden rather than half-working.
    if (status === 403) { host.remove(); return; }
    applyConfig({});
    if (lastId > 0) connect();
  });
})();
