// The product form's image picker (templates/partial_image_picker.html):
// chosen files are uploaded at once to the image store (POST /admin/images)
// and their URLs added to the images list, so the merchant sees them before
// saving. Without JavaScript the form uploads them when it is saved.
document.addEventListener("change", function (e) {
  var input = e.target.closest(".image-picker input[type=file]");
  if (!input || !window.fetch || !window.FormData) return;
  var picker = input.closest(".image-picker");
  var form = input.form;
  var textarea = form.querySelector("textarea[name=images]");
  var csrf = form.querySelector("input[name=_csrf]");
  var status = picker.querySelector(".image-status");
  var files = Array.prototype.slice.call(input.files);
  if (!files.length || !textarea || !csrf) return;
  input.disabled = true;
  status.textContent = picker.dataset.uploading;
  var next = function () {
    var f = files.shift();
    if (!f) {
      input.value = "";
      input.disabled = false;
      status.textContent = "";
      return;
    }
    var body = new FormData();
    body.append("_csrf", csrf.value);
    body.append("file", f);
    fetch("/admin/images", { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(function (j) {
          if (!r.ok) throw new Error((j.error && j.error.message) || r.status);
          return j;
        });
      })
      .then(function (img) {
        var lines = textarea.value.split("\n").filter(function (l) { return l.trim() !== ""; });
        lines.push(img.url);
        textarea.value = lines.join("\n");
        var list = picker.querySelector(".image-list");
        if (!list) {
          list = document.createElement("ol");
          list.className = "image-list";
          list.style.cssText = "list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:12px";
          picker.insertBefore(list, picker.querySelector("label"));
        }
        var li = document.createElement("li");
        var im = document.createElement("img");
        im.src = img.thumb_url;
        im.alt = "";
        im.width = 96;
        im.height = 96;
        im.style.cssText = "object-fit:cover;border-radius:4px";
        li.appendChild(im);
        list.appendChild(li);
        next();
      })
      .catch(function (err) {
        input.value = "";
        input.disabled = false;
        status.textContent = picker.dataset.failed + " " + err.message;
      });
  };
  next();
});
