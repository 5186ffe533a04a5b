package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestProductTranslationInTheConsole: the product form takes the product's
// words in the shop's other language (English for a Chinese shop) and its
// own code, keeps them on edit, and the storefront in English shows them.
func TestProductTranslationInTheConsole(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "translated")
	console := s.consoleClient(t, srv.URL)
	if lang := console.page("/admin/products/new", http.StatusOK).Find(`input[name="trans_lang"]`).AttrOr("value", ""); lang != "en" {
		t.Fatalf("a Chinese shop's form translates into %q", lang)
	}
	st, b := console.form("/admin/products", url.Values{"title": {"西湖龙井"}, "price": {"328"}, "stock": {"5"}, "category": {"绿茶"}, "code": {"LJ-250"},
		"status": {"on_sale"}, "description": {"明前龙井"}, "trans_lang": {"en"}, "trans_title": {"West Lake Longjing"},
		"trans_category": {"Green tea"}, "trans_description": {"Picked before Qingming."}})
	if st != http.StatusSeeOther {
		t.Fatalf("create: %d %.300s", st, b)
	}
	var list struct{ Items []productJSON }
	api := s.apiClient(t, srv.URL)
	api.json(http.MethodGet, "/api/v1/products", nil, &list)
	if len(list.Items) != 1 || list.Items[0].Code != "LJ-250" {
		t.Fatalf("products: %+v", list)
	}
	id := list.Items[0].ID
	edit := console.page("/admin/products/"+id+"/edit", http.StatusOK)
	if edit.Find("#trans_title").AttrOr("value", "") != "West Lake Longjing" || strings.TrimSpace(edit.Find("#trans_description").Text()) != "Picked before Qingming." {
		t.Errorf("the edit form lost the translation")
	}
	en := newClientIn(t, srv.URL, "en")
	if title := en.page("/s/"+s.Slug+"/p/"+id, http.StatusOK).Find("h1").Text(); title != "West Lake Longjing" {
		t.Errorf("the English product page: %q", title)
	}
	zh := newClientIn(t, srv.URL, "zh-CN")
	if title := zh.page("/s/"+s.Slug+"/p/"+id, http.StatusOK).Find("h1").Text(); title != "西湖龙井" {
		t.Errorf("the Chinese product page: %q", title)
	}
	// Emptied, the translation goes: English readers see the product's own words.
	if st, b := console.form("/admin/products/"+id, url.Values{"title": {"西湖龙井"}, "price": {"328"}, "stock": {"5"},
		"status": {"on_sale"}, "trans_lang": {"en"}}); st != http.StatusSeeOther {
		t.Fatalf("update: %d %.300s", st, b)
	}
	if title := en.page("/s/"+s.Slug+"/p/"+id, http.StatusOK).Find("h1").Text(); title != "西湖龙井" {
		t.Errorf("after removing the translation: %q", title)
	}
}
