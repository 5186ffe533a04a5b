package order

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type mongoStore struct{ engineStore }

// orderDoc is an order as its Mongo document: the order and its outbox
// flag.
type orderDoc struct {
	Order  `bson:",inline"`
	Outbox bool `bson:"outbox"`
}

// order is the stored order with empty lists for absent ones and every
// time in UTC.
func (d orderDoc) order() Order {
	o := d.Order
	if o.Refunds == nil {
		o.Refunds = []Refund{}
	}
	if o.Lines == nil {
		o.Lines = []Line{}
	}
	o.CreatedAt, o.ExpiresAt = o.CreatedAt.UTC(), o.ExpiresAt.UTC()
	for _, t := range []**time.Time{&o.PaidAt, &o.ShippedAt, &o.CompletedAt, &o.CancelledAt} {
		if *t != nil {
			*t = engine.OptTime(**t)
		}
	}
	for i := range o.Events {
		o.Events[i].At = o.Events[i].At.UTC()
	}
	for i := range o.Refunds {
		o.Refunds[i].At = o.Refunds[i].At.UTC()
	}
	return o
}

func (s *mongoStore) Insert(ctx context.Context, tenantID string, o *Order) error {
	if o.Refunds == nil {
		o.Refunds = []Refund{}
	}
	d := orderDoc{Order: *o}
	d.Events = []Event{}
	return fault.Wrap(s.e.Mongo(tenantID).C("orders").InsertOne(ctx, d), "insert order %s", o.ID)
}

func (s *mongoStore) Get(ctx context.Context, tenantID, id string) (Order, error) {
	var d orderDoc
	err := s.e.Mongo(tenantID).C("orders").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Order{}, fault.NotFound("order")
	}
	return d.order(), fault.Wrap(err, "get order %s", id)
}

// findAll decodes every document a query finds, as an empty list when
// none.
func findAll[T any](ctx context.Context, c *engine.Collection, filter bson.D, opts ...options.Lister[options.FindOptions]) ([]T, error) {
	out := []T{}
	cur, err := c.Find(ctx, filter, opts...)
	if err == nil {
		err = cur.All(ctx, &out)
	}
	return out, err
}

func (s *mongoStore) find(ctx context.Context, tenantID string, f bson.D, opts *options.FindOptionsBuilder) ([]Order, error) {
	docs, err := findAll[orderDoc](ctx, s.e.Mongo(tenantID).C("orders"), f, opts)
	out := make([]Order, len(docs))
	for i, d := range docs {
		out[i] = d.order()
	}
	return out, err
}

func (s *mongoStore) List(ctx context.Context, tenantID string, f Filter) ([]Order, int64, error) {
	filter := bson.D{}
	if f.FanID != "" {
		filter = append(filter, bson.E{Key: "fan_id", Value: f.FanID})
	}
	if f.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: f.Status})
	} else {
		filter = append(filter, bson.E{Key: "status", Value: bson.D{{Key: "$nin", Value: bson.A{Placing, Rejected}}}})
	}
	created := bson.D{}
	if !f.From.IsZero() {
		created = append(created, bson.E{Key: "$gte", Value: f.From})
	}
	if !f.To.IsZero() {
		created = append(created, bson.E{Key: "$lt", Value: f.To})
	}
	if len(created) > 0 {
		filter = append(filter, bson.E{Key: "created_at", Value: created})
	}
	total, err := s.e.Mongo(tenantID).C("orders").CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, fmt.Errorf("count orders: %w", err)
	}
	list, err := s.find(ctx, tenantID, filter, options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).
		SetSkip(int64(f.Offset)).SetLimit(int64(f.Limit)))
	return list, total, fault.Wrap(err, "list orders")
}

// updatedOne says whether an update (res, err) changed its document.
func updatedOne(res *mongo.UpdateResult, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	return res.ModifiedCount == 1, nil
}

func (s *mongoStore) Transition(ctx context.Context, tenantID, id string, from []string, to string, ch Change, ev *Event) (bool, error) {
	fields := bson.D{}
	for _, c := range append(ch.sets(), set{"status", to}) {
		fields = append(fields, bson.E{Key: c.field, Value: c.value})
	}
	update := bson.D{}
	if ev != nil {
		fields = append(fields, bson.E{Key: "outbox", Value: true})
		update = append(update, bson.E{Key: "$push", Value: bson.D{{Key: "events", Value: *ev}}})
	}
	update = append(bson.D{{Key: "$set", Value: fields}}, update...)
	ok, err := updatedOne(s.e.Mongo(tenantID).C("orders").UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "status", Value: bson.D{{Key: "$in", Value: from}}}}, update))
	return ok, fault.Wrap(err, "order %s to %s", id, to)
}

