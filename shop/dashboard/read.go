package dashboard

import (
	"context"
	"fmt"
	"time"

	"microshop/tenants"
	"microshop/tenants/fault"
)

// Ranges a dashboard can cover, each ending today: name → days.
var Ranges = []struct {
	Name string
	Days int
}{{"today", 1}, {"7d", 7}, {"30d", 30}, {"90d", 90}}

// DefaultRange is the range shown without one asked for.
const DefaultRange = "7d"

// HealthyInteraction is the share of fans interacting (percent) a shop
// should reach: the line the interaction rate is shown against.
const HealthyInteraction = 10.0

// rangeDays is the named range's length in days.
func rangeDays(name string) (int, error) {
	if name == "" {
		name = DefaultRange
	}
	for _, r := range Ranges {
		if r.Name == name {
			return r.Days, nil
		}
	}
	return 0, fault.Invalid("range", "must be today, 7d, 30d or 90d")
}

// Dashboard is a shop's figures over a range ending today (shop-local days).
type Dashboard struct {
	Range string `json:"range"`
	From  string `json:"from"`
	To    string `json:"to"`
	// Figures over the range.
	Totals Totals `json:"totals"`
	// Point-in-time figures (now, whatever the range).
	Now Now `json:"now"`
	// Days is the daily series, oldest first, every day of the range.
	Days []Day `json:"days"`
	// Channels is the split by channel, every channel in display order.
	Channels        []Channel `json:"channels"`
	TopProducts     []Top     `json:"top_products"`
	TopGuides       []Top     `json:"top_guides"`
	TopDistributors []Top     `json:"top_distributors"`
}

// Totals are the range's figures. Money is fen.
type Totals struct {
	GMV      int64 `json:"gmv"` // paid less refunded
	Paid     int64 `json:"paid"`
	Refunded int64 `json:"refunded"`
	Orders   int64 `json:"orders"`
	Refunds  int64 `json:"refunds"`
	// Buyers is the distinct fans with a paid order in the range.
	Buyers int64 `json:"buyers"`
	// AverageOrder is paid per paid order (fen, rounded down).
	AverageOrder int64 `json:"average_order"`
	Visits       int64 `json:"visits"`
	// Conversion is paid orders per storefront visit, percent (one decimal).
	Conversion float64 `json:"conversion"`
	NewFans    int64   `json:"new_fans"`
	Unfollows  int64   `json:"unfollows"`
	// ActiveFanDays sums each day's interacting fans.
	ActiveFanDays int64 `json:"active_fan_days"`
	Checkins      int64 `json:"checkins"`
}

// Now are the point-in-time figures.
type Now struct {
	// Interaction: fans active in the last 7 days (today, 7d) or 30 days
	// (30d, 90d), of all fans, and the rate against the healthy line.
	ActiveFans      int64   `json:"active_fans"`
	ActiveWindow    int     `json:"active_window_days"`
	Fans            int64   `json:"fans"`
	InteractionRate float64 `json:"interaction_rate"` // percent, one decimal
	HealthyRate     float64 `json:"healthy_rate"`     // percent
	// PointsOutstanding are points held by fans, not yet spent or expired.
	PointsOutstanding int64 `json:"points_outstanding"`
	CommissionPending int64 `json:"commission_pending"` // fen
	CommissionPayable int64 `json:"commission_payable"` // fen
	AfterSalesOpen    int64 `json:"after_sales_open"`
}

// Day is one day of the series.
type Day struct {
	Day       string `json:"day"`
	GMV       int64  `json:"gmv"`
	Paid      int64  `json:"paid"`
	Refunded  int64  `json:"refunded"`
	Orders    int64  `json:"orders"`
	Buyers    int64  `json:"buyers"`
	Visits    int64  `json:"visits"`
	NewFans   int64  `json:"new_fans"`
	Unfollows int64  `json:"unfollows"`
	Active    int64  `json:"active_fans"`
	Checkins  int64  `json:"checkins"`
}

