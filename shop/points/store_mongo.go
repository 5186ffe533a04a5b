package points

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// mongoStore keeps each fan's account in one document (balance, lots,
// revision, and the outbox of entries not yet in the ledger collection):
// see the package comment for how Apply stays exactly once with no
// transaction.
type mongoStore struct{ e *engine.Engine }

// maxApplyAttempts bounds Apply's retries when other writes to the same
// account keep winning the revision race.
const maxApplyAttempts = 100

type accountDoc struct {
	FanID       string     `bson:"_id"`
	Balance     int64      `bson:"balance"`
	Lots        []Lot      `bson:"lots"`
	Seq         int64      `bson:"seq"`
	Rev         int64      `bson:"rev"`
	Earned      int64      `bson:"earned"`
	Spent       int64      `bson:"spent"`
	Expired     int64      `bson:"expired"`
	NextExpiry  *time.Time `bson:"next_expiry"`
	Reminded    bool       `bson:"reminded"`
	LastDay     string     `bson:"last_day"`
	Streak      int        `bson:"streak"`
	Days        int        `bson:"days"`
	Reminder    bool       `bson:"reminder"`
	RemindedDay string     `bson:"reminded_day"`
	Pending     []Entry    `bson:"pending"`
	Dirty       bool       `bson:"dirty"`
}

func (d accountDoc) account() Account {
	a := Account{FanID: d.FanID, Balance: d.Balance, Lots: d.Lots, Seq: d.Seq, Rev: d.Rev, Earned: d.Earned, Spent: d.Spent,
		Expired: d.Expired, Reminded: d.Reminded, LastDay: d.LastDay, Streak: d.Streak, Days: d.Days, Reminder: d.Reminder,
		RemindedDay: d.RemindedDay, Pending: d.Pending}
	if d.NextExpiry != nil {
		a.NextExpiry = d.NextExpiry.UTC()
	}
	if a.Lots == nil {
		a.Lots = []Lot{}
	}
	for i := range a.Lots {
		a.Lots[i].ExpiresAt = a.Lots[i].ExpiresAt.UTC()
	}
	return a
}

func (d accountDoc) pending(key string) bool {
	for _, e := range d.Pending {
		if e.Key == key {
			return true
		}
	}
	return false
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// ledgerFields are what Apply sets: never the reminder opt-in, which
// SetReminder changes on its own.
func ledgerFields(a Account, pending []Entry, dirty bool) bson.D {
	if pending == nil {
		pending = []Entry{}
	}
	return bson.D{{Key: "balance", Value: a.Balance}, {Key: "lots", Value: a.Lots}, {Key: "seq", Value: a.Seq},
		{Key: "rev", Value: a.Rev}, {Key: "earned", Value: a.Earned}, {Key: "spent", Value: a.Spent},
		{Key: "expired", Value: a.Expired}, {Key: "next_expiry", Value: optTime(a.NextExpiry)},
		{Key: "reminded", Value: a.Reminded}, {Key: "last_day", Value: a.LastDay}, {Key: "streak", Value: a.Streak},
		{Key: "days", Value: a.Days}, {Key: "pending", Value: pending}, {Key: "dirty", Value: dirty}}
}

// onInsert are the fields an account created by SetReminder starts with.
func onInsert(except string) bson.D {
	d := bson.D{}
	for _, e := range append(ledgerFields(Account{Lots: []Lot{}}, nil, false),
		bson.E{Key: "reminder", Value: false}, bson.E{Key: "reminded_day", Value: ""}) {
		if e.Key != except {
			d = append(d, e)
		}
	}
	return d
}

func (s *mongoStore) Rules(ctx context.Context, tenantID string) (Rules, error) {
	var d struct {
		Doc Rules `bson:"doc"`
	}
	err := s.e.Mongo(tenantID).C("points_rules").FindOne(ctx, bson.D{{Key: "_id", Value: "rules"}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return DefaultRules(), nil
	}
	return d.Doc, err
}

func (s *mongoStore) SaveRules(ctx context.Context, tenantID string, r Rules) error {
	_, err := s.e.Mongo(tenantID).C("points_rules").UpdateOne(ctx, bson.D{{Key: "_id", Value: "rules"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "doc", Value: r}}}}, options.UpdateOne().SetUpsert(true))
	return err
}

