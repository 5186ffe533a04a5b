package distribution_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"microshop/distribution"
	"microshop/distribution/guide"
	"microshop/distribution/ledger"
	"microshop/distribution/tree"
	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// Compile-time checks: distribution plugs into shop through these.
var (
	_ order.Attributor = (*distribution.Service)(nil)
	_ order.Subscriber = (*distribution.Service)(nil)
	_ fan.Attributor   = (*distribution.Service)(nil)
	_ fan.Merger       = (*distribution.Service)(nil)
)

var schemas = append(slices.Clone(distribution.Schemas), fan.Schema)

type locker struct{ mu sync.Mutex }

func (l *locker) Run(ctx context.Context, _ string, _ time.Duration, fn func(ctx context.Context) error) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return true, fn(ctx)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is one shop with the distribution service on an engine.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	svc    *distribution.Service
	shop   tenants.Tenant
	clock  *clock
	engine *engine.Engine
}

func newFixture(t *testing.T, e *engine.Engine) *fixture {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)}
	svc := distribution.New(e, distribution.Config{Locker: &locker{}, Fans: fan.NewStore(e)})
	svc.SetClock(c.now)
	f := &fixture{t: t, ctx: context.Background(), svc: svc, clock: c, engine: e,
		shop: tenants.Tenant{ID: enginetest.Tenant(t, e), Slug: "dist", TimeZone: "Asia/Shanghai"}}
	return f
}

func (f *fixture) settings(edit func(*distribution.Settings)) {
	f.t.Helper()
	st := distribution.DefaultSettings()
	st.Enabled = true
	if cur, err := f.svc.Settings(f.ctx, f.shop.ID); err == nil {
		st.Rev = cur.Rev // replacing whatever was saved before
	}
	if edit != nil {
		edit(&st)
	}
	if err := f.svc.SaveSettings(f.ctx, f.shop.ID, st); err != nil {
		f.t.Fatalf("save settings: %v", err)
	}
}

// distributor makes a fresh fan a distributor through parent's link.
func (f *fixture) distributor(parent *tree.Distributor) tree.Distributor {
	f.t.Helper()
	fanID := engine.NewID()
	if parent != nil {
		f.visit(fanID, distribution.Touch{DistributorCode: parent.Code, Via: "link"})
	}
	d, created, err := f.svc.Join(f.ctx, f.shop.ID, fanID)
	if err != nil || !created {
		f.t.Fatalf("join: %+v %v %v", d, created, err)
	}
	return d
}

func (f *fixture) visit(fanID string, in distribution.Touch) {
	f.t.Helper()
	if err := f.svc.Record(f.ctx, f.shop, fanID, in); err != nil {
		f.t.Fatalf("touch %+v: %v", in, err)
	}
}

func (f *fixture) binding(fanID string) distribution.Binding {
	f.t.Helper()
	b, err := f.svc.Store().Binding(f.ctx, f.shop.ID, fanID)
	if err != nil {
		f.t.Fatalf("binding of %s: %v", fanID, err)
	}
	return b
}

func (f *fixture) attribute(fanID string) order.Attribution {
	f.t.Helper()
	a, err := f.svc.Attribute(f.ctx, f.shop.ID, fanID)
	if err != nil {
		f.t.Fatalf("attribute: %v", err)
	}
	return a
}

// paidOrder is an order of goods worth amount for fanID, attributed now,
// paid (without shipping).
func (f *fixture) paidOrder(fanID string, amount int64) order.Order {
	f.t.Helper()
	now := f.clock.now()
	o := order.Order{ID: engine.NewID(), FanID: fanID, Status: order.Paid, GoodsTotal: amount, Payable: amount, Paid: amount,
		Refundable: amount, PaidAt: &now, Attribution: f.attribute(fanID),
		Lines: []order.Line{{ProductID: engine.NewID(), Title: "Tea", Price: amount, Qty: 1, Amount: amount}}}
	f.event(o, order.Event{ID: order.EventPaid, Type: order.EventPaid, Amount: amount, At: now})
	return o
}

