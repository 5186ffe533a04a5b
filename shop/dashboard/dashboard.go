// Package dashboard is the merchant's dashboard: a shop's sales, fans and
// traffic per shop-local day, kept as daily counters updated as things
// happen (never computed from a scan of orders), and the console home and
// GET /api/v1/dashboard that read them.
//
// What feeds it:
//
//   - order events (it is an order.Subscriber): a paid order adds its
//     amount, one order and its buyer to the day it was paid, to its
//     channel, its products, its guide and its distributor; a succeeded
//     refund adds its amount as refunded on the day it succeeded. GMV is
//     paid less refunded. Events are delivered at least once: each event's
//     increments are applied once per (order, event) by a de-duplication key
//     (see Store.Apply), and a buyer is counted once per day by the key
//     "buyer:<fan>";
//   - fans' WeChat events (a fan.Observer): follows, unfollows, and the
//     fans who wrote, clicked or scanned (interacting fans, once per fan and
//     day), with check-ins counted as interaction too (Interacted);
//   - storefront page views (Visits, a middleware), counted in memory and
//     added to the day's row every few seconds;
//   - point-in-time figures read from their owners when the dashboard is
//     read: points outstanding and check-ins per day (shop/points),
//     commission pending and payable (distribution's ledger), open
//     after-sale requests, the share of fans active lately (shop/message),
//     through small interfaces server plugs (nil reads as zero).
//
// Distinct buyers of a range: every range ends today, so the buyers of the
// last N days are the fans whose latest paid day is within them: each
// buyer's first and latest paid day are kept (dash_buyers), and the range's
// buyers are one indexed count. A day's buyers are that day's counter.
//
// Channels: an order's attribution (fixed when placed) gives its channel:
// guide (a guide's customer), distributor (bound to or being a
// distributor), pcstore (came from the PC store, ?ch=pc_store), wechat (a
// WeChat QR code or follow), market (any other tagged link, ?ch=<campaign>),
// else direct.
package dashboard

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/tenants"
)

// Channels of the split, in the order the dashboard shows them.
const (
	ChannelWeChat      = "wechat"
	ChannelGuide       = "guide"
	ChannelDistributor = "distributor"
	ChannelMarket      = "market"
	ChannelPCStore     = "pcstore"
	ChannelDirect      = "direct"
)

// Channels lists the channels in display order.
var Channels = []string{ChannelWeChat, ChannelGuide, ChannelDistributor, ChannelMarket, ChannelPCStore, ChannelDirect}

// TenantLookup finds a shop by id (for its time zone); tenants.Service is one.
type TenantLookup interface {
	TenantByID(ctx context.Context, id string) (tenants.Tenant, error)
}

// Points is what the dashboard reads of loyalty points: the per-day
// check-in counters and the points outstanding. points.Store is one.
type Points interface {
	Checkins(ctx context.Context, tenantID, from, to string) (map[string]int64, error)
	Outstanding(ctx context.Context, tenantID string) (int64, error)
}

// Commissions is the shop's commission not yet paid out: pending (not yet
// withdrawable) and payable (withdrawable balances). server plugs the
// distribution ledger in.
type Commissions interface {
	CommissionTotals(ctx context.Context, tenantID string) (pending, payable int64, err error)
}

// AfterSales counts the shop's open after-sale requests.
type AfterSales interface {
	OpenAfterSales(ctx context.Context, tenantID string) (int64, error)
}

// Interaction counts the fans active in the last 7 and 30 days, and all
// fans; shop/message implements it.
type Interaction interface {
	Interaction(ctx context.Context, tenantID string, now time.Time) (active7, active30, fans int64, err error)
}

// Namer names the keys of the top lists: products' titles, guides' and
// distributors' names (dim DimProduct, DimGuide, DimDistributor). A key it
// does not name is shown as it is.
type Namer interface {
	Names(ctx context.Context, tenantID, dim string, ids []string) (map[string]string, error)
}

// Options are the service's parts; only Store and Shops are required.
type Options struct {
	Store       Store
	Shops       TenantLookup
	Points      Points
	Commissions Commissions
	AfterSales  AfterSales
	Interaction Interaction
	Namer       Namer
	Log         *slog.Logger
}

// Service keeps the counters and reads the dashboard.
type Service struct {
	Options
	visits *visits
	cache  *readCache
	now    func() time.Time
}

// New returns the dashboard service.
func New(o Options) *Service {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	s := &Service{Options: o, now: time.Now, cache: newReadCache()}
	s.visits = newVisits(s)
	return s
}

// SetAfterSales plugs in the after-sale requests' count (wired by server).
func (s *Service) SetAfterSales(a AfterSales) { s.AfterSales = a }

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Store returns the dashboard store.
func (s *Service) Store() Store { return s.Options.Store }

// zone is the shop's time zone.
func (s *Service) zone(ctx context.Context, tenantID string) (*time.Location, error) {
	t, err := s.Shops.TenantByID(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("load shop %s: %w", tenantID, err)
	}
	return t.Location(), nil
}

// DayOf is the date of t in loc, as the counters key days (YYYY-MM-DD).
func DayOf(t time.Time, loc *time.Location) string { return t.In(loc).Format(time.DateOnly) }

