package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserBuyPayShip drives a purchase in headless Chromium: a shopper
// picks an option and a quantity on the product page, adds it to the cart
// (the header's count follows), changes the quantity in the cart, checks
// out (a wrong phone number is refused with a message, the corrected one
// goes through), pays in the sandbox and finds the order paid in My
// orders. The merchant then finds it in the console and ships it, and the
// shopper sees the tracking number.
func TestBrowserBuyPayShip(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	b := newBrowser(t)
	s := signUp(t, srv.URL, "e2e-tea")
	p := s.apiClient(t, srv.URL).createProduct(map[string]any{"title": "Longjing 龙井", "category": "Tea",
		"images": []string{"/static/demo/p01.svg"},
		"skus":   []map[string]any{{"name": "250 g", "price": 1250, "stock": 5}, {"name": "500 g", "price": 2300, "stock": 3}}})
	shop := srv.URL + "/s/" + s.Slug

	// Product page: an option is needed before adding to the cart.
	b.navigate(shop+"/p/"+p.ID, http.StatusOK)
	b.wantText(".pd h1", "Longjing")
	b.click("[data-add-to-cart]")
	b.waitText("form[data-buy] [data-msg]", "Please choose an option first.")
	b.click(".skus label:nth-child(2)")
	b.wantText(".pd .price", "¥23.00")
	b.wantText(".pd .stock", "In stock: 3")
	b.click(`form[data-buy] [data-step="1"]`)
	if got := b.value("#qty"); got != "2" {
		b.fail("quantity after + is %q, want 2", got)
	}
	b.click("[data-add-to-cart]")
	b.waitText("form[data-buy] [data-msg]", "Added to your cart.")
	b.waitText(".cart-link [data-cart-count]", "2")

	// Cart: one line, two units; one fewer redraws the cart.
	b.submit(".cart-link", http.StatusOK)
	b.wantPath("/s/" + s.Slug + "/cart")
	b.wantText("#cart [data-line] .t", "Longjing")
	b.wantText("#cart [data-line] .opt", "500 g")
	b.wantText("[data-checkout-link]", "Check out (2)")
	b.click(`#cart [data-step="-1"]`)
	b.waitText("[data-checkout-link]", "Check out (1)")
	b.wantText("[data-goods-total]", "¥23.00")
	b.waitText(".cart-link [data-cart-count]", "1")

	// Checkout: a wrong phone number is refused in words, then fixed.
	b.submit("a[data-checkout-link]", http.StatusOK)
	b.wantPath("/s/" + s.Slug + "/checkout")
	b.wantText("[data-payable]", "¥23.00")
	b.fillAddress("12345")
	b.click("[data-place]")
	b.waitText("form[data-checkout] [data-msg]", "Phone")
	if msg := b.text("form[data-checkout] [data-msg]"); !strings.Contains(msg, "is not a phone number") || strings.Contains(msg, "address.phone") {
		b.fail("phone error %q, want it in plain words", msg)
	}
	b.empty("#addr-phone")
	b.fill("#addr-phone", "13812345678")
	b.submit("[data-place]", http.StatusOK)
	payPath := b.path()
	m := regexp.MustCompile(`^/s/` + s.Slug + `/pay/([a-z2-7]{16})$`).FindStringSubmatch(payPath)
	if m == nil {
		b.fail("after placing the order the browser is at %s, want the pay page", payPath)
	}
	orderID := m[1]

	// Sandbox pay page.
	b.wantText("[data-amount]", "¥23.00")
	b.wantText(".sandbox", "Sandbox payment — no real money")
	b.submit("[data-pay]", http.StatusOK)
	b.wantPath("/s/" + s.Slug + "/orders/" + orderID + "?paid=1")
	b.wantText(".notice", "Payment received")
	b.wantText("[data-status]", "Paid")

	// My orders lists it as paid; the cart is empty now.
	b.submit(`header a[href="/s/`+s.Slug+`/orders"]`, http.StatusOK)
	card := fmt.Sprintf(`article[data-order="%s"]`, orderID)
	b.wantText(card+" .status", "Paid · to ship")
	b.wantText(card, "Longjing")
	b.wantText(card, "¥23.00")
	b.waitHidden(".cart-link [data-cart-count]")

	// The address is remembered for the next checkout.
	b.navigate(shop+"/checkout?product="+p.ID+"&sku="+p.SKUs[0].ID+"&qty=1", http.StatusOK)
	b.waitValue("#addr-phone", "13812345678")
	b.waitValue("#addr-detail", "1 Longjing Road")
	b.wantText("form[data-checkout]", "your cart stays as it is")

	// Buying it straight away, then cancelling the unpaid order.
	b.submit("[data-place]", http.StatusOK)
	second := strings.TrimPrefix(b.path(), "/s/"+s.Slug+"/pay/")
	b.wantText("[data-amount]", "¥12.50")
	b.submit(`a[href="/s/`+s.Slug+`/orders/`+second+`"]`, http.StatusOK)
	b.wantText("[data-status]", "Awaiting payment")
	b.eval(`window.confirm = function () { return true }; ""`)
	b.submit("[data-cancel-order]", http.StatusOK) // cancels, then reloads
	b.wantText("[data-status]", "Cancelled")
	if n := b.eval(`String(document.querySelectorAll("[data-cancel-order]").length)`); n != "0" {
		b.fail("a cancelled order still offers Cancel")
	}

	// The daily check-in, in English as the rest (TestBrowserShopInChinese
	// does it in Chinese).
	b.navigate(shop+"/me", http.StatusOK)
	b.click("[data-checkin]")
	b.waitText("[data-msg]", "Checked in: +")
	b.wantText("[data-today]", "Checked in today")
	b.wantText("[data-checkin]", "Checked in")

	// The merchant signs in, finds the order and ships it.
	b.signIn(srv.URL, s)
	b.submit(`header a[href="/admin/orders"]`, http.StatusOK)
	row := fmt.Sprintf(`tr[data-order="%s"]`, orderID)
	for _, want := range []string{"Li Lei", "Longjing", "¥23.00", "Paid · to ship"} {
		b.wantText(row, want)
	}
	b.submit(row+" a", http.StatusOK)
	b.wantPath("/admin/orders/" + orderID)
	b.wantText("[data-paid]", "¥23.00")
	b.fill("#carrier", "SF Express")
	b.fill("#tracking_no", "SF1234567890")
	b.submit("form#ship button[type=submit]", http.StatusOK)
	b.wantPath("/admin/orders/" + orderID + "?done=shipped")
	b.wantText("h1 [data-status]", "Shipped")
	b.wantText("[data-tracking]", "SF1234567890")

	// The shopper sees it shipped, with the tracking number.
	b.navigate(shop+"/orders", http.StatusOK)
	b.wantText(card+" .status", "Shipped")
	b.wantText(card+" .tracking", "SF1234567890")

	b.noPageErrors()
}