func (s *mongoStore) read(ctx context.Context, tenantID, fanID string) (accountDoc, bool, error) {
	var d accountDoc
	err := s.e.Mongo(tenantID).C("points_accounts").FindOne(ctx, bson.D{{Key: "_id", Value: fanID}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return accountDoc{FanID: fanID, Lots: []Lot{}}, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("read points account %s: %w", fanID, err)
	}
	return d, true, nil
}

func (s *mongoStore) Apply(ctx context.Context, tenantID, fanID string, b Batch) (Result, error) {
	c := s.e.Mongo(tenantID).C("points_accounts")
	key := b.Key()
	for attempt := 0; attempt < maxApplyAttempts; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(min(attempt, 20)) * time.Millisecond)
		}
		d, exists, err := s.read(ctx, tenantID, fanID)
		if err != nil {
			return Result{}, err
		}
		if key != "" {
			// The account is read first, the ledger second: an entry is
			// copied to the ledger before it leaves the outbox, so a key
			// applied before is in one of the two.
			seen := d.pending(key)
			if !seen {
				_, err := s.Entry(ctx, tenantID, fanID, key)
				if err != nil && !isNotFound(err) {
					return Result{}, err
				}
				seen = err == nil
			}
			if seen {
				if d.Dirty {
					if err := s.Flush(ctx, tenantID, fanID); err != nil {
						return Result{}, err
					}
				}
				return Result{Account: d.account()}, nil
			}
		}
		cur := d.account()
		next, entries, err := cur.apply(b)
		if err != nil {
			return Result{}, err
		}
		if len(entries) == 0 {
			return Result{Account: cur}, nil
		}
		next.Rev = cur.Rev + 1
		pending := append(append([]Entry{}, d.Pending...), entries...)
		if !exists {
			doc := accountDoc{FanID: fanID, Balance: next.Balance, Lots: next.Lots, Seq: next.Seq, Rev: next.Rev,
				Earned: next.Earned, Spent: next.Spent, Expired: next.Expired, NextExpiry: optTime(next.NextExpiry),
				Reminded: next.Reminded, LastDay: next.LastDay, Streak: next.Streak, Days: next.Days, Pending: pending, Dirty: true}
			if err := c.InsertOne(ctx, doc); err != nil {
				if engine.IsUniqueViolation(err) {
					continue // created meanwhile: read it again
				}
				return Result{}, fmt.Errorf("create points account %s: %w", fanID, err)
			}
		} else {
			res, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}, {Key: "rev", Value: cur.Rev}},
				bson.D{{Key: "$set", Value: ledgerFields(next, pending, true)}})
			if err != nil {
				return Result{}, fmt.Errorf("update points account %s: %w", fanID, err)
			}
			if res.MatchedCount == 0 {
				continue // changed since it was read
			}
		}
		next.Pending = nil
		var net int64
		for _, e := range entries {
			net += e.Points
		}
		// Counters: a crash here leaves them short until RebuildCounters.
		// Counter errors are not the batch's: it is applied, and the
		// rebuild repairs a short counter.
		if b.Day != "" {
			_ = s.incDay(ctx, tenantID, b.Day, net)
		}
		if net != 0 {
			_ = s.incOutstanding(ctx, tenantID, fanID, net)
		}
		// The outbox is copied now; if this fails the account stays dirty
		// and the next read or the cron pass copies it.
		_ = s.Flush(ctx, tenantID, fanID)
		return Result{Applied: true, Entries: entries, Account: next}, nil
	}
	return Result{}, fmt.Errorf("points account %s: too many concurrent changes; try again", fanID)
}

func (s *mongoStore) incDay(ctx context.Context, tenantID, day string, points int64) error {
	c := s.e.Mongo(tenantID).C("points_days")
	up := bson.D{{Key: "$inc", Value: bson.D{{Key: "checkins", Value: 1}, {Key: "points", Value: points}}},
		{Key: "$setOnInsert", Value: bson.D{{Key: "day", Value: day}}}}
	var err error
	for i := 0; i < 3; i++ {
		_, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: "day:" + day}}, up, options.UpdateOne().SetUpsert(true))
		if !engine.IsUniqueViolation(err) {
			return err
		}
	}
	return err
}

