package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// TestProductOriginalPriceAndCodes (issue 21): the crossed-out price
// (original_price) and SKU codes through the API, the storefront (<del>
// beside the price, only when above it) and the console (the form's
// original price, SKU lines with a code and an original price, old
// three-part lines still read, search by SKU code).
func TestProductOriginalPriceAndCodes(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "watch-house")
	api := s.apiClient(t, srv.URL)
	watch := api.createProduct(map[string]any{"title": "Casio watch", "price": 39900, "original_price": 49900, "stock": 3})
	api.createProduct(map[string]any{"title": "Casio band", "price": 5900, "original_price": 3900, "stock": 3})
	set := api.createProduct(map[string]any{"title": "iPod", "skus": []map[string]any{
		{"name": "Pink", "code": "IPOD-PINK", "price": 19900, "original_price": 24900, "stock": 0},
		{"name": "Black", "code": "IPOD-BLACK", "price": 22900, "original_price": 24900, "stock": 7}}})

	var got struct {
		Price         int64 `json:"price"`
		OriginalPrice int64 `json:"original_price"`
		SKUs          []struct {
			Code          string `json:"code"`
			OriginalPrice int64  `json:"original_price"`
		} `json:"skus"`
	}
	if status := api.json(http.MethodGet, "/api/v1/products/"+set.ID, nil, &got); status != http.StatusOK {
		t.Fatalf("get: %d", status)
	}
	// Listed at the cheapest SKU in stock, with its crossed-out price.
	if got.Price != 22900 || got.OriginalPrice != 24900 || len(got.SKUs) != 2 || got.SKUs[0].Code != "IPOD-PINK" || got.SKUs[1].OriginalPrice != 24900 {
		t.Errorf("api product = %+v", got)
	}
	var bad apiError
	if status := api.json(http.MethodPatch, "/api/v1/products/"+watch.ID, map[string]any{"original_price": -5}, &bad); status != http.StatusBadRequest ||
		bad.Error.Field != "original_price" {
		t.Errorf("negative original price: %d %+v", status, bad)
	}

	shopper := newClient(t, srv.URL)
	status, body := shopper.do(http.MethodGet, "/s/watch-house/", nil, "")
	if status != http.StatusOK {
		t.Fatalf("home: %d", status)
	}
	doc := page(t, body)
	dels := map[string]string{}
	doc.Find(".item").Each(func(_ int, it *goquery.Selection) {
		dels[strings.TrimSpace(it.Find(".t").Text())] = strings.TrimSpace(it.Find(".price del").Text())
	})
	if dels["Casio watch"] != "¥499.00" || dels["Casio band"] != "" || dels["iPod"] != "¥249.00" {
		t.Errorf("crossed-out prices on the home page = %q", dels)
	}
	status, body = shopper.do(http.MethodGet, "/s/watch-house/p/"+watch.ID, nil, "")
	if status != http.StatusOK {
		t.Fatalf("product page: %d", status)
	}
	doc = page(t, body)
	if p, d := strings.TrimSpace(doc.Find(".pd .price [data-price]").Text()), strings.TrimSpace(doc.Find(".pd .price del").Text()); p != "399.00" || d != "¥499.00" {
		t.Errorf("product page price %q, crossed out %q", p, d)
	}
	status, body = shopper.do(http.MethodGet, "/s/watch-house/p/"+set.ID, nil, "")
	if status != http.StatusOK {
		t.Fatal(status)
	}
	if orig, _ := page(t, body).Find(`input[name="sku"]`).Last().Attr("data-original"); orig != "249.00" {
		t.Errorf("SKU radio data-original = %q", orig)
	}

	// The console: the form shows codes and original prices, and reads
	// lines of three, four and five parts.
	console := s.consoleClient(t, srv.URL)
	status, body = console.do(http.MethodGet, "/admin/products/"+set.ID+"/edit", nil, "")
	if status != http.StatusOK || !strings.Contains(string(body), "Pink | 199.00 | 0 | IPOD-PINK | 249.00") {
		t.Fatalf("edit form: %d %s", status, body)
	}
	status, body = console.form("/admin/products", url.Values{"title": {"Kettle"}, "status": {"on_sale"}, "price": {"0"}, "stock": {"0"},
		"skus": {"Small | 89.00 | 2\nLarge | 99.00 | 3 | KET-L\nTravel | 79.00 | 1 | KET-T | 109.00"}})
	if status != http.StatusSeeOther {
		t.Fatalf("create from the form: %d %s", status, body)
	}
	status, body = console.do(http.MethodGet, "/admin/products?q=ket-t", nil, "")
	if status != http.StatusOK || !strings.Contains(string(body), "Kettle") || strings.Contains(string(body), "iPod") {
		t.Errorf("search by SKU code: %d", status)
	}
	var list struct {
		Items []struct {
			Title string `json:"title"`
			SKUs  []struct {
				Name          string `json:"name"`
				Code          string `json:"code"`
				OriginalPrice int64  `json:"original_price"`
			} `json:"skus"`
		} `json:"items"`
	}
	if status := api.json(http.MethodGet, "/api/v1/products?q=Kettle", nil, &list); status != http.StatusOK || len(list.Items) != 1 {
		t.Fatalf("list: %d %+v", status, list)
	}
	b, _ := json.Marshal(list.Items[0].SKUs)
	if want := `[{"name":"Small","code":"","original_price":0},{"name":"Large","code":"KET-L","original_price":0},{"name":"Travel","code":"KET-T","original_price":10900}]`; string(b) != want {
		t.Errorf("kettle skus = %s, want %s", b, want)
	}
	// A product without SKUs takes its original price from the form.
	status, _ = console.form("/admin/products", url.Values{"title": {"Teapot"}, "status": {"on_sale"}, "price": {"268"}, "original_price": {"328"}, "stock": {"1"}})
	if status != http.StatusSeeOther {
		t.Fatalf("create teapot: %d", status)
	}
	status, body = console.form("/admin/products", url.Values{"title": {"Bad"}, "status": {"on_sale"}, "price": {"0"}, "stock": {"0"},
		"skus": {"A | 1 | 2 | C | 3 | 4"}})
	if status != http.StatusBadRequest || !strings.Contains(string(body), "optionally") && !strings.Contains(string(body), "规格编码") {
		t.Errorf("six parts: %d", status)
	}
}
