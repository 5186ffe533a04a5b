package message

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// TestQuotaRules sends six campaigns to fans in every situation WeChat's
// rules distinguish, and checks each went by the channel the rules allow,
// WeChat (the simulator, which enforces the same rules) refused nothing,
// and every fan's inbox holds everything sent to them.
func TestQuotaRules(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.svc.manual = true
		ctx := context.Background()
		w1, w1o := f.follower()
		w2, w2o := f.follower()
		var quiet []string
		var quietOpen []string
		for i := 0; i < 3; i++ {
			id, o := f.follower()
			quiet, quietOpen = append(quiet, id), append(quietOpen, o)
		}
		optedOut, _ := f.follower()
		must(t, f.svc.SetOptOut(ctx, f.shop.ID, optedOut, true))
		browser := f.browserFan()
		// Two minutes on: the follows' one-minute windows are closed.
		clock.advance(t, 2*time.Minute)
		f.writes(w1, w1o)
		f.writes(w2, w2o)
		justFollowed, jfo := f.follower() // its one-minute window is open

		for i := 1; i <= 6; i++ {
			c := f.campaign(CampaignRequest{Name: fmt.Sprintf("Sale %d", i), Kind: KindText, Text: fmt.Sprintf("Sale number %d!", i), Rule: &Rule{}})
			r := f.dispatch(f.svc)
			if r.Done != 1 {
				t.Fatalf("campaign %d: %+v", i, r)
			}
			got, err := f.svc.Campaign(ctx, f.shop.ID, c.ID)
			if err != nil || got.Status != CampaignDone || got.Recipients != 8 || got.Counts[Skipped] != 1 || got.Counts[Sent] != 7 {
				t.Fatalf("campaign %d: %+v %v", i, got, err)
			}
		}
		count := func(openID, kind string) int {
			n := 0
			for i := 1; i <= 6; i++ {
				n += f.outbox(fmt.Sprintf("Sale number %d!", i))[kind+":"+openID]
			}
			return n
		}
		checks := []struct {
			name         string
			openID       string
			custom, mass int
		}{
			{"wrote to the account: 5 customer-service messages in 48 hours, then a broadcast", w1o, 5, 1},
			{"the other who wrote", w2o, 5, 1},
			{"just followed: 3 customer-service messages in the minute, then broadcasts", jfo, 3, 2},
			{"quiet follower: 4 broadcasts a month, then the inbox", quietOpen[0], 0, 4},
		}
		for _, c := range checks {
			if cu, ma := count(c.openID, "custom"), count(c.openID, "mass"); cu != c.custom || ma != c.mass {
				t.Errorf("%s: %d custom, %d broadcasts; want %d and %d", c.name, cu, ma, c.custom, c.mass)
			}
		}
		for _, id := range append([]string{w1, w2, justFollowed, browser}, quiet...) {
			if n := len(f.inbox(id)); n != 6 {
				t.Errorf("fan %s: %d inbox items, want the 6 messages", id, n)
			}
		}
		if n := len(f.inbox(optedOut)); n != 0 {
			t.Errorf("opted-out fan got %d messages", n)
		}
		// The reasons are recorded.
		ds, err := f.svc.Deliveries(ctx, f.shop.ID, mustLast(t, f).ID, "", "", 100)
		if err != nil {
			t.Fatal(err)
		}
		reasons := map[string]string{}
		for _, d := range ds {
			reasons[d.FanID] = d.Status + "/" + d.Channel + "/" + d.Reason
		}
		for id, want := range map[string]string{optedOut: "skipped//opted out of marketing messages",
			browser: "sent/inbox/the fan has not followed the shop's WeChat account"} {
			if reasons[id] != want {
				t.Errorf("delivery to %s: %q, want %q", id, reasons[id], want)
			}
		}
		if r := reasons[quiet[0]]; r[:10] != "sent/inbox" {
			t.Errorf("quiet follower's sixth: %q", r)
		}
	})
}

func mustLast(t *testing.T, f *fixture) Campaign {
	t.Helper()
	list, _, err := f.svc.Campaigns(context.Background(), f.shop.ID, 1, 0)
	if err != nil || len(list) != 1 {
		t.Fatalf("campaigns: %v %v", list, err)
	}
	return list[0]
}

