package credit

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// TestFormulaByHand: each case's score is the published formula worked by
// hand (weights 30 on-time, 20 after-sale, 20 disputes, 10 answer time, 20
// rating; a factor without data is 80).
func TestFormulaByHand(t *testing.T) {
	cases := []struct {
		name   string
		in     Inputs
		scores map[string]float64
		score  int
		level  string
	}{
		{name: "a new shop is neutral", in: Inputs{},
			scores: map[string]float64{FactorOnTime: 80, FactorAfterSale: 80, FactorDisputes: 80, FactorAnswerTime: 80, FactorRating: 80},
			score:  80, level: Good},
		{name: "a mixed record",
			// on time 8/10 = 80; after-sale 2/20 = 10% → 100-50 = 50; disputes 1 escalated,
			// 1 lost → 100-10-20 = 70; answers 36 h / 2 = 18 h → 100-6×100/36 = 83.33;
			// rating 18/4 = 4.5 → 25×3.5 = 87.5. (30×80 + 20×50 + 20×70 + 10×83.33 + 20×87.5)/100
			// = (2400+1000+1400+833.3+1750)/100 = 73.83 → 74, fair.
			in: Inputs{Shipping: order.ShippingFacts{Paid: 20, Due: 10, OnTime: 8},
				AfterSale: AfterSaleFacts{Requests: 2, Escalated: 1, Lost: 1, Answered: 2, AnswerHours: 36}, Reviews: 4, RatingSum: 18},
			scores: map[string]float64{FactorOnTime: 80, FactorAfterSale: 50, FactorDisputes: 70, FactorAnswerTime: 83.3, FactorRating: 87.5},
			score:  74, level: Fair},
		{name: "a model shop",
			// 100, 100-500×1/100 = 95, 100, answers in 6 h = 100, 5 stars = 100:
			// (3000+1900+2000+1000+2000)/100 = 99, excellent.
			in: Inputs{Shipping: order.ShippingFacts{Paid: 100, Due: 100, OnTime: 100},
				AfterSale: AfterSaleFacts{Requests: 1, Answered: 1, AnswerHours: 6}, Reviews: 10, RatingSum: 50},
			scores: map[string]float64{FactorOnTime: 100, FactorAfterSale: 95, FactorDisputes: 100, FactorAnswerTime: 100, FactorRating: 100},
			score:  99, level: Excellent},
		{name: "a failing shop, each factor held at 0",
			// on time 0/10 = 0; 10/10 after-sale → 100-500 → 0; 5 escalated, 4 lost → 100-50-80 → 0;
			// 100 h answers → 0; 1 star → 0: score 0, poor.
			in: Inputs{Shipping: order.ShippingFacts{Paid: 10, Due: 10, OnTime: 0},
				AfterSale: AfterSaleFacts{Requests: 10, Escalated: 5, Lost: 4, Answered: 1, AnswerHours: 100}, Reviews: 3, RatingSum: 3},
			scores: map[string]float64{FactorOnTime: 0, FactorAfterSale: 0, FactorDisputes: 0, FactorAnswerTime: 0, FactorRating: 0},
			score:  0, level: Poor},
		{name: "only reviews",
			// 80, 80, 80, 80 and 3 stars = 50: (2400+1600+1600+800+1000)/100 = 74, fair.
			in:     Inputs{Reviews: 2, RatingSum: 6},
			scores: map[string]float64{FactorOnTime: 80, FactorAfterSale: 80, FactorDisputes: 80, FactorAnswerTime: 80, FactorRating: 50},
			score:  74, level: Fair},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			score, level, factors := Compute(c.in)
			if score != c.score || level != c.level {
				t.Errorf("score %d %s, want %d %s", score, level, c.score, c.level)
			}
			for name, want := range c.scores {
				if got := factors[name].Score; got != want {
					t.Errorf("%s scores %v, want %v", name, got, want)
				}
			}
			sum := 0
			for _, f := range factors {
				sum += f.Weight
			}
			if sum != 100 {
				t.Errorf("weights sum to %d", sum)
			}
		})
	}
}