func (f *fixture) event(o order.Order, ev order.Event) {
	f.t.Helper()
	if err := f.svc.OrderEvent(f.ctx, f.shop.ID, o, ev); err != nil {
		f.t.Fatalf("%s event of %s: %v", ev.Type, o.ID, err)
	}
}

// refund records a refund on o and delivers its event.
func (f *fixture) refund(o *order.Order, amount int64) {
	f.t.Helper()
	r := order.Refund{ID: engine.NewID(), Amount: amount, At: f.clock.now()}
	o.Refunds = append(o.Refunds, r)
	o.Refunded += amount
	o.Refundable -= amount
	f.event(*o, order.Event{ID: "refund:" + r.ID, Type: order.EventRefunded, Amount: amount, At: r.At})
}

func (f *fixture) complete(o *order.Order) {
	f.t.Helper()
	now := f.clock.now()
	o.Status, o.CompletedAt = order.Completed, &now
	f.event(*o, order.Event{ID: order.EventCompleted, Type: order.EventCompleted, At: now})
}

func (f *fixture) balance(d tree.Distributor) ledger.Balance {
	f.t.Helper()
	b, err := f.svc.Ledger().Balance(f.ctx, f.shop.ID, d.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) jobs() distribution.JobReport {
	f.t.Helper()
	r, err := f.svc.RunJobs(f.ctx, f.shop.ID)
	if err != nil {
		f.t.Fatalf("jobs: %v", err)
	}
	return r
}

func ptr[T any](v T) *T { return &v }

// TestBindingPolicies: permanent, N days, latest touch, and the protection
// period, on an injected clock; every touch is in the audit trail.
func TestBindingPolicies(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.settings(nil)
		a, b := f.distributor(nil), f.distributor(nil)
		cases := []struct {
			name string
			set  func(*distribution.Settings)
			// steps: touch by who after how long, and who holds the customer then
			steps []struct {
				after time.Duration
				who   *tree.Distributor
				want  *tree.Distributor
			}
		}{
			{"permanent", func(s *distribution.Settings) { s.Binding = distribution.BindPermanent }, []struct {
				after     time.Duration
				who, want *tree.Distributor
			}{{0, &a, &a}, {time.Hour, &b, &a}, {400 * 24 * time.Hour, &b, &a}}},
			{"30 days, renewed by the same code", func(s *distribution.Settings) { s.Binding = distribution.BindDays; s.BindingDays = 30 }, []struct {
				after     time.Duration
				who, want *tree.Distributor
			}{{0, &a, &a}, {20 * 24 * time.Hour, &b, &a}, {20 * 24 * time.Hour, &a, &a}, {25 * 24 * time.Hour, &b, &a}, {31 * 24 * time.Hour, &b, &b}}},
			{"latest wins", func(s *distribution.Settings) { s.Binding = distribution.BindLatest; s.ProtectionDays = 0 }, []struct {
				after     time.Duration
				who, want *tree.Distributor
			}{{0, &a, &a}, {time.Minute, &b, &b}, {time.Minute, &a, &a}}},
			{"latest with 7 protection days", func(s *distribution.Settings) { s.Binding = distribution.BindLatest; s.ProtectionDays = 7 }, []struct {
				after     time.Duration
				who, want *tree.Distributor
			}{{0, &a, &a}, {6 * 24 * time.Hour, &b, &a}, {2 * 24 * time.Hour, &b, &b}, {time.Hour, &a, &b}}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f.t = t
				f.settings(tc.set)
				fanID := engine.NewID()
				for i, st := range tc.steps {
					f.clock.add(st.after)
					f.visit(fanID, distribution.Touch{DistributorCode: st.who.Code, Via: "link"})
					if got := f.binding(fanID).Distributor.ID; got != st.want.ID {
						t.Fatalf("step %d: bound to %s, want %s", i, got, st.want.ID)
					}
					if got := f.attribute(fanID); got.DistributorID != st.want.ID || got.Path[0] != st.want.ID || got.Channel != "share_link" {
						t.Fatalf("step %d: attribution %+v", i, got)
					}
				}
				hist, err := f.svc.Store().History(f.ctx, f.shop.ID, fanID, 50)
				if err != nil || len(hist) != len(tc.steps) || hist[0].Kind != "touch" {
					t.Errorf("audit trail: %d entries %v", len(hist), err)
				}
			})
		}
		f.t = t
		// A days binding expires: the order is direct then.
		f.settings(func(s *distribution.Settings) { s.Binding = distribution.BindDays; s.BindingDays = 3 })
		fanID := engine.NewID()
		f.visit(fanID, distribution.Touch{DistributorCode: a.Code, Via: "link"})
		f.clock.add(4 * 24 * time.Hour)
		if got := f.attribute(fanID); got.DistributorID != "" || got.Channel != "direct" {
			t.Errorf("expired binding still attributes: %+v", got)
		}
	})
}