func TestTemplatesAndNotices(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.svc.manual = true
		ctx := context.Background()
		follower, fo := f.follower()
		browser := f.browserFan()
		clock.advance(t, 2*time.Minute)

		// A template campaign that says it is a service notice.
		f.campaign(CampaignRequest{Name: "Delay", Kind: KindTemplate, ServiceNotice: true, Rule: &Rule{},
			Template: &TemplateMessage{ID: "sandbox_order_shipped", Fields: map[string]string{"first": "Shipping delayed by snow",
				"keyword1": "all orders", "keyword2": "SF", "keyword3": "-"}}})
		f.dispatch(f.svc)
		if n := f.outbox("Shipping delayed")["template:"+fo]; n != 1 {
			t.Fatalf("template to the follower: %d", n)
		}
		if items := f.inbox(browser); len(items) != 1 || items[0].Title != "Shipping delayed by snow" {
			t.Fatalf("browser fan's inbox: %+v", items)
		}

		// Notices: a template when the shop set one and the fan follows,
		// else the inbox; once per key.
		_, err := f.svc.SaveSettings(ctx, f.shop.ID, Settings{Rate: 50, Templates: map[string]string{NoticeOrderPaid: "sandbox_order_paid"}})
		must(t, err)
		for i := 0; i < 3; i++ {
			for _, id := range []string{follower, browser} {
				must(t, f.svc.Notify(ctx, f.shop.ID, Notice{Key: "order-paid:o-" + id, FanID: id, Kind: NoticeOrderPaid,
					Title: "Payment received", Body: "Thanks", URL: "/s/x/orders/1",
					Fields: map[string]string{"keyword1": "o-1", "keyword2": "¥1.00", "keyword3": "now"}}))
			}
			f.dispatch(f.svc)
		}
		if n := f.outbox("Payment received")["template:"+fo]; n != 1 {
			t.Fatalf("order-paid template: %d, want 1", n)
		}
		for _, id := range []string{follower, browser} {
			n := 0
			for _, it := range f.inbox(id) {
				if it.Kind == NoticeOrderPaid {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("fan %s: %d order-paid notices in the inbox", id, n)
			}
		}
		// A kind without a template: inbox only, with the reason.
		must(t, f.svc.Commission(ctx, f.shop.ID, follower, "c1", 1234, "o-9", false))
		f.dispatch(f.svc)
		d, err := f.store.Delivery(ctx, f.shop.ID, "n:commission:c1")
		if err != nil || d.Status != Sent || d.Channel != ChannelInbox || d.Reason == "" {
			t.Fatalf("commission notice: %+v %v", d, err)
		}
	})
}

// countingSender counts sends and can cancel the dispatch after n of them
// (the process being stopped mid-campaign).
type countingSender struct {
	Sender
	sends  atomic.Int64
	after  int64
	cancel context.CancelFunc
}

func (c *countingSender) tick() {
	if n := c.sends.Add(1); n == c.after && c.cancel != nil {
		c.cancel()
	}
}

func (c *countingSender) SendText(ctx context.Context, tenantID, openID, text string) error {
	err := c.Sender.SendText(ctx, tenantID, openID, text)
	c.tick()
	return err
}

func (c *countingSender) SendMass(ctx context.Context, tenantID string, openIDs []string, text, id string) error {
	err := c.Sender.SendMass(ctx, tenantID, openIDs, text, id)
	c.tick()
	return err
}

