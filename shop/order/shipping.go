package order

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
)

// ShippingFacts is how a shop shipped the orders paid in a period, the
// input of its on-time shipping (shop/credit): Paid orders were paid in
// it; Due of them had to be shipped by now (shipped, or still unshipped
// past the promise); OnTime of those were shipped within the promise.
type ShippingFacts struct {
	Paid   int64 `json:"paid"`
	Due    int64 `json:"due"`
	OnTime int64 `json:"on_time"`
}

// paidOrder is the part of an order ShippingFacts reads.
type paidOrder struct {
	Status    string
	PaidAt    time.Time
	ShippedAt time.Time // zero: not shipped
}

// paidReader lists the orders paid in [from, to), oldest first (part of
// Store; both stores implement it below, over the paid_at index).
type paidReader interface {
	paidBetween(ctx context.Context, tenantID string, from, to time.Time, fn func(paidOrder) error) error
}

// ShippingFacts counts the orders paid from from up to to and how many of
// them shipped within promised of their payment, as of now: an order
// still paid (not shipped) past the promise is late; one shipped, or
// cancelled or refunded unshipped, within it is not due. Sandbox orders
// of a shop's test mode count as any other.
func (s *Service) ShippingFacts(ctx context.Context, tenantID string, from, to time.Time, promised time.Duration) (ShippingFacts, error) {
	var f ShippingFacts
	now := s.clock()
	err := s.store.paidBetween(ctx, tenantID, from, to, func(o paidOrder) error {
		f.Paid++
		deadline := o.PaidAt.Add(promised)
		switch {
		case !o.ShippedAt.IsZero():
			f.Due++
			if !o.ShippedAt.After(deadline) {
				f.OnTime++
			}
		case o.Status == Paid && now.After(deadline):
			f.Due++ // late, and still not shipped
		}
		return nil
	})
	if err != nil {
		return f, fmt.Errorf("count shipping of orders paid since %s: %w", from.Format(time.DateOnly), err)
	}
	return f, nil
}

func (s *sqliteStore) paidBetween(ctx context.Context, tenantID string, from, to time.Time, fn func(paidOrder) error) error {
	db, err := s.e.SQL(tenantID)
	if err != nil {
		return err
	}
	rows, err := db.Query(ctx, `SELECT status, paid_at, shipped_at FROM orders WHERE tenant_id = ? AND paid_at >= ? AND paid_at < ?
		ORDER BY paid_at`, engine.TimeText(from), engine.TimeText(to))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var o paidOrder
		var paid, shipped string
		if err := rows.Scan(&o.Status, &paid, &shipped); err != nil {
			return err
		}
		o.PaidAt, o.ShippedAt = engine.ParseTimeText(paid), engine.ParseOptTimeText(shipped)
		if err := fn(o); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *mongoStore) paidBetween(ctx context.Context, tenantID string, from, to time.Time, fn func(paidOrder) error) error {
	cur, err := s.e.Mongo(tenantID).C("orders").Find(ctx,
		bson.D{{Key: "paid_at", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lt", Value: to}}}},
		options.Find().SetSort(bson.D{{Key: "paid_at", Value: 1}}).
			SetProjection(bson.D{{Key: "status", Value: 1}, {Key: "paid_at", Value: 1}, {Key: "shipped_at", Value: 1}}))
	if err != nil {
		return err
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d struct {
			Status    string     `bson:"status"`
			PaidAt    time.Time  `bson:"paid_at"`
			ShippedAt *time.Time `bson:"shipped_at"`
		}
		if err := cur.Decode(&d); err != nil {
			return err
		}
		o := paidOrder{Status: d.Status, PaidAt: d.PaidAt.UTC()}
		if d.ShippedAt != nil {
			o.ShippedAt = d.ShippedAt.UTC()
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return cur.Err()
}
