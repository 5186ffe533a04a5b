package main

import (
	"bytes"
	"image/png"
	"io"
	"net/http"
	"testing"
)

// TestFavicon: /favicon.ico, asked for by every browser on every site, is
// the site's icon, not a 404 on each first page view.
func TestFavicon(t *testing.T) {
	_, srv := startApp(t, sqliteEngine(t))
	resp, err := http.Get(srv.URL + "/favicon.ico")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("favicon: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if img, err := png.Decode(bytes.NewReader(b)); err != nil || img.Bounds().Dx() != 32 {
		t.Fatalf("favicon is not a 32-pixel PNG: %v", err)
	}
}
