package points

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"microshop/shop/order"
	"microshop/tenants/fault"
)

// Points and orders: redemption at checkout (Service is the order
// package's Discounter) and the points paid orders earn, refunds take back
// and cancellations return (Service is an order Subscriber).

// Redemption at checkout: Service implements order.Discounter.
var _ order.Discounter = (*Service)(nil)

// Quote prices using points on an order whose goods are worth goodsTotal:
// RedeemPointsPerYuan points take one yuan off, at most RedeemMaxPercent
// of the goods. Asking for more points than that allows uses only what it
// allows.
func (s *Service) Quote(ctx context.Context, tenantID, fanID string, goodsTotal, points int64) (order.Discount, error) {
	rules, err := s.store.Rules(ctx, tenantID)
	if err != nil {
		return order.Discount{}, err
	}
	n := rules.RedeemPointsPerYuan
	if n <= 0 || rules.RedeemMaxPercent <= 0 {
		return order.Discount{}, fault.Invalid("points", "this shop does not take points at checkout")
	}
	if points <= 0 {
		return order.Discount{}, fault.Invalid("points", "must be a positive number of points")
	}
	amount := min(points*100/n, goodsTotal*rules.RedeemMaxPercent/100)
	if amount <= 0 {
		return order.Discount{}, fault.Invalid("points", "%d points make no discount here (%d points take ¥1 off, at most %d%% of the goods)",
			points, n, rules.RedeemMaxPercent)
	}
	used := (amount*n + 99) / 100 // the points that discount costs, rounded up
	a, err := s.store.Account(ctx, tenantID, fanID)
	if err != nil {
		return order.Discount{}, err
	}
	if a.Balance < used {
		return order.Discount{}, &fault.Error{Status: 409, Code: "insufficient_points", Field: "points",
			Message: fmt.Sprintf("points: you have %d points; this discount needs %d", a.Balance, used)}
	}
	return order.Discount{Points: used, Amount: amount}, nil
}

// Offer is the largest points discount the fan can take on goods worth
// goodsTotal: what their balance pays for, within the shop's share cap.
func (s *Service) Offer(ctx context.Context, tenantID, fanID string, goodsTotal int64) (order.Discount, error) {
	rules, err := s.store.Rules(ctx, tenantID)
	if err != nil {
		return order.Discount{}, err
	}
	n := rules.RedeemPointsPerYuan
	if n <= 0 || rules.RedeemMaxPercent <= 0 || goodsTotal <= 0 {
		return order.Discount{}, nil
	}
	a, err := s.store.Account(ctx, tenantID, fanID)
	if err != nil {
		return order.Discount{}, err
	}
	// amount*n <= balance*100, so the points it costs (rounded up) never
	// exceed the balance.
	amount := min(a.Balance*100/n, goodsTotal*rules.RedeemMaxPercent/100)
	if amount <= 0 {
		return order.Discount{}, nil
	}
	return order.Discount{Points: (amount*n + 99) / 100, Amount: amount}, nil
}

// Reserve takes the points of an order's discount, once per order.
func (s *Service) Reserve(ctx context.Context, tenantID, fanID, orderID string, d order.Discount) error {
	_, err := s.apply(ctx, tenantID, fanID, Batch{At: s.clock(), Ops: []Op{{Key: "redeem:" + orderID, Kind: KindRedeem,
		Points: -d.Points, OrderID: orderID, Reason: fmt.Sprintf("¥%d.%02d off", d.Amount/100, d.Amount%100)}}})
	if errors.Is(err, ErrInsufficient) {
		return fault.New(http.StatusConflict, "insufficient_points", "you no longer have enough points for this discount").WithField("points")
	}
	return err
}

// OrderEvent implements order.Subscriber: paid orders earn points (once per
// order), refunds take the earned points back pro rata and give redeemed
// points back pro rata, cancelled orders give their redeemed points back.
// Every effect is keyed by the order (and refund), so redelivery is a no-op.
func (s *Service) OrderEvent(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	switch ev.Type {
	case order.EventPaid:
		return s.orderPaid(ctx, tenantID, o, ev)
	case order.EventRefunded:
		return s.orderRefunded(ctx, tenantID, o, ev)
	case order.EventCancelled:
		return s.orderCancelled(ctx, tenantID, o, ev)
	}
	return nil
}

func (s *Service) orderPaid(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	rules, err := s.store.Rules(ctx, tenantID)
	if err != nil {
		return err
	}
	pts := o.Paid / 100 * rules.OrderPointsPerYuan
	if pts <= 0 || o.FanID == "" {
		return nil
	}
	zone := time.UTC // points that never expire need no zone
	if rules.Expiry != ExpiryNever {
		if zone, err = s.orderZone(ctx, tenantID); err != nil {
			return err
		}
	}
	_, err = s.apply(ctx, tenantID, o.FanID, Batch{At: ev.At.UTC().Truncate(time.Millisecond), Ops: []Op{{Key: "order:" + o.ID,
		Kind: KindOrder, Points: pts, ExpiresAt: rules.ExpiresAt(ev.At, zone), OrderID: o.ID,
		Reason: fmt.Sprintf("%d points per yuan on ¥%d.%02d", rules.OrderPointsPerYuan, o.Paid/100, o.Paid%100)}}})
	return err
}

