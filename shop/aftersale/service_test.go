package aftersale

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

func line(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// TestRefundOnlyApproved: the merchant approves a refund-only request on a
// shipped order; the refund goes through the order once, and the line is
// free for a new request after it.
func TestRefundOnlyApproved(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		fanID := engine.NewID()
		o := f.order(fanID, order.Shipped)
		r := f.create(fanID, o.ID, CreateRequest{Type: RefundOnly, Reason: "broken", Amount: 5000,
			Lines: []LineRequest{{Line: line(0), Quantity: 1}}, Images: []string{f.photo}})
		if r.Status != Pending || r.DueKind != DueAnswer || !r.DueAt.Equal(f.now().Add(48*time.Hour)) {
			t.Fatalf("created %+v", r)
		}
		if _, err := f.svc.Create(ctx, f.shop, fanID, o.ID, CreateRequest{Type: RefundOnly, Reason: "again", Amount: 100,
			Lines: []LineRequest{{Line: line(0)}}}); err == nil {
			t.Fatal("a second open request on line 0 was accepted")
		} else {
			wantStatus(t, err, 409)
		}
		// Line 1 is free.
		other := f.create(fanID, o.ID, CreateRequest{Type: ReturnRefund, Reason: "wrong size", Amount: 3000,
			Lines: []LineRequest{{Line: line(1)}}})
		open, err := f.svc.OpenAfterSale(ctx, f.shop, o.ID)
		if err != nil || !open {
			t.Fatalf("open = %v, %v", open, err)
		}
		got, err := f.svc.Approve(ctx, f.shop, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != Refunded || got.ApprovedBy != ByMerchant {
			t.Fatalf("approved: %+v", got)
		}
		f.oneRefund(r.ID, 5000)
		if _, err := f.svc.Approve(ctx, f.shop, r.ID); err == nil {
			t.Fatal("approved twice")
		} else {
			wantStatus(t, err, 409)
		}
		// Line 0 is free again; the withdrawn one frees line 1.
		f.create(fanID, o.ID, CreateRequest{Type: RefundOnly, Reason: "the other cup", Amount: 1000,
			Lines: []LineRequest{{Line: line(0)}}})
		if _, err := f.svc.Withdraw(ctx, f.shop, fanID, other.ID); err != nil {
			t.Fatal(err)
		}
		f.create(fanID, o.ID, CreateRequest{Type: RefundOnly, Reason: "changed my mind", Amount: 1000,
			Lines: []LineRequest{{Line: line(1)}}})
	})
}

// TestOneOpenRequestPerLine: requests racing for the same line: one is
// created, the others are 409s.
func TestOneOpenRequestPerLine(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		fanID := engine.NewID()
		o := f.order(fanID, order.Completed)
		var ok, conflict atomic.Int32
		together(8, func(i int) {
			// Half name line 1 by number, half by its product id; all take line 0 or not.
			ref := line(1)
			if i%2 == 1 {
				ref = line(o.Lines[1].ProductID)
			}
			_, err := f.svc.Create(context.Background(), f.shop, fanID, o.ID, CreateRequest{Type: ReturnRefund, Reason: "race",
				Amount: 100, Lines: []LineRequest{{Line: ref}}})
			if err == nil {
				ok.Add(1)
			} else {
				wantStatus(t, err, 409)
				conflict.Add(1)
			}
		})
		if ok.Load() != 1 || conflict.Load() != 7 {
			t.Fatalf("created %d, refused %d; want 1 and 7", ok.Load(), conflict.Load())
		}
	})
}

