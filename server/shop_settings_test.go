package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"microshop/tenants/i18n"
)

// TestShopSettings: a merchant sets the shop's name, language and time
// zone through the API and the console; bad values are a 400 naming the
// field and change nothing; the storefront speaks the shop's language to a
// shopper who chose none, whatever their browser asks, and the shopper's
// own choice still wins.
func TestShopSettings(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "settings")
	api := s.apiClient(t, srv.URL)

	var got map[string]any
	if st := api.json(http.MethodGet, "/api/v1/shop", nil, &got); st != http.StatusOK ||
		got["lang"] != i18n.ZhCN || got["time_zone"] != "Asia/Shanghai" || got["name"] != s.Name {
		t.Fatalf("a new shop's settings: %d %v", st, got)
	}
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"lang": "fr"}, "lang"},
		{map[string]any{"time_zone": "Mars/Olympus"}, "time_zone"},
		{map[string]any{"time_zone": "Local"}, "time_zone"},
		{map[string]any{"name": "  "}, "name"},
		{map[string]any{"name": "Tea\u202eHouse"}, "name"},
		{map[string]any{"lang": "en", "colour": "red"}, "colour"},
	} {
		var e apiError
		if st := api.json(http.MethodPut, "/api/v1/shop", tc.body, &e); st != http.StatusBadRequest || e.Error.Field != tc.field {
			t.Errorf("PUT %v: %d %+v, want 400 on %q", tc.body, st, e.Error, tc.field)
		}
	}
	if st := api.json(http.MethodPut, "/api/v1/shop", map[string]any{"lang": "en", "time_zone": "Asia/Hong_Kong"}, &got); st != http.StatusOK ||
		got["lang"] != i18n.En || got["time_zone"] != "Asia/Hong_Kong" || got["name"] != s.Name {
		t.Fatalf("PUT lang and zone: %d %v", st, got)
	}

	// A Chinese browser that chose nothing sees the shop in English; the
	// switch to Chinese wins over the shop's language.
	zh := newClient(t, srv.URL)
	zh.header = http.Header{"Accept-Language": {"zh-CN,zh;q=0.9"}}
	if st, b := zh.do(http.MethodGet, "/s/"+s.Slug+"/cart", nil, ""); st != http.StatusOK || !strings.Contains(string(b), `<html lang="en"`) {
		t.Errorf("the shop's language for a visitor who chose none: %d %.200s", st, b)
	}
	switchTo(t, zh, "/s/"+s.Slug+"/cart", i18n.ZhCN)

	// The console's form: a bad zone is shown on the page, a good one saved.
	console := s.consoleClient(t, srv.URL)
	if st, b := console.form("/admin/shop", url.Values{"name": {"西湖茶馆"}, "lang": {"zh-CN"}, "time_zone": {"Nowhere/City"}}); st != http.StatusBadRequest || !strings.Contains(string(b), "Nowhere/City") {
		t.Errorf("console, a bad zone: %d %.300s", st, b)
	}
	if st, _ := console.form("/admin/shop", url.Values{"name": {"西湖茶馆"}, "lang": {"zh-CN"}, "time_zone": {"Asia/Shanghai"}}); st != http.StatusSeeOther || console.location != "/admin/shop?done=saved" {
		t.Errorf("console, save: %d to %q", st, console.location)
	}
	doc := console.page("/admin/shop?done=saved", http.StatusOK)
	if doc.Find("#name").AttrOr("value", "") != "西湖茶馆" || doc.Find("#lang option[selected]").AttrOr("value", "") != i18n.ZhCN ||
		doc.Find(".notice").Length() != 1 {
		t.Errorf("the settings page after saving: name %q lang %q", doc.Find("#name").AttrOr("value", ""), doc.Find("#lang option[selected]").AttrOr("value", ""))
	}
	if st := api.json(http.MethodGet, "/api/v1/shop", nil, &got); st != http.StatusOK || got["name"] != "西湖茶馆" || got["lang"] != i18n.ZhCN {
		t.Errorf("after the console's save: %v", got)
	}
}
