package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"microshop/tenants"
	"microshop/tenants/engine"
)

// testConfig is the configuration tests run the app with.
func testConfig() Config {
	return Config{Addr: "127.0.0.1:0", BodyLimit: 1 << 20, LogFormat: "text", ShelfRefresh: 50 * time.Millisecond}
}

// startApp wires the real app over engine, exactly as run does, and serves
// it on a local test server that stops at cleanup.
func startApp(t testing.TB, engine *engine.Engine) (*app, *httptest.Server) {
	t.Helper()
	return startAppWith(t, engine, testConfig())
}

// startAppWith is startApp with another configuration.
func startAppWith(t testing.TB, engine *engine.Engine, cfg Config) (*app, *httptest.Server) {
	t.Helper()
	a, err := newApp(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), engine)
	if err != nil {
		t.Fatalf("new app: %v", err)
	}
	srv := httptest.NewServer(englishByDefault(a.echo))
	t.Cleanup(func() {
		srv.Close()
		a.wechat.fans.Wait() // work started after answering pushes
	})
	return a, srv
}

// englishByDefault lets the tests written when every page was English
// keep reading English: a request that states no language (no
// Accept-Language header) asks for English. Tests of the Chinese pages send
// Accept-Language: zh-CN or the ms_lang cookie (i18n_test.go).
func englishByDefault(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Language") == "" {
			r.Header.Set("Accept-Language", "en")
		}
		h.ServeHTTP(w, r)
	})
}

// sqliteEngine opens a SQLite engine in a temp dir, closed at cleanup.
func sqliteEngine(t testing.TB) *engine.Engine {
	t.Helper()
	e, err := tenants.OpenSQLite(t.TempDir(), schemas...)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// noRedirect is an HTTP client that shows redirects instead of following them.
func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