// TestStopAndResume: a dispatch stopped mid-campaign, and a new process
// resuming it, deliver every recipient exactly once.
func TestStopAndResume(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		var talkers, quiet, browsers []string
		opens := map[string]string{}
		for i := 0; i < 6; i++ {
			id, o := f.follower()
			quiet, opens[id] = append(quiet, id), o
		}
		for i := 0; i < 4; i++ {
			browsers = append(browsers, f.browserFan())
		}
		clock.advance(t, 2*time.Minute)
		for i := 0; i < 8; i++ {
			id, o := f.follower()
			f.writes(id, o)
			talkers, opens[id] = append(talkers, id), o
		}
		dctx, cancel := context.WithCancel(ctx)
		cs := &countingSender{Sender: f.sender, after: 3, cancel: cancel}
		first := NewService(Options{Store: f.store, Fans: f.fans, Sender: cs, Tenants: f.lookup, Log: discard})
		first.SetClock(clock.Now)
		first.manual = true
		c, err := first.CreateCampaign(ctx, f.shop, CampaignRequest{Name: "Resume", Kind: KindText, Text: "Resume test", Rule: &Rule{}}, "t")
		must(t, err)
		if _, err := first.Dispatch(dctx, f.shop.ID, time.Minute); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		mid, err := f.svc.Campaign(ctx, f.shop.ID, c.ID)
		must(t, err)
		if mid.Status != CampaignSending || mid.Counts[Queued] == 0 {
			t.Fatalf("the stop came too late to test anything: %+v", mid)
		}
		// A new process picks it up.
		second := f.newService()
		second.manual = true
		f.dispatch(second)
		done, err := f.svc.Campaign(ctx, f.shop.ID, c.ID)
		must(t, err)
		if done.Status != CampaignDone || done.Counts[Sent] != 18 {
			t.Fatalf("after resuming: %+v", done)
		}
		out := f.outbox("Resume test")
		for _, id := range talkers {
			if out["custom:"+opens[id]] != 1 {
				t.Errorf("talker %s: %d customer-service messages", id, out["custom:"+opens[id]])
			}
		}
		for _, id := range quiet {
			if out["mass:"+opens[id]] != 1 {
				t.Errorf("quiet follower %s: %d broadcasts", id, out["mass:"+opens[id]])
			}
		}
		for _, id := range append(append(append([]string{}, talkers...), quiet...), browsers...) {
			if n := len(f.inbox(id)); n != 1 {
				t.Errorf("fan %s: %d inbox items", id, n)
			}
		}
	})
}

// TestCrashRecovery: deliveries a dead dispatcher left "sending". A
// broadcast batch is sent again under its clientmsgid (WeChat drops the
// repeat), so each fan has it once; a customer-service message whose
// outcome is unknown is reported, not repeated.
func TestCrashRecovery(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.svc.manual = true
		ctx := context.Background()
		a, ao := f.follower()
		b, bo := f.follower()
		talker, to := f.follower()
		clock.advance(t, 2*time.Minute)
		f.writes(talker, to)
		c := f.campaign(CampaignRequest{Name: "Crash", Kind: KindText, Text: "Crash test", Rule: &Rule{Subscribed: "yes"}})
		// What a dispatcher did before it died: materialised, claimed, chose
		// channels, reserved broadcasts, and sent the batch to WeChat (and,
		// maybe, the customer-service message) without recording it.
		now := f.now()
		var ds []Delivery
		for _, id := range []string{a, b, talker} {
			ds = append(ds, Delivery{ID: c.ID + ":" + id, CampaignID: c.ID, FanID: id, Status: Queued, NextAt: now, CreatedAt: now})
		}
		_, err := f.store.InsertDeliveries(ctx, f.shop.ID, ds)
		must(t, err)
		_, err = f.store.Advance(ctx, f.shop.ID, c.ID, "", "~", 3, true)
		must(t, err)
		month := now.In(zone(f.shop)).Format("2006-01")
		for _, d := range ds {
			ok, err := f.store.Claim(ctx, f.shop.ID, d.ID, now)
			if err != nil || !ok {
				t.Fatal("claim", err)
			}
		}
		for _, id := range []string{a, b} {
			ok, err := f.store.ReserveBroadcast(ctx, f.shop.ID, id, month)
			if err != nil || !ok {
				t.Fatal("reserve", err)
			}
			must(t, f.store.SetChannel(ctx, f.shop.ID, c.ID+":"+id, ChannelMass, "batch1crash00000"))
		}
		must(t, f.sender.SendMass(ctx, f.shop.ID, []string{ao, bo}, "Crash test", "batch1crash00000"))
		must(t, f.store.SetChannel(ctx, f.shop.ID, c.ID+":"+talker, ChannelCustom, ""))
		// Its claims expire.
		clock.advance(t, 3*time.Minute)
		r := f.dispatch(f.svc)
		if r.Recovered != 3 {
			t.Fatalf("recovered %+v", r)
		}
		out := f.outbox("Crash test")
		if out["mass:"+ao] != 1 || out["mass:"+bo] != 1 || out["custom:"+to] != 0 {
			t.Fatalf("outbox after recovery: %v", out)
		}
		d, err := f.store.Delivery(ctx, f.shop.ID, c.ID+":"+talker)
		if err != nil || d.Status != Failed || d.Reason == "" {
			t.Fatalf("the interrupted customer-service message: %+v %v", d, err)
		}
		for _, id := range []string{a, b} {
			d, err := f.store.Delivery(ctx, f.shop.ID, c.ID+":"+id)
			if err != nil || d.Status != Sent || d.Channel != ChannelMass {
				t.Fatalf("broadcast delivery: %+v %v", d, err)
			}
		}
		if got, _ := f.svc.Campaign(ctx, f.shop.ID, c.ID); got.Status != CampaignDone {
			t.Fatalf("campaign %+v", got)
		}
	})
}

