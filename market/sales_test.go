package market_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"microshop/market"
	"microshop/shop/catalog"
	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// staffPhones are the shops' staff phones, by shop id.
type staffPhones map[string]string

func (s staffPhones) StaffPhone(_ context.Context, tenantID, phone string) (bool, error) {
	return market.NormalizePhone(s[tenantID]) == phone, nil
}

// paid delivers a paid order's event to the market, as the order service does.
func paid(t *testing.T, m *market.Service, tenantID, orderID, fan string, addr order.Address, at time.Time, products ...string) order.Order {
	t.Helper()
	o := order.Order{ID: orderID, FanID: fan, Status: order.Paid, Address: addr, Paid: 100, PaidAt: &at}
	for _, p := range products {
		o.Lines = append(o.Lines, order.Line{ProductID: p, Qty: 1, Amount: 100})
	}
	if err := m.OrderEvent(context.Background(), tenantID, o, order.Event{ID: "e1", Type: order.EventPaid, Amount: 100, At: at}); err != nil {
		t.Fatal(err)
	}
	return o
}

func address(i int) order.Address {
	return order.Address{Name: "买家", Phone: fmt.Sprintf("1380000%04d", i), Province: "浙江省", City: "杭州市", District: "西湖区",
		Detail: fmt.Sprintf("文三路%d号", i)}
}