// Channel is one channel's part of the range.
type Channel struct {
	Channel  string  `json:"channel"`
	GMV      int64   `json:"gmv"`
	Paid     int64   `json:"paid"`
	Refunded int64   `json:"refunded"`
	Orders   int64   `json:"orders"`
	Share    float64 `json:"share"` // percent of the range's paid, one decimal
}

// Top is one entry of a top list (products, guides, distributors).
type Top struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	GMV      int64  `json:"gmv"`
	Paid     int64  `json:"paid"`
	Refunded int64  `json:"refunded"`
	Orders   int64  `json:"orders"`
	Qty      int64  `json:"qty,omitempty"`
}

// topN is how long the top lists are.
const topN = 10

// Read returns shop t's dashboard over the named range ("" the default).
// It reads the counters (a row per day, grouped sums for the channels and
// the top lists, one indexed count for the buyers) and the owners'
// point-in-time figures: nothing grows with the number of orders.
//
// What it read is kept for cacheFor and served to the readers that come
// meanwhile (one computation at a time per shop and range: the others
// wait for it), unless this replica has counted something for the shop
// since: figures counted on another replica, and the owners'
// point-in-time figures, show within cacheFor.
func (s *Service) Read(ctx context.Context, t tenants.Tenant, rangeName string) (Dashboard, error) {
	d, _, err := s.read(ctx, t, rangeName)
	return d, err
}

// read is Read, with the serial of the read it answers from (readCache):
// the same serial, the same dashboard.
func (s *Service) read(ctx context.Context, t tenants.Tenant, rangeName string) (Dashboard, uint64, error) {
	n, err := rangeDays(rangeName)
	if err != nil {
		return Dashboard{}, 0, err
	}
	if rangeName == "" {
		rangeName = DefaultRange
	}
	return s.cache.get(ctx, t.ID, rangeName, s.now, func() (Dashboard, uint64, error) {
		if err := s.FlushVisits(ctx, t.ID); err != nil {
			s.Log.Warn("flush page views", "tenant", t.ID, "err", err)
		}
		gen := s.cache.gen(t.ID)
		d, err := s.compute(ctx, t, rangeName, n)
		return d, gen, err
	})
}

// compute reads the dashboard (see Read) without the cache.
func (s *Service) compute(ctx context.Context, t tenants.Tenant, rangeName string, n int) (Dashboard, error) {
	var err error
	loc := t.Location()
	now := s.now()
	today := DayOf(now, loc)
	from := addDays(today, -(n - 1))
	d := Dashboard{Range: rangeName, From: from, To: today}
	st := s.Options.Store

	rows, err := st.Days(ctx, t.ID, DimShop, from, today)
	if err != nil {
		return d, err
	}
	byDay := map[string]Counts{}
	for _, r := range rows {
		byDay[r.Day] = r.Counts
	}
	checkins := map[string]int64{}
	if s.Points != nil {
		if checkins, err = s.Points.Checkins(ctx, t.ID, from, today); err != nil {
			return d, fmt.Errorf("read check-ins: %w", err)
		}
	}
	tot := &d.Totals
	var sum Counts
	for day := from; day <= today; day = addDays(day, 1) {
		c := byDay[day]
		d.Days = append(d.Days, Day{Day: day, GMV: c.GMV(), Paid: c.Paid, Refunded: c.Refunded, Orders: c.Orders, Buyers: c.Buyers,
			Visits: c.Visits, NewFans: c.Follows, Unfollows: c.Unfollows, Active: c.Active, Checkins: checkins[day]})
		sum.add(c)
		tot.Checkins += checkins[day]
	}
	tot.Paid, tot.Refunded, tot.Orders, tot.Refunds = sum.Paid, sum.Refunded, sum.Orders, sum.Refunds
	tot.Visits, tot.NewFans, tot.Unfollows, tot.ActiveFanDays = sum.Visits, sum.Follows, sum.Unfollows, sum.Active
	tot.GMV = sum.GMV()
	if tot.Orders > 0 {
		tot.AverageOrder = tot.Paid / tot.Orders
	}
	tot.Conversion = percent(tot.Orders, tot.Visits)
	if tot.Buyers, err = st.BuyersSince(ctx, t.ID, from); err != nil {
		return d, err
	}

	chans, err := st.Top(ctx, t.ID, DimChannel, from, today, 2*len(Channels))
	if err != nil {
		return d, err
	}
	byChan := map[string]Counts{}
	for _, r := range chans {
		byChan[r.Key] = r.Counts
	}
	for _, ch := range Channels {
		c := byChan[ch]
		d.Channels = append(d.Channels, Channel{Channel: ch, GMV: c.GMV(), Paid: c.Paid, Refunded: c.Refunded, Orders: c.Orders,
			Share: percent(c.Paid, tot.Paid)})
	}

	for _, top := range []struct {
		dim string
		out *[]Top
	}{{DimProduct, &d.TopProducts}, {DimGuide, &d.TopGuides}, {DimDistributor, &d.TopDistributors}} {
		if *top.out, err = s.top(ctx, t.ID, top.dim, from, today); err != nil {
			return d, err
		}
	}
	if d.Now, err = s.pointInTime(ctx, t.ID, now, n); err != nil {
		return d, err
	}
	return d, nil
}

