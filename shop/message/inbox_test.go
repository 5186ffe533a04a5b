package message

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// A notice that cannot go to WeChat reaches the inbox once however many
// dispatchers race for it, after a crash part-way, and a second delivery
// of it changes nothing.
func TestNoticeToInboxOnce(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		now := f.now()
		n := Notice{Key: "order-paid:o1", FanID: "fan-1", Kind: NoticeOrderPaid, Title: "订单支付成功", Body: "¥12.00"}
		d := Delivery{ID: "n:" + n.Key, FanID: n.FanID, Status: Queued, NextAt: now, Notice: &n, CreatedAt: now}
		_, err := f.store.InsertDeliveries(ctx, f.shop.ID, []Delivery{d})
		must(t, err)
		item := InboxItem{ID: d.ID, FanID: d.FanID, Kind: n.Kind, Title: n.Title, Body: n.Body, Channel: ChannelInbox, CreatedAt: now}
		// A dispatcher that died after the item, before ending the delivery
		// (MongoDB writes them apart).
		must(t, f.store.AddToInbox(ctx, f.shop.ID, item))
		var won atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				ok, err := f.store.DeliverToInbox(ctx, f.shop.ID, item, "no account")
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d dispatchers delivered the notice, want 1", won.Load())
		}
		got, err := f.store.Delivery(ctx, f.shop.ID, d.ID)
		if err != nil || got.Status != Sent || got.Channel != ChannelInbox || got.Reason != "no account" || got.Attempts != 1 {
			t.Fatalf("delivery %+v %v", got, err)
		}
		if ok, err := f.store.DeliverToInbox(ctx, f.shop.ID, item, "again"); ok || err != nil {
			t.Fatalf("a delivered notice delivered again: %v %v", ok, err)
		}
		items, err := f.store.Inbox(ctx, f.shop.ID, n.FanID, time.Time{}, 10)
		if err != nil || len(items) != 1 || items[0].Title != n.Title || items[0].Channel != ChannelInbox {
			t.Fatalf("inbox %+v %v", items, err)
		}
	})
}

// countingLeaser runs every function, counting the runs (dispatch passes).
type countingLeaser struct{ runs atomic.Int32 }

func (l *countingLeaser) Run(ctx context.Context, _ string, _ time.Duration, fn func(context.Context) error) (bool, error) {
	l.runs.Add(1)
	return true, fn(ctx)
}

// Notices queued one after another within the gathering time go out in
// one dispatch pass, not a pass each (a busy shop's order notices).
func TestKicksGathered(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		leaser := &countingLeaser{}
		svc := NewService(Options{Store: f.store, Fans: f.fans, Sender: f.sender, Tenants: f.lookup, Leaser: leaser, Log: discard})
		svc.SetClock(clock.Now)
		// Generous for a loaded machine: the 10 notices (3 writes each, on
		// one FerretDB connection shared with the pass the first one
		// started) must be queued within it.
		svc.gather = 2 * time.Second
		ctx := context.Background()
		fans := make([]string, 10)
		for i := range fans {
			fans[i] = f.browserFan()
		}
		var keys []string
		for _, fanID := range fans {
			n := Notice{Key: "order-paid:gather" + fanID, FanID: fanID, Kind: NoticeOrderPaid, Title: "订单支付成功", Body: "¥1.00"}
			must(t, svc.Notify(ctx, f.shop.ID, n))
			keys = append(keys, "n:"+n.Key)
		}
		svc.Wait()
		for _, id := range keys {
			d, err := f.store.Delivery(ctx, f.shop.ID, id)
			if err != nil || d.Status != Sent || d.Channel != ChannelInbox {
				t.Fatalf("delivery %s: %+v %v", id, d, err)
			}
		}
		if n := leaser.runs.Load(); n < 1 || n > 2 {
			t.Fatalf("%d dispatch passes for 10 notices queued within the gathering time, want 1 (2 at most)", n)
		}
	})
}
