package pcstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"microshop/shop/pcstore"
	"microshop/tenants"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// tsvFeed is a feed of n products.
func tsvFeed(n int) []byte {
	var b strings.Builder
	b.WriteString("id\ttitle\tprice\n")
	for i := range n {
		fmt.Fprintf(&b, "P%d\tProduct %d\t1.00\n", i, i)
	}
	return []byte(b.String())
}

// TestPreviewBounds: the preview remembers a bounded number of products
// (and bytes); past either bound it stops, incomplete, saying so.
func TestPreviewBounds(t *testing.T) {
	e, err := tenants.OpenSQLite(t.TempDir(), schemas...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	v := newEnv(t, e)
	const products = 30
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(tsvFeed(products)) }))
	t.Cleanup(feed.Close)
	cases := []struct {
		name     string
		items    int
		bytes    int64
		complete bool
		count    func(int64) bool
	}{
		{"within both bounds", 1000, 1 << 20, true, func(n int64) bool { return n == products }},
		{"item bound", 10, 1 << 20, false, func(n int64) bool { return n == 10 }},
		{"byte bound", 1000, 500, false, func(n int64) bool { return n > 0 && n < products }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := v.replica(t, nil)
			pcstore.SetPreviewBounds(s, tc.items, tc.bytes)
			_, p, err := s.SaveLink(context.Background(), v.tenant, pcstore.LinkInput{Type: "feed", URL: feed.URL + "/feed.tsv", Currency: "CNY"})
			if err != nil {
				t.Fatal(err)
			}
			if p.Complete != tc.complete || !tc.count(p.Count) || p.Importable != p.Count {
				t.Fatalf("preview = %+v", p)
			}
			if !tc.complete && !strings.Contains(strings.Join(p.Notes, " "), "the sync reads everything") {
				t.Errorf("notes = %q", p.Notes)
			}
		})
	}
}

// TestPreviewsPerShop: a shop runs at most two previews at once; a third
// is a 429 saying so, while other shops are not held up.
func TestPreviewsPerShop(t *testing.T) {
	e, err := tenants.OpenSQLite(t.TempDir(), schemas...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	v := newEnv(t, e)
	other := enginetest.Tenant(t, e)
	release := make(chan struct{})
	var inFlight atomic.Int32
	arrived := make(chan struct{}, 10)
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow.tsv" {
			inFlight.Add(1)
			arrived <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.Write(tsvFeed(3))
	}))
	t.Cleanup(feed.Close)
	s := v.replica(t, nil)
	link := func(ctx context.Context, tenant, path string) error {
		_, _, err := s.SaveLink(ctx, tenant, pcstore.LinkInput{Type: "feed", URL: feed.URL + path})
		return err
	}

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { errs[i] = link(context.Background(), v.tenant, "/slow.tsv") })
	}
	for range 2 {
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("the two previews did not start")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = link(ctx, v.tenant, "/fast.tsv")
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Status != http.StatusTooManyRequests || !strings.Contains(fe.Message, "previews") {
		t.Errorf("third preview of one shop: %v, want a 429", err)
	}
	if err := link(ctx, other, "/fast.tsv"); err != nil {
		t.Errorf("another shop's preview: %v", err)
	}
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("preview %d: %v", i, err)
		}
	}
	if err := link(context.Background(), v.tenant, "/fast.tsv"); err != nil {
		t.Errorf("a preview after the others ended: %v", err)
	}
	if n := inFlight.Load(); n != 2 {
		t.Errorf("%d slow fetches, want 2", n)
	}
}
