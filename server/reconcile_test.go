package main

import (
	"net/http"
	"testing"
	"time"
)

// TestReconciliationAPIAndConsole: a sandbox shop's WeChat Pay payment of
// today is matched against the simulator's trade bill, through the API
// (checked against apidoc/openapi.yaml) and on the console page, which
// the orders page links to.
func TestReconciliationAPIAndConsole(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "recon-shop")
	api := s.apiClient(t, srv.URL)
	tea := api.createProduct(map[string]any{"title": "Tea", "price": 3900, "stock": 5})
	newShopper(t, srv.URL, s.Slug, "").buy(t, tea.ID, 1)
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)

	var r struct {
		Date             string
		Matched          int
		MissingHere      []any `json:"missing_here"`
		MissingAtWeChat  []any `json:"missing_at_wechat"`
		AmountMismatches []any `json:"amount_mismatches"`
	}
	if st := api.json(http.MethodGet, "/api/v1/payments/reconciliation?date="+today, nil, &r); st != http.StatusOK ||
		r.Date != today || r.Matched != 1 || r.MissingHere == nil || len(r.MissingHere)+len(r.MissingAtWeChat)+len(r.AmountMismatches) != 0 {
		t.Fatalf("reconciliation: %d %+v", st, r)
	}
	for _, bad := range []string{"", "?date=2026-02-30", "?date=2999-01-01"} {
		if st := api.json(http.MethodGet, "/api/v1/payments/reconciliation"+bad, nil, nil); st != http.StatusBadRequest {
			t.Errorf("%q: %d, want 400", bad, st)
		}
	}

	console := s.consoleClient(t, srv.URL)
	if n := console.page("/admin/orders", http.StatusOK).Find(`a[href="/admin/orders/reconciliation"]`).Length(); n != 1 {
		t.Errorf("orders page links to the reconciliation %d times", n)
	}
	doc := console.page("/admin/orders/reconciliation?date="+today, http.StatusOK)
	if doc.Find("#recon-summary").Length() != 1 || doc.Find("#recon-ok").Length() != 1 || doc.Find("tr[data-order]").Length() != 0 {
		t.Errorf("console page: %s", doc.Find("main").Text())
	}
	if doc := console.page("/admin/orders/reconciliation?date=nonsense", http.StatusOK); doc.Find(".error").Length() == 0 {
		t.Error("a malformed date shows no error")
	}
}
