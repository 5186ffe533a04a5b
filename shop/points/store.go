package points

import (
	"context"
	_ "embed"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Store keeps the shop's rules, the fans' accounts and ledgers, their
// check-ins and the counters the console reads. Every method takes the
// tenant first.
type Store interface {
	Rules(ctx context.Context, tenantID string) (Rules, error)
	// SaveRules saves r, as revision r.Rev+1, if the stored rules are
	// still at r.Rev (the revision they were read at); otherwise it
	// changes nothing and is a conflict (409).
	SaveRules(ctx context.Context, tenantID string, r Rules) error

	// Apply applies batch b to the fan's account atomically with its
	// ledger entries (see the package comment). A batch whose key was
	// applied before changes nothing (Applied false). A debit larger than
	// the balance fails with ErrInsufficient unless capped.
	Apply(ctx context.Context, tenantID, fanID string, b Batch) (Result, error)
	// Account returns the fan's account (a zero account for a fan who
	// never had points), its ledger outbox copied first.
	Account(ctx context.Context, tenantID, fanID string) (Account, error)
	// Entry returns the fan's ledger entry with key; ErrNotFound if none.
	Entry(ctx context.Context, tenantID, fanID, key string) (Entry, error)
	// Ledger returns up to limit of the fan's entries with seq below
	// before (0: the newest), newest first.
	Ledger(ctx context.Context, tenantID, fanID string, before int64, limit int) ([]Entry, error)
	// Entries calls fn with every entry of the fan, oldest first.
	Entries(ctx context.Context, tenantID, fanID string, fn func(Entry) error) error
	// ReplaceAccount writes a rebuilt account over the stored one if the
	// stored one is still at revision a.Rev.
	ReplaceAccount(ctx context.Context, tenantID string, a Account) (bool, error)
	// Flush copies the account's ledger outbox to the ledger (MongoDB; a
	// no-op on SQLite).
	Flush(ctx context.Context, tenantID, fanID string) error
	// Dirty lists up to limit fans whose ledger outbox is not empty.
	Dirty(ctx context.Context, tenantID string, limit int) ([]string, error)

	// CheckIn records check-in c and, if it is the fan's first that day
	// (the unique (fan, day)), applies its award b. On SQLite both are one
	// transaction (the record is marked applied in it); on MongoDB the
	// record is inserted, then b applied, then the record marked applied,
	// and a crash in between leaves an unapplied record the next check-in
	// or the cron pass applies (Apply makes that a no-op if it was).
	CheckIn(ctx context.Context, tenantID string, c Checkin, b Batch) (inserted bool, res Result, err error)
	// InsertCheckin records a check-in; false if the fan checked in that
	// day already (the unique (fan, day)).
	InsertCheckin(ctx context.Context, tenantID string, c Checkin) (bool, error)
	Checkin(ctx context.Context, tenantID, fanID, day string) (Checkin, error)
	// LastCheckin is the fan's latest check-in before day; ErrNotFound if
	// none.
	LastCheckin(ctx context.Context, tenantID, fanID, before string) (Checkin, error)
	// Checkins are the fan's check-ins from day from to day to, inclusive.
	Checkins(ctx context.Context, tenantID, fanID, from, to string) ([]Checkin, error)
	MarkApplied(ctx context.Context, tenantID, fanID, day string) error
	// Unapplied lists up to limit check-ins made before before whose award
	// is not marked applied.
	Unapplied(ctx context.Context, tenantID string, before time.Time, limit int) ([]Checkin, error)

	// Due lists up to limit accounts with a lot expiring at or before now.
	Due(ctx context.Context, tenantID string, now time.Time, limit int) ([]Account, error)
	// Expiring lists up to limit accounts not yet reminded whose next
	// expiry is at or before horizon.
	Expiring(ctx context.Context, tenantID string, horizon time.Time, limit int) ([]Account, error)
	// MarkReminded records the reminder of expiry, if it is still the
	// account's next expiry.
	MarkReminded(ctx context.Context, tenantID, fanID string, expiry time.Time) error
	// SetReminder sets the fan's daily check-in reminder opt-in.
	SetReminder(ctx context.Context, tenantID, fanID string, on bool) error
	// ToRemind lists up to limit opted-in accounts not reminded on day.
	ToRemind(ctx context.Context, tenantID, day string, limit int) ([]Account, error)
	MarkDayReminded(ctx context.Context, tenantID, fanID, day string) error

	// Days returns the daily counters from day from to day to.
	Days(ctx context.Context, tenantID, from, to string) ([]Day, error)
	// StreakCounts counts the accounts whose last check-in is on or after
	// since, by streak.
	StreakCounts(ctx context.Context, tenantID, since string) (map[int]int64, error)
	// Outstanding is the points held by all fans (the sharded counter).
	Outstanding(ctx context.Context, tenantID string) (int64, error)
	// RebuildCounters recomputes the counters of days from..to and the
	// outstanding total from the records.
	RebuildCounters(ctx context.Context, tenantID, from, to string) error
}

// Day is one day's check-in counters.
type Day struct {
	Day      string `json:"day" bson:"day"`
	Checkins int64  `json:"checkins" bson:"checkins"`
	Points   int64  `json:"points" bson:"points"` // awarded by check-ins
}

// shards spread the outstanding-points counter over rows, so no single
// record is hot.
const shards = 16

// shardOf picks a fan's shard of the outstanding counter.
func shardOf(fanID string) int {
	h := 0
	for i := 0; i < len(fanID); i++ {
		h = h*31 + int(fanID[i])
	}
	if h < 0 {
		h = -h
	}
	return h % shards
}

// NewStore returns the points store on the engine's kind.
func NewStore(e *engine.Engine) Store {
	if e.Kind() == engine.Mongo {
		// The rules document was {_id: "rules"} before engine.Doc existed.
		return &mongoStore{e: e, rulesDoc: rulesDoc{e, engine.Doc{Table: "points_rules", Name: "rules"}}}
	}
	return &sqliteStore{e: e, rulesDoc: rulesDoc{e, engine.Doc{Table: "points_rules"}}}
}

// rulesDoc keeps the shop's rules as its settings document (engine.Doc),
// the same way on both engines.
type rulesDoc struct {
	e   *engine.Engine
	doc engine.Doc
}

func (d rulesDoc) Rules(ctx context.Context, tenantID string) (Rules, error) {
	r := DefaultRules()
	if _, err := d.e.LoadDoc(ctx, tenantID, d.doc, &r); err != nil {
		return Rules{}, err
	}
	return r, nil
}

func (d rulesDoc) SaveRules(ctx context.Context, tenantID string, r Rules) error {
	return d.e.SaveDocNext(ctx, tenantID, d.doc, &r, &r.Rev, errRulesChanged)
}

// errRulesChanged: rules saved from a read another save overtook.
var errRulesChanged = fault.Conflict("the points rules were changed meanwhile (in another tab, or by someone else): reload them and save again").
	WithCode(fault.CodeSettingsChanged)

// entryPage is how many ledger entries Entries reads at a time.
const entryPage = 500

// eachEntry is Entries on both engines: it calls fn with every entry,
// oldest first, reading them a page at a time (page returns up to
// entryPage entries with seq above after, in seq order), so no read stays
// open while fn works.
func eachEntry(fn func(Entry) error, page func(after int64) ([]Entry, error)) error {
	var after int64
	for {
		list, err := page(after)
		if err != nil {
			return err
		}
		for _, e := range list {
			if err := fn(e); err != nil {
				return err
			}
			after = e.Seq
		}
		if len(list) < entryPage {
			return nil
		}
	}
}

// Schema is the points tables and indexes in each tenant database.
var Schema = engine.NewSchema("points", schemaSQL,
	engine.Coll("points_rules"),
	engine.Coll("points_accounts",
		engine.Index("next_expiry"), engine.Index("reminded", "next_expiry"),
		engine.Index("reminder", "reminded_day"), engine.Index("last_day"), engine.Index("dirty")),
	engine.Coll("points_ledger", engine.Unique("fan_id", "key"), engine.Unique("fan_id", "seq")),
	engine.Coll("points_checkins",
		engine.Unique("fan_id", "day"), engine.Index("day"), engine.Index("applied", "at")),
	engine.Coll("points_days", engine.Unique("day")),
	engine.Coll("points_totals"),
)

// schemaSQL is the package's SQLite schema.
//
//go:embed schema.sql
var schemaSQL string
