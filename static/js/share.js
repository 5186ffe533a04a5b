// Share cards inside WeChat: a storefront page opened in WeChat asks the
// shop for a JS-SDK signature of its own address
// (GET /s/{shop}/api/wx-config?url=…), calls wx.config with it and sets
// what a share to a chat or to Moments shows: the page's title, its
// description and image, and a link that carries the sharer's own code
// (a distributor's ?d=…), so the attribution and distribution rules credit
// the sharer. A page may name its card with
// <meta name="ms-share" data-title="…" data-desc="…" data-image="…">;
// otherwise the title is the document's, the description the page's
// <meta name="description"> and the image the first picture in <main>.
// Outside WeChat, or without the shop's official account, nothing happens.
(function () {
  "use strict";
  if (!/MicroMessenger/i.test(navigator.userAgent) || !window.fetch) return;
  var head = document.querySelector("[data-shop]");
  if (!head) return;
  var base = head.getAttribute("data-shop"); // "/s/{shop}"
  var page = location.href.split("#")[0];

  function card(cfg) {
    var meta = document.querySelector('meta[name="ms-share"]');
    var desc = document.querySelector('meta[name="description"]');
    var img = document.querySelector("main img");
    var link = new URL(page);
    if (cfg.shareParam && cfg.shareCode) link.searchParams.set(cfg.shareParam, cfg.shareCode);
    link.searchParams.delete("wxoauth");
    var image = (meta && meta.getAttribute("data-image")) || (img && img.src) || "";
    if (image) image = new URL(image, location.href).href;
    return {
      title: (meta && meta.getAttribute("data-title")) || document.title,
      desc: (meta && meta.getAttribute("data-desc")) || (desc && desc.content) || "",
      link: link.href,
      imgUrl: image
    };
  }

  function configure(cfg) {
    var wx = window.wx;
    if (!wx || !wx.config) return;
    wx.config({ debug: false, appId: cfg.appId, timestamp: cfg.timestamp, nonceStr: cfg.nonceStr, signature: cfg.signature,
      jsApiList: ["updateAppMessageShareData", "updateTimelineShareData"] });
    wx.ready(function () {
      var c = card(cfg);
      wx.updateAppMessageShareData({ title: c.title, desc: c.desc, link: c.link, imgUrl: c.imgUrl });
      wx.updateTimelineShareData({ title: c.title, link: c.link, imgUrl: c.imgUrl });
    });
  }

  fetch(base + "/api/wx-config?url=" + encodeURIComponent(page), { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (cfg) {
      if (!cfg) return;
      if (window.wx) { configure(cfg); return; }
      var s = document.createElement("script");
      s.src = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js";
      s.onload = function () { configure(cfg); };
      document.head.appendChild(s);
    })
    .catch(function () { /* a share shows the bare link */ });
})();
