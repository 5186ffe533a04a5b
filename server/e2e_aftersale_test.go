package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"microshop/shop/image/imagetest"
)

// The storefront's after-sale script (static/js/aftersale.js) in headless
// Chromium: a shopper who received an order asks for a return with a photo
// picked in the form, and reviews a line with a photo; what the pages show
// and what the shop then holds.

// afterSaleBrowser is a shop with a product, a shopper who bought it
// (shipped by the merchant), and a browser holding that shopper's cookie.
type afterSaleBrowser struct {
	b       *browser
	srv     string
	s       shop
	api     *client
	product string
	order   string
	photo   string // a PNG file to pick in the forms
}

func newAfterSaleBrowser(t *testing.T, slug string) *afterSaleBrowser {
	t.Helper()
	_, srv := startApp(t, sqliteEngine(t))
	b := newBrowser(t)
	s := signUp(t, srv.URL, slug)
	api := s.apiClient(t, srv.URL)
	p := api.createProduct(map[string]any{"title": "Biluochun 碧螺春", "price": 6800, "stock": 10,
		"images": []string{"/static/demo/p01.svg"}})
	buyer, orderID := shippedOrder(t, srv.URL, s, api, p.ID)

	// The browser is that shopper: it carries the buyer's fan cookie.
	u, _ := url.Parse(srv.URL + "/s/" + s.Slug + "/")
	cookies := buyer.http.Jar.Cookies(u)
	if len(cookies) == 0 {
		t.Fatal("the shopper has no cookie")
	}
	for _, c := range cookies {
		if _, err := chromedp.Call(b.ctx, network.SetCookie, network.SetCookieParams{Name: c.Name, Value: c.Value, URL: srv.URL + "/"}); err != nil {
			t.Fatalf("set cookie %s in the browser: %v", c.Name, err)
		}
	}
	photo := filepath.Join(t.TempDir(), "parcel.png")
	if err := os.WriteFile(photo, imagetest.PNG(64, 48, 7), 0o600); err != nil {
		t.Fatal(err)
	}
	return &afterSaleBrowser{b: b, srv: srv.URL, s: s, api: api, product: p.ID, order: orderID, photo: photo}
}

// shopURL is path on the shop's storefront.
func (f *afterSaleBrowser) shopURL(path string) string { return f.srv + "/s/" + f.s.Slug + path }

// confirmReceipt opens the order page and confirms receipt with its button.
func (f *afterSaleBrowser) confirmReceipt() {
	b := f.b
	b.t.Helper()
	b.navigate(f.shopURL("/orders/"+f.order), http.StatusOK)
	b.wantText("[data-status]", "Shipped")
	b.eval(`window.confirm = function () { return true }; ""`)
	b.submit("[data-confirm-receipt]", http.StatusOK) // confirms, then reloads
	b.wantText("[data-status]", "Completed")
}

// pickFile sets the file input sel to the test's photo.
func (b *browser) pickFile(sel, file string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS(sel), []string{file})); err != nil {
		b.fail("pick %s for %s: %v", file, sel, err)
	}
	if n := b.eval(fmt.Sprintf(`String(document.querySelector(%q).files.length)`, sel)); n != "1" {
		b.fail("%s holds %s files after picking one", sel, n)
	}
}

// waitImageLoaded waits until the image sel is loaded and has pixels.
func (b *browser) waitImageLoaded(sel string) {
	b.t.Helper()
	b.poll(fmt.Sprintf(`(function(){ var i = document.querySelector(%q); return !!i && i.complete && i.naturalWidth > 0 })()`, sel),
		fmt.Sprintf("image %s never loaded", sel))
}

