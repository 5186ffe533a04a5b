package dashboard

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
)

// mongoStore keeps a row per document, _id "<dim>|<day>|<key>", with the
// de-duplication keys it applied in its own "applied" array: an increment
// is one conditional update (the key not yet there: $inc and $push), so it
// is applied once per row without a transaction.
type mongoStore struct{ e *engine.Engine }

// dayDoc is a dash_days document as read (applied left out).
type dayDoc struct {
	Day       string `bson:"day"`
	Key       string `bson:"key"`
	Paid      int64  `bson:"paid"`
	Refunded  int64  `bson:"refunded"`
	Orders    int64  `bson:"orders"`
	Refunds   int64  `bson:"refunds"`
	Qty       int64  `bson:"qty"`
	Buyers    int64  `bson:"buyers"`
	Visits    int64  `bson:"visits"`
	Follows   int64  `bson:"follows"`
	Unfollows int64  `bson:"unfollows"`
	Active    int64  `bson:"active"`
}

func (d dayDoc) row() Row {
	return Row{Day: d.Day, Key: d.Key, Counts: Counts{Paid: d.Paid, Refunded: d.Refunded, Orders: d.Orders, Refunds: d.Refunds,
		Qty: d.Qty, Buyers: d.Buyers, Visits: d.Visits, Follows: d.Follows, Unfollows: d.Unfollows, Active: d.Active}}
}

// incs is c as a $inc document (the counters that are not zero).
func incs(c Counts) bson.D {
	d := bson.D{}
	for _, f := range []struct {
		k string
		v int64
	}{{"paid", c.Paid}, {"refunded", c.Refunded}, {"orders", c.Orders}, {"refunds", c.Refunds}, {"qty", c.Qty},
		{"buyers", c.Buyers}, {"visits", c.Visits}, {"follows", c.Follows}, {"unfollows", c.Unfollows}, {"active", c.Active}} {
		if f.v != 0 {
			d = append(d, bson.E{Key: f.k, Value: f.v})
		}
	}
	return d
}

func (s *mongoStore) days(tenantID string) *engine.Collection {
	return s.e.Mongo(tenantID).C("dash_days")
}

func (s *mongoStore) Apply(ctx context.Context, tenantID, once string, list []Inc, buyer *Buyer) error {
	if buyer != nil {
		if err := s.buyer(ctx, tenantID, buyer.FanID, buyer.Day); err != nil {
			return err
		}
	}
	for _, in := range merge(list) {
		key := once
		if in.Once != "" {
			key = in.Once
		}
		if err := s.add(ctx, tenantID, in, key); err != nil {
			return fmt.Errorf("count %s %s %s: %w", in.Dim, in.Key, in.Day, err)
		}
	}
	return nil
}

// add applies one increment to its row once per key ("" every time).
func (s *mongoStore) add(ctx context.Context, tenantID string, in Inc, key string) error {
	id := in.Dim + "|" + in.Day + "|" + in.Key
	filter := bson.D{{Key: "_id", Value: id}}
	update := bson.D{{Key: "$inc", Value: incs(in.Counts)},
		{Key: "$setOnInsert", Value: bson.D{{Key: "day", Value: in.Day}, {Key: "dim", Value: in.Dim}, {Key: "key", Value: in.Key}}}}
	if key != "" {
		filter = append(filter, bson.E{Key: "applied", Value: bson.D{{Key: "$ne", Value: key}}})
		update = append(update, bson.E{Key: "$push", Value: bson.D{{Key: "applied", Value: key}}})
	}
	// A duplicate _id on the upsert is a row that exists: either it holds
	// the key (applied before: done), or another writer created it in
	// between (try again, now as an update).
	for range 2 {
		_, err := s.days(tenantID).UpdateOne(ctx, filter, update, options.UpdateOne().SetUpsert(true))
		if !engine.IsUniqueViolation(err) {
			return err
		}
	}
	return nil
}

func (s *mongoStore) buyers(tenantID string) *engine.Collection {
	return s.e.Mongo(tenantID).C("dash_buyers")
}

// buyer moves the fan's first and latest paid days outwards to day.
func (s *mongoStore) buyer(ctx context.Context, tenantID, fanID, day string) error {
	c := s.buyers(tenantID)
	_, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}, {Key: "last_day", Value: bson.D{{Key: "$lt", Value: day}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "last_day", Value: day}}},
			{Key: "$setOnInsert", Value: bson.D{{Key: "first_day", Value: day}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil && !engine.IsUniqueViolation(err) { // a duplicate: the fan's latest day is day or later
		return fmt.Errorf("record buyer %s: %w", fanID, err)
	}
	_, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: fanID}, {Key: "first_day", Value: bson.D{{Key: "$gt", Value: day}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "first_day", Value: day}}}})
	if err != nil {
		return fmt.Errorf("record buyer %s: %w", fanID, err)
	}
	return nil
}

func (s *mongoStore) BuyersSince(ctx context.Context, tenantID, day string) (int64, error) {
	n, err := s.buyers(tenantID).CountDocuments(ctx, bson.D{{Key: "last_day", Value: bson.D{{Key: "$gte", Value: day}}}})
	if err != nil {
		return 0, fmt.Errorf("count buyers since %s: %w", day, err)
	}
	return n, nil
}

func dayRange(dim, from, to string) bson.D {
	return bson.D{{Key: "dim", Value: dim}, {Key: "day", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lte", Value: to}}}}
}

func (s *mongoStore) Days(ctx context.Context, tenantID, dim, from, to string) ([]Row, error) {
	rows, err := engine.FindAll(ctx, s.days(tenantID), dayRange(dim, from, to), dayDoc.row,
		options.Find().SetSort(bson.D{{Key: "dim", Value: 1}, {Key: "day", Value: 1}}).SetProjection(bson.D{{Key: "applied", Value: 0}}))
	if err != nil {
		return nil, fmt.Errorf("read %s days: %w", dim, err)
	}
	for i := range rows {
		rows[i].Dim = dim
	}
	return rows, nil
}

// Top sums the range's rows by key here: FerretDB's $group keeps only
// its first $sum, and a range holds a row per day and key (a few thousand
// at most), read through the (dim, day) index.
func (s *mongoStore) Top(ctx context.Context, tenantID, dim, from, to string, n int) ([]Row, error) {
	rows, err := s.Days(ctx, tenantID, dim, from, to)
	if err != nil {
		return nil, fmt.Errorf("read top %s: %w", dim, err)
	}
	return topOf(rows, dim, n), nil
}