// TestAnswerDeadlineOnce: a request the merchant does not answer within 48
// hours is approved by the pass, once, however many passes run at once.
func TestAnswerDeadlineOnce(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		fanID := engine.NewID()
		o := f.order(fanID, order.Shipped)
		r := f.create(fanID, o.ID, CreateRequest{Type: RefundOnly, Reason: "late", Amount: 13000})
		ret := f.create(fanID, f.order(fanID, order.Completed).ID, CreateRequest{Type: ReturnRefund, Reason: "too big", Amount: 3000,
			Lines: []LineRequest{{Line: line(1)}}})
		f.advance(47 * time.Hour)
		if rep := f.run(); rep.Approved+rep.Refunded != 0 {
			t.Fatalf("before the deadline: %+v", rep)
		}
		f.advance(2 * time.Hour)
		var approved, refunded atomic.Int32
		together(4, func(int) {
			rep, err := f.svc.RunJobs(context.Background(), f.shop)
			if err != nil {
				t.Error(err)
			}
			approved.Add(int32(rep.Approved))
			refunded.Add(int32(rep.Refunded))
		})
		if approved.Load() != 1 || refunded.Load() != 1 {
			t.Fatalf("approved %d, refunded %d by four passes; want 1 and 1", approved.Load(), refunded.Load())
		}
		f.oneRefund(r.ID, 13000)
		if got := f.get(r.ID); got.Status != Refunded || got.ApprovedBy != ByDeadline || got.DueAt != nil {
			t.Fatalf("after the deadline: %+v", got)
		}
		got := f.get(ret.ID)
		if got.Status != AwaitingReturn || got.DueKind != DueReturn {
			t.Fatalf("return after the deadline: %+v", got)
		}
		// The return is never shipped: 7 days later it closes, once.
		f.advance(7*24*time.Hour + time.Minute)
		var closed atomic.Int32
		together(3, func(int) {
			rep, err := f.svc.RunJobs(context.Background(), f.shop)
			if err != nil {
				t.Error(err)
			}
			closed.Add(int32(rep.Closed))
		})
		if closed.Load() != 1 {
			t.Fatalf("closed %d times", closed.Load())
		}
		if got := f.get(ret.ID); got.Status != Closed || got.ClosedReason != "timed_out" {
			t.Fatalf("unshipped return: %+v", got)
		}
		if rep := f.run(); rep != (JobReport{}) {
			t.Fatalf("a pass with nothing due did %+v", rep)
		}
		f.oneRefund(r.ID, 13000)
	})
}

// TestApprovalRacesDeadline: the merchant approves while the deadline
// fires: one refund.
func TestApprovalRacesDeadline(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		fanID := engine.NewID()
		var ids []string
		for range 3 {
			o := f.order(fanID, order.Shipped)
			ids = append(ids, f.create(fanID, o.ID, CreateRequest{Type: RefundOnly, Reason: "race", Amount: 2000}).ID)
		}
		f.advance(48 * time.Hour)
		for _, id := range ids {
			together(4, func(i int) {
				if i%2 == 0 {
					_, _ = f.svc.Approve(context.Background(), f.shop, id)
				} else if _, err := f.svc.RunJobs(context.Background(), f.shop); err != nil {
					t.Error(err)
				}
			})
			f.oneRefund(id, 2000)
		}
	})
}

