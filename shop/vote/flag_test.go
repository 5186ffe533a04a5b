package vote

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// TestBrushingFlags: 20 fresh accounts whose orders ship to one address
// voting for one product are flagged (both rules, with the fans as
// evidence); a clean fixture (20 accounts of months' standing at 20
// addresses, a couple sharing a home) is not.
func TestBrushingFlags(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		r, ids := f.round(3)
		brushed, clean := ids[0], ids[1]
		var ring []string
		for i := range 20 {
			fan := engine.NewID()
			ring = append(ring, fan)
			f.spend.set(fan, 100_00)
			// One address, typed a little differently each time.
			addr := "13800000000 杭州市西湖区龙井路 1 号"
			if i%2 == 1 {
				addr = "13800000000杭州市西湖区龙井路1号"
			}
			f.spend.profile(fan, f.now.Add(-time.Duration(i)*time.Hour), addr)
			if _, err := f.svc.Vote(ctx, f.shop, fan, brushed); err != nil {
				t.Fatalf("ring vote %d: %v", i, err)
			}
		}
		for i := range 20 {
			fan := engine.NewID()
			f.spend.set(fan, 100_00)
			home := i
			if i == 1 {
				home = 0 // a couple sharing a home
			}
			f.spend.profile(fan, f.now.AddDate(0, -3, -i), fmt.Sprintf("1390000%04d 上海市黄浦区南京路 %d 号", home, home))
			if _, err := f.svc.Vote(ctx, f.shop, fan, clean); err != nil {
				t.Fatalf("clean vote %d: %v", i, err)
			}
		}
		flags, err := f.svc.Flags(ctx, f.shop, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		rules := map[string]Flag{}
		for _, fl := range flags {
			if fl.ProductID != brushed {
				t.Errorf("the clean product is flagged: %+v", fl)
			}
			rules[fl.Rule] = fl
		}
		shared, fresh := rules[RuleSharedAddress], rules[RuleFreshAccounts]
		if shared.Count != 20 || shared.Votes != 20 || len(shared.Fans) != 20 || shared.Address == "" {
			t.Errorf("shared address flag %+v, want 20 of 20 votes with the fans", shared)
		}
		if fresh.Count != 20 || fresh.Votes != 20 {
			t.Errorf("fresh accounts flag %+v, want 20 of 20", fresh)
		}
		if len(flags) != 2 {
			t.Errorf("flags %+v, want the two on the brushed product", flags)
		}
		// Flagged, the brushed product left the round: its votes no longer
		// count, it takes no more, the page no longer shows it; the clean one stays.
		res, err := f.svc.Results(ctx, f.shop, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Out) != 1 || res.Out[0].ProductID != brushed || res.Out[0].State != ItemRemoved || res.Out[0].Votes != 20 {
			t.Errorf("results' products out %+v, want the brushed one removed with its 20 votes", res.Out)
		}
		for _, it := range res.Items {
			if it.ProductID == brushed {
				t.Errorf("the brushed product still counts: %+v", it)
			}
		}
		late := engine.NewID()
		f.spend.set(late, 100_00)
		if _, err := f.svc.Vote(ctx, f.shop, late, brushed); status(err) != http.StatusConflict {
			t.Errorf("a vote for the removed product: %v", err)
		}
		if _, err := f.svc.Vote(ctx, f.shop, late, clean); err != nil {
			t.Errorf("a vote for the clean product: %v", err)
		}
		if page, err := f.svc.Page(ctx, f.shop, late); err != nil || len(page.Items) != 2 {
			t.Errorf("page %d products %v, want the 2 left", len(page.Items), err)
		}
		for _, fan := range ring {
			if fan == shared.Fans[0] {
				return
			}
		}
		t.Errorf("the evidence %v names none of the ring", shared.Fans)
	})
}

// TestBar: the operator bars a shop 1 to 6 months with a reason; a barred
// shop opens no round (403 with the reason) until the bar ends.
func TestBar(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		bars, err := NewBars(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		f.svc.SetBars(bars)
		for _, months := range []int{0, 7} {
			if _, err := f.svc.BarShop(ctx, BarInput{TenantID: f.shop, Months: months, Reason: "brushing"}, "ops@example.com"); status(err) != 400 {
				t.Fatalf("a bar of %d months: %v", months, err)
			}
		}
		if _, err := f.svc.BarShop(ctx, BarInput{TenantID: f.shop, Months: 2, Reason: " "}, "ops@example.com"); status(err) != 400 {
			t.Fatalf("a bar without a reason: %v", err)
		}
		b, err := f.svc.BarShop(ctx, BarInput{TenantID: f.shop, Months: 2, Reason: "20 accounts at one address"}, "ops@example.com")
		if err != nil || !b.Until.Equal(f.now.AddDate(0, 2, 0)) {
			t.Fatalf("bar: %+v %v", b, err)
		}
		_, err = f.svc.CreateRound(ctx, f.shop, RoundInput{StartNow: true})
		if status(err) != 403 || !strings.Contains(err.Error(), "20 accounts at one address") {
			t.Fatalf("a round while barred: %v", err)
		}
		if other := enginetest.Tenant(t, e); true {
			if _, err := f.svc.CreateRound(ctx, other, RoundInput{StartNow: true}); err != nil {
				t.Fatalf("another shop's round: %v", err)
			}
		}
		f.advance(b.Until.Sub(f.now))
		if _, err := f.svc.CreateRound(ctx, f.shop, RoundInput{StartNow: true}); err != nil {
			t.Fatalf("a round after the bar: %v", err)
		}
	})
}