// TestFraud: self-binding, A↔B loops through bindings, unknown and other
// shops' codes, rates outside 0..cap, negative commission.
func TestFraud(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.settings(func(s *distribution.Settings) { s.Binding = distribution.BindLatest })
		a := f.distributor(nil)
		b := f.distributor(&a) // b joined through a's link: a is b's parent

		// Self: a opens their own link.
		f.visit(a.FanID, distribution.Touch{DistributorCode: a.Code, Via: "link"})
		if bd, err := f.svc.Store().Binding(f.ctx, f.shop.ID, a.FanID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("self-binding: %+v %v", bd, err)
		}
		// A↔B: a (b's parent) opens b's link; a must not become b's customer.
		f.visit(a.FanID, distribution.Touch{DistributorCode: b.Code, Via: "link"})
		if bd, err := f.svc.Store().Binding(f.ctx, f.shop.ID, a.FanID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("a bound to b, their own recruit: %+v %v", bd, err)
		}
		// a's own order pays a's upline only (none), never b, never a
		// (self-purchase is off).
		if got := f.attribute(a.FanID); len(got.Path) != 0 || got.DistributorID != a.ID {
			t.Errorf("a's own order attributed %+v", got)
		}
		// b's own order: L1 is a (b's parent), b earns nothing on it.
		if got := f.attribute(b.FanID); !slices.Equal(got.Path, []string{a.ID}) {
			t.Errorf("b's own order attributed %+v", got)
		}
		f.settings(func(s *distribution.Settings) { s.SelfPurchase = true })
		if got := f.attribute(b.FanID); !slices.Equal(got.Path, []string{b.ID, a.ID}) {
			t.Errorf("self-purchase on: b's order attributed %+v", got)
		}

		// Unknown and other shops' codes are a plain visit.
		other := newFixture(t, e)
		other.settings(nil)
		stranger := other.distributor(nil)
		g := engine.NewID()
		for _, code := range []string{stranger.Code, "zzzzzzzz", "", "<script>"} {
			f.visit(g, distribution.Touch{DistributorCode: code, GuideCode: code, Via: "link"})
		}
		if _, err := f.svc.Store().Binding(f.ctx, f.shop.ID, g); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("unknown codes bound the fan: %v", err)
		}
		if got := f.attribute(g); got.Channel != "direct" || got.DistributorID != "" || got.GuideID != "" {
			t.Errorf("attribution after unknown codes: %+v", got)
		}

		// Rates outside 0..cap, a third level without the switch.
		for _, tc := range []struct {
			name string
			edit func(*distribution.Settings)
			msg  string
		}{
			{"negative rate", func(s *distribution.Settings) { s.Levels = []int64{-1, 500} }, "between 0 and the cap"},
			{"rate over cap", func(s *distribution.Settings) { s.CapBps = 2000; s.Levels = []int64{2500} }, "between 0 and the cap"},
			{"sum over cap", func(s *distribution.Settings) { s.CapBps = 2000; s.Levels = []int64{1500, 1000} }, "over the cap"},
			{"cap over 100%", func(s *distribution.Settings) { s.CapBps = 10001 }, "cap_bps"},
			{"third level without the switch", func(s *distribution.Settings) { s.Levels = []int64{1000, 500, 200} }, "third_level"},
			{"no levels", func(s *distribution.Settings) { s.Levels = nil }, "1 to 2 rates"},
			{"product rate over cap", func(s *distribution.Settings) {
				s.Products = []distribution.ProductRule{{ProductID: engine.NewID(), Levels: []int64{6000, 0}}}
			}, "between 0 and the cap"},
			{"negative fixed", func(s *distribution.Settings) {
				s.Products = []distribution.ProductRule{{ProductID: engine.NewID(), Fixed: []int64{-5, 0}}}
			}, "between 0 and 10000000"},
			{"bad binding", func(s *distribution.Settings) { s.Binding = "forever" }, "permanent, days or latest"},
		} {
			st := distribution.DefaultSettings()
			tc.edit(&st)
			err := f.svc.SaveSettings(f.ctx, f.shop.ID, st)
			if !errors.Is(err, fault.ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%s: %v, want a 400 mentioning %q", tc.name, err, tc.msg)
			}
		}
		three, err := f.svc.Settings(f.ctx, f.shop.ID)
		if err != nil {
			t.Fatal(err)
		}
		three.ThirdLevel, three.Levels = true, []int64{1000, 500, 200}
		if err := f.svc.SaveSettings(f.ctx, f.shop.ID, three); err != nil || three.Warning() == "" {
			t.Errorf("three levels with the switch: %v, warning %q", err, three.Warning())
		}

		// Commission is never negative at creation: a discount larger than
		// the goods gives no commission, not a negative one.
		st := distribution.DefaultSettings()
		o := order.Order{GoodsTotal: 1000, Discount: 1500, Paid: 0, Lines: []order.Line{{Amount: 1000, Qty: 1}}}
		if es := st.Commission(o, []string{"x", "y"}); len(es) != 0 {
			t.Errorf("commission on a negative base: %+v", es)
		}
		if _, _, err := f.svc.Ledger().Earn(f.ctx, f.shop.ID, ledger.Earning{OrderID: "o", Level: 1, Beneficiary: a.ID, Amount: -1}); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("negative earning: %v", err)
		}
	})
}

