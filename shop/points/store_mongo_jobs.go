package points

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
)

// The lists the cron pass works through on MongoDB (lots due to expire,
// expiry and check-in reminders) and the marks it leaves.

// findAccounts reads the accounts matching f, at most limit, sorted by
// sort (nil: any order).
func (s *mongoStore) findAccounts(ctx context.Context, tenantID string, f, sort bson.D, limit int) ([]Account, error) {
	opts := options.Find().SetLimit(int64(limit))
	if sort != nil {
		opts.SetSort(sort)
	}
	list, err := engine.FindAll(ctx, s.accounts(tenantID), f, accountDoc.account, opts)
	if err != nil {
		return nil, fmt.Errorf("read points accounts: %w", err)
	}
	return list, nil
}

// setAccount runs one update of the fan's account (matching f besides the
// fan); what names it in the error.
func (s *mongoStore) setAccount(ctx context.Context, tenantID, fanID, what string, f, update bson.D, opts ...options.Lister[options.UpdateOneOptions]) error {
	if _, err := s.accounts(tenantID).UpdateOne(ctx, append(bson.D{{Key: "_id", Value: fanID}}, f...), update, opts...); err != nil {
		return fmt.Errorf("%s of fan %s: %w", what, fanID, err)
	}
	return nil
}

var byNextExpiry = bson.D{{Key: "next_expiry", Value: 1}}

func (s *mongoStore) Due(ctx context.Context, tenantID string, now time.Time, limit int) ([]Account, error) {
	return s.findAccounts(ctx, tenantID, bson.D{{Key: "next_expiry", Value: bson.D{{Key: "$lte", Value: now}}}}, byNextExpiry, limit)
}

func (s *mongoStore) Expiring(ctx context.Context, tenantID string, horizon time.Time, limit int) ([]Account, error) {
	return s.findAccounts(ctx, tenantID, bson.D{{Key: "reminded", Value: false},
		{Key: "next_expiry", Value: bson.D{{Key: "$lte", Value: horizon}}}}, byNextExpiry, limit)
}

func (s *mongoStore) MarkReminded(ctx context.Context, tenantID, fanID string, expiry time.Time) error {
	return s.setAccount(ctx, tenantID, fanID, "mark the expiry reminder", bson.D{{Key: "next_expiry", Value: expiry.UTC()}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "reminded", Value: true}}}})
}

func (s *mongoStore) SetReminder(ctx context.Context, tenantID, fanID string, on bool) error {
	return s.setAccount(ctx, tenantID, fanID, "set the check-in reminder", nil,
		bson.D{{Key: "$set", Value: bson.D{{Key: "reminder", Value: on}}}, {Key: "$setOnInsert", Value: onInsert("reminder")}},
		options.UpdateOne().SetUpsert(true))
}

func (s *mongoStore) ToRemind(ctx context.Context, tenantID, day string, limit int) ([]Account, error) {
	return s.findAccounts(ctx, tenantID, bson.D{{Key: "reminder", Value: true}, {Key: "reminded_day", Value: bson.D{{Key: "$lt", Value: day}}},
		{Key: "last_day", Value: bson.D{{Key: "$lt", Value: day}}}}, nil, limit)
}

func (s *mongoStore) MarkDayReminded(ctx context.Context, tenantID, fanID, day string) error {
	return s.setAccount(ctx, tenantID, fanID, "mark the check-in reminder", nil,
		bson.D{{Key: "$set", Value: bson.D{{Key: "reminded_day", Value: day}}}})
}

// The dashboard's counters on MongoDB: a document per day (check-ins and
// points) and the outstanding points in shard documents, moved right after
// Apply's account update, and their rebuild from the records.

func dayID(day string) string { return "day:" + day }

func shardID(shard int) string { return "shard-" + strconv.Itoa(shard) }

// upsert runs an update of the document id in the named collection,
// creating it if missing. A concurrent first upsert of the same id may lose
// on _id: it is tried again, up to three times.
func (s *mongoStore) upsert(ctx context.Context, tenantID, coll, id string, update bson.D) error {
	var err error
	for i := 0; i < 3; i++ {
		_, err = s.e.Mongo(tenantID).C(coll).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, update, options.UpdateOne().SetUpsert(true))
		if !engine.IsUniqueViolation(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("count %s in %s: %w", id, coll, err)
	}
	return nil
}

