package main

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"microshop/shop/image/imagetest"
)

type reviewJSON struct {
	ID        string   `json:"id"`
	OrderID   string   `json:"order_id"`
	ProductID string   `json:"product_id"`
	Rating    int      `json:"rating"`
	Text      string   `json:"text"`
	Images    []string `json:"images"`
	Reply     string   `json:"reply"`
}

// receivedOrder is an order of tea bought by buyer, shipped and completed
// by the merchant.
func receivedOrder(t *testing.T, api *client, buyer shopper, productID string) string {
	t.Helper()
	id := buyer.buy(t, productID, 1)
	if st := api.json(http.MethodPost, "/api/v1/orders/"+id+"/ship", map[string]string{"carrier": "SF", "tracking_no": "SF1"}, nil); st != http.StatusOK {
		t.Fatalf("ship: %d", st)
	}
	if st := api.json(http.MethodPost, "/api/v1/orders/"+id+"/complete", nil, nil); st != http.StatusOK {
		t.Fatalf("complete: %d", st)
	}
	return id
}

// TestReviews: only the order's buyer reviews, only after receipt, once per
// line; the merchant replies once; the product page shows the rating; the
// buyer edits; another shop sees none of it.
func TestReviews(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "review-shop")
	other := signUp(t, srv.URL, "review-other")
	api, otherAPI := s.apiClient(t, srv.URL), other.apiClient(t, srv.URL)
	tea := api.createProduct(map[string]any{"title": "Longjing tea", "price": 3900, "stock": 50})
	buyer := newShopper(t, srv.URL, s.Slug, "")
	stranger := newShopper(t, srv.URL, s.Slug, "")
	base := "/s/" + s.Slug + "/api/orders/"
	body := map[string]any{"product_id": tea.ID, "sku_id": "", "rating": 5, "text": "香气很好", "images": []string{}}

	paid := buyer.buy(t, tea.ID, 1)
	var e apiError
	if st := buyer.json(http.MethodPost, base+paid+"/reviews", body, &e); st != http.StatusConflict || e.Error.Code != "not_received" {
		t.Fatalf("review before receipt: %d %+v", st, e)
	}
	id := receivedOrder(t, api, buyer, tea.ID)
	if st := stranger.json(http.MethodPost, base+id+"/reviews", body, nil); st != http.StatusNotFound {
		t.Fatalf("review of another fan's order: %d", st)
	}
	if st := buyer.json(http.MethodPost, base+id+"/reviews", map[string]any{"product_id": tea.ID, "rating": 9}, nil); st != http.StatusBadRequest {
		t.Fatalf("nine stars: %d", st)
	}
	var r reviewJSON
	if st := buyer.json(http.MethodPost, base+id+"/reviews", body, &r); st != http.StatusCreated || r.Rating != 5 || r.OrderID != id {
		t.Fatalf("review: %d %+v", st, r)
	}
	if st := buyer.json(http.MethodPost, base+id+"/reviews", body, &e); st != http.StatusConflict || e.Error.Code != "already_reviewed" {
		t.Fatalf("second review: %d %+v", st, e)
	}

	// The merchant's list and one reply; another shop sees nothing.
	var list struct {
		Items []reviewJSON `json:"items"`
		Total int          `json:"total"`
	}
	if st := api.json(http.MethodGet, "/api/v1/reviews?product_id="+tea.ID, nil, &list); st != http.StatusOK || list.Total != 1 || len(list.Items) != 1 {
		t.Fatalf("list: %d %+v", st, list)
	}
	if st := otherAPI.json(http.MethodGet, "/api/v1/reviews", nil, &list); st != http.StatusOK || list.Total != 0 || len(list.Items) != 0 {
		t.Fatalf("another shop's list: %d %+v", st, list)
	}
	for _, c := range []struct{ method, path string }{{"GET", "/api/v1/reviews/" + r.ID}, {"POST", "/api/v1/reviews/" + r.ID + "/reply"}} {
		if st := otherAPI.json(c.method, c.path, map[string]string{"text": "x"}, nil); st != http.StatusNotFound {
			t.Errorf("another shop: %s %s: %d", c.method, c.path, st)
		}
	}
	if st := newShopper(t, srv.URL, other.Slug, "").json(http.MethodGet, "/s/"+other.Slug+"/api/products/"+tea.ID+"/reviews", nil, &list); st != http.StatusOK || len(list.Items) != 0 {
		t.Fatalf("another storefront's reviews of the product: %d %+v", st, list)
	}
	if st := api.json(http.MethodPost, "/api/v1/reviews/"+r.ID+"/reply", map[string]string{"text": "谢谢惠顾"}, &r); st != http.StatusOK || r.Reply != "谢谢惠顾" {
		t.Fatalf("reply: %d %+v", st, r)
	}
	if st := api.json(http.MethodPost, "/api/v1/reviews/"+r.ID+"/reply", map[string]string{"text": "again"}, &e); st != http.StatusConflict || e.Error.Code != "already_replied" {
		t.Fatalf("second reply: %d %+v", st, e)
	}
	// No route edits or deletes a review for the merchant.
	for _, m := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if st := api.json(m, "/api/v1/reviews/"+r.ID, map[string]any{"rating": 1}, nil); st != http.StatusMethodNotAllowed && st != http.StatusNotFound {
			t.Errorf("%s a review as the merchant: %d", m, st)
		}
	}

	// The product page shows the rating and the review, in both languages.
	for lang, want := range map[string]string{"en": "1 review", "zh-CN": "1 条评价"} {
		c := newClient(t, srv.URL)
		c.header = http.Header{"Accept-Language": {lang}}
		st, page := c.do(http.MethodGet, "/s/"+s.Slug+"/p/"+tea.ID, nil, "")
		if st != http.StatusOK || !strings.Contains(string(page), want) || !strings.Contains(string(page), "香气很好") ||
			!strings.Contains(string(page), "谢谢惠顾") || !strings.Contains(string(page), "data-credit-level") {
			t.Errorf("product page in %s: %d, want %q, the review, the reply and the badge", lang, st, want)
		}
	}
	// The buyer edits; the page follows.
	if st := buyer.json(http.MethodPut, "/s/"+s.Slug+"/api/reviews/"+r.ID, map[string]any{"rating": 4, "text": "回购了", "images": []string{}}, &r); st != http.StatusOK || r.Rating != 4 {
		t.Fatalf("edit: %d %+v", st, r)
	}
	if st := stranger.json(http.MethodPut, "/s/"+s.Slug+"/api/reviews/"+r.ID, map[string]any{"rating": 1, "text": "x"}, nil); st != http.StatusNotFound {
		t.Fatalf("edit by another fan: %d", st)
	}
	if _, page := newClient(t, srv.URL).do(http.MethodGet, "/s/"+s.Slug+"/p/"+tea.ID, nil, ""); !strings.Contains(string(page), "回购了") {
		t.Errorf("product page after the edit lacks it")
	}
	var pr struct {
		Count   int     `json:"count"`
		Average float64 `json:"average"`
	}
	if st := buyer.json(http.MethodGet, "/s/"+s.Slug+"/api/products/"+tea.ID+"/reviews", nil, &pr); st != http.StatusOK || pr.Count != 1 || pr.Average != 4 {
		t.Fatalf("product's reviews: %d %+v", st, pr)
	}

	// The console page lists it and replies once.
	console := s.consoleClient(t, srv.URL)
	if st, page := console.do(http.MethodGet, "/admin/reviews", nil, ""); st != http.StatusOK || !strings.Contains(string(page), "回购了") {
		t.Fatalf("console reviews: %d", st)
	}
	if st, _ := console.form("/admin/reviews/"+r.ID+"/reply", url.Values{"text": {"again"}}); st != http.StatusConflict {
		t.Fatalf("second reply in the console: %d", st)
	}
	_ = a
}

