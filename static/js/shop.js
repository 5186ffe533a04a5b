// Storefront buttons: add to cart, the cart's quantity steppers, checkout,
// the sandbox pay button and cancelling an order, and the footer's language
// switch. Every page renders without JavaScript; these buttons call the
// shop's JSON API under /s/{shop}/api and show its errors in plain words,
// in the page's language: the layout hands the words over as JSON
// (#shop-i18n, the js. messages of tenants/i18n/locales).
(function () {
  "use strict";
  var head = document.querySelector("[data-shop]");
  if (!head || !window.fetch) return;
  var base = head.getAttribute("data-shop"); // "/s/{shop}"

  var words = {};
  try { words = JSON.parse(document.getElementById("shop-i18n").textContent) || {}; } catch (ignored) { /* ids below */ }

  // tr returns the message id in the page's language with its {{.Name}}
  // placeholders filled from vars; a plural message takes its "one" form
  // when vars.Count is 1 (English; Chinese has only "other").
  function tr(id, vars) {
    var m = words[id];
    if (m && typeof m === "object") m = vars && vars.Count === 1 && m.one ? m.one : m.other;
    if (typeof m !== "string") return id;
    return m.replace(/\{\{\s*\.(\w+)\s*\}\}/g, function (all, k) {
      return vars && vars[k] !== undefined ? String(vars[k]) : "";
    });
  }

  // Words a shopper knows for the API's field names.
  function fieldName(key) {
    return words["field." + key] ? tr("field." + key) : key.replace(/_/g, " ");
  }

  // The language switch keeps the page's own query (the link alone,
  // without JavaScript, comes back to the page without it).
  document.addEventListener("click", function (e) {
    var a = e.target.closest("a[data-lang]");
    if (!a || e.metaKey || e.ctrlKey || e.shiftKey) return;
    var q = new URLSearchParams(location.search);
    q.set("lang", a.getAttribute("data-lang"));
    e.preventDefault();
    location.assign(location.pathname + "?" + q.toString());
  });

  function fieldKey(field) {
    return (field || "").replace(/^.*[.\]]/, "");
  }

  // plain turns an API answer into a sentence for the shopper.
  function plain(status, body) {
    var e = body && body.error;
    if (status === 0) return tr("offline");
    if (status === 429) return tr("too_many");
    if (status === 413) return tr("too_large");
    if (!e || !e.message || status >= 500) return tr("server");
    var msg = e.message;
    if (e.field && msg.indexOf(e.field + ": ") === 0) {
      var name = fieldName(fieldKey(e.field));
      var rest = msg.slice(e.field.length + 2);
      msg = /^(is|must) /.test(rest) ? name + " " + rest : name + ": " + rest;
    }
    msg = msg.charAt(0).toUpperCase() + msg.slice(1);
    return /[.!?。！？]$/.test(msg) ? msg : msg + (/[\u4e00-\u9fff]/.test(msg) ? "。" : ".");
  }

  // call sends a request to the shop's API. It resolves with the decoded
  // answer, or rejects with an Error whose message can be shown as is.
  function call(method, path, body, headers) {
    var opts = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      // Every state-changing call says JSON, even without a body: the server refuses it otherwise (415).
      opts.headers["Content-Type"] = "application/json";
    }
    if (body !== undefined) {
      opts.body = JSON.stringify(body);
    }
    Object.keys(headers || {}).forEach(function (k) { opts.headers[k] = headers[k]; });
    return fetch(base + "/api" + path, opts).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (ignored) { /* not JSON */ }
        if (r.ok) return data;
        var err = new Error(plain(r.status, data));
        err.status = r.status;
        err.field = data && data.error ? data.error.field : "";
        err.raw = data && data.error ? data.error.message : "";
        err.code = data && data.error ? data.error.code : "";
        err.replayed = r.headers.get("Idempotent-Replayed") === "true";
        throw err;
      });
    }, function () {
      var err = new Error(plain(0));
      err.status = 0;
      throw err;
    });
  }

  // say shows a message in el (an element with data-msg), or hides it.
  function say(el, msg, kind) {
    if (!el) {
      if (msg) window.alert(msg);
      return;
    }
    el.className = kind === "ok" ? "notice" : "error";
    el.setAttribute("role", kind === "ok" ? "status" : "alert");
    el.textContent = msg || "";
    el.hidden = !msg;
  }

  function msgIn(scope) {
    return (scope && scope.querySelector("[data-msg]")) || document.querySelector("[data-msg]");
  }

  // The header's cart count: every unit in the cart, problems included.
  function showCount(view) {
    var n = 0;
    ((view && view.items) || []).forEach(function (it) { n += it.qty; });
    Array.prototype.forEach.call(document.querySelectorAll("[data-cart-count]"), function (el) {
      el.textContent = n > 99 ? "99+" : String(n);
      el.hidden = n === 0;
    });
  }
  if (document.querySelector("[data-cart-count]")) {
    call("GET", "/cart").then(showCount, function () { /* the count is a nicety */ });
  }

  // Quantity steppers: − and + around a number field.
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-step]");
    if (!b) return;
    var input = b.parentNode.querySelector("input");
    if (!input || input.disabled) return;
    var min = parseInt(input.min, 10) || 1;
    var max = parseInt(input.max, 10) || 999;
    var v = (parseInt(input.value, 10) || min) + parseInt(b.getAttribute("data-step"), 10);
    v = Math.max(min, Math.min(max, v));
    if (String(v) === input.value) return;
    input.value = String(v);
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });

  // Product page: the chosen option bounds the quantity.
  var buy = document.querySelector("form[data-buy]");
  if (buy) {
    var qty = buy.querySelector("input[name=qty]");
    buy.addEventListener("change", function (e) {
      if (!e.target.matches(".skus input") || !qty) return;
      var stock = parseInt(e.target.getAttribute("data-stock"), 10);
      if (stock > 0) {
        qty.max = String(stock);
        if ((parseInt(qty.value, 10) || 1) > stock) qty.value = String(stock);
      }
    });
    var chosen = function () {
      var item = { product_id: buy.elements.product.value, sku_id: "", qty: parseInt(qty ? qty.value : "1", 10) };
      if (buy.querySelector(".skus")) {
        var sku = buy.querySelector(".skus input:checked");
        if (!sku) throw new Error(tr("choose_option"));
        item.sku_id = sku.value;
      }
      if (!(item.qty >= 1)) throw new Error(tr("qty_min"));
      return item;
    };
    buy.addEventListener("submit", function (e) { // Buy now: a GET to the checkout
      try {
        chosen();
      } catch (err) {
        e.preventDefault();
        say(msgIn(buy), err.message);
      }
    });
    var add = buy.querySelector("[data-add-to-cart]");
    if (add) add.addEventListener("click", function () {
      var item;
      try {
        item = chosen();
      } catch (err) {
        say(msgIn(buy), err.message);
        return;
      }
      add.disabled = true;
      call("POST", "/cart/items", item).then(function (view) {
        showCount(view);
        say(msgIn(buy), tr("added"), "ok");
      }, function (err) {
        say(msgIn(buy), err.message);
      }).then(function () { add.disabled = false; });
    });
  }

  // Cart page: each change goes to the API, then the cart is redrawn from
  // the server's page, so prices, problems and totals come from one place.
  function redrawCart() {
    return fetch(location.pathname, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("reload");
      return r.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("cart");
      var cart = document.getElementById("cart");
      if (fresh && cart) cart.parentNode.replaceChild(document.importNode(fresh, true), cart);
    }).catch(function () { location.reload(); });
  }
  function setQty(line, n) {
    var cart = document.getElementById("cart");
    line.classList.add("busy");
    return call("PUT", "/cart/items", {
      product_id: line.getAttribute("data-product"), sku_id: line.getAttribute("data-sku"), qty: n
    }).then(function (view) {
      showCount(view);
      return redrawCart();
    }, function (err) {
      line.classList.remove("busy");
      var input = line.querySelector("input[data-qty]");
      if (input) input.value = line.getAttribute("data-qty");
      say(msgIn(cart), err.message);
    });
  }
  if (document.getElementById("cart")) {
    document.addEventListener("change", function (e) {
      var input = e.target.closest("#cart input[data-qty]");
      if (!input) return;
      var n = parseInt(input.value, 10);
      var line = input.closest("[data-line]");
      if (!(n >= 1)) {
        input.value = line.getAttribute("data-qty");
        return;
      }
      setQty(line, n);
    });
    document.addEventListener("click", function (e) {
      var b = e.target.closest("#cart [data-remove]");
      if (b) setQty(b.closest("[data-line]"), 0);
    });
  }

  // Checkout: the address is remembered in this browser; the order is
  // placed with an Idempotency-Key minted once per page load, so a retry
  // after a lost answer never places a second order.
  var checkout = document.querySelector("form[data-checkout]");
  if (checkout) {
    var ADDRESS = "microshop.address";
    var fields = ["name", "phone", "province", "city", "district", "detail"];
    var saved = null;
    try { saved = JSON.parse(window.localStorage.getItem(ADDRESS) || "null"); } catch (ignored) { /* private mode */ }
    if (saved) fields.forEach(function (f) {
      var el = checkout.elements[f];
      if (el && !el.value && typeof saved[f] === "string") el.value = saved[f];
    });
    pickRegions(checkout);
    var key = checkout.getAttribute("data-idempotency-key");
    var attempt = 0;
    var place = checkout.querySelector("[data-place]");
    var label = place.textContent;
    var busy = false;
    checkout.addEventListener("submit", function (e) {
      e.preventDefault();
      if (busy) return;
      var msg = msgIn(checkout);
      var address = {};
      var missing = null;
      fields.forEach(function (f) {
        var el = checkout.elements[f];
        el.removeAttribute("aria-invalid");
        address[f] = el.value.trim();
        if (!address[f] && !missing) missing = el;
      });
      if (missing) {
        missing.setAttribute("aria-invalid", "true");
        missing.focus();
        say(msg, tr("fill_in", { Field: fieldName(missing.name).toLowerCase() }));
        return;
      }
      busy = true;
      place.disabled = true;
      place.textContent = tr("placing");
      say(msg, "");
      var idem = attempt ? key + "-" + attempt : key;
      var order = { items: JSON.parse(checkout.getAttribute("data-items")), address: address };
      var use = checkout.querySelector("[data-use-points]");
      var payable = parseInt(checkout.getAttribute("data-payable"), 10);
      if (use && use.checked) {
        order.points = parseInt(use.getAttribute("data-use-points"), 10);
        payable -= parseInt(use.getAttribute("data-points-amount"), 10);
      }
      // What the page shows: the server places the order only at that amount.
      if (!isNaN(payable)) order.expected_payable = payable;
      call("POST", "/orders", order,
        { "Idempotency-Key": idem }).then(function (order) {
        try { window.localStorage.setItem(ADDRESS, JSON.stringify(address)); } catch (ignored) { /* private mode */ }
        location.replace(base + "/pay/" + order.id);
      }, function (err) {
        busy = false;
        place.disabled = false;
        place.textContent = label;
        var text = err.message;
        if (err.code === "price_changed") {
          // Show the new amounts, and say why (pages.go); the address
          // typed is filled in again from local storage.
          try { window.localStorage.setItem(ADDRESS, JSON.stringify(address)); } catch (ignored) { /* private mode */ }
          var u = new URL(location.href);
          u.searchParams.set("changed", "1");
          location.replace(u.toString());
          return;
        }
        if (err.status === 409 && err.replayed && /different request/.test(err.raw)) {
          // An earlier try whose answer was lost, with other details.
          attempt++;
          text = tr("maybe_placed");
        } else if (err.status >= 400 && err.status < 500 && !(err.replayed && /in progress/.test(err.raw))) {
          attempt++; // a definite answer: the next try is a new request
        }
        // Network errors and 5xx keep the key: retrying is safe.
        say(msg, text);
        var field = fieldKey(err.field);
        if (checkout.elements[field] && /^address\./.test(err.field)) {
          checkout.elements[field].setAttribute("aria-invalid", "true");
          checkout.elements[field].focus();
        } else if (msg.scrollIntoView) {
          msg.scrollIntoView({ block: "center" });
        }
      });
    });
  }

  // Pay page: inside WeChat (MicroMessenger), WeChat Pay's JSAPI opens
  // WeChat's payment sheet; outside it, a sandbox shop confirms at once
  // (the test provider, or the buyer paying at the WeChat Pay simulator),
  // and a shop with a WeChat Pay account sends the browser to WeChat Pay's
  // H5 page (h5_url), which comes back to the order page.
  var pay = document.querySelector("[data-pay]");
  if (pay) pay.addEventListener("click", function () {
    var id = pay.getAttribute("data-pay");
    var sandbox = pay.getAttribute("data-provider") === "sandbox";
    var inWeChat = /MicroMessenger/i.test(navigator.userAgent);
    var done = function () { location.replace(base + "/orders/" + id + "?paid=1"); };
    var fail = function (err) {
      pay.disabled = false;
      say(msgIn(pay.closest(".box")), err.message);
    };
    var confirmWith = function (body) {
      body.sandbox_confirm = true;
      call("POST", "/orders/" + id + "/pay", body).then(done, fail);
    };
    pay.disabled = true;
    if (sandbox && !inWeChat) {
      confirmWith({});
      return;
    }
    call("POST", "/orders/" + id + "/pay", { method: inWeChat ? "wechat" : "wechat_h5" }).then(function (r) {
      if (r && r.status === "paid") {
        done();
      } else if (r && r.sandbox_confirm && !inWeChat) {
        confirmWith({ method: "wechat" });
      } else if (r && r.h5_url && !inWeChat) {
        location.assign(r.h5_url);
      } else if (r && r.jsapi && inWeChat && window.WeixinJSBridge) {
        window.WeixinJSBridge.invoke("getBrandWCPayRequest", r.jsapi, function (res) {
          if (res && res.err_msg === "get_brand_wcpay_request:ok") done();
          else fail(new Error(tr("pay_incomplete")));
        });
      } else if (r && r.sandbox_confirm) {
        confirmWith({ method: "wechat" });
      } else {
        fail(new Error(tr("open_in_wechat")));
      }
    }, function (err) {
      if (sandbox) confirmWith({});
      else fail(err);
    });
  });

  // Cancel an unpaid order (My orders, order page).
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-cancel-order]");
    if (!b || !window.confirm(tr("confirm_cancel"))) return;
    b.disabled = true;
    call("POST", "/orders/" + b.getAttribute("data-cancel-order") + "/cancel").then(function () {
      location.reload();
    }, function (err) {
      b.disabled = false;
      say(msgIn(b.closest("article") || document), err.message);
    });
  });
  // The region picker: the province, city and district fields suggest
  // China's regions (省 → 市 → 区, static/data/regions.json), each level
  // narrowed by the one above, a city filled in where a province has only
  // one; the fields still take any text (an address abroad).
  function pickRegions(form) {
    var url = form.getAttribute("data-regions");
    if (!url || !window.fetch) return;
    fetch(url).then(function (r) { return r.ok ? r.json() : null; }).then(function (regions) {
      if (!regions) return;
      var suggest = function (name, options) {
        var id = "regions-" + name;
        var list = document.getElementById(id);
        if (!list) {
          list = document.createElement("datalist");
          list.id = id;
          form.appendChild(list);
          form.elements[name].setAttribute("list", id);
        }
        list.textContent = "";
        options.forEach(function (o) {
          var opt = document.createElement("option");
          opt.value = o;
          list.appendChild(opt);
        });
      };
      var refresh = function () {
        var province = regions[form.elements.province.value.trim()];
        var cities = province ? Object.keys(province) : [];
        if (cities.length === 1 && !form.elements.city.value) form.elements.city.value = cities[0];
        suggest("city", cities);
        suggest("district", (province && province[form.elements.city.value.trim()]) || []);
      };
      suggest("province", Object.keys(regions));
      refresh();
      form.elements.province.addEventListener("input", refresh);
      form.elements.city.addEventListener("input", refresh);
    }, function () { /* no suggestions: the fields still work */ });
  }
})();

// Checkout: taking the points discount updates the amounts shown: the
// points line says what they take off (ticked) or would (not ticked).
document.addEventListener("change", function (e) {
  var use = e.target.closest("[data-use-points]");
  if (!use) return;
  var form = use.closest("[data-checkout]");
  var off = use.checked ? parseInt(use.getAttribute("data-points-amount"), 10) : 0;
  var payable = parseInt(form.getAttribute("data-payable"), 10) - off;
  var fmt = function (fen) { // integer arithmetic: money is exact
    var sign = fen < 0 ? "-" : "";
    fen = Math.abs(fen);
    return sign + Math.floor(fen / 100) + "." + String(100 + (fen % 100)).slice(1);
  };
  form.querySelectorAll("[data-points-off]").forEach(function (el) { el.hidden = !use.checked; });
  form.querySelectorAll("[data-points-worth]").forEach(function (el) { el.hidden = use.checked; });
  form.querySelectorAll("[data-payable], .paybar .price").forEach(function (el) { el.textContent = "¥" + fmt(payable); });
});