// flakySender fails the first n sends as WeChat being unreachable.
type flakySender struct {
	Sender
	mu   sync.Mutex
	left int
}

func (s *flakySender) SendText(ctx context.Context, tenantID, openID, text string) error {
	s.mu.Lock()
	fail := s.left > 0
	s.left--
	s.mu.Unlock()
	if fail {
		return &MassError{Code: -1, Msg: "system busy"}
	}
	return s.Sender.SendText(ctx, tenantID, openID, text)
}

func TestRetryWithBackoff(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		talker, to := f.follower()
		clock.advance(t, 2*time.Minute)
		f.writes(talker, to)
		f.sender = &flakySender{Sender: f.sender, left: 2}
		svc := f.newService()
		svc.manual = true
		c, err := svc.CreateCampaign(ctx, f.shop, CampaignRequest{Name: "Retry", Kind: KindText, Text: "Retry test", Rule: &Rule{}}, "t")
		must(t, err)
		r := f.dispatch(svc)
		if r.Retried != 1 || r.Sent != 0 {
			t.Fatalf("first pass: %+v", r)
		}
		d, _ := f.store.Delivery(ctx, f.shop.ID, c.ID+":"+talker)
		if d.Status != Queued || !d.NextAt.After(f.now()) {
			t.Fatalf("after a busy WeChat: %+v", d)
		}
		// Not before its time; then again (busy), then through.
		if r := f.dispatch(svc); r.Retried != 0 || r.Sent != 0 {
			t.Fatalf("retried too early: %+v", r)
		}
		clock.advance(t, 3*time.Second)
		f.dispatch(svc)
		clock.advance(t, 5*time.Second)
		f.dispatch(svc)
		d, _ = f.store.Delivery(ctx, f.shop.ID, c.ID+":"+talker)
		if d.Status != Sent || d.Attempts != 3 || f.outbox("Retry test")["custom:"+to] != 1 {
			t.Fatalf("after retries: %+v", d)
		}
	})
}

func TestThrottle(t *testing.T) {
	l := newLimiter(20)
	start := time.Now()
	for i := 0; i < 11; i++ {
		if err := l.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 450*time.Millisecond || took > 2*time.Second {
		t.Fatalf("11 sends at 20/s took %s, want about 500ms", took)
	}
}

// TestScheduled: a scheduled campaign waits for its time.
func TestScheduled(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.svc.manual = true
		ctx := context.Background()
		fanID := f.browserFan()
		c := f.campaign(CampaignRequest{Name: "Later", Kind: KindText, Text: "Later", Rule: &Rule{}, ScheduledAt: ptr(f.now().Add(time.Hour))})
		if c.Status != CampaignScheduled {
			t.Fatalf("status %s", c.Status)
		}
		if r := f.dispatch(f.svc); r.Started != 0 || len(f.inbox(fanID)) != 0 {
			t.Fatalf("sent early: %+v", r)
		}
		clock.advance(t, time.Hour+time.Second)
		if r := f.dispatch(f.svc); r.Started != 1 || r.Done != 1 || len(f.inbox(fanID)) != 1 {
			t.Fatalf("at its time: %+v", r)
		}
		// Cancelling a finished campaign is refused.
		if _, err := f.svc.CancelCampaign(ctx, f.shop.ID, c.ID); err == nil {
			t.Fatal("cancelled a finished campaign")
		}
	})
}
