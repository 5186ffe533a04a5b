package main

import (
	"net/http"
	"strings"
	"testing"

	"microshop/shop/fan"
	"microshop/tenants/wechat"
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

// TestWeChatCheckinKeyword: a fan sends the shop's check-in keyword to the
// official account and the passive reply says what they got; a retried
// push answers again without a second award.
func TestWeChatCheckinKeyword(t *testing.T) {
	a, srv := startApp(t, sqliteEngine(t))
	w := newWXShop(t, a, srv.URL, "wx-checkin")
	openID := w.sim.OpenID(w.settings.AppID, "checkin-phone")
	if st, _ := w.deliver(t, w.settings, w.sim.Follow(w.settings.AppID, openID)); st != http.StatusOK {
		t.Fatalf("follow: %d", st)
	}
	text := w.sim.Text(w.settings.AppID, openID, "签到")
	var replies []string
	for range 2 { // WeChat retries the same push when it misses an answer
		st, body := w.deliver(t, w.settings, text)
		raw, err := wechat.OpenReply(w.settings, body)
		if st != http.StatusOK || err != nil {
			t.Fatalf("keyword push: %d %v", st, err)
		}
		replies = append(replies, string(raw))
	}
	// The shop speaks Chinese (the default), and so do its replies.
	if !strings.Contains(replies[0], "<MsgType>text</MsgType>") || !strings.Contains(replies[0], "已连续签到") {
		t.Fatalf("reply to the keyword: %q", replies[0])
	}
	if !strings.Contains(replies[1], "今天已经签到过了") {
		t.Errorf("reply to the retried push: %q", replies[1])
	}
	api := w.apiClient(t, srv.URL)
	var pts struct {
		Balance int64 `json:"balance"`
	}
	if st := api.json(http.MethodGet, "/api/v1/fans/"+fan.IDForOpenID(w.ID, openID)+"/points", nil, &pts); st != http.StatusOK || pts.Balance <= 0 {
		t.Fatalf("fan points after the keyword: %d %+v", st, pts)
	}
	first := pts.Balance
	w.deliver(t, w.settings, w.sim.Text(w.settings.AppID, openID, "checkin"))
	api.json(http.MethodGet, "/api/v1/fans/"+fan.IDForOpenID(w.ID, openID)+"/points", nil, &pts)
	if pts.Balance != first {
		t.Errorf("a second check-in the same day changed the balance: %d -> %d", first, pts.Balance)
	}
}