// ChannelOf is the dashboard's channel of an order (see the package doc).
func ChannelOf(a order.Attribution) string {
	switch {
	case a.GuideID != "":
		return ChannelGuide
	case a.DistributorID != "":
		return ChannelDistributor
	}
	switch a.Channel {
	case "pc_store":
		return ChannelPCStore
	case "wechat_qr", "wechat_follow":
		return ChannelWeChat
	case "", "direct", "guide_qr", "share_link":
		return ChannelDirect
	}
	return ChannelMarket
}

// OrderEvent implements order.Subscriber: a paid order and a succeeded
// refund are counted once per (order, event), however often delivered.
func (s *Service) OrderEvent(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	if ev.Type != order.EventPaid && ev.Type != order.EventRefunded {
		return nil
	}
	loc, err := s.zone(ctx, tenantID)
	if err != nil {
		return err
	}
	day := DayOf(ev.At, loc)
	a := o.Attribution
	var c Counts
	var list []Inc
	if ev.Type == order.EventPaid {
		amount := ev.Amount
		if amount == 0 {
			amount = o.Paid
		}
		c = Counts{Paid: amount, Orders: 1}
		seen := map[string]bool{}
		for _, l := range o.Lines {
			pc := Counts{Paid: l.Amount, Qty: l.Qty}
			if !seen[l.ProductID] {
				seen[l.ProductID], pc.Orders = true, 1
			}
			list = append(list, Inc{Day: day, Dim: DimProduct, Key: l.ProductID, Counts: pc})
		}
		if o.FanID != "" {
			list = append(list, Inc{Day: day, Dim: DimShop, Once: "buyer:" + o.FanID, Counts: Counts{Buyers: 1}})
		}
	} else {
		c = Counts{Refunded: ev.Amount, Refunds: 1}
		// Products get the refund in proportion to what their lines were
		// of the order's payment.
		for _, l := range o.Lines {
			if part := share(l.Amount, ev.Amount, o.Paid); part > 0 {
				list = append(list, Inc{Day: day, Dim: DimProduct, Key: l.ProductID, Counts: Counts{Refunded: part}})
			}
		}
	}
	list = append(list, Inc{Day: day, Dim: DimShop, Counts: c}, Inc{Day: day, Dim: DimChannel, Key: ChannelOf(a), Counts: c})
	if a.GuideID != "" {
		list = append(list, Inc{Day: day, Dim: DimGuide, Key: a.GuideID, Counts: c})
	}
	if a.DistributorID != "" {
		list = append(list, Inc{Day: day, Dim: DimDistributor, Key: a.DistributorID, Counts: c})
	}
	var buyer *Buyer
	if ev.Type == order.EventPaid && o.FanID != "" {
		buyer = &Buyer{FanID: o.FanID, Day: day}
	}
	defer s.cache.bump(tenantID)
	if err := s.Options.Store.Apply(ctx, tenantID, "order:"+o.ID+":"+ev.ID, list, buyer); err != nil {
		return fmt.Errorf("count event %s of order %s: %w", ev.ID, o.ID, err)
	}
	return nil
}

// share is floor(x·r/total), x itself when r covers total.
func share(x, r, total int64) int64 {
	if total <= 0 || r >= total {
		return x
	}
	return x * r / total
}

// FanEvent implements fan.Observer: a follow or an unfollow counts once
// per (fan, event, time); a message, a click or a scan makes the fan an
// interacting fan of the day (once per fan and day).
func (s *Service) FanEvent(ctx context.Context, tenantID string, ev fan.Event) error {
	loc, err := s.zone(ctx, tenantID)
	if err != nil {
		return err
	}
	day := DayOf(ev.At, loc)
	var in Inc
	switch ev.Kind {
	case fan.Subscribed:
		in = Inc{Day: day, Dim: DimShop, Counts: Counts{Follows: 1}}
	case fan.Unsubscribed:
		in = Inc{Day: day, Dim: DimShop, Counts: Counts{Unfollows: 1}}
	case fan.Wrote, fan.Clicked, fan.Scanned:
		return s.interacted(ctx, tenantID, ev.FanID, day)
	default:
		return nil
	}
	once := "fan:" + ev.FanID + ":" + string(ev.Kind) + ":" + ev.At.UTC().Format(time.RFC3339)
	return s.apply(ctx, tenantID, once, []Inc{in})
}

// Interacted counts the fan as interacting on the day of at (a check-in),
// once per fan and day.
func (s *Service) Interacted(ctx context.Context, tenantID, fanID string, at time.Time) error {
	loc, err := s.zone(ctx, tenantID)
	if err != nil {
		return err
	}
	return s.interacted(ctx, tenantID, fanID, DayOf(at, loc))
}

func (s *Service) interacted(ctx context.Context, tenantID, fanID, day string) error {
	if strings.TrimSpace(fanID) == "" {
		return nil
	}
	return s.apply(ctx, tenantID, "", []Inc{{Day: day, Dim: DimShop, Once: "active:" + fanID, Counts: Counts{Active: 1}}})
}

// apply is Store.Apply, and the shop's cached dashboards are read again.
func (s *Service) apply(ctx context.Context, tenantID, once string, incs []Inc) error {
	defer s.cache.bump(tenantID)
	return s.Options.Store.Apply(ctx, tenantID, once, incs, nil)
}