func (s *mongoStore) incOutstanding(ctx context.Context, tenantID, fanID string, delta int64) error {
	_, err := s.e.Mongo(tenantID).C("points_totals").UpdateOne(ctx,
		bson.D{{Key: "_id", Value: "shard-" + strconv.Itoa(shardOf(fanID))}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "outstanding", Value: delta}}}}, options.UpdateOne().SetUpsert(true))
	if engine.IsUniqueViolation(err) {
		return s.incOutstanding(ctx, tenantID, fanID, delta)
	}
	return err
}

func isNotFound(err error) bool { return errors.Is(err, fault.ErrNotFound) }

// findOpts passes opts on only when there are some (a nil builder would
// be called).
func findOpts(opts *options.FindOptionsBuilder) []options.Lister[options.FindOptions] {
	if opts == nil {
		return nil
	}
	return []options.Lister[options.FindOptions]{opts}
}

// entryDoc is a ledger entry as stored: its _id is the fan and key.
type entryDoc struct {
	ID    string `bson:"_id"`
	Entry `bson:",inline"`
}

// Flush copies the outbox to the ledger, then empties it if the account
// has not changed meanwhile (else the next flush copies again: the unique
// keys make that a no-op).
func (s *mongoStore) Flush(ctx context.Context, tenantID, fanID string) error {
	d, exists, err := s.read(ctx, tenantID, fanID)
	if err != nil || !exists || (len(d.Pending) == 0 && !d.Dirty) {
		return err
	}
	ledger := s.e.Mongo(tenantID).C("points_ledger")
	for _, e := range d.Pending {
		if err := ledger.InsertOne(ctx, entryDoc{ID: fanID + "|" + e.Key, Entry: e}); err != nil && !engine.IsUniqueViolation(err) {
			return fmt.Errorf("copy points entry %s of fan %s: %w", e.Key, fanID, err)
		}
	}
	_, err = s.e.Mongo(tenantID).C("points_accounts").UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}, {Key: "rev", Value: d.Rev}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "pending", Value: []Entry{}}, {Key: "dirty", Value: false}}}})
	return err
}

func (s *mongoStore) Dirty(ctx context.Context, tenantID string, limit int) ([]string, error) {
	cur, err := s.e.Mongo(tenantID).C("points_accounts").Find(ctx, bson.D{{Key: "dirty", Value: true}},
		options.Find().SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	var docs []accountDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.FanID
	}
	return out, nil
}

func (s *mongoStore) Account(ctx context.Context, tenantID, fanID string) (Account, error) {
	d, _, err := s.read(ctx, tenantID, fanID)
	if err != nil {
		return Account{}, err
	}
	if d.Dirty {
		if err := s.Flush(ctx, tenantID, fanID); err != nil {
			return Account{}, err
		}
	}
	return d.account(), nil
}

func fixEntry(e Entry) Entry {
	e.At = e.At.UTC()
	if e.Moves == nil {
		e.Moves = []Move{}
	}
	for i := range e.Moves {
		e.Moves[i].ExpiresAt = e.Moves[i].ExpiresAt.UTC()
	}
	return e
}

func (s *mongoStore) Entry(ctx context.Context, tenantID, fanID, key string) (Entry, error) {
	var d entryDoc
	err := s.e.Mongo(tenantID).C("points_ledger").FindOne(ctx, bson.D{{Key: "fan_id", Value: fanID}, {Key: "key", Value: key}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		// Still in the account's outbox?
		a, _, rerr := s.read(ctx, tenantID, fanID)
		if rerr != nil {
			return Entry{}, rerr
		}
		for _, e := range a.Pending {
			if e.Key == key {
				return fixEntry(e), nil
			}
		}
		return Entry{}, fault.NotFound("points entry")
	}
	if err != nil {
		return Entry{}, err
	}
	return fixEntry(d.Entry), nil
}

func (s *mongoStore) findEntries(ctx context.Context, tenantID string, f bson.D, opts *options.FindOptionsBuilder) ([]Entry, error) {
	cur, err := s.e.Mongo(tenantID).C("points_ledger").Find(ctx, f, findOpts(opts)...)
	if err != nil {
		return nil, err
	}
	var docs []entryDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]Entry, len(docs))
	for i, d := range docs {
		out[i] = fixEntry(d.Entry)
	}
	return out, nil
}