// facts are fixed inputs standing for the shop's orders, after-sale
// requests and reviews (the sources' own tests cover how they count).
type facts struct {
	mu        sync.Mutex
	shipping  order.ShippingFacts
	afterSale AfterSaleFacts
	reviews   [2]int64
}

func (f *facts) ShippingFacts(context.Context, string, time.Time, time.Time, time.Duration) (order.ShippingFacts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.shipping, nil
}

func (f *facts) AfterSaleFacts(context.Context, string, time.Time, time.Time) (AfterSaleFacts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.afterSale, nil
}

func (f *facts) RatingSince(context.Context, string, time.Time) (int64, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reviews[0], f.reviews[1], nil
}

func statusOf(err error) int {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Status
	}
	if err == nil {
		return 0
	}
	return 500
}

func newService(t *testing.T, e *engine.Engine, src Sources) (*Service, *time.Time) {
	t.Helper()
	enginetest.AllowFullScan(t, e, "credit_shops", "the operators' list reads every shop's record")
	svc, err := New(context.Background(), e, src, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)
	svc.SetClock(func() time.Time { return now })
	return svc, &now
}

func TestPenaltiesAndAppeals(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		f := &facts{}
		svc, now := newService(t, e, Sources{Orders: f, AfterSales: f, Reviews: f})
		ctx := context.Background()
		shop, other := engine.NewID(), engine.NewID()

		// A new shop: neutral, open.
		cr, err := svc.Credit(ctx, shop)
		if err != nil || cr.Score != 80 || cr.Level != Good || cr.ComputedAt != nil {
			t.Fatalf("new shop: %+v %v", cr, err)
		}
		if err := svc.CanPlace(ctx, shop); err != nil {
			t.Fatalf("new shop closed: %v", err)
		}

		// 6 of 10 shipments late (60%): a warning and no new orders; 3 disputes lost: a withdrawal hold;
		// the score (30×40 + 20×0 + 20×10 + 10×80 + 20×80)/100 = 38 is under 40: off the market.
		f.shipping = order.ShippingFacts{Paid: 10, Due: 10, OnTime: 4}
		f.afterSale = AfterSaleFacts{Requests: 3, Escalated: 3, Lost: 3}
		rep, err := svc.Compute(ctx, shop)
		if err != nil || rep.Issued != 4 || rep.Score != 38 || rep.Level != Poor {
			t.Fatalf("compute: %+v %v, want 38, poor, 4 penalties", rep, err)
		}
		if rep, _ := svc.Compute(ctx, shop); rep.Issued != 0 {
			t.Fatalf("the next day's run gave %d penalties again", rep.Issued)
		}
		if err := svc.CanPlace(ctx, shop); statusOf(err) != http.StatusForbidden {
			t.Fatalf("placing under no-orders: %v", err)
		}
		if err := svc.CanWithdraw(ctx, shop); statusOf(err) != http.StatusForbidden {
			t.Fatalf("withdrawing under a hold: %v", err)
		}
		if st, _ := svc.Standing(ctx, shop); !st.OffMarket {
			t.Fatalf("standing %+v, want off the market", st)
		}
		if err := svc.CanPlace(ctx, other); err != nil {
			t.Fatalf("another shop closed: %v", err)
		}

		ps, _ := svc.Penalties(ctx, shop)
		var noOrders Penalty
		for _, p := range ps {
			if p.Kind == NoOrders {
				noOrders = p
			}
		}
		if noOrders.ID == "" || !noOrders.End.Equal(now.AddDate(0, 0, 3)) {
			t.Fatalf("no-orders penalty %+v", noOrders)
		}
		if _, err := svc.Appeal(ctx, other, noOrders.ID, "not yours"); statusOf(err) != http.StatusNotFound {
			t.Fatalf("another shop appeals: %v", err)
		}
		if _, err := svc.Decide(ctx, noOrders.ID, "revoke", "", "ops@example.com"); statusOf(err) != http.StatusConflict {
			t.Fatalf("decide without appeal: %v", err)
		}
		if _, err := svc.Appeal(ctx, shop, noOrders.ID, "快递停运，有证明"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Appeal(ctx, shop, noOrders.ID, "again"); statusOf(err) != http.StatusConflict {
			t.Fatalf("second appeal: %v", err)
		}
		queue, _ := svc.AllPenalties(ctx, true)
		if len(queue) != 1 || queue[0].ID != noOrders.ID || queue[0].TenantID != shop {
			t.Fatalf("appeal queue %+v", queue)
		}
		p, err := svc.Decide(ctx, noOrders.ID, "revoke", "证明属实", "ops@example.com")
		if err != nil || p.Status != Revoked || p.Appeal.Operator != "ops@example.com" {
			t.Fatalf("decide: %+v %v", p, err)
		}
		if _, err := svc.Decide(ctx, noOrders.ID, "uphold", "", "x"); statusOf(err) != http.StatusConflict {
			t.Fatalf("second decision: %v", err)
		}
		svc.cache = map[string]cached{} // another replica's cache would expire within cacheFor
		if err := svc.CanPlace(ctx, shop); err != nil {
			t.Fatalf("placing after the penalty was revoked: %v", err)
		}
		// The hold ends by itself.
		*now = now.AddDate(0, 0, 31)
		svc.cache = map[string]cached{}
		if err := svc.CanWithdraw(ctx, shop); err != nil {
			t.Fatalf("withdrawing after the hold ended: %v", err)
		}
		all, err := svc.All(ctx)
		if err != nil || len(all) != 1 || all[0].TenantID != shop {
			t.Fatalf("all: %+v %v", all, err)
		}
	})
}

