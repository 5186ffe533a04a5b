package points

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// mongoStore keeps each fan's account in one document (balance, lots,
// revision, and the outbox of entries not yet in the ledger collection):
// see the package comment for how Apply stays exactly once with no
// transaction. This file holds the accounts, the ledger and the check-in
// records; store_mongo_jobs.go what the cron pass and the dashboard read.
type mongoStore struct {
	e *engine.Engine
	rulesDoc
}

// readGap, nil but in tests, runs between Entry's two reads: the window a
// concurrent flush falls in. Through the tests' one connection operations
// are served in turn, so a flush never gets its two writes in between on
// its own; TestEntryDuringFlush widens the window with it.
var readGap func()

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

// ledgerFields are what Apply sets: never the reminder opt-in, which
// SetReminder changes on its own.
func ledgerFields(a Account, pending []Entry, dirty bool) bson.D {
	if pending == nil {
		pending = []Entry{}
	}
	return bson.D{{Key: "balance", Value: a.Balance}, {Key: "lots", Value: a.Lots}, {Key: "seq", Value: a.Seq},
		{Key: "rev", Value: a.Rev}, {Key: "earned", Value: a.Earned}, {Key: "spent", Value: a.Spent},
		{Key: "expired", Value: a.Expired}, {Key: "next_expiry", Value: engine.OptTime(a.NextExpiry)},
		{Key: "reminded", Value: a.Reminded}, {Key: "last_day", Value: a.LastDay}, {Key: "streak", Value: a.Streak},
		{Key: "days", Value: a.Days}, {Key: "pending", Value: pending}, {Key: "dirty", Value: dirty}}
}

// reminderFields are the fields ledgerFields leaves out, as a new account
// has them.
var reminderFields = bson.D{{Key: "reminder", Value: false}, {Key: "reminded_day", Value: ""}}

// onInsert are the fields an account created by an update of field except
// starts with.
func onInsert(except string) bson.D {
	d := bson.D{}
	for _, e := range append(ledgerFields(Account{Lots: []Lot{}}, nil, false), reminderFields...) {
		if e.Key != except {
			d = append(d, e)
		}
	}
	return d
}

func (s *mongoStore) accounts(tenantID string) *engine.Collection {
	return s.e.Mongo(tenantID).C("points_accounts")
}

func (s *mongoStore) read(ctx context.Context, tenantID, fanID string) (accountDoc, bool, error) {
	var d accountDoc
	err := s.accounts(tenantID).FindOne(ctx, bson.D{{Key: "_id", Value: fanID}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return accountDoc{FanID: fanID, Lots: []Lot{}}, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("read points account %s: %w", fanID, err)
	}
	return d, true, nil
}

func (s *mongoStore) Apply(ctx context.Context, tenantID, fanID string, b Batch) (Result, error) {
	key := b.Key()
	for attempt := 0; attempt < maxApplyAttempts; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(min(attempt, 20)) * time.Millisecond)
		}
		d, _, err := s.read(ctx, tenantID, fanID)
		if err != nil {
			return Result{}, err
		}
		if key != "" {
			_, err := s.entry(ctx, tenantID, d, key)
			if err != nil && !errors.Is(err, fault.ErrNotFound) {
				return Result{}, err
			}
			if err == nil { // applied before
				if d.Dirty {
					if err := s.Flush(ctx, tenantID, fanID); err != nil {
						return Result{}, err
					}
				}
				return Result{Account: d.account()}, nil
			}
		}
		res, err := d.account().apply(b)
		if err != nil || !res.Applied {
			return res, err
		}
		pending := append(append([]Entry{}, d.Pending...), res.Entries...)
		// Conditional on the revision read; a new account (revision 0) is
		// inserted by the upsert, whose insert loses on _id if the account
		// was created meanwhile.
		_, err = s.accounts(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}, {Key: "rev", Value: d.Rev}},
			bson.D{{Key: "$set", Value: ledgerFields(res.Account, pending, true)}, {Key: "$setOnInsert", Value: reminderFields}},
			options.UpdateOne().SetUpsert(true))
		if engine.IsUniqueViolation(err) {
			continue // changed since it was read
		}
		if err != nil {
			return Result{}, fmt.Errorf("write points account %s: %w", fanID, err)
		}
		res.Account.Pending = nil
		// Counters: a crash here leaves them short until RebuildCounters.
		// Counter errors are not the batch's: it is applied, and the
		// rebuild repairs a short counter.
		if b.Day != "" {
			_ = s.incDay(ctx, tenantID, b.Day, res.Net())
		}
		if net := res.Net(); net != 0 {
			_ = s.incOutstanding(ctx, tenantID, fanID, net)
		}
		// The outbox is copied now; if this fails the account stays dirty
		// and the next read or the cron pass copies it.
		_ = s.Flush(ctx, tenantID, fanID)
		return res, nil
	}
	return Result{}, fmt.Errorf("points account %s: too many concurrent changes; try again", fanID)
}

