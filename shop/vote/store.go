package vote

import (
	"context"
	_ "embed"
	"time"

	"microshop/tenants/engine"
)

// Store keeps the shop's rounds, their products, the votes and the fans'
// ballot records. Every method takes the tenant first.
type Store interface {
	InsertRound(ctx context.Context, tenantID string, r Round) error
	// Round returns one round; not found if none.
	Round(ctx context.Context, tenantID, id string) (Round, error)
	// Rounds returns up to limit rounds, the latest start first.
	Rounds(ctx context.Context, tenantID string, limit int) ([]Round, error)
	// ExtendRound moves the round's end to end if it is still at old.
	ExtendRound(ctx context.Context, tenantID, id string, old, end time.Time) (bool, error)

	// AddItem puts a product in a round; a product twice in one round is a
	// conflict (errListed) and changes nothing.
	AddItem(ctx context.Context, tenantID string, it Item) error
	// Item returns one product of a round; not found if it is not in it.
	Item(ctx context.Context, tenantID, roundID, productID string) (Item, error)
	// Items returns the round's products in the order they were added.
	Items(ctx context.Context, tenantID, roundID string) ([]Item, error)
	// SetItemState moves a product of a round from state from to to, with
	// the reason; false if it is not in from.
	SetItemState(ctx context.Context, tenantID, roundID, productID, from, to, note string) (bool, error)

	// Cast records vote v if the fan has not voted for the product in the
	// round (errVoted), has used fewer than earned ballots (errNoBallots)
	// and cast fewer than DailyVotes votes on v.Day (errDaily), counting
	// it on the product and its hour; the fan's account after it. However
	// many race, each of those holds.
	Cast(ctx context.Context, tenantID string, v Vote, earned int64) (Account, error)
	// RepairVotes records the votes whose ballot was taken before before
	// and whose record a crash left unwritten (MongoDB; SQLite casts in
	// one transaction and has none), up to repairBatch fans at a time, and
	// says how many.
	RepairVotes(ctx context.Context, tenantID string, before time.Time) (int, error)
	// Account returns the fan's ballot record (zero for a fan who never
	// voted), with the products the fan voted for in round roundID.
	Account(ctx context.Context, tenantID, fanID, roundID string) (Account, error)
	// Hours returns the round's votes per product and hour.
	Hours(ctx context.Context, tenantID, roundID string) (map[string][]Point, error)
	// Voters returns up to limit fans who voted for the product in the
	// round, after fan id after (paging by fan id).
	Voters(ctx context.Context, tenantID, roundID, productID, after string, limit int) ([]string, error)
	// RoundVotes returns up to limit of the round's votes (the brushing checks).
	RoundVotes(ctx context.Context, tenantID, roundID string, limit int) ([]Vote, error)
	// AddVoter records a voter of a product without a ballot (a market
	// voter in the product's shop); a replay is a no-op.
	AddVoter(ctx context.Context, tenantID string, v Vote) error
	// Voted says whether the fan voted for the product in the round.
	Voted(ctx context.Context, tenantID, roundID, productID, fanID string) (bool, error)

	// InsertDeal records a deal; a second deal on a product of one round is
	// a conflict (errDealExists).
	InsertDeal(ctx context.Context, tenantID string, d Deal) error
	Deal(ctx context.Context, tenantID, id string) (Deal, error)
	// Deals returns up to limit deals, the newest first.
	Deals(ctx context.Context, tenantID string, limit int) ([]Deal, error)
	// ProductDeals returns the product's deals ending after now.
	ProductDeals(ctx context.Context, tenantID, productID string, now time.Time) ([]Deal, error)
	// Claim takes qty of deal d's quantity for order orderID if that much
	// is left (errSoldOut otherwise), once per order and deal: a replay
	// changes nothing. However many race, sold never passes the quantity.
	Claim(ctx context.Context, tenantID string, d Deal, orderID string, qty int64) error
	// Release gives back what the order claimed, once; false if nothing.
	Release(ctx context.Context, tenantID, orderID string) (bool, error)
	// ToNotify lists up to limit deals started by now whose voters were
	// not all told.
	ToNotify(ctx context.Context, tenantID string, now time.Time, limit int) ([]Deal, error)
	// AdvanceNotify moves a deal's notify cursor from from to to (done:
	// every voter told) if it is still at from.
	AdvanceNotify(ctx context.Context, tenantID, id, from, to string, done bool) (bool, error)
}

// NewStore returns the vote store for e's engine.
func NewStore(e *engine.Engine) Store {
	return engine.ByKind[Store](e, &sqliteStore{db: tenantSQL{e}},
		&mongoStore{coll: func(tenantID, name string) coll { return e.Mongo(tenantID).C(name) }})
}

//go:embed schema.sql
var schemaSQL string

// Schema is the vote tables and indexes in each tenant database.
var Schema = engine.NewSchema("vote", schemaSQL,
	engine.Coll("vote_rounds", engine.Index("-starts_at", "-_id"), engine.Unique("starts_at")),
	engine.Coll("vote_items", engine.Index("round_id", "added_at")),
	engine.Coll("vote_fans", engine.Index("pending.at")),
	engine.Coll("vote_votes", engine.Unique("round_id", "product_id", "fan_id"), engine.Index("fan_id", "round_id")),
	engine.Coll("vote_hours", engine.Index("round_id")),
	engine.Coll("vote_deals", engine.Unique("round_id", "product_id"), engine.Index("product_id", "ends_at"),
		engine.Index("notified", "starts_at"), engine.Index("-created_at", "-_id")),
	engine.Coll("vote_claims", engine.Index("order_id")),
)