func (s *mongoStore) Ledger(ctx context.Context, tenantID, fanID string, before int64, limit int) ([]Entry, error) {
	if _, err := s.Account(ctx, tenantID, fanID); err != nil { // copies the outbox first
		return nil, err
	}
	if before <= 0 {
		before = 1 << 62
	}
	return s.findEntries(ctx, tenantID, bson.D{{Key: "fan_id", Value: fanID}, {Key: "seq", Value: bson.D{{Key: "$lt", Value: before}}}},
		options.Find().SetSort(bson.D{{Key: "seq", Value: -1}}).SetLimit(int64(limit)))
}

func (s *mongoStore) Entries(ctx context.Context, tenantID, fanID string, fn func(Entry) error) error {
	var after int64
	for {
		page, err := s.findEntries(ctx, tenantID, bson.D{{Key: "fan_id", Value: fanID}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: after}}}},
			options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetLimit(500))
		if err != nil {
			return err
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
			after = e.Seq
		}
		if len(page) < 500 {
			return nil
		}
	}
}

func (s *mongoStore) ReplaceAccount(ctx context.Context, tenantID string, a Account) (bool, error) {
	cur, exists, err := s.read(ctx, tenantID, a.FanID)
	if err != nil || !exists || cur.Rev != a.Rev || len(cur.Pending) > 0 {
		return false, err
	}
	next := a
	next.Rev = a.Rev + 1
	res, err := s.e.Mongo(tenantID).C("points_accounts").UpdateOne(ctx, bson.D{{Key: "_id", Value: a.FanID}, {Key: "rev", Value: a.Rev}},
		bson.D{{Key: "$set", Value: ledgerFields(next, nil, false)}})
	if err != nil || res.MatchedCount == 0 {
		return false, err
	}
	if delta := a.Balance - cur.Balance; delta != 0 {
		if err := s.incOutstanding(ctx, tenantID, a.FanID, delta); err != nil {
			return true, err
		}
	}
	return true, nil
}

func (s *mongoStore) CheckIn(ctx context.Context, tenantID string, c Checkin, b Batch) (bool, Result, error) {
	inserted, err := s.InsertCheckin(ctx, tenantID, c)
	if err != nil || !inserted {
		return inserted, Result{}, err
	}
	res, err := s.Apply(ctx, tenantID, c.FanID, b)
	if err != nil {
		return true, res, err
	}
	return true, res, s.MarkApplied(ctx, tenantID, c.FanID, c.Day)
}

type checkinDoc struct {
	ID          string    `bson:"_id"`
	FanID       string    `bson:"fan_id"`
	Day         string    `bson:"day"`
	At          time.Time `bson:"at"`
	Streak      int       `bson:"streak"`
	Days        int       `bson:"days"`
	Cycle       string    `bson:"cycle"`
	CycleStreak int       `bson:"cycle_streak"`
	CycleDays   int       `bson:"cycle_days"`
	Base        int64     `bson:"base"`
	Bonus       int64     `bson:"bonus"`
	Cumulative  int64     `bson:"cumulative"`
	Applied     bool      `bson:"applied"`
}

func (d checkinDoc) checkin() Checkin {
	return Checkin{FanID: d.FanID, Day: d.Day, At: d.At.UTC(), Streak: d.Streak, Days: d.Days, Cycle: d.Cycle,
		CycleStreak: d.CycleStreak, CycleDays: d.CycleDays, Base: d.Base, Bonus: d.Bonus, Cumulative: d.Cumulative, Applied: d.Applied}
}

func (s *mongoStore) InsertCheckin(ctx context.Context, tenantID string, c Checkin) (bool, error) {
	err := s.e.Mongo(tenantID).C("points_checkins").InsertOne(ctx, checkinDoc{ID: c.FanID + "|" + c.Day, FanID: c.FanID, Day: c.Day,
		At: c.At, Streak: c.Streak, Days: c.Days, Cycle: c.Cycle, CycleStreak: c.CycleStreak, CycleDays: c.CycleDays,
		Base: c.Base, Bonus: c.Bonus, Cumulative: c.Cumulative})
	if engine.IsUniqueViolation(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record check-in: %w", err)
	}
	return true, nil
}