// TestComputeConcurrently: runners computing one shop at once give each
// penalty once.
func TestComputeConcurrently(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		f := &facts{shipping: order.ShippingFacts{Paid: 20, Due: 20, OnTime: 2}}
		svc, _ := newService(t, e, Sources{Orders: f})
		ctx := context.Background()
		shop := engine.NewID()
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := svc.Compute(ctx, shop); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		ps, _ := svc.Penalties(ctx, shop)
		kinds := map[string]int{}
		for _, p := range ps {
			kinds[p.Rule]++
		}
		// 90% late: late_shipping and late_shipping_severe once each; the score
		// (30×10 + 20×100 + 20×100 + 10×80 + 20×80)/100 = 67 is above 40.
		if len(ps) != 2 || kinds["late_shipping"] != 1 || kinds["late_shipping_severe"] != 1 {
			t.Fatalf("penalties %+v", kinds)
		}
		cr, _ := svc.Credit(ctx, shop)
		if cr.Score != 67 || cr.Level != Fair {
			t.Fatalf("credit %d %s, want 67 fair", cr.Score, cr.Level)
		}
	})
}

func TestPenalizeOnce(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		svc, _ := newService(t, e, Sources{})
		ctx := context.Background()
		shop := engine.NewID()
		a, err := svc.Penalize(ctx, shop, OffMarket, "counterfeit", "a counterfeit product", "report-1", 30)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := svc.Penalize(ctx, shop, OffMarket, "counterfeit", "a counterfeit product", "report-1", 30)
		if a.ID != b.ID {
			t.Fatalf("the same report penalised twice")
		}
		if st, _ := svc.Standing(ctx, shop); !st.OffMarket {
			t.Fatalf("standing %+v, want off the market", st)
		}
		if _, err := svc.Penalize(ctx, shop, "fine", "x", "", "", 1); statusOf(err) != http.StatusBadRequest {
			t.Fatalf("unknown kind: %v", err)
		}
	})
}
