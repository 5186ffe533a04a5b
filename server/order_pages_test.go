package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// get fetches a page and fails the test unless it answers want.
func (c *client) page(path string, want int) *goquery.Document {
	c.t.Helper()
	status, body := c.do(http.MethodGet, path, nil, "")
	if status != want {
		c.t.Fatalf("GET %s: %d, want %d: %.400s", path, status, want, body)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	if err != nil {
		c.t.Fatalf("parse %s: %v", path, err)
	}
	return doc
}

// submit posts a console form and parses the page it answers with.
func (c *client) submit(path string, v url.Values, want int) *goquery.Document {
	c.t.Helper()
	status, body := c.form(path, v)
	if status != want {
		c.t.Fatalf("POST %s: %d, want %d: %.400s", path, status, want, body)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	if err != nil {
		c.t.Fatalf("parse %s: %v", path, err)
	}
	return doc
}

func text(s *goquery.Selection) string { return strings.Join(strings.Fields(s.Text()), " ") }

func wantIn(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("%s = %q, want %q in it", what, got, want)
	}
}

type cartJSON struct {
	Items []struct {
		ProductID string `json:"product_id"`
		SKUID     string `json:"sku_id"`
		Qty       int64  `json:"qty"`
		Problem   string `json:"problem"`
	} `json:"items"`
	Ready bool `json:"ready"`
}

func TestOrderPages(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "page-shop")
	api := s.apiClient(t, srv.URL)
	tea := api.createProduct(map[string]any{"title": "Green tea", "price": 3900, "stock": 10, "images": []string{"/static/demo/p01.svg"}})
	cup := api.createProduct(map[string]any{"title": "Celadon cup", "price": 6800, "stock": 2})
	set := api.createProduct(map[string]any{"title": "Tea set", "skus": []map[string]any{{"name": "Blue", "price": 15800, "stock": 3}}})
	if st := api.json(http.MethodPut, "/api/v1/order-settings", map[string]any{"shipping_fee": 800, "free_shipping_over": 50000}, nil); st != http.StatusOK {
		t.Fatalf("order settings: %d", st)
	}
	const base = "/s/page-shop"
	shopper := newClient(t, srv.URL)
	addToCart := func(c *client, productID, skuID string, qty int) {
		t.Helper()
		var v cartJSON
		if st := c.json(http.MethodPost, base+"/api/cart/items", map[string]any{"product_id": productID, "sku_id": skuID, "qty": qty}, &v); st != http.StatusOK {
			t.Fatalf("add to cart: %d", st)
		}
	}

	t.Run("product page offers add to cart and buy now; the header links the cart", func(t *testing.T) {
		doc := shopper.page(base+"/p/"+tea.ID, http.StatusOK)
		form := doc.Find("form[data-buy]")
		if form.AttrOr("action", "") != base+"/checkout" || form.AttrOr("method", "") != "get" {
			t.Errorf("buy form action %q method %q", form.AttrOr("action", ""), form.AttrOr("method", ""))
		}
		if v := form.Find("input[name=product]").AttrOr("value", ""); v != tea.ID {
			t.Errorf("product field %q", v)
		}
		if form.Find("input[name=qty]").AttrOr("max", "") != "10" || form.Find("[data-add-to-cart]").Length() != 1 ||
			form.Find("button[type=submit][data-buy-now]").Length() != 1 {
			t.Errorf("qty field or buttons missing: %s", text(form))
		}
		if doc.Find(`header a.cart-link[href="/s/page-shop/cart"] [data-cart-count]`).Length() != 1 ||
			doc.Find(`header a[href="/s/page-shop/orders"]`).Length() != 1 {
			t.Error("header lacks the cart link with its count, or My orders")
		}
		if doc.Find(`script[src^="/static/js/shop.js?v="]`).Length() != 1 {
			t.Error("shop.js not loaded")
		}
	})

	t.Run("empty cart", func(t *testing.T) {
		doc := shopper.page(base+"/cart", http.StatusOK)
		wantIn(t, "empty cart", text(doc.Find("#cart .empty")), "Your cart is empty")
		if st, _ := shopper.do(http.MethodGet, base+"/checkout", nil, ""); st != http.StatusSeeOther || shopper.location != base+"/cart" {
			t.Errorf("checkout of an empty cart: %d %q, want a redirect to the cart", st, shopper.location)
		}
	})

	t.Run("cart shows price changes and stock problems before checkout", func(t *testing.T) {
		addToCart(shopper, tea.ID, "", 2)
		addToCart(shopper, cup.ID, "", 2)
		api.json(http.MethodPatch, "/api/v1/products/"+tea.ID, map[string]any{"price": 4200}, nil)
		api.json(http.MethodPatch, "/api/v1/products/"+cup.ID, map[string]any{"stock": 1}, nil)

		status, body := shopper.do(http.MethodGet, base+"/cart", nil, "")
		if status != http.StatusOK {
			t.Fatalf("cart: %d", status)
		}
		doc := page(t, body)
		lines := doc.Find("#cart [data-line]")
		if lines.Length() != 2 {
			t.Fatalf("%d cart lines, want 2", lines.Length())
		}
		teaLine := doc.Find(`#cart [data-line][data-product="` + tea.ID + `"]`)
		wantIn(t, "tea line", text(teaLine.Find(".price-change")), "was ¥39.00, now ¥42.00")
		if teaLine.Find("img").AttrOr("src", "") != "/static/demo/p01.svg" || teaLine.Find("input[data-qty]").AttrOr("value", "") != "2" {
			t.Errorf("tea line image or quantity: %s", text(teaLine))
		}
		cupLine := doc.Find(`#cart [data-line][data-product="` + cup.ID + `"]`)
		wantIn(t, "cup problem", text(cupLine.Find(".problem")), "Only 1 left")
		if !cupLine.HasClass("bad") {
			t.Error("cup line not marked")
		}
		co := doc.Find("[data-checkout-link]")
		if goquery.NodeName(co) != "button" || co.AttrOr("disabled", "none") == "none" {
			t.Errorf("checkout control is %s, disabled %v: want a disabled button", goquery.NodeName(co), co.AttrOr("disabled", "none"))
		}
		wantIn(t, "goods total", text(doc.Find("[data-goods-total]")), "¥84.00")
		wantIn(t, "cart hint", text(doc.Find(".paybar")), "Fix the items marked above")
		if cc := shopper.lastCacheControl(base + "/cart"); !strings.Contains(cc, "no-store") {
			t.Errorf("cart Cache-Control %q, want no-store", cc)
		}
		if st, _ := shopper.do(http.MethodGet, base+"/checkout", nil, ""); st != http.StatusSeeOther {
			t.Errorf("checkout with a problem: %d, want a redirect to the cart", st)
		}
		// Lowering the quantity fixes it.
		if st := shopper.json(http.MethodPut, base+"/api/cart/items", map[string]any{"product_id": cup.ID, "qty": 1}, nil); st != http.StatusOK {
			t.Fatalf("set qty: %d", st)
		}
		doc = shopper.page(base+"/cart", http.StatusOK)
		co = doc.Find("[data-checkout-link]")
		if goquery.NodeName(co) != "a" || co.AttrOr("href", "") != base+"/checkout" {
			t.Errorf("checkout control after the fix: %s %q", goquery.NodeName(co), co.AttrOr("href", ""))
		}
		wantIn(t, "checkout link", text(co), "Check out (3)")
	})

	var orderID string
	t.Run("checkout, pay in the sandbox, see the order in My orders", func(t *testing.T) {
		doc := shopper.page(base+"/checkout", http.StatusOK)
		form := doc.Find("form[data-checkout]")
		for _, f := range []string{"name", "phone", "province", "city", "district", "detail"} {
			if form.Find("input[name="+f+"]").Length() != 1 {
				t.Errorf("address field %s missing", f)
			}
		}
		wantIn(t, "goods total", text(form.Find("[data-goods-total]")), "¥152.00")
		wantIn(t, "shipping", text(form.Find("[data-shipping]")), "¥8.00")
		wantIn(t, "discount", text(form.Find("[data-discount]")), "¥0.00")
		wantIn(t, "payable", text(form.Find("[data-payable]")), "¥160.00")
		wantIn(t, "free shipping hint", text(form), "Add ¥348.00 more for free shipping")
		key := form.AttrOr("data-idempotency-key", "")
		if len(key) < 16 {
			t.Fatalf("idempotency key %q", key)
		}
		if again := shopper.page(base+"/checkout", http.StatusOK).Find("form[data-checkout]").AttrOr("data-idempotency-key", ""); again == key {
			t.Error("the same idempotency key for two page loads")
		}
		var items []map[string]any
		if err := json.Unmarshal([]byte(form.AttrOr("data-items", "")), &items); err != nil || len(items) != 2 {
			t.Fatalf("data-items %q: %v", form.AttrOr("data-items", ""), err)
		}
		// What shop.js sends: the page's items, the address, the page's key.
		var o orderJSON
		body := map[string]any{"items": items, "address": testAddress}
		if st := shopper.jsonWithHeader(http.MethodPost, base+"/api/orders", body, &o, "Idempotency-Key", key); st != http.StatusCreated || o.Payable != 16000 {
			t.Fatalf("place: %d %+v", st, o)
		}
		orderID = o.ID
		var cart cartJSON
		shopper.json(http.MethodGet, base+"/api/cart", nil, &cart)
		if len(cart.Items) != 0 {
			t.Errorf("cart after checkout: %+v", cart.Items)
		}

		doc = shopper.page(base+"/pay/"+orderID, http.StatusOK)
		wantIn(t, "pay page amount", text(doc.Find("[data-amount]")), "¥160.00")
		wantIn(t, "sandbox note", text(doc.Find(".sandbox")), "Sandbox payment — no real money")
		if b := doc.Find("button[data-pay]"); b.AttrOr("data-pay", "") != orderID || b.AttrOr("data-provider", "") != "sandbox" {
			t.Errorf("pay button: %q %q", b.AttrOr("data-pay", ""), b.AttrOr("data-provider", ""))
		}
		// Unpaid, it is under "To pay" with Pay and Cancel.
		doc = shopper.page(base+"/orders?status=pending_payment", http.StatusOK)
		card := doc.Find(`article[data-order="` + orderID + `"]`)
		if card.Find("[data-cancel-order]").Length() != 1 || card.Find(`a[href="`+base+`/pay/`+orderID+`"]`).Length() != 1 {
			t.Errorf("unpaid order card lacks pay or cancel: %s", text(card))
		}

		var paid struct {
			Status string `json:"status"`
		}
		if st := shopper.json(http.MethodPost, base+"/api/orders/"+orderID+"/pay", map[string]any{"sandbox_confirm": true}, &paid); st != http.StatusOK || paid.Status != "paid" {
			t.Fatalf("sandbox pay: %d %+v", st, paid)
		}
		doc = shopper.page(base+"/orders/"+orderID+"?paid=1", http.StatusOK)
		wantIn(t, "order notice", text(doc.Find(".notice")), "Payment received")
		wantIn(t, "order status", text(doc.Find("[data-status]")), "Paid")
		wantIn(t, "order paid", text(doc.Find("[data-paid]")), "¥160.00")
		wantIn(t, "timeline", text(doc.Find(".timeline")), "Paid")
		if doc.Find("[data-cancel-order]").Length() != 0 {
			t.Error("a paid order offers Cancel")
		}

		doc = shopper.page(base+"/orders", http.StatusOK)
		card = doc.Find(`article[data-order="` + orderID + `"]`)
		wantIn(t, "My orders card", text(card), "Paid · to ship")
		wantIn(t, "My orders card", text(card), "Green tea")
		wantIn(t, "My orders card", text(card), "¥160.00")
		if doc.Find(".tabs a.on").Text() != "All" {
			t.Errorf("active tab %q", doc.Find(".tabs a.on").Text())
		}
		if shopper.page(base+"/orders?status=paid", http.StatusOK).Find(`article[data-order="`+orderID+`"]`).Length() != 1 {
			t.Error("paid order missing under To ship")
		}
		if shopper.page(base+"/orders?status=pending_payment", http.StatusOK).Find("article[data-order]").Length() != 0 {
			t.Error("paid order still under To pay")
		}
		// Another shopper sees neither the order nor its pay page.
		other := newClient(t, srv.URL)
		for _, p := range []string{base + "/orders/" + orderID, base + "/pay/" + orderID, base + "/orders/x", base + "/pay/" + strings.Repeat("a", 16)} {
			if st, _ := other.do(http.MethodGet, p, nil, ""); st != http.StatusNotFound {
				t.Errorf("another shopper GET %s: %d, want 404", p, st)
			}
		}
		if other.page(base+"/orders", http.StatusOK).Find("article[data-order]").Length() != 0 {
			t.Error("another shopper's My orders lists someone's order")
		}
	})

	t.Run("buy now checks out one item and keeps the cart", func(t *testing.T) {
		buyer := newClient(t, srv.URL)
		addToCart(buyer, set.ID, set.SKUs[0].ID, 1)
		doc := buyer.page(base+"/checkout?product="+tea.ID+"&qty=3", http.StatusOK)
		form := doc.Find("form[data-checkout]")
		if n := form.Find(".line").Length(); n != 1 {
			t.Fatalf("%d lines in a buy-now checkout", n)
		}
		wantIn(t, "buy-now line", text(form.Find(".line")), "Green tea")
		wantIn(t, "buy-now payable", text(form.Find("[data-payable]")), "¥134.00")
		var items []map[string]any
		json.Unmarshal([]byte(form.AttrOr("data-items", "")), &items)
		var o orderJSON
		if st := buyer.jsonWithHeader(http.MethodPost, base+"/api/orders", map[string]any{"items": items, "address": testAddress}, &o,
			"Idempotency-Key", form.AttrOr("data-idempotency-key", "")); st != http.StatusCreated || o.Payable != 13400 {
			t.Fatalf("place: %d %+v", st, o)
		}
		var cart cartJSON
		buyer.json(http.MethodGet, base+"/api/cart", nil, &cart)
		if len(cart.Items) != 1 || cart.Items[0].ProductID != set.ID {
			t.Errorf("cart after buying something else: %+v, want the tea set still there", cart.Items)
		}

		// Mistakes a no-JavaScript form can make are shown, not a 500.
		doc = buyer.page(base+"/checkout?product="+set.ID+"&qty=1", http.StatusBadRequest)
		wantIn(t, "no option chosen", text(doc.Find(".error")), "Choose an option of")
		doc = buyer.page(base+"/checkout?product="+tea.ID+"&qty=abc", http.StatusBadRequest)
		wantIn(t, "bad quantity", text(doc.Find(".error")), "Quantity must be a whole number")
		doc = buyer.page(base+"/checkout?product="+set.ID+"&sku="+set.SKUs[0].ID+"&qty=5", http.StatusOK)
		wantIn(t, "too many", text(doc.Find(".problem")), "Only 3 left")
		if doc.Find("[data-place]").AttrOr("disabled", "none") == "none" {
			t.Error("place order enabled for a line that cannot be filled")
		}
		buyer.page(base+"/checkout?product="+strings.Repeat("b", 16), http.StatusNotFound)
	})

	console := s.consoleClient(t, srv.URL)

	t.Run("console lists, filters and finds orders", func(t *testing.T) {
		doc := console.page("/admin/orders", http.StatusOK)
		if doc.Find(`header a[href="/admin/orders"]`).Length() != 1 {
			t.Error("no Orders in the console nav")
		}
		row := doc.Find(`tr[data-order="` + orderID + `"]`)
		for _, want := range []string{orderID, "Li Lei", "×", "and 1 more item", "¥160.00", "Paid · to ship"} {
			wantIn(t, "order row", text(row), want)
		}
		if n := doc.Find("tr[data-order]").Length(); n != 2 {
			t.Errorf("%d rows, want 2", n)
		}
		if n := console.page("/admin/orders?status=paid", http.StatusOK).Find("tr[data-order]").Length(); n != 1 {
			t.Errorf("paid filter: %d rows, want 1", n)
		}
		if n := console.page("/admin/orders?status=shipped", http.StatusOK).Find("tr[data-order]").Length(); n != 0 {
			t.Errorf("shipped filter: %d rows, want 0", n)
		}
		if n := console.page("/admin/orders?to=2001-01-01", http.StatusOK).Find("tr[data-order]").Length(); n != 0 {
			t.Errorf("orders before 2001: %d rows", n)
		}
		doc = console.page("/admin/orders?q="+strings.ToUpper(orderID), http.StatusOK)
		if n := doc.Find("tr[data-order]").Length(); n != 1 || doc.Find(`tr[data-order="`+orderID+`"]`).Length() != 1 {
			t.Errorf("search by id: %d rows", n)
		}
		doc = console.page("/admin/orders?q=nonsense", http.StatusOK)
		wantIn(t, "bad id search", text(doc.Find(".error")), "is not an order id")
		doc = console.page("/admin/orders?from=yesterday", http.StatusBadRequest)
		wantIn(t, "bad date", text(doc.Find(".error")), "From date must be a date")
		doc = console.page("/admin/orders?status=lost", http.StatusBadRequest)
		wantIn(t, "bad status", text(doc.Find(".error")), "Status must be one of")
	})

	t.Run("console ships, refunds and refuses too large a refund", func(t *testing.T) {
		doc := console.page("/admin/orders/"+orderID, http.StatusOK)
		wantIn(t, "address", text(doc.Find(".card").First()), "1 Longjing Road")
		wantIn(t, "paid", text(doc.Find("[data-paid]")), "¥160.00")
		wantIn(t, "refundable", text(doc.Find("[data-refundable]")), "¥160.00")
		if doc.Find(`form#ship input[name=_csrf]`).AttrOr("value", "") == "" || doc.Find("form#refund").Length() != 1 || doc.Find("form#cancel").Length() != 0 {
			t.Fatalf("action forms of a paid order: ship %d refund %d cancel %d", doc.Find("form#ship").Length(), doc.Find("form#refund").Length(), doc.Find("form#cancel").Length())
		}

		doc = console.submit("/admin/orders/"+orderID+"/ship", url.Values{"carrier": {"SF Express"}}, http.StatusBadRequest)
		wantIn(t, "ship without tracking", text(doc.Find(".error")), "Tracking number is required")
		if doc.Find("#carrier").AttrOr("value", "") != "SF Express" {
			t.Error("carrier not kept after the error")
		}
		console.submit("/admin/orders/"+orderID+"/ship", url.Values{"carrier": {"SF Express"}, "tracking_no": {"SF1234567890"}}, http.StatusSeeOther)
		if console.location != "/admin/orders/"+orderID+"?done=shipped" {
			t.Errorf("after shipping: %q", console.location)
		}
		doc = console.page(console.location, http.StatusOK)
		wantIn(t, "status", text(doc.Find("h1 [data-status]")), "Shipped")
		wantIn(t, "tracking", text(doc.Find("[data-tracking]")), "SF1234567890")
		wantIn(t, "notice", text(doc.Find(".notice")), "Order shipped")
		wantIn(t, "timeline", text(doc.Find(".timeline")), "Shipped")
		if doc.Find("form#ship").Length() != 0 || doc.Find("form#complete").Length() != 1 {
			t.Error("a shipped order still offers Ship, or not Complete")
		}
		// Shipping it again is refused with the reason.
		doc = console.submit("/admin/orders/"+orderID+"/ship", url.Values{"carrier": {"ZTO"}, "tracking_no": {"Z1"}}, http.StatusConflict)
		wantIn(t, "ship twice", text(doc.Find(".error")), "Cannot ship an order that is shipped")

		doc = console.submit("/admin/orders/"+orderID+"/refund", url.Values{"amount": {"160.01"}, "reason": {"too much"}}, http.StatusConflict)
		wantIn(t, "refund above refundable", text(doc.Find(".error")), "At most ¥160.00 can still be refunded")
		if doc.Find("#amount").AttrOr("value", "") != "160.01" {
			t.Errorf("amount field after the error %q", doc.Find("#amount").AttrOr("value", ""))
		}
		doc = console.submit("/admin/orders/"+orderID+"/refund", url.Values{"amount": {"abc"}}, http.StatusBadRequest)
		wantIn(t, "bad amount", text(doc.Find(".error")), "not an amount in yuan")
		doc = console.submit("/admin/orders/"+orderID+"/refund", url.Values{"amount": {"0"}}, http.StatusBadRequest)
		wantIn(t, "zero amount", text(doc.Find(".error")), "Amount must be more than")

		console.submit("/admin/orders/"+orderID+"/refund", url.Values{"amount": {"60.50"}, "reason": {"cup arrived chipped"}}, http.StatusSeeOther)
		a.settleRefunds()
		doc = console.page("/admin/orders/"+orderID, http.StatusOK)
		wantIn(t, "refunded", text(doc.Find("[data-refunded]")), "¥60.50")
		wantIn(t, "refundable", text(doc.Find("[data-refundable]")), "¥99.50")
		wantIn(t, "refunds", text(doc.Find("table.refunds")), "cup arrived chipped")
		if v := doc.Find("#amount").AttrOr("value", ""); v != "99.50" {
			t.Errorf("refund proposed %q, want what is left", v)
		}
		doc = console.submit("/admin/orders/"+orderID+"/refund", url.Values{"amount": {"100"}}, http.StatusConflict)
		wantIn(t, "second refund above refundable", text(doc.Find(".error")), "At most ¥99.50 can still be refunded (paid ¥160.00, refunded ¥60.50)")

		console.submit("/admin/orders/"+orderID+"/complete", nil, http.StatusSeeOther)
		wantIn(t, "completed", text(console.page("/admin/orders/"+orderID, http.StatusOK).Find("h1 [data-status]")), "Completed")

		// The shopper sees tracking and the refund.
		doc = shopper.page(base+"/orders", http.StatusOK)
		card := doc.Find(`article[data-order="` + orderID + `"]`)
		wantIn(t, "shopper's card", text(card), "SF Express")
		wantIn(t, "shopper's card", text(card), "SF1234567890")
		wantIn(t, "shopper's card", text(card), "refunded ¥60.50")
	})

	t.Run("console cancels an unpaid order once", func(t *testing.T) {
		id := placeOrder(t, srv.URL, "page-shop", tea.ID, "", 1)
		doc := console.page("/admin/orders/"+id, http.StatusOK)
		if doc.Find("form#cancel").Length() != 1 || doc.Find("form#refund").Length() != 0 || doc.Find("form#ship").Length() != 0 {
			t.Fatal("an unpaid order should offer Cancel only")
		}
		doc = console.submit("/admin/orders/"+id+"/refund", url.Values{"amount": {"1"}}, http.StatusConflict)
		wantIn(t, "refund unpaid", text(doc.Find(".error")), "never paid")
		console.submit("/admin/orders/"+id+"/cancel", url.Values{"reason": {"buyer asked by phone"}}, http.StatusSeeOther)
		doc = console.page("/admin/orders/"+id, http.StatusOK)
		wantIn(t, "status", text(doc.Find("h1 [data-status]")), "Cancelled")
		wantIn(t, "reason", text(doc.Selection), "buyer asked by phone")
		doc = console.submit("/admin/orders/"+id+"/cancel", nil, http.StatusConflict)
		wantIn(t, "cancel twice", text(doc.Find(".error")), "Cannot cancel an order that is cancelled")
		console.page("/admin/orders/"+strings.Repeat("z", 16), http.StatusNotFound)
		console.page("/admin/orders/not-an-id", http.StatusNotFound)
		if st, _ := console.form("/admin/orders/"+strings.Repeat("z", 16)+"/ship", url.Values{"carrier": {"a"}, "tracking_no": {"b"}}); st != http.StatusNotFound {
			t.Errorf("ship a missing order: %d", st)
		}
	})

	t.Run("console forms need the CSRF token", func(t *testing.T) {
		id := placeOrder(t, srv.URL, "page-shop", tea.ID, "", 1)
		forged := s.consoleClient(t, srv.URL)
		forged.csrf = "forged"
		for _, p := range []string{"/admin/orders/" + id + "/cancel", "/admin/order-settings"} {
			if st, _ := forged.form(p, url.Values{"shipping_fee": {"1"}, "unpaid_timeout_minutes": {"30"}, "auto_complete_days": {"10"}}); st != http.StatusForbidden && st != http.StatusBadRequest {
				t.Errorf("POST %s with a forged token: %d", p, st)
			}
		}
		var o orderJSON
		api.json(http.MethodGet, "/api/v1/orders/"+id, nil, &o)
		if o.Status != "pending_payment" {
			t.Errorf("order %s after a forged cancel: %s", id, o.Status)
		}
	})

	t.Run("order settings, with the WeChat Pay key masked", func(t *testing.T) {
		doc := console.page("/admin/order-settings", http.StatusOK)
		if v := doc.Find("#shipping_fee").AttrOr("value", ""); v != "8.00" {
			t.Errorf("shipping fee field %q", v)
		}
		if v := doc.Find("#free_shipping_over").AttrOr("value", ""); v != "500.00" {
			t.Errorf("free shipping field %q", v)
		}
		doc = console.submit("/admin/order-settings", url.Values{"shipping_fee": {"abc"}, "unpaid_timeout_minutes": {"30"}, "auto_complete_days": {"10"}}, http.StatusBadRequest)
		wantIn(t, "bad fee", text(doc.Find(".error")), "Shipping fee")
		doc = console.submit("/admin/order-settings", url.Values{"shipping_fee": {"6"}, "unpaid_timeout_minutes": {"1"}, "auto_complete_days": {"10"}}, http.StatusBadRequest)
		wantIn(t, "bad timeout", text(doc.Find(".error")), "Unpaid order timeout must be between 5 and 10080")

		doc = console.submit("/admin/order-settings", url.Values{"shipping_fee": {"6"}, "unpaid_timeout_minutes": {"30"}, "auto_complete_days": {"10"},
			"wechat_api_v3_key": {"abc"}}, http.StatusBadRequest)
		wantIn(t, "short key", text(doc.Find(".error")), "must be the 32-character API v3 key")
		if strings.Contains(doc.Find("#wechat_api_v3_key").AttrOr("value", ""), "abc") {
			t.Error("the typed key is echoed back")
		}

		// A merchant account (API v3) as WeChat Pay's merchant platform
		// gives it; the secrets are never shown back in full.
		c := merchantAccount(t)
		key := c.APIv3Key[:28] + "WXYZ"
		console.submit("/admin/order-settings", url.Values{"shipping_fee": {"6"}, "free_shipping_over": {""}, "unpaid_timeout_minutes": {"45"},
			"auto_complete_days": {"7"}, "wechat_app_id": {"wx1234567890abcdef"}, "wechat_mch_id": {c.MchID}, "wechat_api_v3_key": {key},
			"wechat_cert_serial": {c.CertSerial}, "wechat_private_key": {strings.ReplaceAll(c.PrivateKeyPEM, "\n", "\r\n")},
			"wechat_public_key_id": {c.PublicKeyID}, "wechat_public_key": {c.PublicKeyPEM}}, http.StatusSeeOther)
		status, body := console.do(http.MethodGet, "/admin/order-settings", nil, "")
		privateBody := strings.Split(c.PrivateKeyPEM, "\n")[1]
		if status != http.StatusOK || strings.Contains(string(body), key) || strings.Contains(string(body), privateBody) {
			t.Fatalf("settings page %d shows a secret in full", status)
		}
		doc = page(t, body)
		if m := doc.Find("[data-key-masked]").Text(); !strings.HasSuffix(m, "WXYZ") || strings.Contains(m, key[:4]) {
			t.Errorf("masked key %q", m)
		}
		if m := doc.Find("[data-private-key-masked]").Text(); !strings.HasPrefix(m, "••••") {
			t.Errorf("masked private key %q", m)
		}
		if v := doc.Find("#wechat_public_key_id").AttrOr("value", ""); v != c.PublicKeyID {
			t.Errorf("public key id %q", v)
		}
		// Saving again without typing the secrets keeps them.
		console.submit("/admin/order-settings", url.Values{"shipping_fee": {"6.00"}, "unpaid_timeout_minutes": {"45"},
			"auto_complete_days": {"7"}, "wechat_app_id": {"wx1234567890abcdef"}, "wechat_mch_id": {c.MchID},
			"wechat_cert_serial": {c.CertSerial}, "wechat_public_key_id": {c.PublicKeyID}, "wechat_public_key": {c.PublicKeyPEM}}, http.StatusSeeOther)
		var st struct {
			ShippingFee      int64 `json:"shipping_fee"`
			FreeShippingOver int64 `json:"free_shipping_over"`
			Unpaid           int   `json:"unpaid_timeout_minutes"`
			WeChatPay        struct {
				AppID      string `json:"app_id"`
				APIv3Key   string `json:"api_v3_key"`
				PrivateKey string `json:"private_key"`
				Sandbox    bool   `json:"sandbox"`
			} `json:"wechat_pay"`
		}
		api.json(http.MethodGet, "/api/v1/order-settings", nil, &st)
		if st.ShippingFee != 600 || st.FreeShippingOver != 0 || st.Unpaid != 45 || !strings.HasSuffix(st.WeChatPay.APIv3Key, "WXYZ") ||
			!strings.HasPrefix(st.WeChatPay.APIv3Key, "••••") || !strings.HasPrefix(st.WeChatPay.PrivateKey, "••••") || st.WeChatPay.Sandbox {
			t.Errorf("settings after saving: %+v", st)
		}
		// With WeChat Pay on, the pay page offers it instead of the sandbox.
		buyer := newClient(t, srv.URL)
		var o orderJSON
		buyer.json(http.MethodPost, base+"/api/orders", map[string]any{"items": []map[string]any{{"product_id": tea.ID, "qty": 1}}, "address": testAddress}, &o)
		doc = buyer.page(base+"/pay/"+o.ID, http.StatusOK)
		if doc.Find(".sandbox").Length() != 0 || doc.Find("[data-pay]").AttrOr("data-provider", "") != "wechat_pay" {
			t.Error("pay page still offers the sandbox with WeChat Pay configured")
		}
		// Removing the secrets turns it off again.
		console.submit("/admin/order-settings", url.Values{"shipping_fee": {"6"}, "unpaid_timeout_minutes": {"45"},
			"auto_complete_days": {"7"}, "wechat_app_id": {"wx1234567890abcdef"}, "wechat_mch_id": {c.MchID}, "wechat_key_clear": {"1"}}, http.StatusSeeOther)
		doc = buyer.page(base+"/pay/"+o.ID, http.StatusOK)
		wantIn(t, "sandbox again", text(doc.Find(".sandbox")), "no real money")
	})
}

// lastCacheControl fetches path and returns its Cache-Control header.
func (c *client) lastCacheControl(path string) string {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.Header.Get("Cache-Control")
}
