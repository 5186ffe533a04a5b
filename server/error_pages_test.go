package main

import (
	"net/http"
	"testing"
)

// TestErrorPagesInTheirFrame: a browser's error inside a shop is drawn in
// the shop's frame with the way back to the shop (a shopper following an
// old link must not land on the platform's sign-up page), one inside the
// console in the console's frame; elsewhere, and for a shop that does not
// exist, the platform's page.
func TestErrorPagesInTheirFrame(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	s := signUp(t, srv.URL, "frame-shop")
	buyer := newShopper(t, srv.URL, s.Slug, "")
	console := s.consoleClient(t, srv.URL)
	for _, tc := range []struct {
		name string
		c    *client
		path string
		back string // the page's way back
	}{
		{"a missing product", buyer.client, "/s/" + s.Slug + "/p/afoo00000000000x", "/s/" + s.Slug + "/"},
		{"a missing page of a shop", buyer.client, "/s/" + s.Slug + "/no-such-page", "/s/" + s.Slug + "/"},
		{"a missing order in the console", console, "/admin/orders/afoo00000000000x", "/admin"},
		{"a missing shop", buyer.client, "/s/no-such-shop/", "/"},
		{"a missing platform page", buyer.client, "/no-such-page", "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.c.page(tc.path, http.StatusNotFound)
			if back := doc.Find(".fault a.btn").AttrOr("href", ""); back != tc.back {
				t.Errorf("the way back is %q, want %q", back, tc.back)
			}
			signup := doc.Find(`a[href="/signup"]`).Length() > 0
			if inShop := tc.back != "/"; inShop == signup {
				t.Errorf("the platform's sign-up link shown: %t (inside a shop or the console it must not be)", signup)
			}
		})
	}
}

// TestMarketHeaderIsAShoppers: the market's pages lead to the market's own
// places (ranking, votes, the shopper's page), not to the platform's
// merchant sign-up and sign-in, which stay one link away in the footer.
func TestMarketHeaderIsAShoppers(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	doc := newClient(t, srv.URL).page("/m/", http.StatusOK)
	header := doc.Find("header.topbar")
	for _, href := range []string{"/m/", "/m/ranking", "/m/vote", "/m/me"} {
		if header.Find(`a[href="`+href+`"]`).Length() != 1 {
			t.Errorf("the market's header has no link to %s", href)
		}
	}
	if header.Find(`a[href="/signup"], a[href="/login"]`).Length() != 0 {
		t.Error("the market's header offers merchants' sign-up or sign-in")
	}
	if doc.Find(`footer a[href="/"]`).Length() != 1 {
		t.Error("no way for a merchant from the market to the platform's page")
	}
}
