package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"microshop/shop/catalog"
	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/tenants"
)

// TestKilledMidLoad: orders are placed (and some cancelled) by many buyers
// while the server is killed with SIGKILL. After a restart every order a
// client saw acknowledged is there, and once the recovery pass has run,
// each product's stock is its initial stock minus the quantities of its
// live orders.
func TestKilledMidLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the server binary")
	}
	data := t.TempDir()
	p := startBinary(t, nil, "--data", data, "--demo=false", "--access-log=false")
	s := signUp(t, p.base, "crash-shop")
	api := s.apiClient(t, p.base)
	const initial = 40
	var products []string
	for i := range 8 {
		products = append(products, api.createProduct(map[string]any{"title": fmt.Sprintf("P%d", i), "price": 100 + i, "stock": initial}).ID)
	}

	type ack struct {
		id     string
		status string
	}
	var mu sync.Mutex
	var acked []ack
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for {
				select {
				case <-stop:
					return
				default:
				}
				c := newClient(t, p.base)
				c.http.Timeout = 2 * time.Second
				var o struct {
					ID     string `json:"id"`
					Status string `json:"status"`
				}
				items := []map[string]any{{"product_id": products[r.IntN(len(products))], "qty": 1 + r.IntN(3)}}
				if r.IntN(3) == 0 {
					items = append(items, map[string]any{"product_id": products[r.IntN(len(products))], "qty": 1})
				}
				status, err := tryJSON(c, http.MethodPost, "/s/crash-shop/api/orders", map[string]any{"items": items, "address": testAddress}, &o)
				if err != nil || status != http.StatusCreated {
					continue // refused, sold out, or the server died mid-request
				}
				mu.Lock()
				acked = append(acked, ack{o.ID, o.Status})
				mu.Unlock()
				if r.IntN(4) == 0 {
					var c2 struct {
						Status string `json:"status"`
					}
					if st, err := tryJSON(c, http.MethodPost, "/s/crash-shop/api/orders/"+o.ID+"/cancel", map[string]any{}, &c2); err == nil && st == http.StatusOK {
						mu.Lock()
						acked = append(acked, ack{o.ID, c2.Status})
						mu.Unlock()
					}
				}
			}
		}()
	}
	// Load for a while, and until some orders are acknowledged however
	// slow the machine, then kill the server mid-load.
	time.Sleep(1500 * time.Millisecond)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 10 {
			break
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	close(stop)
	wg.Wait()
	if len(acked) < 10 {
		t.Fatalf("only %d orders acknowledged before the kill; the load did not run", len(acked))
	}

	// Every acknowledged order survived, in at least the state acknowledged.
	p = startBinary(t, nil, "--data", data, "--demo=false", "--access-log=false")
	api = s.apiClient(t, p.base)
	last := map[string]string{}
	for _, a := range acked {
		last[a.id] = a.status
	}
	for id, status := range last {
		var got struct {
			Status string `json:"status"`
		}
		if st := api.json(http.MethodGet, "/api/v1/orders/"+id, nil, &got); st != http.StatusOK {
			t.Errorf("acknowledged order %s: %d after restart", id, st)
		} else if status == order.Cancelled && got.Status != order.Cancelled {
			t.Errorf("order %s acknowledged cancelled, now %s", id, got.Status)
		}
	}
	p.stop(t)

	// The recovery pass (run by cron within minutes) settles interrupted
	// orders; then stock is exact.
	e, err := tenants.OpenSQLite(data, schemas...)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	cstore := catalog.NewStore(e)
	cat := catalog.New(cstore, catalog.NewShelf(cstore, time.Hour))
	svc := order.NewService(order.NewStore(e), cat, fan.NewStore(e), slog.New(slog.NewTextHandler(io.Discard, nil)))
	svc.SetClock(func() time.Time { return time.Now().Add(5 * time.Minute) })
	r, err := svc.RunJobs(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d orders acknowledged; recovery pass: %+v", len(last), r)
	held := map[string]int64{}
	total := 0
	for offset := 0; ; offset += 100 {
		list, n, err := svc.List(ctx, s.ID, order.Filter{Limit: 100, Offset: offset})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list {
			if o.Live() {
				for _, l := range o.Lines {
					held[l.ProductID] += l.Qty
				}
			}
		}
		total += len(list)
		if int64(total) >= n {
			break
		}
	}
	for _, id := range products {
		pr, err := cat.Get(ctx, s.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if pr.Stock != initial-held[id] {
			t.Errorf("product %s: stock %d, want %d - %d live units = %d", id, pr.Stock, initial, held[id], initial-held[id])
		}
	}
}

// tryJSON is client.json without failing the test on a transport error
// (the server is being killed).
func tryJSON(c *client, method, path string, v, out any) (status int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	ft := &failOnly{TB: c.t}
	c2 := *c
	c2.t = ft
	status = c2.json(method, path, v, out)
	if ft.failed {
		return 0, fmt.Errorf("request failed")
	}
	return status, nil
}

// failOnly turns Fatalf into a panic that tryJSON recovers.
type failOnly struct {
	testing.TB
	failed bool
}

func (f *failOnly) Fatalf(format string, args ...any) {
	f.failed = true
	panic(fmt.Sprintf(format, args...))
}

func (f *failOnly) Helper() {}
