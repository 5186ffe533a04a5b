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

  // block turns the vote buttons off and says why (the page's
  // [data-vote-blocked] holds the words: data-no-ballots, data-no-votes-today).
  function block(why) {
    var note = page.querySelector("[data-vote-blocked]");
    var text = note && note.getAttribute(why);
    if (!text) return;
    note.textContent = text;
    note.hidden = false;
    Array.prototype.forEach.call(page.querySelectorAll("[data-vote]"), function (b) { b.disabled = true; });
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
          if (r.status === 403) block("data-no-ballots");
          if (r.status === 429) block("data-no-votes-today");
          return;
        }
        btn.textContent = btn.getAttribute("data-done");
        set("[data-ballots]", data.ballots);
        set("[data-left-today]", data.votes_left_today);
        if (data.ballots === 0) block("data-no-ballots");
        else if (data.votes_left_today === 0) block("data-no-votes-today");
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