// TestReturnRefund: approved, shipped back, not confirmed within 7 days:
// the refund goes out once; an exchange confirmed by the merchant ends
// without money.
func TestReturnRefund(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		fanID := engine.NewID()
		o := f.order(fanID, order.Completed)
		r := f.create(fanID, o.ID, CreateRequest{Type: ReturnRefund, Reason: "too big", Amount: 10000,
			Lines: []LineRequest{{Line: line(0)}}})
		x := f.create(fanID, o.ID, CreateRequest{Type: Exchange, Reason: "other colour", Lines: []LineRequest{{Line: line(1)}}})
		for _, id := range []string{r.ID, x.ID} {
			if _, err := f.svc.ShipBack(ctx, f.shop, fanID, id, ReturnRequest{Carrier: "SF", TrackingNo: "SF1"}); err == nil {
				t.Fatal("shipped back before approval")
			}
			if got, err := f.svc.Approve(ctx, f.shop, id); err != nil || got.Status != AwaitingReturn {
				t.Fatalf("approve: %+v %v", got, err)
			}
			if _, err := f.svc.ShipBack(ctx, f.shop, engine.NewID(), id, ReturnRequest{Carrier: "SF", TrackingNo: "SF1"}); err == nil {
				t.Fatal("another fan shipped the return")
			} else {
				wantStatus(t, err, 404)
			}
			if _, err := f.svc.ShipBack(ctx, f.shop, fanID, id, ReturnRequest{Carrier: "", TrackingNo: "SF1"}); err == nil {
				t.Fatal("no carrier accepted")
			} else {
				wantStatus(t, err, 400)
			}
			if got, err := f.svc.ShipBack(ctx, f.shop, fanID, id, ReturnRequest{Carrier: "SF", TrackingNo: "SF1"}); err != nil ||
				got.Status != Returned || got.DueKind != DueConfirm {
				t.Fatalf("ship back: %+v %v", got, err)
			}
		}
		if got, err := f.svc.ConfirmReturn(ctx, f.shop, x.ID); err != nil || got.Status != Exchanged || got.RefundStatus != "" {
			t.Fatalf("exchange confirmed: %+v %v", got, err)
		}
		f.advance(7*24*time.Hour + time.Second)
		var refunded atomic.Int32
		together(3, func(int) {
			rep, err := f.svc.RunJobs(ctx, f.shop)
			if err != nil {
				t.Error(err)
			}
			refunded.Add(int32(rep.Refunded))
		})
		if refunded.Load() != 1 {
			t.Fatalf("refunded %d times", refunded.Load())
		}
		f.oneRefund(r.ID, 10000)
		if len(f.refunds(o.ID, x.ID)) != 0 {
			t.Fatal("an exchange refunded")
		}
	})
}

// TestUnshippedRefund: a refund-only request on an order not shipped is
// refunded after 24 hours if the merchant neither shipped nor answered;
// shipped in time, the merchant has the 48-hour answer deadline instead.
func TestUnshippedRefund(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		fanID := engine.NewID()
		a := f.order(fanID, order.Paid)
		b := f.order(fanID, order.Paid)
		ra := f.create(fanID, a.ID, CreateRequest{Type: RefundOnly, Reason: "too slow", Amount: a.Paid})
		rb := f.create(fanID, b.ID, CreateRequest{Type: RefundOnly, Reason: "too slow", Amount: 100})
		if ra.DueKind != DueUnshipped || !ra.DueAt.Equal(f.now().Add(24*time.Hour)) {
			t.Fatalf("created %+v", ra)
		}
		if _, err := f.svc.Create(ctx, f.shop, fanID, a.ID, CreateRequest{Type: ReturnRefund, Reason: "x", Amount: 1}); err == nil {
			t.Fatal("a return on an unshipped order accepted")
		}
		f.advance(23 * time.Hour)
		if _, err := f.orders.Ship(ctx, f.shop, b.ID, "SF", "SF2"); err != nil {
			t.Fatal(err)
		}
		f.advance(2 * time.Hour)
		rep := f.run()
		if rep.Refunded != 1 || rep.Rescheduled != 1 {
			t.Fatalf("pass: %+v", rep)
		}
		f.oneRefund(ra.ID, a.Paid)
		if got, _ := f.orders.Get(ctx, f.shop, a.ID); got.Status != order.Refunded {
			t.Fatalf("order a is %s", got.Status)
		}
		if got := f.get(rb.ID); got.Status != Pending || got.DueKind != DueAnswer {
			t.Fatalf("shipped in time: %+v", got)
		}
		f.advance(24 * time.Hour)
		if rep := f.run(); rep.Refunded != 1 {
			t.Fatalf("answer deadline: %+v", rep)
		}
		f.oneRefund(rb.ID, 100)
	})
}

