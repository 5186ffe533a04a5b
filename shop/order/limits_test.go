package order

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// tooManyUnpaid reports whether err is the 409 too_many_unpaid.
func tooManyUnpaid(err error) bool {
	var fe *fault.Error
	return errors.As(err, &fe) && fe.Status == http.StatusConflict && fe.Code == "too_many_unpaid"
}

// TestUnpaidLimit: a fan has at most MaxUnpaid orders awaiting payment; a
// slot comes back when its order is paid, cancelled (by the buyer or the
// timeout) or rejected, and when a placing died before writing its order.
func TestUnpaidLimit(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		p := f.product("Mug", 1500, 100)
		scarce := f.product("Rare", 1500, 1)
		item := CartItemRequest{ProductID: p.ID, Qty: 1}
		buyer := engine.NewID()
		var unpaid []Order
		for range MaxUnpaid {
			unpaid = append(unpaid, f.mustPlace(buyer, item))
		}
		steps := []struct {
			name  string
			free  func() // what happens before the next placement (nil: nothing)
			allow bool
		}{
			{"one more than allowed", nil, false},
			{"after paying one", func() {
				if err := f.pay(unpaid[0]); err != nil {
					t.Fatal(err)
				}
			}, true},
			{"full again", nil, false},
			{"after the buyer cancels one", func() {
				if _, err := f.svc.CancelForFan(ctx, f.tenant, buyer, unpaid[1].ID); err != nil {
					t.Fatal(err)
				}
			}, true},
			{"after the timeout cancels them", func() {
				f.clock = f.clock.Add(31 * time.Minute)
				if r, err := f.svc.RunJobs(ctx, f.tenant); err != nil || r.Expired != MaxUnpaid {
					t.Fatalf("jobs: %+v %v", r, err)
				}
			}, true},
		}
		for _, s := range steps {
			if s.free != nil {
				s.free()
			}
			o, err := f.place(buyer, item)
			switch {
			case s.allow && err != nil:
				t.Fatalf("%s: %v", s.name, err)
			case !s.allow && !tooManyUnpaid(err):
				t.Fatalf("%s: %v, want a 409 too_many_unpaid", s.name, err)
			case s.allow:
				unpaid = append(unpaid, o)
			}
		}

		// Another fan is not held by this one's orders; an order refused
		// for want of stock takes no slot.
		other := engine.NewID()
		f.mustPlace(other, CartItemRequest{ProductID: scarce.ID, Qty: 1})
		if _, err := f.place(other, CartItemRequest{ProductID: scarce.ID, Qty: 1}); err == nil || tooManyUnpaid(err) {
			t.Fatalf("out of stock: %v", err)
		}
		f.mustPlace(other, item)
		f.mustPlace(other, item)
		if _, err := f.place(other, item); !tooManyUnpaid(err) {
			t.Fatalf("fourth of the other fan: %v", err)
		}

		// A placing that died after taking a slot, before writing its
		// order, holds the slot until placing would have been given up.
		ghost := engine.NewID()
		for n := range MaxUnpaid {
			ok, err := f.svc.store.TakeSlot(ctx, f.tenant, Slot{FanID: ghost, N: n, OrderID: engine.NewID(), At: f.clock}, "")
			if err != nil || !ok {
				t.Fatalf("take slot %d: %v %v", n, ok, err)
			}
		}
		if _, err := f.place(ghost, item); !tooManyUnpaid(err) {
			t.Fatalf("slots of a placing in progress: %v", err)
		}
		f.clock = f.clock.Add(placingGrace + time.Second)
		f.mustPlace(ghost, item)
	})
}

// TestUnpaidLimitConcurrent: ten placements of one fan at once leave at
// most MaxUnpaid orders awaiting payment, and hold stock for those only.
func TestUnpaidLimitConcurrent(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		p := f.product("Pan", 900, 100)
		buyer := engine.NewID()
		var placed, refused atomic.Int64
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				_, err := f.place(buyer, CartItemRequest{ProductID: p.ID, Qty: 1})
				switch {
				case err == nil:
					placed.Add(1)
				case tooManyUnpaid(err):
					refused.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		_, unpaid, err := f.svc.List(ctx, f.tenant, Filter{FanID: buyer, Status: PendingPayment})
		if err != nil {
			t.Fatal(err)
		}
		if placed.Load() < 1 || placed.Load() > MaxUnpaid || unpaid != placed.Load() || refused.Load() != 10-placed.Load() {
			t.Errorf("placed %d, refused %d, %d unpaid; want at most %d placed, the rest refused", placed.Load(), refused.Load(), unpaid, MaxUnpaid)
		}
		if got := f.stock(p.ID, ""); got != 100-unpaid {
			t.Errorf("stock %d, want %d", got, 100-unpaid)
		}
	})
}

// TestPlaceRateLimit: one address places at most PlaceLimit orders a
// minute in one shop; other addresses and other shops are not held by it;
// an IPv6 host counts as its /64. The requests are refused before they
// reach the database (their bodies are invalid), so no engine is needed.
func TestPlaceRateLimit(t *testing.T) {
	h := NewHandlers(NewService(nil, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil))), NewSandbox([]byte("k")), "", tenants.Counters{})
	e := echo.New()
	e.HTTPErrorHandler = fault.Handler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.IPExtractor = echo.ExtractIPDirect()
	g := e.Group("/s/:slug", func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			tenants.WithTenant(c, tenants.Tenant{ID: c.Param("slug"), Slug: c.Param("slug")})
			fan.WithFan(c, engine.NewID())
			return next(c)
		}
	})
	h.StorefrontAPIRoutes(g)
	post := func(shop, addr string) int {
		req := httptest.NewRequest(http.MethodPost, "/s/"+shop+"/api/orders", strings.NewReader(`{"items":[]}`))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code == http.StatusTooManyRequests && (rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), `"rate_limited"`)) {
			t.Errorf("429 without Retry-After or code: %v %s", rec.Header(), rec.Body)
		}
		return rec.Code
	}
	for i := range PlaceLimit {
		if code := post("one", "203.0.113.7:4000"); code != http.StatusBadRequest {
			t.Fatalf("placement %d from one address: %d, want 400 (past the limiter)", i+1, code)
		}
	}
	cases := []struct {
		name, shop, addr string
		want             int
	}{
		{"one too many", "one", "203.0.113.7:4001", http.StatusTooManyRequests},
		{"another address", "one", "203.0.113.8:4000", http.StatusBadRequest},
		{"another shop", "two", "203.0.113.7:4000", http.StatusBadRequest},
	}
	for _, c := range cases {
		if code := post(c.shop, c.addr); code != c.want {
			t.Errorf("%s: %d, want %d", c.name, code, c.want)
		}
	}
	for i := range PlaceLimit {
		addr := "[2001:db8:1:2::" + string(rune('a'+i%6)) + "]:443"
		want := http.StatusBadRequest
		if code := post("one", addr); code != want {
			t.Fatalf("IPv6 placement %d: %d", i+1, code)
		}
	}
	if code := post("one", "[2001:db8:1:2:ffff::1]:443"); code != http.StatusTooManyRequests {
		t.Errorf("another address of the same /64: %d, want 429", code)
	}
}
