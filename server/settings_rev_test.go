package main

import (
	"net/http"
	"net/url"
	"testing"
)

// TestOrderSettingsRevision: a console form or an API client that read the
// order settings before another save cannot undo it: 409, with the reason
// in the merchant's words; one that read them since saves.
func TestOrderSettingsRevision(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "rev-shop")
	api := s.apiClient(t, srv.URL)
	console := s.consoleClient(t, srv.URL)
	form := func(rev string) url.Values {
		return url.Values{"rev": {rev}, "shipping_fee": {"6"}, "unpaid_timeout_minutes": {"30"}, "auto_complete_days": {"10"}}
	}

	// Two tabs drew the form at one revision; the first saves.
	rev := console.page("/admin/order-settings", http.StatusOK).Find(`input[name="rev"]`).AttrOr("value", "")
	if rev == "" {
		t.Fatal("the settings form carries no revision")
	}
	console.submit("/admin/order-settings", form(rev), http.StatusSeeOther)
	doc := console.submit("/admin/order-settings", form(rev), http.StatusConflict)
	wantIn(t, "stale form", text(doc.Find(".error")), "changed meanwhile")

	// An API client with the revision it read, before and after a save.
	var st struct {
		Rev int64 `json:"rev"`
	}
	if code := api.json(http.MethodGet, "/api/v1/order-settings", nil, &st); code != http.StatusOK {
		t.Fatalf("read the settings: %d", code)
	}
	stale := st.Rev
	if code := api.json(http.MethodPut, "/api/v1/order-settings", map[string]any{"rev": stale, "shipping_fee": 700}, &st); code != http.StatusOK || st.Rev != stale+1 {
		t.Fatalf("save at the revision read: %d, rev %d", code, st.Rev)
	}
	if code := api.json(http.MethodPut, "/api/v1/order-settings", map[string]any{"rev": stale, "shipping_fee": 900}, nil); code != http.StatusConflict {
		t.Fatalf("save at a stale revision: %d, want 409", code)
	}
	// Without a revision a save applies to the settings as they are.
	if code := api.json(http.MethodPut, "/api/v1/order-settings", map[string]any{"shipping_fee": 900}, &st); code != http.StatusOK || st.Rev != stale+2 {
		t.Fatalf("save without a revision: %d, rev %d", code, st.Rev)
	}
	var fee struct {
		ShippingFee int64 `json:"shipping_fee"`
	}
	api.json(http.MethodGet, "/api/v1/order-settings", nil, &fee)
	if fee.ShippingFee != 900 {
		t.Errorf("shipping fee %d, want 900", fee.ShippingFee)
	}
}