// TestEscalationDecided: rejected, escalated, queued for the platform,
// decided by an operator (twice at once): one refund.
func TestEscalationDecided(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		fanID := engine.NewID()
		o := f.order(fanID, order.Completed)
		r := f.create(fanID, o.ID, CreateRequest{Type: RefundOnly, Reason: "not as described", Amount: 6000})
		if _, err := f.svc.Escalate(ctx, f.shop, fanID, r.ID); err == nil {
			t.Fatal("escalated before a rejection")
		} else {
			wantStatus(t, err, 409)
		}
		if _, err := f.svc.Reject(ctx, f.shop, r.ID, ""); err == nil {
			t.Fatal("rejected without a reason")
		}
		if got, err := f.svc.Reject(ctx, f.shop, r.ID, "used"); err != nil || got.Status != Rejected || got.DueKind != DueEscalate {
			t.Fatalf("reject: %+v %v", got, err)
		}
		got, err := f.svc.Escalate(ctx, f.shop, fanID, r.ID)
		if err != nil || got.Status != Escalated || !got.Queued {
			t.Fatalf("escalate: %+v %v", got, err)
		}
		enginetest.AllowFullScan(t, e, queueColl, "the open dispute queue is read whole")
		queue, err := f.svc.Disputes().List(ctx, DisputeOpen, 50)
		if err != nil || len(queue) != 1 || queue[0].ID != r.ID || queue[0].TenantID != f.shop ||
			!queue[0].TargetAt.Equal(queue[0].EscalatedAt.Add(48*time.Hour)) {
			t.Fatalf("queue = %+v, %v", queue, err)
		}
		if _, err := f.svc.Decide(ctx, f.shop, r.ID, "op", DecideRequest{Outcome: "maybe"}); err == nil {
			t.Fatal("a decision that is neither refund nor deny")
		} else {
			wantStatus(t, err, 400)
		}
		if _, err := f.svc.Decide(ctx, f.shop, r.ID, "op", DecideRequest{Outcome: OutcomeRefund, Amount: o.Paid + 1}); err == nil {
			t.Fatal("a refund above what was paid")
		} else {
			wantStatus(t, err, 400)
		}
		together(4, func(int) {
			if _, err := f.svc.Decide(ctx, f.shop, r.ID, "op", DecideRequest{Outcome: OutcomeRefund, Amount: 5000, Note: "photos agree"}); err != nil {
				t.Error(err)
			}
		})
		f.oneRefund(r.ID, 5000)
		if _, err := f.svc.Decide(ctx, f.shop, r.ID, "op", DecideRequest{Outcome: OutcomeDeny}); err == nil {
			t.Fatal("decided again the other way")
		}
		d, err := f.svc.Disputes().Get(ctx, r.ID)
		if err != nil || d.Status != DisputeDecided || d.Outcome != OutcomeRefund || d.DecidedAt == nil {
			t.Fatalf("dispute = %+v, %v", d, err)
		}
		if queue, _ := f.svc.Disputes().List(ctx, DisputeOpen, 50); len(queue) != 0 {
			t.Fatalf("queue after the decision = %+v", queue)
		}
		facts, err := f.svc.Facts(ctx, f.shop, f.now().Add(-time.Hour), f.now().Add(time.Hour))
		if err != nil || facts.Requests != 1 || facts.Escalated != 1 || facts.Lost != 1 || facts.Answered != 1 {
			t.Fatalf("facts = %+v, %v", facts, err)
		}
		if facts, _ := f.svc.Facts(ctx, f.shop, f.now().Add(time.Hour), f.now().Add(2*time.Hour)); facts != (Facts{}) {
			t.Fatalf("facts of a later hour = %+v", facts)
		}
	})
}