// top is a top list with its keys named.
func (s *Service) top(ctx context.Context, tenantID, dim, from, to string) ([]Top, error) {
	rows, err := s.Options.Store.Top(ctx, tenantID, dim, from, to, topN)
	if err != nil {
		return nil, err
	}
	out := make([]Top, 0, len(rows))
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, Top{ID: r.Key, Name: r.Key, GMV: r.GMV(), Paid: r.Paid, Refunded: r.Refunded, Orders: r.Orders, Qty: r.Qty})
		ids = append(ids, r.Key)
	}
	if s.Namer != nil && len(ids) > 0 {
		names, err := s.Namer.Names(ctx, tenantID, dim, ids)
		if err != nil {
			return nil, fmt.Errorf("name top %s: %w", dim, err)
		}
		for i := range out {
			if n := names[out[i].ID]; n != "" {
				out[i].Name = n
			}
		}
	}
	return out, nil
}

// pointInTime reads the owners' current figures; a missing owner reads 0.
func (s *Service) pointInTime(ctx context.Context, tenantID string, now time.Time, days int) (Now, error) {
	p := Now{HealthyRate: HealthyInteraction, ActiveWindow: 7}
	var err error
	if s.Interaction != nil {
		var a7, a30 int64
		if a7, a30, p.Fans, err = s.Interaction.Interaction(ctx, tenantID, now); err != nil {
			return p, err
		}
		p.ActiveFans = a7
		if days > 7 {
			p.ActiveFans, p.ActiveWindow = a30, 30
		}
		p.InteractionRate = percent(p.ActiveFans, p.Fans)
	}
	if s.Points != nil {
		if p.PointsOutstanding, err = s.Points.Outstanding(ctx, tenantID); err != nil {
			return p, fmt.Errorf("read points outstanding: %w", err)
		}
	}
	if s.Commissions != nil {
		if p.CommissionPending, p.CommissionPayable, err = s.Commissions.CommissionTotals(ctx, tenantID); err != nil {
			return p, fmt.Errorf("read commission totals: %w", err)
		}
	}
	if s.AfterSales != nil {
		if p.AfterSalesOpen, err = s.AfterSales.OpenAfterSales(ctx, tenantID); err != nil {
			return p, fmt.Errorf("count open after-sale requests: %w", err)
		}
	}
	return p, nil
}

// percent is a of b in percent, one decimal (0 when b is 0).
func percent(a, b int64) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a*1000/b) / 10
}

// addDays is the date n days after day (YYYY-MM-DD).
func addDays(day string, n int) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return t.AddDate(0, 0, n).Format(time.DateOnly)
}