// TestCommission: rates per level on the paid goods (not shipping), the
// cap, per-product rates and fixed amounts times quantity.
func TestCommission(t *testing.T) {
	st := distribution.DefaultSettings() // 10%, 5%, cap 50%
	special, fixed := engine.NewID(), engine.NewID()
	st.Products = []distribution.ProductRule{{ProductID: special, Levels: []int64{2000, 0}}, {ProductID: fixed, Fixed: []int64{150, 50}}}
	o := order.Order{GoodsTotal: 10000, ShippingFee: 800, Discount: 1000, Paid: 9800, Lines: []order.Line{
		{ProductID: engine.NewID(), Amount: 5000, Qty: 1}, {ProductID: special, Amount: 3000, Qty: 1}, {ProductID: fixed, Amount: 2000, Qty: 4}}}
	es := st.Commission(o, []string{"l1", "l2", "l3"})
	// base 9000; lines' bases 4500, 2700, 1800.
	// L1: 450 + 540 + 600 = 1590; L2: 225 + 0 + 200 = 425.
	if len(es) != 2 || es[0].Amount != 1590 || es[1].Amount != 425 || es[0].Base != 9000 || es[1].Beneficiary != "l2" {
		t.Fatalf("commission %+v", es)
	}
	st.CapBps = 1500 // cap 1350: level 2 goes first, then level 1 is cut
	st.Products = nil
	st.Levels = []int64{1000, 500}
	es = st.Commission(o, []string{"l1", "l2"})
	if len(es) != 2 || es[0].Amount != 900 || es[1].Amount != 450 {
		t.Fatalf("capped %+v", es)
	}
	st.CapBps = 1000
	es = st.Commission(o, []string{"l1", "l2"})
	if len(es) != 1 || es[0].Amount != 900 {
		t.Fatalf("cap cutting level 2 away: %+v", es)
	}
}

