// The storefront's "Me" and inbox pages: check in, the daily reminder and
// the marketing opt-out. The pages render without JavaScript; these
// controls call the shop's JSON API under /s/{shop}/api and speak the
// page's language (the words are the layout's #shop-i18n, as in shop.js).
(function () {
  "use strict";
  var head = document.querySelector("[data-shop]");
  if (!head || !window.fetch) return;
  var base = head.getAttribute("data-shop");
  var box = document.querySelector("[data-msg]");

  var words = {};
  try { words = JSON.parse(document.getElementById("shop-i18n").textContent) || {}; } catch (ignored) { /* ids below */ }

  // tr: the message id with its {{.Name}} placeholders filled (see shop.js).
  function tr(id, vars) {
    var m = words[id];
    if (m && typeof m === "object") m = vars && vars.Count === 1 && m.one ? m.one : m.other;
    if (typeof m !== "string") return id;
    return m.replace(/\{\{\s*\.(\w+)\s*\}\}/g, function (all, k) {
      return vars && vars[k] !== undefined ? String(vars[k]) : "";
    });
  }

  function say(msg, ok) {
    if (!box) { if (msg) window.alert(msg); return; }
    box.className = ok ? "notice" : "error";
    box.setAttribute("role", ok ? "status" : "alert");
    box.textContent = msg || "";
    box.hidden = !msg;
  }

  function call(method, path, body) {
    return fetch(base + "/api" + path, {
      method: method, credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (data) {
        if (r.ok) return data;
        var e = data && data.error;
        var msg = e && e.message && r.status < 500 ? e.message : tr("failed");
        throw new Error(msg.charAt(0).toUpperCase() + msg.slice(1));
      });
    }, function () { throw new Error(tr("offline")); });
  }

  // worth redraws "worth ¥x at checkout" for a new balance: the balance's
  // value in fen is balance × 100 ÷ the shop's points per yuan
  // (data-worth), as points.Rules.PointValue counts it.
  function worth(balance) {
    var el = document.querySelector("[data-worth]");
    var per = el ? parseInt(el.getAttribute("data-worth"), 10) : 0;
    if (!el || !(per > 0) || typeof balance !== "number") return;
    var fen = Math.floor(Math.max(0, balance) * 100 / per);
    el.textContent = tr("worth", { Amount: Math.floor(fen / 100) + "." + String(100 + fen % 100).slice(1) });
    el.hidden = fen === 0;
  }

  var btn = document.querySelector("[data-checkin]");
  if (btn) {
    btn.addEventListener("click", function () {
      btn.disabled = true;
      call("POST", "/checkin", {}).then(function (r) {
        var bal = document.querySelector("[data-balance]");
        if (bal) bal.textContent = String(r.balance);
        worth(r.balance);
        var today = document.querySelector("[data-today]");
        if (today) {
          today.textContent = r.already_checked_in ? tr("already", { Count: r.streak })
            : tr("checked", { Points: r.points_awarded, Count: r.streak });
        }
        btn.textContent = tr("checked_in");
        var cell = document.querySelector("table.cal td.today");
        if (cell) cell.className += " on";
        say(r.already_checked_in ? tr("already", { Count: r.streak })
          : tr("checkin_ok", { Points: r.points_awarded, Count: r.streak, Balance: r.balance }), true);
      }, function (err) {
        btn.disabled = false;
        say(err.message);
      });
    });
  }

  function toggle(sel, path, key) {
    var el = document.querySelector(sel);
    if (!el) return;
    el.addEventListener("change", function () {
      var body = {};
      body[key] = key === "marketing" ? !el.checked : el.checked;
      el.disabled = true;
      call("PUT", path, body).then(function () {
        el.disabled = false;
        say(tr("saved"), true);
      }, function (err) {
        el.disabled = false;
        el.checked = !el.checked;
        say(err.message);
      });
    });
  }
  toggle("[data-reminder]", "/points/reminder", "on");
  toggle("[data-optout]", "/inbox/preferences", "marketing");
})();