func (s *mongoStore) AddRefund(ctx context.Context, tenantID, id string, from []string, r Refund, ev Event) (bool, error) {
	c := s.e.Mongo(tenantID).C("orders")
	ok, err := updatedOne(c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: bson.D{{Key: "$in", Value: from}}},
		{Key: "refundable", Value: bson.D{{Key: "$gte", Value: r.Amount}}}},
		bson.D{
			{Key: "$inc", Value: bson.D{{Key: "refunded", Value: r.Amount}, {Key: "refundable", Value: -r.Amount}}},
			{Key: "$push", Value: bson.D{{Key: "refunds", Value: r}, {Key: "events", Value: ev}}},
			{Key: "$set", Value: bson.D{{Key: "outbox", Value: true}}},
		}))
	if err != nil || !ok {
		return false, fault.Wrap(err, "refund order %s", id)
	}
	// Fully refunded closes the order; a second conditional update, so a
	// crash in between only leaves a fully refunded order showing "paid".
	_, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "refundable", Value: 0}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: Refunded}}}})
	return true, fault.Wrap(err, "close refunded order %s", id)
}

func (s *mongoStore) Due(ctx context.Context, tenantID, status, field string, t time.Time, limit int) ([]Order, error) {
	if err := checkDue(status, field); err != nil {
		return nil, err
	}
	list, err := s.find(ctx, tenantID, bson.D{{Key: "status", Value: status}, {Key: field, Value: bson.D{{Key: "$lt", Value: t}}}},
		options.Find().SetSort(bson.D{{Key: field, Value: 1}}).SetLimit(int64(limit)))
	return list, fault.Wrap(err, "orders due by %s", field)
}

func (s *mongoStore) WithEvents(ctx context.Context, tenantID string, limit int) ([]Order, error) {
	list, err := s.find(ctx, tenantID, bson.D{{Key: "outbox", Value: true}}, options.Find().SetLimit(int64(limit)))
	return list, fault.Wrap(err, "orders with events")
}

func (s *mongoStore) AckEvents(ctx context.Context, tenantID, id string, events []Event) error {
	c := s.e.Mongo(tenantID).C("orders")
	for _, ev := range events {
		// Whole-element $pull (FerretDB matches whole elements only).
		if _, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
			bson.D{{Key: "$pull", Value: bson.D{{Key: "events", Value: ev}}}}); err != nil {
			return fmt.Errorf("ack events of order %s: %w", id, err)
		}
	}
	_, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "events", Value: bson.A{}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "outbox", Value: false}}}})
	return fault.Wrap(err, "ack events of order %s", id)
}

func (s *mongoStore) InsertPayment(ctx context.Context, tenantID string, p Payment) (bool, error) {
	err := s.e.Mongo(tenantID).C("payments").InsertOne(ctx, p)
	if engine.IsUniqueViolation(err) {
		return false, nil
	}
	return err == nil, fault.Wrap(err, "record payment %s", p.TransactionID)
}

func (s *mongoStore) FlagPayment(ctx context.Context, tenantID, provider, transactionID, reason string) (bool, error) {
	ok, err := updatedOne(s.e.Mongo(tenantID).C("payments").UpdateOne(ctx,
		bson.D{{Key: "provider", Value: provider}, {Key: "transaction_id", Value: transactionID}, {Key: "refund", Value: bson.D{{Key: "$in", Value: bson.A{"", nil}}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "refund", Value: PaymentToRefund}, {Key: "reason", Value: reason}}}}))
	return ok, fault.Wrap(err, "flag payment %s", transactionID)
}

func (s *mongoStore) RefundedPayment(ctx context.Context, tenantID, orderID, provider, transactionID string, at time.Time) (bool, error) {
	ok, err := updatedOne(s.e.Mongo(tenantID).C("payments").UpdateOne(ctx,
		bson.D{{Key: "provider", Value: provider}, {Key: "transaction_id", Value: transactionID}, {Key: "order_id", Value: orderID}, {Key: "refund", Value: PaymentToRefund}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "refund", Value: PaymentRefunded}, {Key: "refunded_at", Value: at}}}}))
	return ok, fault.Wrap(err, "mark payment %s refunded", transactionID)
}

func (s *mongoStore) Payments(ctx context.Context, tenantID, refund, orderID string, limit int) ([]Payment, error) {
	filter := bson.D{{Key: "refund", Value: refund}}
	opts := options.Find().SetSort(bson.D{{Key: "refund", Value: 1}, {Key: "at", Value: -1}}).SetLimit(int64(limit))
	if orderID != "" {
		filter, opts = bson.D{{Key: "order_id", Value: orderID}}, options.Find()
	}
	out, err := findAll[Payment](ctx, s.e.Mongo(tenantID).C("payments"), filter, opts)
	if err != nil {
		return nil, fmt.Errorf("list payments: %w", err)
	}
	if orderID != "" {
		slices.SortFunc(out, func(a, b Payment) int { return a.At.Compare(b.At) })
	}
	return out, nil
}

