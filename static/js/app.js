// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("click", function (e) {
  var b = e.target.closest("[data-copy]");
  if (!b) return;
  var el = document.querySelector(b.getAttribute("data-copy"));
  if (el && navigator.clipboard) {
    navigator.clipboard.writeText(el.textContent.trim());
    // The page's own word (data-copied, from the catalog), else the page language's.
    b.textContent = b.getAttribute("data-copied") || (/^zh/.test(document.documentElement.lang) ? "已复制" : "Copied");
  }
});
document.addEventListener("change", function (e) {
  var r = e.target.closest(".skus input");
  if (!r) return;
  // span[...]: the option radios carry data-price and data-stock too.
  var p = document.querySelector("span[data-price]");
  if (p && r.dataset.price) p.textContent = r.dataset.price;
  var s = document.querySelector("span[data-stock]");
  if (s && r.dataset.stock) s.textContent = r.dataset.stock;
  // The crossed-out price (划线价) follows the option: hidden when it has none.
  var o = document.querySelector("del[data-original]");
  if (o) {
    o.hidden = !r.dataset.original;
    if (r.dataset.original) o.querySelector("span").textContent = r.dataset.original;
  }
});

// The broadcast form (admin_messages.html) shows the fields of the kind of
// message chosen only; without JavaScript every kind's fields show.
function showKindFields(select) {
  document.querySelectorAll("[data-kind-of]").forEach(function (f) {
    f.hidden = f.getAttribute("data-kind-of") !== select.value;
  });
}
document.addEventListener("change", function (e) {
  if (e.target.matches("select[data-kinds]")) showKindFields(e.target);
});
(function () {
  var k = document.querySelector("select[data-kinds]");
  if (k) showKindFields(k);
})();
