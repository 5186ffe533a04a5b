package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"microshop/shop/credit"
	"microshop/shop/order"
	"microshop/tenants"
)

// Scheduled work touches only shops with work due. A job with a dueRule
// (a converted job) does not walk every shop each tick: it passes over
//
//   - the shops with an entry of the job due in the due index
//     (tenants.Due), entries a domain recorded when it scheduled
//     something, or the job's rule recorded after its last pass;
//   - the shops written within the rule's window (work born from a write
//     and due soon after, such as an unpaid order's deadline or an
//     interrupted placing, is found by the pass that follows the write);
//   - every shop ever written, on the process's first tick and then every
//     sweep: the fallback that finds what nothing scheduled (a deadline
//     moved by a settings change, a process that died before recording
//     activity).
//
// After a shop's pass succeeds the rule's next function says when the job
// must look again (recorded as entries), and the shop's entries due at the
// pass's start are removed; a pass that failed or never finished (a crash)
// leaves them, so the next tick runs the shop again. A pass that did
// something looks again at the next tick (a batch may have left more).
//
// A job whose work always begins with a write to the shop (a fan, an
// order, a campaign, a withdrawal, the shop's WeChat Pay account) but has
// no entries yet has a rule with written set: each tick passes over the
// shops ever written, never over a shop nothing was ever saved in.
//
// Jobs without a rule walk every shop on every tick, as before (none
// should: TestCronPassCommandsOnMongo counts a pass's commands over N and
// 10×N idle shops); the PC-store and market jobs take their shops
// themselves (pcstore.Syncer.RunDue over the due index, marketRebuild). An
// operator's run (`microshop jobs run`) walks every shop.
type dueRule struct {
	written bool // every tick over the shops ever written (no entries)
	// within, with written, bounds it to the shops written within that
	// long: work measured over a period, which ends a while after the last
	// write (credit, over the last 90 days).
	within time.Duration
	// shops, when set, lists the shops with work of the job from its
	// domain's own platform records (one query, e.g. the shops holding a
	// WeChat authorisation), instead of the due index.
	shops  func(a *app, ctx context.Context) ([]string, error)
	window time.Duration
	sweep  time.Duration
	// next lists when the job must next look at the shop (zero or more
	// times), read after a successful pass that started at now.
	next func(a *app, ctx context.Context, tenantID string, now time.Time) ([]time.Time, error)
}

// dueRules are the converted jobs.
var dueRules = map[string]dueRule{
	// The order pass: unpaid orders' deadlines (the oldest unpaid order's,
	// after each pass), interrupted placings (within the window of the
	// write that began them), shipped orders' auto-completion (scheduled
	// when the order ships: dueSubscriber), events left undelivered and
	// refunded orders to close (within the window of the write).
	"orders": {window: 10 * time.Minute, sweep: time.Hour, next: (*app).nextOrderWork},
	// Jobs over work that begins with a write: payments and refunds to
	// ask WeChat Pay about, transfers; commission to settle, withdrawals,
	// team sales; check-in repairs, points expiry and reminders to fans;
	// audiences, campaigns and deliveries; the trade bill of a shop with
	// WeChat Pay; after-sale requests.
	"payments":     {written: true},
	"distribution": {written: true},
	"points":       {written: true},
	"messages":     {written: true},
	"reconcile":    {written: true},
	// After-sale requests are a fan's writes; their deadlines act on them.
	"aftersale": {written: true},
	// Authorised accounts' tokens: the shops holding an authorisation.
	"wechat": {shops: func(a *app, ctx context.Context) ([]string, error) { return a.wxcomp.comp.AuthorizedShops(ctx) }},
	// A group deal opens after its round, which a merchant's write created;
	// its voters are told from the vote job.
	"vote": {written: true, within: 8 * 24 * time.Hour},
	// Credit is measured over the last 90 days (penalties over 30): every
	// input is a write to the shop (orders, shipping, after-sale, reviews,
	// answers), so a shop written in none of the last 90 days (and the two
	// before: its last pass sees its inputs leave the window) scores what
	// it scored, and a shop never written keeps the new shop's credit.
	"credit": {written: true, within: (credit.WindowDays + 2) * 24 * time.Hour},
}

// dueWork is the app's due index and when each converted job last swept
// every shop in this process.
type dueWork struct {
	*tenants.Due
	mu    sync.Mutex
	swept map[string]time.Time
	// leave takes this process out of the replicas' register (set when it
	// joined: replica.go), before the engine closes.
	leave func(ctx context.Context)
}

// newDueWork opens the due index over the app's engine and lets it hear
// order events (shipped orders schedule their auto-completion).
func (a *app) newDueWork(ctx context.Context) (*dueWork, error) {
	idx, err := tenants.NewDue(ctx, a.engine, func(err error) { a.log.Warn("due index", "err", err) })
	if err != nil {
		return nil, err
	}
	a.orders.Subscribe(dueSubscriber{a})
	a.pcstore.SetDue(idx) // PC-store links keep entries: a pass reads only the links due
	return &dueWork{Due: idx, swept: map[string]time.Time{}}, nil
}