func (s *mongoStore) findCheckins(ctx context.Context, tenantID string, f bson.D, opts *options.FindOptionsBuilder) ([]Checkin, error) {
	cur, err := s.e.Mongo(tenantID).C("points_checkins").Find(ctx, f, findOpts(opts)...)
	if err != nil {
		return nil, err
	}
	var docs []checkinDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]Checkin, len(docs))
	for i, d := range docs {
		out[i] = d.checkin()
	}
	return out, nil
}

func (s *mongoStore) Checkin(ctx context.Context, tenantID, fanID, day string) (Checkin, error) {
	var d checkinDoc
	err := s.e.Mongo(tenantID).C("points_checkins").FindOne(ctx, bson.D{{Key: "fan_id", Value: fanID}, {Key: "day", Value: day}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Checkin{}, fault.NotFound("check-in")
	}
	return d.checkin(), err
}

func (s *mongoStore) LastCheckin(ctx context.Context, tenantID, fanID, before string) (Checkin, error) {
	list, err := s.findCheckins(ctx, tenantID, bson.D{{Key: "fan_id", Value: fanID}, {Key: "day", Value: bson.D{{Key: "$lt", Value: before}}}},
		options.Find().SetSort(bson.D{{Key: "day", Value: -1}}).SetLimit(1))
	if err != nil {
		return Checkin{}, err
	}
	if len(list) == 0 {
		return Checkin{}, fault.NotFound("check-in")
	}
	return list[0], nil
}

func (s *mongoStore) Checkins(ctx context.Context, tenantID, fanID, from, to string) ([]Checkin, error) {
	return s.findCheckins(ctx, tenantID, bson.D{{Key: "fan_id", Value: fanID},
		{Key: "day", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lte", Value: to}}}},
		options.Find().SetSort(bson.D{{Key: "day", Value: 1}}))
}

func (s *mongoStore) MarkApplied(ctx context.Context, tenantID, fanID, day string) error {
	_, err := s.e.Mongo(tenantID).C("points_checkins").UpdateOne(ctx, bson.D{{Key: "fan_id", Value: fanID}, {Key: "day", Value: day}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "applied", Value: true}}}})
	return err
}

func (s *mongoStore) Unapplied(ctx context.Context, tenantID string, before time.Time, limit int) ([]Checkin, error) {
	return s.findCheckins(ctx, tenantID, bson.D{{Key: "applied", Value: false}, {Key: "at", Value: bson.D{{Key: "$lt", Value: before}}}},
		options.Find().SetSort(bson.D{{Key: "at", Value: 1}}).SetLimit(int64(limit)))
}

func (s *mongoStore) findAccounts(ctx context.Context, tenantID string, f bson.D, opts *options.FindOptionsBuilder) ([]Account, error) {
	cur, err := s.e.Mongo(tenantID).C("points_accounts").Find(ctx, f, findOpts(opts)...)
	if err != nil {
		return nil, err
	}
	var docs []accountDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]Account, len(docs))
	for i, d := range docs {
		out[i] = d.account()
	}
	return out, nil
}

func (s *mongoStore) Due(ctx context.Context, tenantID string, now time.Time, limit int) ([]Account, error) {
	return s.findAccounts(ctx, tenantID, bson.D{{Key: "next_expiry", Value: bson.D{{Key: "$lte", Value: now}}}},
		options.Find().SetSort(bson.D{{Key: "next_expiry", Value: 1}}).SetLimit(int64(limit)))
}

func (s *mongoStore) Expiring(ctx context.Context, tenantID string, horizon time.Time, limit int) ([]Account, error) {
	return s.findAccounts(ctx, tenantID, bson.D{{Key: "reminded", Value: false}, {Key: "next_expiry", Value: bson.D{{Key: "$lte", Value: horizon}}}},
		options.Find().SetSort(bson.D{{Key: "next_expiry", Value: 1}}).SetLimit(int64(limit)))
}

func (s *mongoStore) MarkReminded(ctx context.Context, tenantID, fanID string, expiry time.Time) error {
	_, err := s.e.Mongo(tenantID).C("points_accounts").UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}, {Key: "next_expiry", Value: expiry.UTC()}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "reminded", Value: true}}}})
	return err
}

func (s *mongoStore) SetReminder(ctx context.Context, tenantID, fanID string, on bool) error {
	_, err := s.e.Mongo(tenantID).C("points_accounts").UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "reminder", Value: on}}}, {Key: "$setOnInsert", Value: onInsert("reminder")}},
		options.UpdateOne().SetUpsert(true))
	return err
}