// TestCommissionOnce: the paid event replayed and delivered concurrently
// creates one entry per (order, level, beneficiary) and moves counters once.
func TestCommissionOnce(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.settings(nil)
		a := f.distributor(nil)
		b := f.distributor(&a)
		buyer := engine.NewID()
		f.visit(buyer, distribution.Touch{DistributorCode: b.Code, Via: "link"})
		o := f.paidOrder(buyer, 10000)
		if !slices.Equal(o.Attribution.Path, []string{b.ID, a.ID}) {
			t.Fatalf("path %v", o.Attribution.Path)
		}
		paid := order.Event{ID: order.EventPaid, Type: order.EventPaid, Amount: 10000, At: f.clock.now()}
		for range 3 {
			f.event(o, paid)
		}
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				if err := f.svc.OrderEvent(f.ctx, f.shop.ID, o, paid); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		es, err := f.svc.Ledger().ByOrder(f.ctx, f.shop.ID, o.ID)
		if err != nil || len(es) != 2 {
			t.Fatalf("entries %d %v", len(es), err)
		}
		if f.balance(b).Pending != 1000 || f.balance(a).Pending != 500 {
			t.Errorf("balances b %+v a %+v", f.balance(b), f.balance(a))
		}
		f.jobs()
		v, _ := f.svc.Tree().View(f.ctx, f.shop.ID, a.ID)
		if v.TeamSales != 10000 || v.TeamSize != 1 {
			t.Errorf("a's team sales %d size %d", v.TeamSales, v.TeamSize)
		}
		bd := f.binding(buyer)
		if bd.PaidOrders != 1 {
			t.Errorf("paid orders counted %d times", bd.PaidOrders)
		}
	})
}

// TestRefundAfterSettlementAndWithdrawal: the whole money path through the
// subscriber and the jobs.
func TestRefundAfterSettlementAndWithdrawal(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.settings(func(s *distribution.Settings) { s.AfterSaleDays = 7; s.MinWithdrawal = 100 })
		a := f.distributor(nil)
		buyer := engine.NewID()
		f.visit(buyer, distribution.Touch{DistributorCode: a.Code, Via: "link"})
		o := f.paidOrder(buyer, 10000) // 1000 commission
		f.refund(&o, 2500)             // before settlement: 250 back from pending
		if bal := f.balance(a); bal.Pending != 750 {
			t.Fatalf("after refund before settlement %+v", bal)
		}
		f.complete(&o)
		if r := f.jobs(); r.Settled != 0 {
			t.Fatalf("settled inside the after-sale window")
		}
		es, _ := f.svc.Ledger().List(f.ctx, f.shop.ID, ledger.Filter{Class: ledger.ClassCommission, OrderID: o.ID})
		for _, en := range es {
			if en.Type == ledger.TypeEarn && !en.AvailableAt.Equal(f.clock.now().AddDate(0, 0, 7)) {
				t.Errorf("expected available date %v", en.AvailableAt)
			}
		}
		f.clock.add(8 * 24 * time.Hour)
		if r := f.jobs(); r.Settled != 1 {
			t.Fatalf("settled %d", r.Settled)
		}
		if bal := f.balance(a); bal.Available != 750 || bal.Pending != 0 {
			t.Fatalf("after settlement %+v", bal)
		}
		// Withdraw 700 and get it paid; then the rest of the order is
		// refunded: 750 more comes back, the balance goes to -700.
		w, err := f.svc.Ledger().Withdraw(f.ctx, f.shop.ID, a.ID, 700, ledger.WithdrawRules{Min: 100}, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{ledger.Approve, ledger.Pay} {
			if _, err := f.svc.Ledger().Decide(f.ctx, f.shop.ID, w.ID, d, "ref"); err != nil {
				t.Fatal(err)
			}
		}
		f.refund(&o, 7500)
		f.refund(&o, 0) // a zero refund event moves nothing
		bal := f.balance(a)
		if bal.Available != -700 || bal.Withdrawn != 700 || bal.Earned != 0 {
			t.Fatalf("after full refund past the withdrawal %+v", bal)
		}
		// Netted against the next order's commission.
		o2 := f.paidOrder(buyer, 20000) // 2000
		f.complete(&o2)
		f.clock.add(8 * 24 * time.Hour)
		f.jobs()
		if bal := f.balance(a); bal.Available != 1300 {
			t.Fatalf("netted %+v", bal)
		}
		f.jobs()
		v, _ := f.svc.Tree().View(f.ctx, f.shop.ID, a.ID)
		if v.OwnSales != 20000 || v.TeamSales != 20000 {
			t.Errorf("own %d team %d sales after refunds", v.OwnSales, v.TeamSales)
		}
		r, err := f.svc.Rebuild(f.ctx, f.shop.ID)
		if err != nil || r.Counters != 0 {
			t.Errorf("rebuild found %+v %v", r, err)
		}
	})
}

