package main

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestBrowserSignUpAddProductSeeStorefront drives the real app in headless
// Chromium the way a new merchant does: open a shop, add a product in the
// console, and find it in the storefront. It then submits the product form
// with a bad price and checks the form comes back with an error and what was
// typed.
func TestBrowserSignUpAddProductSeeStorefront(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	b := newBrowser(t)

	const (
		shopName = "Lotus Tea House"
		slug     = "lotus-tea"
		email    = "owner@lotus-tea.example"
		password = "correct horse battery"
		title    = "Jasmine Tea 茉莉花茶"
		price    = "12.50"
		stock    = "25"
		category = "Tea"
	)

	// Sign up.
	b.navigate(srv.URL+"/signup", http.StatusOK)
	b.fill("#name", shopName)
	b.fill("#slug", slug)
	b.fill("#email", email)
	b.fill("#password", password)
	b.submit(`form[action="/signup"] button[type=submit]`, http.StatusCreated)
	b.wantPath("/signup")
	b.wantText("h1", shopName+" is open")
	b.eval(`document.querySelector("#developers summary").click(), "opened"`) // the key is folded under "Developers"
	if key := b.text("#apikey"); !strings.HasPrefix(key, "msk_") || len(key) < 20 {
		t.Fatalf("API key on the sign-up page = %q, want a key starting with msk_", key)
	}
	b.wantText(`a[href="/s/`+slug+`/"]`, "/s/"+slug+"/")

	// The session cookie set by the sign-up opens the console.
	b.submit(`a.btn[href="/admin"]`, http.StatusOK)
	b.wantPath("/admin")
	b.wantText("main h1", shopName)
	b.wantText("main", "0 on sale of 0 products")
	b.wantText("#shopurl", srv.URL+"/s/"+slug+"/")
	if got := b.eval(`(function(){ var i = document.querySelector("img.qr"); return i && i.complete ? String(i.naturalWidth) : "not loaded" })()`); got == "0" || got == "not loaded" {
		t.Errorf("storefront QR code on the dashboard: %s", got)
	}

	// Add a product.
	b.submit(`header a[href="/admin/products/new"]`, http.StatusOK)
	b.wantPath("/admin/products/new")
	b.wantText("main h1", "New product")
	b.fill("#title", title)
	b.fill("#price", price)
	b.clear("#stock")
	b.fill("#stock", stock)
	b.fill("#category", category)
	b.submit(`form.card button[data-save]`, http.StatusOK)
	b.wantPath("/admin/products?done=created")
	b.wantText(".notice", "Product created.")
	b.wantText("main h1", "1 in all")
	row := b.text("table tbody tr")
	for _, want := range []string{title, "¥" + price, stock, category, "On sale"} {
		if !strings.Contains(row, want) {
			t.Errorf("product row %q lacks %q", row, want)
		}
	}

	// The storefront lists it; its page shows title and price.
	b.navigate(srv.URL+"/s/"+slug+"/", http.StatusOK)
	b.wantText(".shop-head .name", shopName)
	b.wantText(".grid a.item .t", title)
	b.wantText(".grid a.item .price", "¥"+price)
	b.submit(".grid a.item", http.StatusOK)
	if p := b.path(); !regexp.MustCompile(`^/s/` + slug + `/p/[^/]+$`).MatchString(p) {
		t.Errorf("product page path = %q, want /s/%s/p/<id>", p, slug)
	}
	b.wantText(".pd h1", title)
	b.wantText(".pd .price", "¥"+price)
	b.wantText(".pd .stock", "In stock: "+stock+" · "+category)
	if got := b.eval(`document.title`); !strings.Contains(got, title) || !strings.Contains(got, shopName) {
		t.Errorf("product page title = %q, want it to name %q and %q", got, title, shopName)
	}

	// A bad price: the form comes back with an error and what was typed.
	const badTitle = "Oolong with a typo"
	b.navigate(srv.URL+"/admin/products/new", http.StatusOK)
	b.fill("#title", badTitle)
	b.fill("#price", "abc")
	b.submit(`form.card button[data-save]`, http.StatusBadRequest)
	b.wantPath("/admin/products")
	if msg := b.text(`.error[role=alert]`); !strings.Contains(msg, "price") || !strings.Contains(msg, "abc") {
		t.Errorf("error message = %q, want it to name the price and what was typed", msg)
	}
	if got := b.value("#title"); got != badTitle {
		t.Errorf("title field after the error = %q, want %q", got, badTitle)
	}
	if got := b.value("#price"); got != "abc" {
		t.Errorf("price field after the error = %q, want %q", got, "abc")
	}
	// Nothing was created.
	b.navigate(srv.URL+"/admin/products", http.StatusOK)
	b.wantText("main h1", "1 in all")

	b.noPageErrors()
}