// TestSalesLeaveBrushingOut: two shops sell the same tea; "honest" has
// nine real buyers, "brusher" one real buyer and a crowd of brushing
// orders (accounts sharing an address or a phone, its staff, refunded
// and test orders, one buyer paying again and again). Only distinct real
// buyers count, worked by hand in the score; the brushing moves nothing.
func TestSalesLeaveBrushingOut(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{catalog.Schema}, func(t *testing.T, e *engine.Engine) {
		w := newWorld(t, e)
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		w.market.SetClock(func() time.Time { return now })
		honest, hp := w.shop(t, "honest", "龙井绿茶")
		brusher, bp := w.shop(t, "brusher", "龙井绿茶")
		for _, s := range []tenants.Tenant{honest, brusher} {
			w.list(t, s, true)
		}
		w.market.SetStaff(staffPhones{brusher.ID: "138-0000-9999"})
		scoreOf := func(slug string) float64 {
			t.Helper()
			if err := w.market.RefreshQuality(ctx); err != nil {
				t.Fatal(err)
			}
			res, err := w.market.Search(ctx, market.Query{Text: "龙井绿茶"})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res.Items {
				if r.Shop.Slug == slug {
					return r.Score
				}
			}
			t.Fatalf("%s not found: %+v", slug, res.Items)
			return 0
		}
		day := 24 * time.Hour
		for i := range 9 {
			paid(t, w.market, honest.ID, fmt.Sprintf("h%d", i), fmt.Sprintf("fan%d", i), address(i), now.Add(-time.Duration(i)*day), hp[0])
		}
		// One real buyer of brusher's, then the score before any brushing.
		paid(t, w.market, brusher.ID, "real", "real-fan", address(100), now.Add(-time.Hour), bp[0])
		before := scoreOf("brusher")
		// Twenty accounts delivering to one address, ten to one phone.
		for i := range 20 {
			a := address(200 + i)
			a.Detail = "文三路 1 号" // spaces and width do not make it another address
			if i%2 == 1 {
				a.Detail = "文三路１号"
			}
			paid(t, w.market, brusher.ID, fmt.Sprintf("addr%d", i), fmt.Sprintf("sock%d", i), a, now.Add(-time.Hour), bp[0])
		}
		for i := range 10 {
			a := address(300 + i)
			a.Phone = "+86 139 0000 0001"
			paid(t, w.market, brusher.ID, fmt.Sprintf("phone%d", i), fmt.Sprintf("puppet%d", i), a, now.Add(-time.Hour), bp[0])
		}
		// Staff: to a staff phone, and another account at that staff member's address.
		staffAddr := address(400)
		staffAddr.Phone = "13800009999"
		paid(t, w.market, brusher.ID, "staff1", "staff-fan", staffAddr, now.Add(-time.Hour), bp[0])
		friend := staffAddr
		friend.Phone = "13700000000"
		paid(t, w.market, brusher.ID, "staff2", "staff-friend", friend, now.Add(-time.Hour), bp[0])
		// Refunded in full (the paid event replayed after the refund changes nothing).
		for i := range 15 {
			o := paid(t, w.market, brusher.ID, fmt.Sprintf("ref%d", i), fmt.Sprintf("refunder%d", i), address(500+i), now.Add(-time.Hour), bp[0])
			o.Status, o.Refunded = order.Refunded, 100
			if err := w.market.OrderEvent(ctx, brusher.ID, o, order.Event{ID: "e2", Type: order.EventRefunded, Amount: 100, At: now}); err != nil {
				t.Fatal(err)
			}
			o.Status = order.Paid
			if err := w.market.OrderEvent(ctx, brusher.ID, o, order.Event{ID: "e1", Type: order.EventPaid, Amount: 100, At: now}); err != nil {
				t.Fatal(err)
			}
		}
		// Test-mode orders, and the real buyer paying ten more times.
		for i := range 10 {
			o := order.Order{ID: fmt.Sprintf("test%d", i), FanID: fmt.Sprintf("tester%d", i), Status: order.Paid, Test: true,
				Address: address(600 + i), Paid: 100, Lines: []order.Line{{ProductID: bp[0], Qty: 1}}}
			if err := w.market.OrderEvent(ctx, brusher.ID, o, order.Event{ID: "e1", Type: order.EventPaid, Amount: 100, At: now}); err != nil {
				t.Fatal(err)
			}
			paid(t, w.market, brusher.ID, fmt.Sprintf("again%d", i), "real-fan", address(100), now.Add(-time.Hour), bp[0])
		}
		// What was counted: the real buyer, the address crowd as one, the
		// phone crowd as one; staff, refunds and tests not at all.
		after := scoreOf("brusher")
		// By hand (neutral shop: credit 0.8, rating 0.75, after-sale 1,
		// on time 1, repeat 0, interaction 0, freshness 1):
		// quality = 0.2×0.8 + 0.2×0.75 + 0.15×1 + 0.1×1 + 0.1×sales + 0.05 = 0.61 + 0.1×sales.
		sales := func(buyers int) float64 { return math.Log10(1+float64(buyers)) / math.Log10(1001) }
		for _, c := range []struct {
			name        string
			got, buyers float64
		}{{"brusher before brushing", before, 1}, {"brusher after", after, 3}, {"honest", scoreOf("honest"), 9}} {
			want := math.Round((0.4+0.6*(0.61+0.1*sales(int(c.buyers))))*1e6) / 1e6
			if math.Abs(c.got-want) > 1e-6 {
				t.Errorf("%s scores %v, want %v (%v distinct buyers)", c.name, c.got, want, c.buyers)
			}
		}
		if scoreOf("honest") <= after {
			t.Errorf("brushing put brusher (%v) at or above honest (%v)", after, scoreOf("honest"))
		}
	})
}

// TestSaleRecordedOnce: the same paid event delivered by many dispatchers
// at once is one sale; a refund keeps it refunded whatever comes after.
func TestSaleRecordedOnce(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{catalog.Schema}, func(t *testing.T, e *engine.Engine) {
		store, err := market.NewStore(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		at := time.Now().UTC().Truncate(time.Millisecond)
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := market.Sale{ID: "t1/o1", TenantID: "t1", Buyer: "f", Products: []string{"p"}, PaidAt: at, Refunded: i == 5}
				if err := store.PutSale(ctx, s); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if err := store.PutSale(ctx, market.Sale{ID: "t1/o1", TenantID: "t1", Buyer: "f", PaidAt: at}); err != nil {
			t.Fatal(err)
		}
		got, err := store.SalesSince(ctx, at.Add(-time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !got[0].Refunded || got[0].Buyer != "f" || len(got[0].Products) != 1 || !got[0].PaidAt.Equal(at) {
			t.Fatalf("sales %+v, want one, refunded", got)
		}
		if n, err := store.DeleteSalesBefore(ctx, at.Add(time.Second)); err != nil || n != 1 {
			t.Errorf("forget: %d, %v", n, err)
		}
	})
}
