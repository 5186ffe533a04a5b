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