// entryDoc is a ledger entry as stored: its _id is the fan and key.
type entryDoc struct {
	ID    string `bson:"_id"`
	Entry `bson:",inline"`
}

// entry is the stored entry with its times in UTC.
func (d entryDoc) entry() Entry { return utcEntry(d.Entry) }

func utcEntry(e Entry) Entry {
	e.At = e.At.UTC()
	if e.Moves == nil {
		e.Moves = []Move{}
	}
	for i := range e.Moves {
		e.Moves[i].ExpiresAt = e.Moves[i].ExpiresAt.UTC()
	}
	return e
}

func (s *mongoStore) ledger(tenantID string) *engine.Collection {
	return s.e.Mongo(tenantID).C("points_ledger")
}

// Flush copies the outbox to the ledger, then empties it if the account
// has not changed meanwhile (else the next flush copies again: the unique
// keys make that a no-op).
func (s *mongoStore) Flush(ctx context.Context, tenantID, fanID string) error {
	d, exists, err := s.read(ctx, tenantID, fanID)
	if err != nil || !exists || (len(d.Pending) == 0 && !d.Dirty) {
		return err
	}
	for _, e := range d.Pending {
		if err := s.ledger(tenantID).InsertOne(ctx, entryDoc{ID: fanID + "|" + e.Key, Entry: e}); err != nil && !engine.IsUniqueViolation(err) {
			return fmt.Errorf("copy points entry %s of fan %s: %w", e.Key, fanID, err)
		}
	}
	if _, err = s.accounts(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}, {Key: "rev", Value: d.Rev}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "pending", Value: []Entry{}}, {Key: "dirty", Value: false}}}}); err != nil {
		return fmt.Errorf("empty the points outbox of fan %s: %w", fanID, err)
	}
	return nil
}

