package pcstore_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeStore is a PC store as a local test server, speaking the real
// formats by path: Shopify's /products.json (one page) and /meta.json,
// WooCommerce's /wp-json/wc/v3/products (published ones only, one page),
// /products/<id>/variations and /data/currencies/current, and any other
// document (a feed) as it is. A test sets the documents and makes a path
// fail (a status) or vanish (404) at any time.
type fakeStore struct {
	*httptest.Server
	mu     sync.Mutex
	docs   map[string][]byte
	status map[string]int
}

func newFakeStore(t *testing.T) *fakeStore {
	f := &fakeStore{docs: map[string][]byte{}, status: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

// set serves body at path (nil: 404).
func (f *fakeStore) set(path string, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if body == nil {
		delete(f.docs, path)
		return
	}
	f.docs[path] = body
}

// fail answers path with status (0: serve it again).
func (f *fakeStore) fail(path string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if status == 0 {
		delete(f.status, path)
		return
	}
	f.status[path] = status
}

// shopifyMeta is a /meta.json stating currency.
func shopifyMeta(currency string) []byte {
	b, _ := json.Marshal(map[string]any{"name": "Test store", "currency": currency, "money_format": "{{amount}}"})
	return b
}

// wooCurrency is a /data/currencies/current stating code.
func wooCurrency(code string) []byte {
	b, _ := json.Marshal(map[string]any{"code": code, "name": code, "symbol": code})
	return b
}

const wooAPI = "/wp-json/wc/v3"

func (f *fakeStore) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	status, failing := f.status[r.URL.Path]
	body, ok := f.docs[r.URL.Path]
	f.mu.Unlock()
	if failing {
		w.Header().Set("Retry-After", "0")
		http.Error(w, `{"errors":"unavailable"}`, status)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	switch {
	case r.URL.Path == "/products.json":
		w.Header().Set("Content-Type", "application/json")
		if page > 1 {
			_, _ = w.Write([]byte(`{"products":[]}`))
			return
		}
	case r.URL.Path == wooAPI+"/products":
		w.Header().Set("Content-Type", "application/json")
		if page > 1 {
			_, _ = w.Write([]byte(`[]`))
			return
		}
		var all []map[string]json.RawMessage
		if err := json.Unmarshal(body, &all); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		var out []map[string]json.RawMessage
		for _, p := range all {
			var st string
			_ = json.Unmarshal(p["status"], &st)
			if want := q.Get("status"); want == "" || st == want {
				out = append(out, p)
			}
		}
		if out == nil {
			out = []map[string]json.RawMessage{}
		}
		body, _ = json.Marshal(out)
		w.Header().Set("X-WP-Total", strconv.Itoa(len(out)))
		w.Header().Set("X-WP-TotalPages", "1")
	case strings.HasPrefix(r.URL.Path, wooAPI+"/"):
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-WP-TotalPages", "1")
	default:
		if bytes.HasPrefix(bytes.TrimSpace(body), []byte("<")) {
			w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "text/tab-separated-values; charset=utf-8")
		}
	}
	_, _ = w.Write(body)
}