// TestGuideFunnelAndHandover: a guide's QR visit, follow, order and
// refund move the funnel; a hand-over moves customers, not old orders.
func TestGuideFunnelAndHandover(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.settings(func(s *distribution.Settings) { s.Enabled = false })
		g := f.svc.Guides()
		store, _ := g.CreateLocation(f.ctx, f.shop.ID, guide.LocationInput{Name: ptr("West Lake")})
		li, _ := g.CreateGuide(f.ctx, f.shop.ID, guide.GuideInput{Name: ptr("Li"), StoreID: &store.ID})
		wang, _ := g.CreateGuide(f.ctx, f.shop.ID, guide.GuideInput{Name: ptr("Wang"), StoreID: &store.ID})
		fan1, fan2 := engine.NewID(), engine.NewID()
		f.visit(fan1, distribution.Touch{GuideCode: li.Code, Via: "link"})
		f.visit(fan1, distribution.Touch{GuideCode: li.Code, Via: "link"})
		if err := f.svc.Touch(f.ctx, f.shop.ID, fan2, "g:"+li.Code, "subscribe"); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Touch(f.ctx, f.shop.ID, fan2, "g:"+li.Code, "subscribe"); err != nil { // a repeated push
			t.Fatal(err)
		}
		if err := f.svc.Touch(f.ctx, f.shop.ID, fan2, "other-scene", "scan"); err != nil {
			t.Fatal(err)
		}
		o := f.paidOrder(fan1, 5000)
		if o.Attribution.GuideID != li.ID || o.Attribution.StoreID != store.ID || o.Attribution.Channel != "guide_qr" {
			t.Fatalf("attribution %+v", o.Attribution)
		}
		if a := f.attribute(fan2); a.Channel != "wechat_qr" || a.GuideID != li.ID {
			t.Errorf("wechat follow attribution %+v", a)
		}
		f.paidOrder(fan1, 1000)
		f.refund(&o, 1000)
		day := guide.DayOf(f.clock.now(), time.FixedZone("CST", 8*3600))
		days, err := g.Store().Days(f.ctx, f.shop.ID, guide.DayFilter{GuideID: li.ID, From: day, To: day})
		if err != nil || len(days) != 1 {
			t.Fatalf("days %+v %v", days, err)
		}
		want := guide.Counts{Visits: 3, Follows: 1, NewFans: 2, OrderingFans: 1, FirstOrders: 1, Orders: 2, PaidGMV: 6000, Refunds: 1, RefundAmount: 1000}
		if days[0].Counts != want {
			t.Errorf("funnel %+v, want %+v", days[0].Counts, want)
		}

		// Li leaves: customers go to Wang; the old order keeps Li.
		f.clock.add(time.Minute)
		r, err := f.svc.Handover(f.ctx, f.shop.ID, li.ID, wang.ID, "boss@example.com")
		if err != nil || r.Customers != 2 || r.Guide.Active {
			t.Fatalf("handover %+v %v", r, err)
		}
		if got := f.attribute(fan1); got.GuideID != wang.ID {
			t.Errorf("after hand-over fan1 goes to %s", got.GuideID)
		}
		if o.Attribution.GuideID != li.ID {
			t.Errorf("the old order moved")
		}
		hist, _ := f.svc.Store().History(f.ctx, f.shop.ID, fan1, 10)
		if len(hist) == 0 || hist[0].Kind != "handover" || hist[0].By != "boss@example.com" {
			t.Errorf("hand-over not in the trail: %+v", hist)
		}
		if _, err := f.svc.Handover(f.ctx, f.shop.ID, wang.ID, li.ID, ""); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("hand-over to a departed guide: %v", err)
		}
		// Manual re-assignment, logged.
		if _, err := f.svc.Reassign(f.ctx, f.shop.ID, fan1, "guide", "", "boss"); err != nil {
			t.Fatal(err)
		}
		if got := f.attribute(fan1); got.GuideID != "" {
			t.Errorf("unbound customer still attributed %+v", got)
		}
		if _, err := f.svc.Reassign(f.ctx, f.shop.ID, engine.NewID(), "guide", wang.ID, "boss"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("reassign an unknown customer: %v", err)
		}

		// A browser fan signs in with WeChat: its binding follows it.
		browser, wx := engine.NewID(), engine.NewID()
		f.visit(browser, distribution.Touch{GuideCode: wang.Code, Via: "link"})
		for range 2 {
			if err := f.svc.MergeFan(f.ctx, f.shop.ID, browser, wx); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.attribute(wx); got.GuideID != wang.ID {
			t.Errorf("merged fan attributed %+v", got)
		}
	})
}

