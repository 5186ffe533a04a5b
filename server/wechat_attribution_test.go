package main

import (
	"net/http"
	"testing"
)

// TestWeChatScanAttributesToGuide: a fan who follows the official account
// through a guide's parametric QR (scene g:<code>) counts in the guide's
// funnel, as a visit through the guide's link does.
func TestWeChatScanAttributesToGuide(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	w := newWXShop(t, a, srv.URL, "wx-guide")
	api := w.apiClient(t, srv.URL)
	var store struct{ ID string }
	if st := api.json(http.MethodPost, "/api/v1/stores", map[string]string{"name": "Xintiandi", "address": "8 Taicang Rd"}, &store); st != http.StatusCreated {
		t.Fatalf("create store: %d", st)
	}
	var raw map[string]any
	if st := api.json(http.MethodPost, "/api/v1/guides", map[string]string{"name": "Wang Fang", "phone": "13700001111", "store_id": store.ID}, &raw); st != http.StatusCreated {
		t.Fatalf("create guide: %d %v", st, raw)
	}
	code := raw["code"].(string)
	var qr struct {
		Ticket string `json:"ticket"`
	}
	if st := api.json(http.MethodPost, "/api/v1/wechat/qrcodes", map[string]any{"scene": "g:" + code}, &qr); st != http.StatusOK || qr.Ticket == "" {
		t.Fatalf("guide QR: %d %+v", st, qr)
	}
	openID := w.sim.OpenID(w.settings.AppID, "guide-scan-phone")
	follow, err := w.sim.Scan(w.settings.AppID, openID, qr.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	if st, body := w.deliver(t, w.settings, follow); st != http.StatusOK {
		t.Fatalf("push: %d %s", st, body)
	}
	a.wechat.fans.Wait() // attribution runs after WeChat got its answer
	var r struct {
		Rows []struct {
			Follows int64 `json:"follows"`
		} `json:"rows"`
	}
	if st := api.json(http.MethodGet, "/api/v1/guide-report?group=guide", nil, &r); st != http.StatusOK || len(r.Rows) != 1 || r.Rows[0].Follows != 1 {
		t.Errorf("guide report after a follow through the guide's QR: %d %+v", st, r)
	}
}