// orderZones remembers the shops' time zones (what a paid order's points
// expire by) for zoneTTL, so that paying an order does not read the shop's
// record each time; a shop's new time zone applies within zoneTTL.
var orderZones struct {
	sync.Mutex
	m map[string]shopZone
}

type shopZone struct {
	loc *time.Location
	at  time.Time
}

const (
	zoneTTL       = time.Minute
	maxOrderZones = 10_000
)

// orderZone is the shop's time zone, as read at most zoneTTL ago.
func (s *Service) orderZone(ctx context.Context, tenantID string) (*time.Location, error) {
	now := time.Now()
	orderZones.Lock()
	z, ok := orderZones.m[tenantID]
	orderZones.Unlock()
	if ok && now.Sub(z.at) < zoneTTL && !now.Before(z.at) {
		return z.loc, nil
	}
	t, err := s.shop(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	loc := Zone(t)
	orderZones.Lock()
	if orderZones.m == nil || len(orderZones.m) >= maxOrderZones {
		orderZones.m = map[string]shopZone{}
	}
	orderZones.m[tenantID] = shopZone{loc: loc, at: now}
	orderZones.Unlock()
	return loc, nil
}

// refundShare splits total points over an order's refunds in proportion to
// the money, so the shares of all refunds add up exactly: the share of the
// refund refundID is floor(total*through/paid) - floor(total*before/paid),
// where before and through are the money refunded before and including it.
func refundShare(total int64, o order.Order, refundID string) (before, share int64, ok bool) {
	if o.Paid <= 0 || total <= 0 {
		return 0, 0, false
	}
	var cum int64
	for _, r := range o.Refunds {
		if r.ID == refundID {
			b := total * cum / o.Paid
			th := total * min(cum+r.Amount, o.Paid) / o.Paid
			return b, th - b, true
		}
		cum += r.Amount
	}
	return 0, 0, false
}

// entryOf is the order's ledger entry of the given key prefix (order: the
// reward, redeem: the redemption); found is false when it has none.
func (s *Service) entryOf(ctx context.Context, tenantID string, o order.Order, prefix string) (e Entry, found bool, err error) {
	e, err = s.store.Entry(ctx, tenantID, o.FanID, prefix+o.ID)
	if errors.Is(err, fault.ErrNotFound) {
		return Entry{}, false, nil
	}
	return e, err == nil, err
}

func (s *Service) orderRefunded(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	refundID := strings.TrimPrefix(ev.ID, "refund:")
	at := ev.At.UTC().Truncate(time.Millisecond)
	reward, found, err := s.entryOf(ctx, tenantID, o, "order:")
	if err != nil {
		return err
	}
	if _, share, ok := refundShare(reward.Points, o, refundID); found && ok && share > 0 {
		if _, err := s.apply(ctx, tenantID, o.FanID, Batch{At: at, Ops: []Op{{Key: "clawback:" + o.ID + ":" + refundID,
			Kind: KindClawback, Points: -share, Cap: true, Prefer: lotsOf(reward.Moves), OrderID: o.ID,
			Reason: fmt.Sprintf("refund of ¥%d.%02d", ev.Amount/100, ev.Amount%100)}}}); err != nil {
			return err
		}
	}
	redeemed, found, err := s.entryOf(ctx, tenantID, o, "redeem:")
	if err != nil || !found {
		return err
	}
	before, share, ok := refundShare(-redeemed.Points, o, refundID)
	if !ok || share <= 0 {
		return nil
	}
	_, err = s.apply(ctx, tenantID, o.FanID, Batch{At: at, Ops: []Op{{Key: "redeem-return:" + o.ID + ":" + refundID,
		Kind: KindRedeemReturn, Lots: returnLots(redeemed.Moves, before, share), OrderID: o.ID, Reason: "order refunded"}}})
	return err
}

func (s *Service) orderCancelled(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	redeemed, found, err := s.entryOf(ctx, tenantID, o, "redeem:")
	if err != nil || !found {
		return err
	}
	lots := returnLots(redeemed.Moves, 0, -redeemed.Points)
	if len(lots) == 0 {
		return nil
	}
	_, err = s.apply(ctx, tenantID, o.FanID, Batch{At: ev.At.UTC().Truncate(time.Millisecond), Ops: []Op{{Key: "redeem-return:" + o.ID,
		Kind: KindRedeemReturn, Lots: lots, OrderID: o.ID, Reason: "order cancelled"}}})
	return err
}

// lotsOf names the lots moves touched.
func lotsOf(moves []Move) []string {
	out := make([]string, 0, len(moves))
	for _, m := range moves {
		out = append(out, m.Lot)
	}
	return out
}

// returnLots are the lots giving back points [from, from+n) of a
// redemption, in the order it took them, each with the expiry of the lot
// it came from.
func returnLots(moves []Move, from, n int64) []Move {
	var out []Move
	var pos int64
	for _, m := range moves {
		took := -m.Points
		lo, hi := max(pos, from), min(pos+took, from+n)
		if hi > lo {
			out = append(out, Move{Points: hi - lo, ExpiresAt: m.ExpiresAt})
		}
		pos += took
	}
	return out
}