func (s *mongoStore) Dirty(ctx context.Context, tenantID string, limit int) ([]string, error) {
	ids, err := engine.FindAll(ctx, s.accounts(tenantID), bson.D{{Key: "dirty", Value: true}},
		func(d accountDoc) string { return d.FanID }, options.Find().SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("find points outboxes to copy: %w", err)
	}
	return ids, nil
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

func (s *mongoStore) Entry(ctx context.Context, tenantID, fanID, key string) (Entry, error) {
	d, _, err := s.read(ctx, tenantID, fanID)
	if err != nil {
		return Entry{}, err
	}
	if readGap != nil {
		readGap()
	}
	return s.entry(ctx, tenantID, d, key)
}

// entry looks for the entry with key in the outbox of d, the account as
// just read, then in the ledger: the order an entry moves in (Flush copies
// it to the ledger before it leaves the outbox), so an entry applied before
// d was read is in one of the two. Read the other way round, a flush
// between the two reads hides it. ErrNotFound if none.
func (s *mongoStore) entry(ctx context.Context, tenantID string, d accountDoc, key string) (Entry, error) {
	for _, e := range d.Pending {
		if e.Key == key {
			return utcEntry(e), nil
		}
	}
	var doc entryDoc
	err := s.ledger(tenantID).FindOne(ctx, bson.D{{Key: "fan_id", Value: d.FanID}, {Key: "key", Value: key}}).Decode(&doc)
	if engine.IsNoDocuments(err) {
		return Entry{}, fault.NotFound("points entry")
	}
	if err != nil {
		return Entry{}, fmt.Errorf("read points entry %s of fan %s: %w", key, d.FanID, err)
	}
	return doc.entry(), nil
}

// entries reads the fan's ledger entries whose seq matches seq, sorted by
// seq (dir 1 or -1), at most limit.
func (s *mongoStore) entries(ctx context.Context, tenantID, fanID string, seq bson.D, dir, limit int) ([]Entry, error) {
	list, err := engine.FindAll(ctx, s.ledger(tenantID), bson.D{{Key: "fan_id", Value: fanID}, {Key: "seq", Value: seq}}, entryDoc.entry,
		options.Find().SetSort(bson.D{{Key: "seq", Value: dir}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("read the points ledger of fan %s: %w", fanID, err)
	}
	return list, nil
}

func (s *mongoStore) Ledger(ctx context.Context, tenantID, fanID string, before int64, limit int) ([]Entry, error) {
	if _, err := s.Account(ctx, tenantID, fanID); err != nil { // copies the outbox first
		return nil, err
	}
	if before <= 0 {
		before = 1 << 62
	}
	return s.entries(ctx, tenantID, fanID, bson.D{{Key: "$lt", Value: before}}, -1, limit)
}

func (s *mongoStore) Entries(ctx context.Context, tenantID, fanID string, fn func(Entry) error) error {
	return eachEntry(fn, func(after int64) ([]Entry, error) {
		return s.entries(ctx, tenantID, fanID, bson.D{{Key: "$gt", Value: after}}, 1, entryPage)
	})
}

func (s *mongoStore) ReplaceAccount(ctx context.Context, tenantID string, a Account) (bool, error) {
	cur, exists, err := s.read(ctx, tenantID, a.FanID)
	if err != nil || !exists || cur.Rev != a.Rev || len(cur.Pending) > 0 {
		return false, err
	}
	next := a
	next.Rev = a.Rev + 1
	res, err := s.accounts(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: a.FanID}, {Key: "rev", Value: a.Rev}},
		bson.D{{Key: "$set", Value: ledgerFields(next, nil, false)}})
	if err != nil {
		return false, fmt.Errorf("write points account %s: %w", a.FanID, err)
	}
	if res.MatchedCount == 0 {
		return false, nil
	}
	if delta := a.Balance - cur.Balance; delta != 0 {
		if err := s.incOutstanding(ctx, tenantID, a.FanID, delta); err != nil {
			return true, err
		}
	}
	return true, nil
}

// checkinDoc is a check-in record: one document per fan and day, whose _id
// (fan|day) makes the first check-in of the day the only one inserted.
type checkinDoc struct {
	ID      string `bson:"_id"`
	Checkin `bson:",inline"`
}

func (d checkinDoc) checkin() Checkin {
	c := d.Checkin
	c.At = c.At.UTC()
	return c
}

func (s *mongoStore) checkinColl(tenantID string) *engine.Collection {
	return s.e.Mongo(tenantID).C("points_checkins")
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

func (s *mongoStore) InsertCheckin(ctx context.Context, tenantID string, c Checkin) (bool, error) {
	c.Applied = false
	err := s.checkinColl(tenantID).InsertOne(ctx, checkinDoc{ID: c.FanID + "|" + c.Day, Checkin: c})
	if engine.IsUniqueViolation(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record check-in of fan %s on %s: %w", c.FanID, c.Day, err)
	}
	return true, nil
}

// checkins reads the check-ins matching f.
func (s *mongoStore) checkins(ctx context.Context, tenantID string, f bson.D, opts ...options.Lister[options.FindOptions]) ([]Checkin, error) {
	list, err := engine.FindAll(ctx, s.checkinColl(tenantID), f, checkinDoc.checkin, opts...)
	if err != nil {
		return nil, fmt.Errorf("read check-ins: %w", err)
	}
	return list, nil
}

func (s *mongoStore) Checkin(ctx context.Context, tenantID, fanID, day string) (Checkin, error) {
	var d checkinDoc
	err := s.checkinColl(tenantID).FindOne(ctx, bson.D{{Key: "fan_id", Value: fanID}, {Key: "day", Value: day}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Checkin{}, fault.NotFound("check-in")
	}
	if err != nil {
		return Checkin{}, fmt.Errorf("read check-in of fan %s on %s: %w", fanID, day, err)
	}
	return d.checkin(), nil
}

func (s *mongoStore) LastCheckin(ctx context.Context, tenantID, fanID, before string) (Checkin, error) {
	list, err := s.checkins(ctx, tenantID, bson.D{{Key: "fan_id", Value: fanID}, {Key: "day", Value: bson.D{{Key: "$lt", Value: before}}}},
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
	return s.checkins(ctx, tenantID, bson.D{{Key: "fan_id", Value: fanID},
		{Key: "day", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lte", Value: to}}}},
		options.Find().SetSort(bson.D{{Key: "day", Value: 1}}))
}

func (s *mongoStore) MarkApplied(ctx context.Context, tenantID, fanID, day string) error {
	if _, err := s.checkinColl(tenantID).UpdateOne(ctx, bson.D{{Key: "fan_id", Value: fanID}, {Key: "day", Value: day}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "applied", Value: true}}}}); err != nil {
		return fmt.Errorf("mark check-in of fan %s on %s applied: %w", fanID, day, err)
	}
	return nil
}

func (s *mongoStore) Unapplied(ctx context.Context, tenantID string, before time.Time, limit int) ([]Checkin, error) {
	return s.checkins(ctx, tenantID, bson.D{{Key: "applied", Value: false}, {Key: "at", Value: bson.D{{Key: "$lt", Value: before}}}},
		options.Find().SetSort(bson.D{{Key: "at", Value: 1}}).SetLimit(int64(limit)))
}