// TestJoinRules: open, first purchase, approval; concurrent requests make
// one distributor; the referrer becomes the parent.
func TestJoinRules(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		if _, _, err := f.svc.Join(f.ctx, f.shop.ID, engine.NewID()); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("join with the programme off: %v", err)
		}
		f.settings(func(s *distribution.Settings) { s.Recruit = distribution.RecruitFirstPurchase })
		fanID := engine.NewID()
		if _, _, err := f.svc.Join(f.ctx, f.shop.ID, fanID); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("join before a purchase: %v", err)
		}
		f.paidOrder(fanID, 100)
		var wg sync.WaitGroup
		ids := make(chan string, 10)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, _, err := f.svc.Join(f.ctx, f.shop.ID, fanID)
				if err != nil {
					t.Error(err)
					return
				}
				ids <- d.ID
			}()
		}
		wg.Wait()
		close(ids)
		seen := map[string]bool{}
		for id := range ids {
			seen[id] = true
		}
		if len(seen) != 1 {
			t.Errorf("%d distributors for one fan", len(seen))
		}
		f.settings(func(s *distribution.Settings) { s.Recruit = distribution.RecruitApproval })
		parent := f.distributor(nil) // pending
		if parent.Status != tree.Pending {
			t.Fatalf("approval rule: %+v", parent)
		}
		if _, err := f.svc.Tree().Decide(f.ctx, f.shop.ID, parent.ID, true); err != nil {
			t.Fatal(err)
		}
		parent, _ = f.svc.Tree().Store().Light(f.ctx, f.shop.ID, parent.ID)
		child := f.distributor(&parent)
		if child.ParentID != parent.ID || child.Depth != 2 {
			t.Errorf("child %+v", child)
		}
	})
}
