package dashboard

import (
	"cmp"
	"context"
	_ "embed"
	"slices"

	"microshop/tenants/engine"
)

// Dimensions of the daily counters: the whole shop (key ""), and per
// channel, product, guide and distributor (key: the channel or the id).
const (
	DimShop        = "shop"
	DimChannel     = "channel"
	DimProduct     = "product"
	DimGuide       = "guide"
	DimDistributor = "distributor"
)

// Counts are the counters of one day (or a range summed). Money is fen.
// Not every dimension uses every counter: visits, follows, unfollows,
// active fans and buyers are the shop's.
type Counts struct {
	Paid      int64 `json:"paid"`      // paid amount (what buyers paid, shipping included)
	Refunded  int64 `json:"refunded"`  // succeeded refunds' amount
	Orders    int64 `json:"orders"`    // paid orders
	Refunds   int64 `json:"refunds"`   // succeeded refunds
	Qty       int64 `json:"qty"`       // units sold (products)
	Buyers    int64 `json:"buyers"`    // distinct fans with a paid order that day
	Visits    int64 `json:"visits"`    // storefront page views
	Follows   int64 `json:"follows"`   // new WeChat followers
	Unfollows int64 `json:"unfollows"` // WeChat unfollows
	Active    int64 `json:"active"`    // distinct fans who interacted that day
}

// GMV is paid less refunded.
func (c Counts) GMV() int64 { return c.Paid - c.Refunded }

func (c *Counts) add(o Counts) {
	c.Paid += o.Paid
	c.Refunded += o.Refunded
	c.Orders += o.Orders
	c.Refunds += o.Refunds
	c.Qty += o.Qty
	c.Buyers += o.Buyers
	c.Visits += o.Visits
	c.Follows += o.Follows
	c.Unfollows += o.Unfollows
	c.Active += o.Active
}

func (c Counts) zero() bool { return c == Counts{} }

// Row is one dimension key's counters on one day (Day "" when summed over
// a range).
type Row struct {
	Day string `json:"day,omitempty"`
	Dim string `json:"-"`
	Key string `json:"key,omitempty"`
	Counts
}

// Inc adds Counts to the row (Day, Dim, Key). Once, when set, is the
// increment's own de-duplication key (a buyer's day: "buyer:<fan>"), applied
// once per row whatever event carries it; without it the increment is
// applied once per the key Apply is given.
type Inc struct {
	Day, Dim, Key string
	Once          string
	Counts
}

// Buyer is a fan who paid on Day (Store.Apply).
type Buyer struct{ FanID, Day string }

// Store keeps the daily counters. Every method takes the tenant first.
type Store interface {
	// Apply adds each increment once: those without their own Once once
	// per once (an order event: "<order>:<event>"), the others once per
	// their Once and row. once "" applies them every time (visits).
	// A replay of the same call changes nothing; on SQLite the call is one
	// transaction, on MongoDB each row is one conditional update carrying
	// the keys it applied, so a crash half-way and a replay complete it.
	// With buyer, it also records that the fan paid on the buyer's day
	// (every time: the fan's first and latest paid days move outwards
	// only, so replays and late events are no-ops), in the same write on
	// SQLite.
	Apply(ctx context.Context, tenantID, once string, incs []Inc, buyer *Buyer) error
	// BuyersSince counts the fans whose latest paid day is day or later:
	// the distinct buyers of a range that ends today.
	BuyersSince(ctx context.Context, tenantID, day string) (int64, error)
	// Days returns the dimension's rows from from to to (inclusive), by day.
	Days(ctx context.Context, tenantID, dim, from, to string) ([]Row, error)
	// Top returns the dimension's keys with the most paid from from to to,
	// summed over the days, at most n.
	Top(ctx context.Context, tenantID, dim, from, to string, n int) ([]Row, error)
}

// NewStore returns the dashboard store on the engine's kind.
func NewStore(e *engine.Engine) Store {
	return engine.ByKind[Store](e, &sqliteStore{e: e}, &mongoStore{e: e})
}

// Schema is the dashboard's tables and indexes in each tenant database.
var Schema = engine.NewSchema("dashboard", schemaSQL,
	engine.Coll("dash_days", engine.Index("dim", "day")),
	engine.Coll("dash_buyers", engine.Index("last_day")),
)

// schemaSQL is the package's SQLite schema.
//
//go:embed schema.sql
var schemaSQL string

// merge sums the increments of one row and key, so each row is written
// once per call.
func merge(incs []Inc) []Inc {
	out := make([]Inc, 0, len(incs))
	at := map[[4]string]int{}
	for _, in := range incs {
		if in.zero() {
			continue
		}
		k := [4]string{in.Day, in.Dim, in.Key, in.Once}
		if i, ok := at[k]; ok {
			out[i].add(in.Counts)
			continue
		}
		at[k] = len(out)
		out = append(out, in)
	}
	return out
}

// topOf sums rows by key and returns the n keys with the most paid (then
// by key).
func topOf(rows []Row, dim string, n int) []Row {
	at := map[string]int{}
	var out []Row
	for _, r := range rows {
		i, ok := at[r.Key]
		if !ok {
			i = len(out)
			at[r.Key] = i
			out = append(out, Row{Dim: dim, Key: r.Key})
		}
		out[i].add(r.Counts)
	}
	slices.SortFunc(out, func(a, b Row) int { return cmp.Or(cmp.Compare(b.Paid, a.Paid), cmp.Compare(a.Key, b.Key)) })
	if len(out) > n {
		out = out[:n]
	}
	return out
}
