// After-sale: the shopper's confirm-receipt button and request forms
// (they call the shop's JSON API under /s/{shop}/api and speak the page's
// language: the words are the layout's #shop-i18n, as in shop.js), and the
// deadline countdowns on the shopper's, merchant's and operator's pages
// (the server renders the time left; this only keeps it ticking).
(function () {
  "use strict";

  // Countdowns: <span data-countdown="unix ms" data-format="… %h … %m …" data-over="…">.
  function tick() {
    var now = Date.now();
    Array.prototype.forEach.call(document.querySelectorAll("[data-countdown]"), function (el) {
      var left = parseInt(el.getAttribute("data-countdown"), 10) - now;
      if (!(left > 0)) {
        el.textContent = el.getAttribute("data-over") || "";
        return;
      }
      var m = Math.floor(left / 60000);
      el.textContent = (el.getAttribute("data-format") || "").replace("%h", String(Math.floor(m / 60))).replace("%m", String(m % 60));
    });
  }
  if (document.querySelector("[data-countdown]")) {
    tick();
    window.setInterval(tick, 30000);
  }

  var head = document.querySelector("[data-shop]");
  if (!head || !window.fetch) return;
  var base = head.getAttribute("data-shop");
  var words = {};
  try { words = JSON.parse(document.getElementById("shop-i18n").textContent) || {}; } catch (ignored) { /* ids below */ }
  // The page carries the "js." messages keyed without that prefix.
  function tr(id) {
    var m = words[id.replace(/^js\./, "")];
    return typeof m === "string" ? m : id;
  }

  function say(scope, msg) {
    var box = (scope && scope.querySelector("[data-msg]")) || document.querySelector("[data-msg]");
    if (!box) { if (msg) window.alert(msg); return; }
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
        throw new Error(e && e.message && r.status < 500 ? e.message : tr("js.aftersale.failed"));
      });
    }, function () { throw new Error(tr("js.aftersale.offline")); });
  }

  // Confirm receipt (order page).
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-confirm-receipt]");
    if (!b || !window.confirm(tr("js.aftersale.confirm_receipt"))) return;
    b.disabled = true;
    call("POST", "/orders/" + b.getAttribute("data-confirm-receipt") + "/confirm-receipt").then(function () {
      location.reload();
    }, function (err) {
      b.disabled = false;
      say(b.closest(".box") || document, err.message);
    });
  });

  // Plain actions (escalate, withdraw): <button data-aftersale-action="/after-sales/ID/escalate" data-confirm="js.…">.
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-aftersale-action]");
    if (!b) return;
    var ask = b.getAttribute("data-confirm");
    if (ask && !window.confirm(tr(ask))) return;
    b.disabled = true;
    call("POST", b.getAttribute("data-aftersale-action")).then(function () {
      location.reload();
    }, function (err) {
      b.disabled = false;
      say(b.closest(".box") || document, err.message);
    });
  });

  function upload(file) {
    var data = new FormData();
    data.append("file", file);
    return fetch(base + "/api/images", { method: "POST", credentials: "same-origin", headers: { Accept: "application/json" }, body: data })
      .then(function (r) {
        return r.json().catch(function () { return null; }).then(function (img) {
          if (r.ok && img && img.id) return img.id;
          var e = img && img.error;
          throw new Error(e && e.message && r.status < 500 ? e.message : tr("js.aftersale.failed"));
        });
      }, function () { throw new Error(tr("js.aftersale.offline")); });
  }

  // Reviews (order page, a completed order): <form data-review="ORDER_ID">
  // with product_id, sku_id, rating and text; done, the form says thanks.
  document.addEventListener("submit", function (e) {
    var form = e.target.closest("form[data-review]");
    if (!form) return;
    e.preventDefault();
    var el = form.elements;
    var submit = form.querySelector("[type=submit]");
    if (submit) submit.disabled = true;
    var files = el.photos && el.photos.files ? Array.prototype.slice.call(el.photos.files, 0, 6) : [];
    Promise.all(files.map(upload)).then(function (ids) {
      return call("POST", "/orders/" + form.getAttribute("data-review") + "/reviews", {
        product_id: el.product_id.value, sku_id: el.sku_id.value, rating: parseInt(el.rating.value, 10), text: el.text.value, images: ids
      });
    }).then(function () {
      form.textContent = tr("js.review.thanks");
    }, function (err) {
      if (submit) submit.disabled = false;
      say(form, err.message);
    });
  });

  // Forms: <form data-aftersale-form="/path" data-kind="create|message|return">.
  document.addEventListener("submit", function (e) {
    var form = e.target.closest("form[data-aftersale-form]");
    if (!form) return;
    e.preventDefault();
    var kind = form.getAttribute("data-kind");
    var el = form.elements;
    var body;
    if (kind === "create") {
      var lines = [];
      Array.prototype.forEach.call(form.querySelectorAll("input[name=line]:checked"), function (c) {
        var q = form.querySelector("input[name='qty-" + c.value + "']");
        lines.push({ line: parseInt(c.value, 10), quantity: q ? parseInt(q.value, 10) || 0 : 0 });
      });
      var yuan = el.amount ? String(el.amount.value).trim() : "";
      body = { type: el.type.value, reason: el.reason.value, amount: yuan ? Math.round(parseFloat(yuan) * 100) : 0, lines: lines };
    } else if (kind === "return") {
      body = { carrier: el.carrier.value, tracking_no: el.tracking_no.value };
    } else {
      body = { text: el.text.value };
    }
    var submit = form.querySelector("[type=submit]");
    if (submit) submit.disabled = true;
    // Photos go to the shop's image store first (one upload each, as
    // multipart); the request names them by the ids the store answers.
    var files = el.photos && el.photos.files ? Array.prototype.slice.call(el.photos.files, 0, 6) : [];
    Promise.all(files.map(upload)).then(function (ids) {
      if (ids.length) body.images = ids;
      return call("POST", form.getAttribute("data-aftersale-form"), body);
    }).then(function (r) {
      if (kind === "create" && r && r.id) location.assign(base + "/after-sales/" + r.id);
      else location.reload();
    }, function (err) {
      if (submit) submit.disabled = false;
      say(form, err.message);
    });
  });
})();