func (s *mongoStore) ToRemind(ctx context.Context, tenantID, day string, limit int) ([]Account, error) {
	return s.findAccounts(ctx, tenantID, bson.D{{Key: "reminder", Value: true}, {Key: "reminded_day", Value: bson.D{{Key: "$lt", Value: day}}},
		{Key: "last_day", Value: bson.D{{Key: "$lt", Value: day}}}}, options.Find().SetLimit(int64(limit)))
}

func (s *mongoStore) MarkDayReminded(ctx context.Context, tenantID, fanID, day string) error {
	_, err := s.e.Mongo(tenantID).C("points_accounts").UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "reminded_day", Value: day}}}})
	return err
}

func (s *mongoStore) Days(ctx context.Context, tenantID, from, to string) ([]Day, error) {
	cur, err := s.e.Mongo(tenantID).C("points_days").Find(ctx, bson.D{{Key: "day", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lte", Value: to}}}},
		options.Find().SetSort(bson.D{{Key: "day", Value: 1}}))
	if err != nil {
		return nil, err
	}
	var docs []struct {
		Day      string `bson:"day"`
		Checkins int64  `bson:"checkins"`
		Points   int64  `bson:"points"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]Day, len(docs))
	for i, d := range docs {
		out[i] = Day{Day: d.Day, Checkins: d.Checkins, Points: d.Points}
	}
	return out, nil
}

func (s *mongoStore) StreakCounts(ctx context.Context, tenantID, since string) (map[int]int64, error) {
	cur, err := s.e.Mongo(tenantID).C("points_accounts").Aggregate(ctx, []bson.D{
		{{Key: "$match", Value: bson.D{{Key: "last_day", Value: bson.D{{Key: "$gte", Value: since}}}}}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$streak"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	})
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Streak int   `bson:"_id"`
		N      int64 `bson:"n"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, err
	}
	out := map[int]int64{}
	for _, r := range rows {
		out[r.Streak] = r.N
	}
	return out, nil
}

func shardIDs() bson.A {
	ids := bson.A{}
	for i := 0; i < shards; i++ {
		ids = append(ids, "shard-"+strconv.Itoa(i))
	}
	return ids
}

func (s *mongoStore) Outstanding(ctx context.Context, tenantID string) (int64, error) {
	cur, err := s.e.Mongo(tenantID).C("points_totals").Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: shardIDs()}}}})
	if err != nil {
		return 0, err
	}
	var docs []struct {
		Outstanding int64 `bson:"outstanding"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return 0, err
	}
	var n int64
	for _, d := range docs {
		n += d.Outstanding
	}
	return n, nil
}

func (s *mongoStore) RebuildCounters(ctx context.Context, tenantID, from, to string) error {
	m := s.e.Mongo(tenantID)
	for d := from; d != "" && d <= to; d = addDays(d, 1) {
		list, err := s.findCheckins(ctx, tenantID, bson.D{{Key: "day", Value: d}}, nil)
		if err != nil {
			return err
		}
		var pts int64
		for _, c := range list {
			pts += c.Total()
		}
		if _, err := m.C("points_days").UpdateOne(ctx, bson.D{{Key: "_id", Value: "day:" + d}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "day", Value: d}, {Key: "checkins", Value: int64(len(list))}, {Key: "points", Value: pts}}}},
			options.UpdateOne().SetUpsert(true)); err != nil {
			return err
		}
	}
	cur, err := m.C("points_accounts").Aggregate(ctx, []bson.D{
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: nil}, {Key: "n", Value: bson.D{{Key: "$sum", Value: "$balance"}}}}}},
	})
	if err != nil {
		return err
	}
	var rows []struct {
		N int64 `bson:"n"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return err
	}
	var total int64
	if len(rows) > 0 {
		total = rows[0].N
	}
	for i := 0; i < shards; i++ {
		v := int64(0)
		if i == 0 {
			v = total
		}
		if _, err := m.C("points_totals").UpdateOne(ctx, bson.D{{Key: "_id", Value: "shard-" + strconv.Itoa(i)}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "outstanding", Value: v}}}}, options.UpdateOne().SetUpsert(true)); err != nil {
			return err
		}
	}
	return nil
}
