// The storefront's vote page (/s/{shop}/vote): a vote button posts
// {"product_id"} to /s/{shop}/api/votes and shows the ballots and the votes
// left today it answers. The page renders without JavaScript; the words
// come from the page (the button's data-done) and the server's messages.
(function () {
  "use strict";
  var head = document.querySelector("[data-shop]");
  var page = document.querySelector("[data-vote-page]");
  if (!head || !page || !window.fetch) return;
  var base = head.getAttribute("data-shop");
  var box = document.querySelector("[data-msg]");

  function say(msg) {
    if (!box) { if (msg) window.alert(msg); return; }
    box.textContent = msg || "";
    box.hidden = !msg;
  }

  function set(sel, v) {
    var el = page.querySelector(sel);
    if (el) el.textContent = String(v);
  }

  page.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest("[data-vote]") : null;
    if (!btn || btn.disabled) return;
    btn.disabled = true;
    say("");
    fetch(base + "/api/votes", {
      method: "POST", credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ product_id: btn.getAttribute("data-vote") })
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (data) {
        if (!r.ok) {
          var e = data && data.error;
          if (r.status !== 409 || !e || e.code !== "already_voted") btn.disabled = false;
          say(e && e.message ? e.message : String(r.status));
          return;
        }
        btn.textContent = btn.getAttribute("data-done");
        set("[data-ballots]", data.ballots);
        set("[data-left-today]", data.votes_left_today);
        var item = btn.closest("[data-product]");
        var votes = item && item.querySelector("[data-votes]");
        if (votes) votes.textContent = String((parseInt(votes.textContent, 10) || 0) + 1);
      });
    }, function () { btn.disabled = false; say("offline"); });
  });
})();

// The group deals' countdowns: the time left to each deal's end, h:mm:ss.
(function () {
  "use strict";
  var spans = document.querySelectorAll("[data-countdown]");
  if (!spans.length) return;
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    var now = Date.now() / 1000;
    for (var i = 0; i < spans.length; i++) {
      var left = Math.max(0, Math.floor(parseInt(spans[i].getAttribute("data-countdown"), 10) - now));
      spans[i].textContent = Math.floor(left / 3600) + ":" + pad(Math.floor(left / 60) % 60) + ":" + pad(left % 60);
    }
  }
  tick();
  window.setInterval(tick, 1000);
})();