func (s *mongoStore) incDay(ctx context.Context, tenantID, day string, points int64) error {
	return s.upsert(ctx, tenantID, "points_days", dayID(day), bson.D{
		{Key: "$inc", Value: bson.D{{Key: "checkins", Value: 1}, {Key: "points", Value: points}}},
		{Key: "$setOnInsert", Value: bson.D{{Key: "day", Value: day}}}})
}

func (s *mongoStore) incOutstanding(ctx context.Context, tenantID, fanID string, delta int64) error {
	return s.upsert(ctx, tenantID, "points_totals", shardID(shardOf(fanID)),
		bson.D{{Key: "$inc", Value: bson.D{{Key: "outstanding", Value: delta}}}})
}

func (s *mongoStore) Days(ctx context.Context, tenantID, from, to string) ([]Day, error) {
	list, err := engine.FindAll(ctx, s.e.Mongo(tenantID).C("points_days"),
		bson.D{{Key: "day", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lte", Value: to}}}},
		func(d Day) Day { return d }, options.Find().SetSort(bson.D{{Key: "day", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("read check-in counters: %w", err)
	}
	return list, nil
}

// sumBy sums value over the accounts matching match, grouped by key (nil:
// one group).
func (s *mongoStore) sumBy(ctx context.Context, tenantID string, match bson.D, key, value any) (map[int64]int64, error) {
	return engine.MongoSumBy[int64](ctx, s.accounts(tenantID), key, value, bson.D{{Key: "$match", Value: match}})
}

func (s *mongoStore) StreakCounts(ctx context.Context, tenantID, since string) (map[int]int64, error) {
	counts, err := s.sumBy(ctx, tenantID, bson.D{{Key: "last_day", Value: bson.D{{Key: "$gte", Value: since}}}}, "$streak", 1)
	if err != nil {
		return nil, fmt.Errorf("count streaks: %w", err)
	}
	out := map[int]int64{}
	for k, n := range counts {
		out[int(k)] = n
	}
	return out, nil
}

func (s *mongoStore) Outstanding(ctx context.Context, tenantID string) (int64, error) {
	ids := bson.A{}
	for i := 0; i < shards; i++ {
		ids = append(ids, shardID(i))
	}
	list, err := engine.FindAll(ctx, s.e.Mongo(tenantID).C("points_totals"), bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		func(d struct {
			Outstanding int64 `bson:"outstanding"`
		}) int64 {
			return d.Outstanding
		})
	if err != nil {
		return 0, fmt.Errorf("read outstanding points: %w", err)
	}
	var n int64
	for _, v := range list {
		n += v
	}
	return n, nil
}

func (s *mongoStore) RebuildCounters(ctx context.Context, tenantID, from, to string) error {
	for d := from; d != "" && d <= to; d = addDays(d, 1) {
		list, err := s.checkins(ctx, tenantID, bson.D{{Key: "day", Value: d}})
		if err != nil {
			return err
		}
		var pts int64
		for _, c := range list {
			pts += c.Total()
		}
		if err := s.upsert(ctx, tenantID, "points_days", dayID(d), bson.D{{Key: "$set", Value: bson.D{{Key: "day", Value: d},
			{Key: "checkins", Value: int64(len(list))}, {Key: "points", Value: pts}}}}); err != nil {
			return err
		}
	}
	totals, err := s.sumBy(ctx, tenantID, bson.D{}, nil, "$balance")
	if err != nil {
		return fmt.Errorf("sum the points balances: %w", err)
	}
	for i := 0; i < shards; i++ {
		v := int64(0)
		if i == 0 {
			v = totals[0]
		}
		if err := s.upsert(ctx, tenantID, "points_totals", shardID(i), bson.D{{Key: "$set", Value: bson.D{{Key: "outstanding", Value: v}}}}); err != nil {
			return err
		}
	}
	return nil
}
