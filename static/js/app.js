// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("click", function (e) {
  var b = e.target.closest("[data-copy]");
  if (!b) return;
  var el = document.querySelector(b.getAttribute("data-copy"));
  if (el && navigator.clipboard) {
    navigator.clipboard.writeText(el.textContent.trim());
    b.textContent = "Copied";
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
});
