package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestCheckoutOffersPoints: a shopper with points sees the discount they
// can take on the checkout page, and an order taking it pays less.
func TestCheckoutOffersPoints(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "points-checkout")
	api := s.apiClient(t, srv.URL)
	tea := api.createProduct(map[string]any{"title": "Tea", "price": 3900, "stock": 10})
	var rules map[string]any
	if st := api.json(http.MethodGet, "/api/v1/points/rules", nil, &rules); st != http.StatusOK {
		t.Fatalf("rules: %d", st)
	}
	rules["enabled"], rules["base_points"], rules["redeem_points_per_yuan"], rules["redeem_max_percent"] = true, 300, 100, 50
	if st := api.json(http.MethodPut, "/api/v1/points/rules", rules, nil); st != http.StatusOK {
		t.Fatalf("save rules: %d", st)
	}
	shopper := newClient(t, srv.URL)
	shopper.do(http.MethodGet, "/s/points-checkout/", nil, "")
	var in struct {
		Awarded int64 `json:"points_awarded"`
		Balance int64 `json:"balance"`
	}
	if st := shopper.json(http.MethodPost, "/s/points-checkout/api/checkin", map[string]any{}, &in); st != http.StatusCreated || in.Balance < 300 {
		t.Fatalf("check in: %d %+v", st, in)
	}
	status, body := shopper.do(http.MethodGet, "/s/points-checkout/checkout?product="+tea.ID+"&qty=1", nil, "")
	if status != http.StatusOK {
		t.Fatalf("checkout: %d", status)
	}
	// 300 points at 100 a yuan are ¥3.00, within half of ¥39.00.
	if !strings.Contains(string(body), `data-use-points="300"`) || !strings.Contains(string(body), `data-points-amount="300"`) {
		t.Fatalf("no points offer on the checkout page: %.2000s", body)
	}
	var o orderJSON
	var disc struct {
		Discount int64 `json:"discount"`
	}
	order := map[string]any{"items": []map[string]any{{"product_id": tea.ID, "qty": 1}}, "address": testAddress, "points": 300}
	if st := shopper.json(http.MethodPost, "/s/points-checkout/api/orders", order, &o); st != http.StatusCreated || o.Payable != 3600 {
		t.Fatalf("order with points: %d %+v", st, o)
	}
	shopper.json(http.MethodGet, "/s/points-checkout/api/orders/"+o.ID, nil, &disc)
	if disc.Discount != 300 {
		t.Errorf("discount %d, want 300", disc.Discount)
	}
}