// click clicks sel without waiting for a page to load (a button that
// calls the API).
func (b *browser) click(sel string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		b.fail("click %s: %v", sel, err)
	}
}

// empty empties the field sel, even after typing into it (clear only
// resets a field's value attribute, which typing has overridden).
func (b *browser) empty(sel string) {
	b.t.Helper()
	if got := b.eval(fmt.Sprintf(`(function(){ var e = document.querySelector(%q); e.value = ""; return e.value })()`, sel)); got != "" {
		b.fail("field %s holds %q after emptying it", sel, got)
	}
}

// poll waits until the JavaScript predicate js is true.
func (b *browser) poll(js, what string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(stepTimeout))); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// waitText waits until the first element sel matches is shown and holds want.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	b.poll(fmt.Sprintf(`(function(){ var e = document.querySelector(%q); return !!e && !e.hidden && e.textContent.indexOf(%q) >= 0 })()`, sel, want),
		fmt.Sprintf("%s never showed %q", sel, want))
}

// waitHidden waits until the first element sel matches is hidden.
func (b *browser) waitHidden(sel string) {
	b.t.Helper()
	b.poll(fmt.Sprintf(`(function(){ var e = document.querySelector(%q); return !!e && e.hidden })()`, sel),
		fmt.Sprintf("%s never hidden", sel))
}

// waitValue waits until the field sel holds want.
func (b *browser) waitValue(sel, want string) {
	b.t.Helper()
	b.poll(fmt.Sprintf(`(function(){ var e = document.querySelector(%q); return !!e && e.value === %q })()`, sel, want),
		fmt.Sprintf("field %s never held %q", sel, want))
}

// TestBrowserPriceChangedAtCheckout: a price that changes while the
// shopper is on the checkout page is not charged unseen: placing reloads
// the checkout with the new amount and says why, keeping the address
// typed, and the order is placed at the amount then shown.
func TestBrowserPriceChangedAtCheckout(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	b := newBrowser(t)
	s := signUp(t, srv.URL, "e2e-price")
	api := s.apiClient(t, srv.URL)
	p := api.createProduct(map[string]any{"title": "Tieguanyin 铁观音", "category": "Tea", "price": 1250, "stock": 5,
		"images": []string{"/static/demo/p01.svg"}})
	shop := srv.URL + "/s/" + s.Slug

	b.navigate(shop+"/checkout?product="+p.ID+"&qty=1", http.StatusOK)
	b.wantText("[data-payable]", "¥12.50")
	b.fillAddress("13812345678")
	if status := api.json(http.MethodPatch, "/api/v1/products/"+p.ID, map[string]any{"price": 1300}, nil); status != http.StatusOK {
		t.Fatalf("raise the price: %d", status)
	}
	b.submit("[data-place]", http.StatusOK) // refused: the checkout again
	b.waitText(".notice", "A price changed")
	if !strings.Contains(b.path(), "changed=1") {
		b.fail("after a price change the browser is at %s, want the checkout again", b.path())
	}
	b.wantText("[data-payable]", "¥13.00")
	b.waitValue("#addr-detail", "1 Longjing Road")
	b.submit("[data-place]", http.StatusOK)
	if !strings.HasPrefix(b.path(), "/s/"+s.Slug+"/pay/") {
		b.fail("after placing at the new price the browser is at %s, want the pay page", b.path())
	}
	b.wantText("[data-amount]", "¥13.00")
}

// fillAddress fills the checkout's address form: Li Lei at 1 Longjing
// Road, Hangzhou, with phone.
func (b *browser) fillAddress(phone string) {
	b.fill("#addr-name", "Li Lei")
	b.fill("#addr-phone", phone)
	b.fill("#addr-province", "Zhejiang")
	b.fill("#addr-city", "Hangzhou")
	b.fill("#addr-district", "Xihu")
	b.fill("#addr-detail", "1 Longjing Road")
}
