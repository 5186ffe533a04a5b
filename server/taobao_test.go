package main

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"microshop/shop/pcstore"
	"microshop/shop/pcstore/feedgen"
)

func init() {
	openAPITypes["TaobaoPreview"] = pcstore.TaobaoPreview{}
}

// taobaoForm is a multipart body with pkg in the field package (and the
// console's CSRF token when csrf is given).
func taobaoForm(pkg []byte, csrf string) (*bytes.Buffer, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if csrf != "" {
		_ = mw.WriteField("_csrf", csrf)
	}
	fw, _ := mw.CreateFormFile("package", "宝贝导出.zip")
	_, _ = fw.Write(pkg)
	_ = mw.Close()
	return &b, mw.FormDataContentType()
}

// TestTaobaoPackageImport drives the Taobao package import through the real
// router: the API's preview (dry_run) and import, the products made from
// it with their pictures in the image store (served by the storefront), a
// newer package updating them without duplicates, malformed packages as
// 4xx saying what is wrong (in Chinese for a Chinese reader), and the
// console's upload, preview and import.
func TestTaobaoPackageImport(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "tb-shop")
	c := s.apiClient(t, srv.URL)

	body, ct := taobaoForm(feedgen.TaobaoSample(feedgen.UTF16Tab, 0), "")
	status, b := c.do(http.MethodPost, "/api/v1/pcstore/taobao?dry_run=1", body, ct)
	if status != http.StatusOK || !strings.Contains(string(b), `"count":3`) || !strings.Contains(string(b), `"new":2`) ||
		!strings.Contains(string(b), `"pictures":4`) || !strings.Contains(string(b), "颜色分类:蓝色;尺码:XL") {
		t.Fatalf("preview: %d %.600s", status, b)
	}
	var list struct {
		Total int64         `json:"total"`
		Items []productJSON `json:"items"`
	}
	if c.json(http.MethodGet, "/api/v1/products", nil, &list); list.Total != 0 {
		t.Fatalf("the preview imported %d products", list.Total)
	}

	body, ct = taobaoForm(feedgen.TaobaoSample(feedgen.UTF16Tab, 0), "")
	status, b = c.do(http.MethodPost, "/api/v1/pcstore/taobao", body, ct)
	if status != http.StatusOK || !strings.Contains(string(b), `"status":"succeeded"`) || !strings.Contains(string(b), `"created":2`) ||
		!strings.Contains(string(b), `"failed":1`) || !strings.Contains(string(b), `"ref":"line 6"`) {
		t.Fatalf("import: %d %.600s", status, b)
	}
	if c.json(http.MethodGet, "/api/v1/products?limit=10", nil, &list); list.Total != 2 {
		t.Fatalf("%d products", list.Total)
	}
	var shirt productJSON
	for _, p := range list.Items {
		if p.Title == "纯棉短袖T恤" {
			shirt = p
		}
	}
	if shirt.Price != 5900 || shirt.Stock != 22 || len(shirt.SKUs) != 4 || len(shirt.Images) != 3 {
		t.Fatalf("shirt = %+v", shirt)
	}
	img := regexp.MustCompile(`^/s/tb-shop/img/[0-9a-zA-Z]+$`)
	for _, u := range shirt.Images {
		if !img.MatchString(u) {
			t.Fatalf("image %q is not in the image store", u)
		}
	}
	anon := newClient(t, srv.URL)
	if status, jpg := anon.do(http.MethodGet, shirt.Images[0], nil, ""); status != 200 || !bytes.HasPrefix(jpg, []byte{0xFF, 0xD8}) {
		t.Fatalf("GET %s: %d", shirt.Images[0], status)
	}

	// A newer package updates, never duplicates.
	body, ct = taobaoForm(feedgen.TaobaoSample(feedgen.GBKComma, 1), "")
	if status, b = c.do(http.MethodPost, "/api/v1/pcstore/taobao", body, ct); status != 200 || !strings.Contains(string(b), `"updated":2`) {
		t.Fatalf("re-import: %d %.400s", status, b)
	}
	if c.json(http.MethodGet, "/api/v1/products?limit=10", nil, &list); list.Total != 2 {
		t.Fatalf("%d products after a re-import", list.Total)
	}

	// Malformed packages.
	body, ct = taobaoForm([]byte("this is no zip"), "")
	if status, b = c.do(http.MethodPost, "/api/v1/pcstore/taobao", body, ct); status != 400 || !strings.Contains(string(b), "not a zip file") ||
		!strings.Contains(string(b), `"field":"package"`) {
		t.Fatalf("not a zip: %d %s", status, b)
	}
	c.header = http.Header{"Accept-Language": {"zh-CN"}}
	body, ct = taobaoForm([]byte("this is no zip"), "")
	if status, b = c.do(http.MethodPost, "/api/v1/pcstore/taobao", body, ct); status != 400 || !strings.Contains(string(b), "不是 zip 压缩文件") {
		t.Fatalf("not a zip, in Chinese: %d %s", status, b)
	}
	c.header = nil
	if status, b = c.do(http.MethodPost, "/api/v1/pcstore/taobao", strings.NewReader("{}"), "application/json"); status != 415 {
		t.Fatalf("JSON body: %d %s", status, b)
	}
	if status, b = c.do(http.MethodPost, "/api/v1/pcstore/taobao?dry_run=maybe", strings.NewReader(""), ct); status != 400 {
		t.Fatalf("dry_run=maybe: %d %s", status, b)
	}

	// The console: upload, preview, import.
	cc := s.consoleClient(t, srv.URL)
	status, page := cc.do(http.MethodGet, "/admin/pcstore", nil, "")
	if status != 200 || !strings.Contains(string(page), `action="/admin/pcstore/taobao"`) {
		t.Fatalf("PC store page: %d", status)
	}
	body, ct = taobaoForm(feedgen.TaobaoSample(feedgen.UTF16Tab, 0), cc.csrf)
	status, page = cc.do(http.MethodPost, "/admin/pcstore/taobao", body, ct)
	if status != 200 || !strings.Contains(string(page), `id="taobao-import"`) || !strings.Contains(string(page), "纯棉短袖T恤") ||
		!strings.Contains(string(page), "no title") {
		t.Fatalf("console preview: %d %.800s", status, page)
	}
	m := regexp.MustCompile(`name="upload_id" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no upload id in the preview")
	}
	status, _ = cc.form("/admin/pcstore/taobao/import", map[string][]string{"upload_id": {string(m[1])}, "name": {"宝贝导出.zip"}})
	if status != http.StatusSeeOther || !strings.HasPrefix(cc.location, "/admin/pcstore/runs/") {
		t.Fatalf("console import: %d → %q", status, cc.location)
	}
	runPath := cc.location
	if status, page = cc.do(http.MethodGet, runPath, nil, ""); status != 200 || !strings.Contains(string(page), "Taobao package") ||
		!strings.Contains(string(page), "Taobao import") {
		t.Fatalf("run page: %d %.600s", status, page)
	}
	cc.header = http.Header{"Accept-Language": {"zh-CN"}}
	if status, page = cc.do(http.MethodGet, runPath, nil, ""); status != 200 || !strings.Contains(string(page), "淘宝数据包") {
		t.Fatalf("run page in Chinese: %d %.600s", status, page)
	}
	cc.header = nil
	// The same preview again: its package was imported and is gone.
	status, page = cc.form("/admin/pcstore/taobao/import", map[string][]string{"upload_id": {string(m[1])}})
	if status != 400 || !strings.Contains(string(page), "upload the package again") {
		t.Fatalf("expired preview: %d %.300s", status, page)
	}
	body, ct = taobaoForm([]byte("no zip"), cc.csrf)
	if status, page = cc.do(http.MethodPost, "/admin/pcstore/taobao", body, ct); status != 400 || !strings.Contains(string(page), "not a zip file") {
		t.Fatalf("console malformed: %d %.300s", status, page)
	}
}

// TestPCStoreSyncCopiesImages: a sync through the real router copies the
// PC store's images into the shop's image store (served by the storefront,
// never hot-linked), each once; a changed image is copied again and the
// product shows the new copy.
func TestPCStoreSyncCopiesImages(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	a.pcstore.Client().AllowPrivateNetworks(true) // the "PC store" is on loopback here
	var mu sync.Mutex
	picture, version, downloads := feedgen.JPEG(16, 16, feedgen.Red), 1, 0
	var store *httptest.Server
	store = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/meta.json":
			_, _ = w.Write([]byte(`{"currency":"CNY"}`))
		case "/products.json":
			if r.URL.Query().Get("page") > "1" {
				_, _ = w.Write([]byte(`{"products":[]}`))
				return
			}
			_, _ = fmt.Fprintf(w, `{"products":[{"id":1,"title":"Jasmine","handle":"j","images":[{"src":"%s/img/a.jpg"}],
				"variants":[{"id":11,"title":"Default Title","price":"12.50","available":true}]}]}`, store.URL)
		case "/img/a.jpg":
			etag := fmt.Sprintf(`"v%d"`, version)
			w.Header().Set("ETag", etag)
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			downloads++
			w.Header().Set("Content-Type", "image/jpeg")
			_, _ = w.Write(picture)
		default:
			http.NotFound(w, r)
		}
	}))
	defer store.Close()
	a.pcstore.ImageRecheck = 0
	s := signUp(t, srv.URL, "img-shop")
	c := s.apiClient(t, srv.URL)
	if status := c.json(http.MethodPost, "/api/v1/pcstore/link", map[string]string{"type": "shopify", "url": store.URL}, nil); status != 200 {
		t.Fatalf("link: %d", status)
	}
	syncNow := func() productJSON {
		t.Helper()
		if status, b := c.do(http.MethodPost, "/api/v1/pcstore/sync?wait=true", nil, "application/json"); status != 200 || !strings.Contains(string(b), `"succeeded"`) {
			t.Fatalf("sync: %d %.300s", status, b)
		}
		var list struct {
			Items []productJSON `json:"items"`
		}
		c.json(http.MethodGet, "/api/v1/products", nil, &list)
		if len(list.Items) != 1 || len(list.Items[0].Images) != 1 {
			t.Fatalf("products = %+v", list.Items)
		}
		return list.Items[0]
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return downloads
	}
	first := syncNow().Images[0]
	if !strings.HasPrefix(first, "/s/img-shop/img/") {
		t.Fatalf("image %q is hot-linked", first)
	}
	anon := newClient(t, srv.URL)
	if status, jpg := anon.do(http.MethodGet, first, nil, ""); status != 200 || !bytes.HasPrefix(jpg, []byte{0xFF, 0xD8}) {
		t.Fatalf("GET %s: %d", first, status)
	}
	if again := syncNow().Images[0]; again != first || count() != 1 {
		t.Fatalf("unchanged image: %q (was %q), %d downloads", again, first, count())
	}
	mu.Lock()
	picture, version = feedgen.JPEG(16, 16, feedgen.Blue), 2
	mu.Unlock()
	if changed := syncNow().Images[0]; changed == first || !strings.HasPrefix(changed, "/s/img-shop/img/") || count() != 2 {
		t.Fatalf("changed image: %q (was %q), %d downloads", changed, first, count())
	}
}