// TestBadInput: what a shopper may not ask gets a 4xx, and no one reaches
// another fan's order or request.
func TestBadInput(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		f := newFixture(t, e)
		fanID := engine.NewID()
		o := f.order(fanID, order.Completed)
		cases := []struct {
			name   string
			fan    string
			order  string
			in     CreateRequest
			status int
		}{
			{"another fan's order", engine.NewID(), o.ID, CreateRequest{Type: RefundOnly, Reason: "x", Amount: 1}, 404},
			{"no such order", fanID, engine.NewID(), CreateRequest{Type: RefundOnly, Reason: "x", Amount: 1}, 404},
			{"malformed order id", fanID, "nope", CreateRequest{Type: RefundOnly, Reason: "x", Amount: 1}, 400},
			{"unknown type", fanID, o.ID, CreateRequest{Type: "gift", Reason: "x", Amount: 1}, 400},
			{"no reason", fanID, o.ID, CreateRequest{Type: RefundOnly, Amount: 1}, 400},
			{"zero amount", fanID, o.ID, CreateRequest{Type: RefundOnly, Reason: "x"}, 400},
			{"more than paid", fanID, o.ID, CreateRequest{Type: RefundOnly, Reason: "x", Amount: o.Paid + 1}, 400},
			{"exchange with money", fanID, o.ID, CreateRequest{Type: Exchange, Reason: "x", Amount: 1}, 400},
			{"no such line", fanID, o.ID, CreateRequest{Type: RefundOnly, Reason: "x", Amount: 1, Lines: []LineRequest{{Line: line(5)}}}, 400},
			{"unknown sku", fanID, o.ID, CreateRequest{Type: RefundOnly, Reason: "x", Amount: 1, Lines: []LineRequest{{Line: line("zz")}}}, 400},
			{"line twice", fanID, o.ID, CreateRequest{Type: RefundOnly, Reason: "x", Amount: 1,
				Lines: []LineRequest{{Line: line(0)}, {Line: line(0)}}}, 400},
			{"too many units", fanID, o.ID, CreateRequest{Type: RefundOnly, Reason: "x", Amount: 1,
				Lines: []LineRequest{{Line: line(0), Quantity: 3}}}, 400},
			{"unknown photo", fanID, o.ID, CreateRequest{Type: RefundOnly, Reason: "x", Amount: 1, Images: []string{engine.NewID()}}, 400},
			{"hidden characters", fanID, o.ID, CreateRequest{Type: RefundOnly, Reason: "x\u202e", Amount: 1}, 400},
		}
		for _, tc := range cases {
			_, err := f.svc.Create(ctx, f.shop, tc.fan, tc.order, tc.in)
			if err == nil {
				t.Fatalf("%s: accepted", tc.name)
			}
			var status int
			if fe := asFault(err); fe != nil {
				status = fe.Status
			}
			if status != tc.status {
				t.Errorf("%s: %v (status %d), want %d", tc.name, err, status, tc.status)
			}
		}
		// Past the window.
		f.advance(8 * 24 * time.Hour)
		if _, err := f.svc.Create(ctx, f.shop, fanID, o.ID, CreateRequest{Type: RefundOnly, Reason: "x", Amount: 1}); err == nil {
			t.Fatal("accepted past the window")
		} else {
			wantStatus(t, err, 409)
		}
		// Another fan, another shop.
		p := f.order(fanID, order.Shipped)
		r := f.create(fanID, p.ID, CreateRequest{Type: RefundOnly, Reason: "x", Amount: 1})
		if _, err := f.svc.GetForFan(ctx, f.shop, engine.NewID(), r.ID); err == nil {
			t.Fatal("another fan read the request")
		}
		if _, err := f.svc.Withdraw(ctx, f.shop, engine.NewID(), r.ID); err == nil {
			t.Fatal("another fan withdrew the request")
		}
		other := enginetest.Tenant(t, e)
		if _, err := f.svc.Approve(ctx, other, r.ID); err == nil {
			t.Fatal("another shop approved the request")
		} else {
			wantStatus(t, err, 404)
		}
		if _, err := f.svc.SaveSettings(ctx, f.shop, Settings{WindowDays: 7, AnswerHours: 72, UnshippedHours: 24, ReturnDays: 7,
			ConfirmDays: 7, EscalateDays: 7}); err == nil {
			t.Fatal("a deadline lengthened")
		}
	})
}