// TestReviewOnePerLineOverHTTP: the buyer's many simultaneous reviews of
// one line give one review.
func TestReviewOnePerLineOverHTTP(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "review-race")
	api := s.apiClient(t, srv.URL)
	tea := api.createProduct(map[string]any{"title": "Tea", "price": 100, "stock": 5})
	buyer := newShopper(t, srv.URL, s.Slug, "")
	id := receivedOrder(t, api, buyer, tea.ID)
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[int]int{}
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := buyer.json(http.MethodPost, "/s/"+s.Slug+"/api/orders/"+id+"/reviews", map[string]any{"product_id": tea.ID, "rating": 3}, nil)
			mu.Lock()
			got[st]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got[http.StatusCreated] != 1 || got[http.StatusConflict] != 11 {
		t.Fatalf("answers %v, want one 201 and eleven 409s", got)
	}
	var list struct{ Total int }
	if api.json(http.MethodGet, "/api/v1/reviews", nil, &list); list.Total != 1 {
		t.Fatalf("%d reviews", list.Total)
	}
}

// TestReviewFormOnOrderPage: a received order's page offers a review form
// per line (the fields the storefront's script posts), in both languages;
// an order not yet received offers none.
func TestReviewFormOnOrderPage(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "review-form")
	api := s.apiClient(t, srv.URL)
	tea := api.createProduct(map[string]any{"title": "龙井", "price": 3900, "stock": 50})
	buyer := newShopper(t, srv.URL, s.Slug, "")
	paid := buyer.buy(t, tea.ID, 1)
	received := receivedOrder(t, api, buyer, tea.ID)
	for _, lang := range []string{"zh-CN", "en"} {
		buyer.header = http.Header{"Accept-Language": {lang}}
		st, b := buyer.do(http.MethodGet, "/s/"+s.Slug+"/orders/"+received, nil, "")
		page := string(b)
		if st != http.StatusOK || !strings.Contains(page, `data-review="`+received+`"`) ||
			!strings.Contains(page, `name="product_id" value="`+tea.ID+`"`) || !strings.Contains(page, `name="rating"`) {
			t.Fatalf("%s: the received order's page has no review form: %d", lang, st)
		}
		want := map[string]string{"zh-CN": "发表评价", "en": "Post review"}[lang]
		if !strings.Contains(page, want) {
			t.Errorf("%s: the form's button is not %q", lang, want)
		}
		if _, b := buyer.do(http.MethodGet, "/s/"+s.Slug+"/orders/"+paid, nil, ""); strings.Contains(string(b), "data-review=") {
			t.Errorf("%s: an order not yet received offers a review form", lang)
		}
	}
	if !strings.Contains(string(func() []byte { _, b := buyer.do(http.MethodGet, "/s/"+s.Slug+"/orders/"+received, nil, ""); return b }()),
		`type="file" name="photos"`) {
		t.Errorf("the review form has no photo field")
	}
	// What the script does: upload the photo to the shop's image store,
	// then post the review naming it.
	buyer.header = http.Header{"Origin": {srv.URL}}
	st, photo := buyer.uploadImage("/s/"+s.Slug+"/api/images", imagetest.JPEG(100, 100, 7))
	if st != http.StatusCreated {
		t.Fatalf("upload a photo: %d", st)
	}
	var r reviewJSON
	if st := buyer.json(http.MethodPost, "/s/"+s.Slug+"/api/orders/"+received+"/reviews",
		map[string]any{"product_id": tea.ID, "sku_id": "", "rating": 4, "text": "不错", "images": []string{photo.ID}}, &r); st != http.StatusCreated ||
		len(r.Images) != 1 {
		t.Errorf("the form's review with a photo: %d %+v", st, r)
	}
}