func (s *mongoStore) ClaimKey(ctx context.Context, tenantID string, k IdemKey, staleBefore time.Time) (IdemKey, bool, error) {
	c := s.e.Mongo(tenantID).C("idempotency_keys")
	err := c.InsertOne(ctx, k)
	if err == nil {
		return k, true, nil
	}
	if !engine.IsUniqueViolation(err) {
		return IdemKey{}, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	key := bson.D{{Key: "scope", Value: k.Scope}, {Key: "key", Value: k.Key}}
	// A stale record is taken over by whoever matches it first.
	claimed, err := updatedOne(c.UpdateOne(ctx, append(key, bson.E{Key: "at", Value: bson.D{{Key: "$lt", Value: staleBefore}}}),
		bson.D{{Key: "$set", Value: bson.D{{Key: "hash", Value: k.Hash}, {Key: "order_id", Value: k.OrderID},
			{Key: "status", Value: 0}, {Key: "body", Value: nil}, {Key: "at", Value: k.At}}}}))
	if err != nil || claimed {
		return k, claimed, fault.Wrap(err, "claim idempotency key")
	}
	var got IdemKey
	err = c.FindOne(ctx, key).Decode(&got)
	got.At = got.At.UTC()
	return got, false, fault.Wrap(err, "read idempotency key")
}

func (s *mongoStore) FinishKey(ctx context.Context, tenantID string, k IdemKey) error {
	_, err := s.e.Mongo(tenantID).C("idempotency_keys").UpdateOne(ctx,
		bson.D{{Key: "scope", Value: k.Scope}, {Key: "key", Value: k.Key}, {Key: "hash", Value: k.Hash}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: k.Status}, {Key: "body", Value: k.Body}}}})
	return fault.Wrap(err, "finish idempotency key")
}

func (s *mongoStore) ReleaseKey(ctx context.Context, tenantID string, k IdemKey) error {
	_, err := s.e.Mongo(tenantID).C("idempotency_keys").DeleteOne(ctx, bson.D{{Key: "scope", Value: k.Scope},
		{Key: "key", Value: k.Key}, {Key: "hash", Value: k.Hash}, {Key: "status", Value: 0}})
	return fault.Wrap(err, "release idempotency key")
}

func (s *mongoStore) DeleteKeysBefore(ctx context.Context, tenantID string, t time.Time, limit int) (int, error) {
	c := s.e.Mongo(tenantID).C("idempotency_keys")
	docs, err := findAll[IdemKey](ctx, c, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: t}}}},
		options.Find().SetSort(bson.D{{Key: "at", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return 0, fmt.Errorf("delete idempotency keys: %w", err)
	}
	n := 0
	for _, d := range docs {
		res, err := c.DeleteOne(ctx, bson.D{{Key: "scope", Value: d.Scope}, {Key: "key", Value: d.Key}})
		if err != nil {
			return n, fmt.Errorf("delete idempotency keys: %w", err)
		}
		n += int(res.DeletedCount)
	}
	return n, nil
}

func (s *mongoStore) Cart(ctx context.Context, tenantID, fanID string) ([]CartItem, error) {
	items, err := findAll[CartItem](ctx, s.e.Mongo(tenantID).C("cart_items"), bson.D{{Key: "fan_id", Value: fanID}})
	if err != nil {
		return nil, fmt.Errorf("read cart: %w", err)
	}
	sortCart(items)
	return items, nil
}

func (s *mongoStore) SetCartItem(ctx context.Context, tenantID, fanID string, it CartItem) error {
	c := s.e.Mongo(tenantID).C("cart_items")
	key := bson.D{{Key: "fan_id", Value: fanID}, {Key: "product_id", Value: it.ProductID}, {Key: "sku_id", Value: it.SKUID}}
	var err error
	if it.Qty <= 0 {
		_, err = c.DeleteOne(ctx, key)
	} else {
		_, err = c.UpdateOne(ctx, key, bson.D{
			{Key: "$set", Value: bson.D{{Key: "qty", Value: it.Qty}, {Key: "price_seen", Value: it.PriceSeen}}},
			{Key: "$setOnInsert", Value: bson.D{{Key: "added_at", Value: it.AddedAt}}},
		}, options.UpdateOne().SetUpsert(true))
	}
	return fault.Wrap(err, "set cart item")
}

func (s *mongoStore) ClearCart(ctx context.Context, tenantID, fanID string) error {
	_, err := s.e.Mongo(tenantID).C("cart_items").DeleteMany(ctx, bson.D{{Key: "fan_id", Value: fanID}})
	return fault.Wrap(err, "clear cart")
}
