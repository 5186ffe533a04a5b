package main

import (
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// Pooled placement on MongoDB through the whole app: the isolation walk
// with both shops in one pooled database, and a shop moved out of the pool
// while shoppers use it and another shop of the pool is read.

func init() {
	// The server's Kinds tests run on SQLite and a database per shop; the
	// pooled case runs here (the isolation walk again, and the move), not
	// under every server test: the package's tests are the slow ones.
	enginetest.PooledKind = false
}

// TestTenantIsolationEveryRoutePooled is TestTenantIsolationEveryRoute
// (isolation_test.go) with both shops in one pooled database: tenant_id
// and the qualified _ids are then all that keeps them apart.
func TestTenantIsolationEveryRoutePooled(t *testing.T) {
	enginetest.OnlyPooled(t, TestTenantIsolationEveryRoute)
}

// TestMoveShopOutOfPool: an operator moves a pooled shop to a database of
// its own (POST /api/ops/v1/tenants/{id}/placement/move) while its
// shoppers place orders and another shop of the pool is read. Every order
// the shop accepted is there afterwards (an order refused while the shop
// was frozen got 503 shop_moving), the other shop answered every read,
// and the moved shop works from its own database.
func TestMoveShopOutOfPool(t *testing.T) {
	ttl, grace := engine.PlacementTTL, engine.MoveGrace
	engine.PlacementTTL, engine.MoveGrace = 300*time.Millisecond, 200*time.Millisecond
	t.Cleanup(func() { engine.PlacementTTL, engine.MoveGrace = ttl, grace })
	enginetest.Pooled(t, schemas, func(t *testing.T, e *engine.Engine) {
		a, srv := startApp(t, e)
		moving, staying := signUp(t, srv.URL, "moving-shop"), signUp(t, srv.URL, "staying-shop")
		apiM, apiS := moving.apiClient(t, srv.URL), staying.apiClient(t, srv.URL)
		product := apiM.createProduct(map[string]any{"title": "Tea", "price": 1000, "stock": 1000,
			"skus": []map[string]any{{"name": "tin", "price": 1000, "stock": 1000}}})
		for _, title := range []string{"Cup", "Pot"} {
			apiS.createProduct(map[string]any{"title": title, "price": 500, "stock": 5})
		}
		before := placeOrder(t, srv.URL, moving.Slug, product.ID, product.SKUs[0].ID, 1)
		op := newOperator(t, a, "placement@example.com")
		ops := newClient(t, srv.URL)
		ops.key = op.APIKey
		placement := func(id string) engine.ShopPlacement {
			var p engine.ShopPlacement
			if st := ops.json(http.MethodGet, "/api/ops/v1/tenants/"+id+"/placement", nil, &p); st != http.StatusOK {
				t.Fatalf("placement of %s: %d", id, st)
			}
			return p
		}
		if pm, ps := placement(moving.ID), placement(staying.ID); !pm.Pooled || pm.Database != ps.Database {
			t.Fatalf("placements %+v, %+v: want both in one pooled database", pm, ps)
		}

		stop := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		var accepted []string
		var refused, reads atomic.Int64
		fail := make(chan string, 4)
		wg.Go(func() { // shoppers of the moving shop
			// At most 50 tries, paced: one address places at most
			// order.PlaceLimit (60) orders a minute in a shop.
			for try := 0; try < 50; try++ {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				shopper := newClient(t, srv.URL) // a new shopper each time (a shopper's unpaid orders are limited)
				var o struct {
					ID    string `json:"id"`
					Error struct {
						Code string `json:"code"`
					} `json:"error"`
				}
				st := shopper.json(http.MethodPost, "/s/"+moving.Slug+"/api/orders", map[string]any{
					"items":   []map[string]any{{"product_id": product.ID, "sku_id": product.SKUs[0].ID, "qty": 1}},
					"address": testAddress}, &o)
				switch {
				case st == http.StatusCreated:
					mu.Lock()
					accepted = append(accepted, o.ID)
					mu.Unlock()
				case st == http.StatusServiceUnavailable && o.Error.Code == "shop_moving":
					refused.Add(1)
				default:
					fail <- "an order during the move: " + http.StatusText(st) + " " + o.Error.Code
					return
				}
			}
		})
		wg.Go(func() { // the other shop of the pool, read all along
			for {
				select {
				case <-stop:
					return
				default:
				}
				var list struct {
					Items []productJSON `json:"items"`
				}
				if st := apiS.json(http.MethodGet, "/api/v1/products", nil, &list); st != http.StatusOK || len(list.Items) != 2 {
					fail <- "the other shop's products during the move: " + http.StatusText(st)
					return
				}
				reads.Add(1)
			}
		})

		var p engine.ShopPlacement
		if st := ops.json(http.MethodPost, "/api/ops/v1/tenants/"+moving.ID+"/placement/move", nil, &p); st != http.StatusAccepted || !p.Requested {
			t.Fatalf("move: %d %+v", st, p)
		}
		deadline := time.Now().Add(60 * time.Second)
		for p = placement(moving.ID); p.Pooled || p.State != "serving"; p = placement(moving.ID) {
			if time.Now().After(deadline) {
				t.Fatalf("still moving after 60 s: %+v", p)
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // a few orders into the new database
		close(stop)
		wg.Wait()
		select {
		case msg := <-fail:
			t.Fatal(msg)
		default:
		}
		t.Logf("moved to %s: %d orders accepted, %d refused while frozen; %d reads of the other shop", p.Database, len(accepted), refused.Load(), reads.Load())
		if reads.Load() == 0 || len(accepted) == 0 {
			t.Fatalf("no traffic during the move: %d reads, %d orders", reads.Load(), len(accepted))
		}
		for _, id := range append(accepted, before) {
			var o struct {
				ID string `json:"id"`
			}
			if st := apiM.json(http.MethodGet, "/api/v1/orders/"+id, nil, &o); st != http.StatusOK || o.ID != id {
				t.Errorf("order %s after the move: %d", id, st)
			}
		}
		var got productJSON
		if st := apiM.json(http.MethodGet, "/api/v1/products/"+product.ID, nil, &got); st != http.StatusOK {
			t.Fatalf("the moved shop's product: %d", st)
		}
		// Writes go to the shop's own database now.
		apiM.createProduct(map[string]any{"title": "After", "price": 100, "stock": 1})
		var list struct {
			Total int64 `json:"total"`
		}
		if st := apiM.json(http.MethodGet, "/api/v1/products", nil, &list); st != http.StatusOK || list.Total != 2 {
			t.Errorf("the moved shop's products: %d, total %d", st, list.Total)
		}
		if ps := placement(staying.ID); !ps.Pooled {
			t.Errorf("the other shop left the pool: %+v", ps)
		}
		// A shop with a database of its own is not moved again.
		var fe struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		b, _ := json.Marshal(map[string]any{})
		if st := ops.json(http.MethodPost, "/api/ops/v1/tenants/"+moving.ID+"/placement/move", string(b), &fe); st != http.StatusConflict {
			t.Errorf("moving a shop with its own database: %d %+v", st, fe)
		}
	})
}
