package main

import (
	"net/http"
	"testing"
	"time"
)

// TestRefundRestocks: a refund with "restock" puts the refunded order's
// units back on sale once it succeeds, and a second refund of the same
// order does not put them back again.
func TestRefundRestocks(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "restock")
	api := s.apiClient(t, srv.URL)
	tea := api.createProduct(map[string]any{"title": "Tea", "price": 1000, "stock": 10})
	buyer := newShopper(t, srv.URL, s.Slug, "")
	id := buyer.buy(t, tea.ID, 3)
	if st := buyer.json(http.MethodPost, "/s/"+s.Slug+"/api/orders/"+id+"/pay", map[string]bool{"sandbox_confirm": true}, nil); st != http.StatusOK {
		t.Fatalf("pay: %d", st)
	}
	stock := func() int64 {
		var p productJSON
		api.json(http.MethodGet, "/api/v1/products/"+tea.ID, nil, &p)
		return p.Stock
	}
	if got := stock(); got != 7 {
		t.Fatalf("stock after the sale = %d, want 7", got)
	}
	for i, amount := range []int64{1000, 1000} {
		if st := api.json(http.MethodPost, "/api/v1/orders/"+id+"/refund", map[string]any{"amount": amount, "reason": "returned", "restock": true}, nil); st != http.StatusOK {
			t.Fatalf("refund %d: %d", i+1, st)
		}
		a.settleRefunds()
	}
	// The restock follows the refund's event, delivered right after it.
	deadline := time.Now().Add(5 * time.Second)
	for stock() != 10 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a second restock would land by now
	if got := stock(); got != 10 {
		t.Errorf("stock after two refunds with restock = %d, want 10 (the order's 3 units, once)", got)
	}
}
