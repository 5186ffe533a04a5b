package main

import (
	"net/http"
	"testing"
)

// TestTypedTextRefusesHiddenCharacters: every text a merchant, a guide or a
// shopper types that others read later (product titles, options,
// categories, descriptions, addresses, carriers and tracking numbers,
// reasons, store and guide names, withdrawal notes, check-in keywords,
// replies to fans)
// refuses the characters that hide or rearrange what a reader sees: a 400
// naming the field, and nothing saved.
func TestTypedTextRefusesHiddenCharacters(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "hidden-text")
	api := s.apiClient(t, srv.URL)
	tea := api.createProduct(map[string]any{"title": "Tea", "price": 1000, "stock": 50})
	api.json(http.MethodPut, "/api/v1/distribution/settings", map[string]any{"enabled": true, "levels": []int{1000}, "min_withdrawal": 100}, nil)
	buyer := newShopper(t, srv.URL, s.Slug, "")
	paid := buyer.buy(t, tea.ID, 1)
	if st := buyer.json(http.MethodPost, "/s/"+s.Slug+"/api/orders/"+paid+"/pay", map[string]bool{"sandbox_confirm": true}, nil); st != http.StatusOK {
		t.Fatalf("pay: %d", st)
	}
	var store struct{ ID string }
	api.json(http.MethodPost, "/api/v1/stores", map[string]string{"name": "Lakeside"}, &store)
	var rules map[string]any
	api.json(http.MethodGet, "/api/v1/points/rules", nil, &rules)
	withRules := func(k string, v any) map[string]any {
		out := map[string]any{}
		for key, val := range rules {
			out[key] = val
		}
		out[k] = v
		return out
	}
	buyerID := fanIDOf(t, buyer.client, srv.URL, s.Slug)
	const rlo, rlm, nul, lsep = "\u202e", "\u200f", "\x00", "\u2028"
	shopAPI := "/s/" + s.Slug + "/api"
	address := func(field, v string) map[string]any {
		a := map[string]string{}
		for k, val := range testAddress {
			a[k] = val
		}
		a[field] = v
		return map[string]any{"items": []map[string]any{{"product_id": tea.ID, "qty": 1}}, "address": a}
	}
	for _, tc := range []struct {
		name, method, path string
		c                  *client
		body               any
		field              string
	}{
		{"product title", http.MethodPost, "/api/v1/products", api, map[string]any{"title": "Tea" + rlo + "gpj.exe", "price": 100}, "title"},
		{"product description", http.MethodPatch, "/api/v1/products/" + tea.ID, api, map[string]any{"description": "line" + lsep + "break"}, "description"},
		{"product category", http.MethodPatch, "/api/v1/products/" + tea.ID, api, map[string]any{"category": "Green" + rlm}, "category"},
		{"option name", http.MethodPatch, "/api/v1/products/" + tea.ID, api, map[string]any{"skus": []map[string]any{{"name": "big\nsmall", "price": 100, "stock": 1}}}, "skus[0].name"},
		{"address name", http.MethodPost, shopAPI + "/orders", buyer.client, address("name", "Li"+rlo+"Lei"), "address.name"},
		{"address detail", http.MethodPost, shopAPI + "/orders", buyer.client, address("detail", "Road 1"+nul), "address.detail"},
		{"carrier", http.MethodPost, "/api/v1/orders/" + paid + "/ship", api, map[string]string{"carrier": "SF" + rlm, "tracking_no": "SF1"}, "carrier"},
		{"tracking number", http.MethodPost, "/api/v1/orders/" + paid + "/ship", api, map[string]string{"carrier": "SF", "tracking_no": "SF\n1"}, "tracking_no"},
		{"refund reason", http.MethodPost, "/api/v1/orders/" + paid + "/refund", api, map[string]any{"amount": 100, "reason": "oops" + rlo}, "reason"},
		{"store name", http.MethodPost, "/api/v1/stores", api, map[string]string{"name": "Lake" + rlo + "side"}, "name"},
		{"guide name", http.MethodPost, "/api/v1/guides", api, map[string]string{"name": "Wang\x1b[2J", "store_id": store.ID}, "name"},
		{"withdrawal note", http.MethodPost, shopAPI + "/distributor/withdrawals", buyer.client, map[string]any{"amount": 100, "note": "to my bank" + rlo}, "note"},
		{"reply to a fan", http.MethodPost, "/api/v1/fans/" + buyerID + "/messages", api, map[string]string{"text": "yes" + rlo}, "text"},
		{"check-in keyword", http.MethodPut, "/api/v1/points/rules", api, withRules("keywords", []string{"签到" + rlm}), "keywords[0]"},
	} {
		var out apiError
		if st := tc.c.json(tc.method, tc.path, tc.body, &out); st != http.StatusBadRequest || out.Error.Field != tc.field {
			t.Errorf("%s: %d %+v, want 400 on %s", tc.name, st, out.Error, tc.field)
		}
	}
	var p productJSON
	api.json(http.MethodGet, "/api/v1/products/"+tea.ID, nil, &p)
	if p.Category != "" || len(p.SKUs) != 0 {
		t.Errorf("a refused change was saved: %+v", p)
	}
	var o struct{ Status string }
	api.json(http.MethodGet, "/api/v1/orders/"+paid, nil, &o)
	if o.Status != "paid" {
		t.Errorf("the order is %s after refused ships and refunds", o.Status)
	}
}