// TestBrowserAfterSaleWithPhoto: the shopper confirms receipt on the order
// page, follows its after-sale link, asks for a return and refund of the
// line with a photo chosen in the form's file input, and lands on the
// request's page, which shows the request waiting for the shop with the
// photo. The shop holds the request with that photo, and the photo is in
// its image store.
func TestBrowserAfterSaleWithPhoto(t *testing.T) {
	f := newAfterSaleBrowser(t, "e2e-aftersale")
	b := f.b
	f.confirmReceipt()

	b.submit("a[data-after-sale]", http.StatusOK)
	b.wantPath("/s/" + f.s.Slug + "/orders/" + f.order + "/after-sale")
	b.wantText(".page-title", "After-sale request")
	if got := b.eval(`(function(){ var s = document.querySelector("select[name=type]"); s.value = "return_refund"; return s.value })()`); got != "return_refund" {
		b.fail("type select holds %q", got)
	}
	b.fill("input[name=amount]", "68.00")
	b.fill("input[name=reason]", "The tin arrived dented")
	b.pickFile("input[name=photos]", f.photo)
	b.submit(`form[data-kind=create] button[type=submit]`, http.StatusOK) // uploads, posts, goes to the request
	m := regexp.MustCompile(`^/s/` + f.s.Slug + `/after-sales/([a-z2-7]{16})$`).FindStringSubmatch(b.path())
	if m == nil {
		b.fail("after sending the request the browser is at %s, want its page", b.path())
	}
	id := m[1]

	// The request's page: waiting for the shop, with its deadline, the
	// reason, the line and the photo.
	b.wantText("[data-status]", "Waiting for the shop")
	b.wantText(".status-box", "Return and refund · ¥68.00")
	b.wantText("[data-due]", "Shop answers by")
	b.wantText("section.page", "The tin arrived dented")
	b.wantText("section.page", "Biluochun")
	b.waitImageLoaded(".photos img")
	src := b.eval(`document.querySelector(".photos img").getAttribute("src")`)
	pm := regexp.MustCompile(`^/s/` + f.s.Slug + `/img/([a-z2-7]{16})/thumb$`).FindStringSubmatch(src)
	if pm == nil {
		b.fail("photo on the request page is %q, want the shop's image thumbnail", src)
	}
	if n := b.eval(`String(document.querySelectorAll(".photos img").length)`); n != "1" {
		b.fail("%s photos on the request page, want 1", n)
	}
	b.noPageErrors()

	// What the shop holds: the request, with the photo the form uploaded.
	var r struct {
		ID      string   `json:"id"`
		OrderID string   `json:"order_id"`
		Type    string   `json:"type"`
		Status  string   `json:"status"`
		Reason  string   `json:"reason"`
		Amount  int64    `json:"amount"`
		Images  []string `json:"images"`
		Lines   []struct {
			ProductID string `json:"product_id"`
			Quantity  int64  `json:"quantity"`
		} `json:"lines"`
	}
	if st := f.api.json(http.MethodGet, "/api/v1/after-sales/"+id, nil, &r); st != http.StatusOK {
		t.Fatalf("the merchant's API: %d", st)
	}
	if r.OrderID != f.order || r.Type != "return_refund" || r.Status != "pending" || r.Reason != "The tin arrived dented" ||
		r.Amount != 6800 || len(r.Lines) != 1 || r.Lines[0].ProductID != f.product || r.Lines[0].Quantity != 1 {
		t.Errorf("stored request: %+v", r)
	}
	if len(r.Images) != 1 || r.Images[0] != pm[1] {
		t.Errorf("stored photos %v, want the one the page shows (%s)", r.Images, pm[1])
	}
	img := newClient(t, f.srv)
	if st, body := img.do(http.MethodGet, "/s/"+f.s.Slug+"/img/"+pm[1], nil, ""); st != http.StatusOK ||
		!strings.HasPrefix(img.contentType, "image/png") || len(body) == 0 {
		t.Errorf("the photo in the image store: %d %s, %d bytes", st, img.contentType, len(body))
	}
}

// TestBrowserReviewWithPhoto: on the received order's page the shopper
// rates the line four stars with a text and a photo; the form thanks them,
// the product page shows the rating and the review, and the shop holds the
// review with its photo.
func TestBrowserReviewWithPhoto(t *testing.T) {
	f := newAfterSaleBrowser(t, "e2e-review")
	b := f.b
	f.confirmReceipt()

	form := `form[data-review="` + f.order + `"]`
	if got := b.eval(fmt.Sprintf(`(function(){ var s = document.querySelector(%q); s.value = "4"; return s.value })()`, form+" select[name=rating]")); got != "4" {
		b.fail("rating select holds %q", got)
	}
	b.fill(form+" textarea[name=text]", "Fragrant, a little bitter")
	b.pickFile(form+" input[name=photos]", f.photo)
	b.click(form + " button[type=submit]")
	b.waitText(form, "Thank you for your review!")
	b.noPageErrors()

	// The product page: four stars from one review, and its text.
	b.navigate(f.shopURL("/p/"+f.product), http.StatusOK)
	b.wantText("[data-reviews]", "4.0 · 1 review")
	b.wantText("[data-reviews] .review", "Fragrant, a little bitter")
	b.wantText("[data-reviews] .review .stars", "★★★★")
	if got := b.eval(`document.querySelector("[data-reviews] .review .stars").getAttribute("aria-label")`); got != "4 stars" {
		b.fail("the review's stars say %q, want 4 stars", got)
	}
	b.noPageErrors()

	// What the shop holds: one review of the product with the photo.
	var list struct {
		Items []struct {
			OrderID   string   `json:"order_id"`
			ProductID string   `json:"product_id"`
			Rating    int      `json:"rating"`
			Text      string   `json:"text"`
			Images    []string `json:"images"`
		} `json:"items"`
		Total int64 `json:"total"`
	}
	if st := f.api.json(http.MethodGet, "/api/v1/reviews?product_id="+f.product, nil, &list); st != http.StatusOK || list.Total != 1 || len(list.Items) != 1 {
		t.Fatalf("the merchant's reviews: %d %+v", st, list)
	}
	rv := list.Items[0]
	if rv.OrderID != f.order || rv.Rating != 4 || rv.Text != "Fragrant, a little bitter" || len(rv.Images) != 1 {
		t.Fatalf("stored review: %+v", rv)
	}
	img := newClient(t, f.srv)
	if st, _ := img.do(http.MethodGet, "/s/"+f.s.Slug+"/img/"+rv.Images[0]+"/thumb", nil, ""); st != http.StatusOK ||
		!strings.HasPrefix(img.contentType, "image/") {
		t.Errorf("the review's photo in the image store: %d %s", st, img.contentType)
	}
}