// dueSubscriber schedules the order pass for a shipped order's
// auto-completion.
type dueSubscriber struct{ a *app }

// OrderEvent implements order.Subscriber.
func (s dueSubscriber) OrderEvent(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	if ev.Type != order.EventShipped || o.ShippedAt == nil || s.a.due == nil {
		return nil
	}
	st, err := s.a.orders.Settings(ctx, tenantID)
	if err != nil {
		return err
	}
	return s.a.due.Schedule(ctx, tenantID, "orders", o.ShippedAt.AddDate(0, 0, st.AutoCompleteDays))
}

// nextOrderWork is when the order pass must next look at the shop: the
// deadline of its oldest unpaid order, if it has one.
func (a *app) nextOrderWork(ctx context.Context, tenantID string, now time.Time) ([]time.Time, error) {
	_, n, err := a.orders.List(ctx, tenantID, order.Filter{Status: order.PendingPayment, Limit: 1})
	if err != nil || n == 0 {
		return nil, err
	}
	oldest, _, err := a.orders.List(ctx, tenantID, order.Filter{Status: order.PendingPayment, Limit: 1, Offset: int(n - 1)})
	if err != nil || len(oldest) == 0 {
		return []time.Time{now.Add(time.Minute)}, err // look again next tick
	}
	return []time.Time{oldest[0].ExpiresAt}, nil
}

// scheduledRun marks a context as the schedule's (not an operator's run,
// which walks every shop).
type scheduledRun struct{}

func withScheduled(ctx context.Context) context.Context {
	return context.WithValue(ctx, scheduledRun{}, true)
}

// jobShops is the shops a run of j passes over and the time its due
// entries are finished up to: tenantIDs when given; on the schedule, for
// a converted job, the shops with work due (see dueRule); else every shop.
func (a *app) jobShops(ctx context.Context, j job, tenantIDs []string) ([]string, time.Time, error) {
	now := time.Now()
	if a.due != nil {
		now = a.due.Now()
	}
	if tenantIDs != nil {
		return tenantIDs, now, nil
	}
	rule, converted := dueRules[j.name]
	if !converted || a.due == nil || ctx.Value(scheduledRun{}) == nil {
		ids, err := a.tenants.TenantIDs(ctx)
		if err != nil {
			return nil, now, fmt.Errorf("list shops: %w", err)
		}
		return ids, now, nil
	}
	// What this process heard written since the last flush counts now.
	if err := a.due.Flush(ctx); err != nil {
		return nil, now, err
	}
	if rule.shops != nil {
		ids, err := rule.shops(a, ctx)
		return ids, now, err
	}
	if rule.written && rule.within > 0 {
		ids, err := a.due.Active(ctx, now.Add(-rule.within))
		return ids, now, err
	}
	if rule.written {
		ids, err := a.due.Written(ctx)
		return ids, now, err
	}
	a.due.mu.Lock()
	last := a.due.swept[j.name]
	sweep := last.IsZero() || now.Sub(last) >= rule.sweep
	if sweep {
		a.due.swept[j.name] = now
	}
	a.due.mu.Unlock()
	if sweep { // a shop never written has no orders
		ids, err := a.due.Written(ctx)
		return ids, now, err
	}
	due, err := a.due.Shops(ctx, j.name, now)
	if err != nil {
		return nil, now, err
	}
	active, err := a.due.Active(ctx, now.Add(-rule.window))
	if err != nil {
		return nil, now, err
	}
	ids := append(due, active...)
	slices.Sort(ids)
	return slices.Compact(ids), now, nil
}

// dueFinished records a converted job's pass over a shop that started at
// upTo: when to look again, then the shop's entries due by upTo done. A
// failed pass leaves its entries for the next tick.
func (a *app) dueFinished(ctx context.Context, j job, tenantID string, upTo time.Time, report any, passErr error) {
	rule, converted := dueRules[j.name]
	if !converted || rule.next == nil || a.due == nil || passErr != nil {
		return
	}
	next, err := rule.next(a, ctx, tenantID, upTo)
	if did(countsOf(report)) {
		next = append(next, upTo.Add(time.Second)) // the next tick: a batch may have left more
	}
	for _, at := range next {
		if err == nil {
			// A time already past is the next tick: an entry due by upTo
			// would go with the entries Done removes.
			err = a.due.Schedule(ctx, tenantID, j.name, later(at, upTo.Add(time.Second)))
		}
	}
	if err == nil {
		err = a.due.Done(ctx, tenantID, j.name, upTo)
	}
	if err != nil {
		a.log.Error(j.name+" jobs: due index", "tenant", tenantID, "err", err)
	}
}

// closeDue stops the due index hearing writes and records the last.
func (a *app) closeDue(ctx context.Context) {
	if a.due == nil {
		return
	}
	if a.due.leave != nil {
		a.due.leave(ctx)
	}
	if err := a.due.Close(ctx); err != nil {
		a.log.Warn("close the due index", "err", err)
	}
}

func later(t, u time.Time) time.Time {
	if t.After(u) {
		return t
	}
	return u
}