// browser is a headless Chromium tab that fails the test with the page's
// address and text when a step does not work.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu         sync.Mutex
	exceptions []string
}

// stepTimeout bounds one step, so a missing element fails fast instead of
// using up the whole test's budget.
const stepTimeout = 10 * time.Second

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Skip("chromium not found: install it with `apt-get install -y chromium` (.ci/run does)")
	}
	// A whole browser test's bound: generous, since a saturated CI machine
	// runs a browser test several times slower than an idle one (each
	// step has its own 10-second bound besides).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)

	b := &browser{t: t, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("start chromium %s: %v", path, err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if ev, ok := ev.(*runtime.EventExceptionThrown); ok {
			b.mu.Lock()
			defer b.mu.Unlock()
			msg := ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
			b.exceptions = append(b.exceptions, fmt.Sprintf("%s:%d %s", ev.ExceptionDetails.URL, ev.ExceptionDetails.LineNumber+1, msg))
		}
	}); err != nil {
		t.Fatalf("listen: %v", err)
	}
	return b
}

func (b *browser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, stepTimeout)
}

// fail ends the test with what went wrong and where the browser is.
func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	where, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if len(body) > 2000 {
		body = body[:2000] + "…"
	}
	b.t.Fatalf("%s\nbrowser at %s, page text:\n%s", fmt.Sprintf(format, args...), where, body)
}

// navigate opens url and checks the HTTP status of the page.
func (b *browser) navigate(url string, status int64) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		b.fail("open %s: %v", url, err)
	}
	if resp.Status != status {
		b.fail("open %s: status %d, want %d", url, resp.Status, status)
	}
}

// submit clicks the element sel (a button or a link), waits for the page it
// leads to, and checks that page's HTTP status (after redirects).
func (b *browser) submit(sel string, status int64) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.fail("click %s: %v", sel, err)
	}
	if resp.Status != status {
		b.fail("click %s: status %d, want %d", sel, resp.Status, status)
	}
}

// fill types v into the empty field sel, key by key.
func (b *browser) fill(sel, v string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(sel), v)); err != nil {
		b.fail("type into %s: %v", sel, err)
	}
	if got := b.value(sel); got != v {
		b.fail("field %s holds %q after typing %q", sel, got, v)
	}
}

func (b *browser) clear(sel string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Clear(chromedp.CSS(sel))); err != nil {
		b.fail("clear %s: %v", sel, err)
	}
}

func (b *browser) value(sel string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		b.fail("value of %s: %v", sel, err)
	}
	return v
}

// text is the visible text of the first element sel matches.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.fail("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(v)
}

// wantText checks the first element sel matches shows want.
func (b *browser) wantText(sel, want string) {
	b.t.Helper()
	if got := b.text(sel); !strings.Contains(got, want) {
		b.fail("%s shows %q, want %q in it", sel, got, want)
	}
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.fail("evaluate %s: %v", js, err)
	}
	return v
}

// signIn signs the merchant of shop s in through the sign-in page, which
// opens the console.
func (b *browser) signIn(base string, s shop) {
	b.t.Helper()
	b.navigate(base+"/login", http.StatusOK)
	b.fill("#email", s.Email)
	b.fill("#password", s.Password)
	b.submit(`form[action="/login"] button[type=submit]`, http.StatusOK)
	b.wantPath("/admin")
}

// path is the current page's path and query.
func (b *browser) path() string {
	b.t.Helper()
	return b.eval(`location.pathname + location.search`)
}

func (b *browser) wantPath(want string) {
	b.t.Helper()
	if got := b.path(); got != want {
		b.fail("browser at %s, want %s", got, want)
	}
}

// noPageErrors fails the test if a page threw an uncaught exception.
func (b *browser) noPageErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.exceptions {
		b.t.Errorf("page error: %s", e)
	}
}
