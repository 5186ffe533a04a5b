package order

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type mongoStore struct{ e *engine.Engine }

type orderDoc struct {
	ID            string      `bson:"_id"`
	FanID         string      `bson:"fan_id"`
	Status        string      `bson:"status"`
	Lines         []Line      `bson:"lines"`
	Address       Address     `bson:"address"`
	GoodsTotal    int64       `bson:"goods_total"`
	ShippingFee   int64       `bson:"shipping_fee"`
	Discount      int64       `bson:"discount"`
	Payable       int64       `bson:"payable"`
	Paid          int64       `bson:"paid"`
	Refunded      int64       `bson:"refunded"`
	Refundable    int64       `bson:"refundable"`
	Refunds       []Refund    `bson:"refunds"`
	Events        []Event     `bson:"events"`
	Outbox        bool        `bson:"outbox"`
	Provider      string      `bson:"provider"`
	TransactionID string      `bson:"transaction_id"`
	Carrier       string      `bson:"carrier"`
	TrackingNo    string      `bson:"tracking_no"`
	CancelReason  string      `bson:"cancel_reason"`
	Attribution   Attribution `bson:"attribution"`
	CreatedAt     time.Time   `bson:"created_at"`
	ExpiresAt     time.Time   `bson:"expires_at"`
	PaidAt        *time.Time  `bson:"paid_at,omitempty"`
	ShippedAt     *time.Time  `bson:"shipped_at,omitempty"`
	CompletedAt   *time.Time  `bson:"completed_at,omitempty"`
	CancelledAt   *time.Time  `bson:"cancelled_at,omitempty"`
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (d orderDoc) order() Order {
	o := Order{ID: d.ID, FanID: d.FanID, Status: d.Status, Lines: d.Lines, Address: d.Address, GoodsTotal: d.GoodsTotal,
		ShippingFee: d.ShippingFee, Discount: d.Discount, Payable: d.Payable, Paid: d.Paid, Refunded: d.Refunded,
		Refundable: d.Refundable, Refunds: d.Refunds, Events: d.Events, Provider: d.Provider, TransactionID: d.TransactionID,
		Carrier: d.Carrier, TrackingNo: d.TrackingNo, CancelReason: d.CancelReason, Attribution: d.Attribution, CreatedAt: d.CreatedAt.UTC(),
		ExpiresAt: d.ExpiresAt.UTC(), PaidAt: utcPtr(d.PaidAt), ShippedAt: utcPtr(d.ShippedAt),
		CompletedAt: utcPtr(d.CompletedAt), CancelledAt: utcPtr(d.CancelledAt)}
	if o.Refunds == nil {
		o.Refunds = []Refund{}
	}
	if o.Lines == nil {
		o.Lines = []Line{}
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
	return s.e.Mongo(tenantID).C("orders").InsertOne(ctx, orderDoc{ID: o.ID, FanID: o.FanID, Status: o.Status, Lines: o.Lines,
		Address: o.Address, GoodsTotal: o.GoodsTotal, ShippingFee: o.ShippingFee, Discount: o.Discount, Payable: o.Payable,
		Refunds: []Refund{}, Events: []Event{}, Attribution: o.Attribution, CreatedAt: o.CreatedAt, ExpiresAt: o.ExpiresAt})
}

func (s *mongoStore) Get(ctx context.Context, tenantID, id string) (Order, error) {
	var d orderDoc
	err := s.e.Mongo(tenantID).C("orders").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Order{}, fault.NotFound("order")
	}
	return d.order(), err
}

func (s *mongoStore) find(ctx context.Context, c *engine.Collection, f bson.D, opts *options.FindOptionsBuilder) ([]Order, error) {
	cur, err := c.Find(ctx, f, opts)
	if err != nil {
		return nil, err
	}
	var docs []orderDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]Order, len(docs))
	for i, d := range docs {
		out[i] = d.order()
	}
	return out, nil
}

func (s *mongoStore) List(ctx context.Context, tenantID string, f Filter) ([]Order, int64, error) {
	c := s.e.Mongo(tenantID).C("orders")
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
	total, err := c.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, err
	}
	list, err := s.find(ctx, c, filter, options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).
		SetSkip(int64(f.Offset)).SetLimit(int64(f.Limit)))
	return list, total, err
}

func changeSet(ch Change) bson.D {
	set := bson.D{}
	add := func(k string, v any) { set = append(set, bson.E{Key: k, Value: v}) }
	if ch.PaidAt != nil {
		add("paid_at", *ch.PaidAt)
	}
	if ch.Paid != nil {
		add("paid", *ch.Paid)
		add("refundable", *ch.Paid)
	}
	if ch.Provider != nil {
		add("provider", *ch.Provider)
	}
	if ch.TransactionID != nil {
		add("transaction_id", *ch.TransactionID)
	}
	if ch.ShippedAt != nil {
		add("shipped_at", *ch.ShippedAt)
	}
	if ch.Carrier != nil {
		add("carrier", *ch.Carrier)
	}
	if ch.TrackingNo != nil {
		add("tracking_no", *ch.TrackingNo)
	}
	if ch.CompletedAt != nil {
		add("completed_at", *ch.CompletedAt)
	}
	if ch.CancelledAt != nil {
		add("cancelled_at", *ch.CancelledAt)
	}
	if ch.CancelReason != nil {
		add("cancel_reason", *ch.CancelReason)
	}
	return set
}

func (s *mongoStore) Transition(ctx context.Context, tenantID, id string, from []string, to string, ch Change, ev *Event) (bool, error) {
	set := append(changeSet(ch), bson.E{Key: "status", Value: to})
	update := bson.D{}
	if ev != nil {
		set = append(set, bson.E{Key: "outbox", Value: true})
		update = append(update, bson.E{Key: "$push", Value: bson.D{{Key: "events", Value: *ev}}})
	}
	update = append(bson.D{{Key: "$set", Value: set}}, update...)
	res, err := s.e.Mongo(tenantID).C("orders").UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "status", Value: bson.D{{Key: "$in", Value: from}}}}, update)
	if err != nil {
		return false, fmt.Errorf("order %s to %s: %w", id, to, err)
	}
	return res.ModifiedCount == 1, nil
}

func (s *mongoStore) AddRefund(ctx context.Context, tenantID, id string, from []string, r Refund, ev Event) (bool, error) {
	c := s.e.Mongo(tenantID).C("orders")
	res, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: bson.D{{Key: "$in", Value: from}}},
		{Key: "refundable", Value: bson.D{{Key: "$gte", Value: r.Amount}}}},
		bson.D{
			{Key: "$inc", Value: bson.D{{Key: "refunded", Value: r.Amount}, {Key: "refundable", Value: -r.Amount}}},
			{Key: "$push", Value: bson.D{{Key: "refunds", Value: r}, {Key: "events", Value: ev}}},
			{Key: "$set", Value: bson.D{{Key: "outbox", Value: true}}},
		})
	if err != nil {
		return false, fmt.Errorf("refund order %s: %w", id, err)
	}
	if res.ModifiedCount == 0 {
		return false, nil
	}
	// Fully refunded closes the order; a second conditional update, so a
	// crash in between only leaves a fully refunded order showing "paid".
	_, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "refundable", Value: 0}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: Refunded}}}})
	return true, err
}

func (s *mongoStore) Due(ctx context.Context, tenantID, status, field string, t time.Time, limit int) ([]Order, error) {
	if field != "expires_at" && field != "shipped_at" && field != "created_at" {
		return nil, fmt.Errorf("due: unknown field %q", field)
	}
	c := s.e.Mongo(tenantID).C("orders")
	return s.find(ctx, c, bson.D{{Key: "status", Value: status}, {Key: field, Value: bson.D{{Key: "$lt", Value: t}}}},
		options.Find().SetSort(bson.D{{Key: field, Value: 1}}).SetLimit(int64(limit)))
}

func (s *mongoStore) WithEvents(ctx context.Context, tenantID string, limit int) ([]Order, error) {
	c := s.e.Mongo(tenantID).C("orders")
	return s.find(ctx, c, bson.D{{Key: "outbox", Value: true}}, options.Find().SetLimit(int64(limit)))
}

func (s *mongoStore) AckEvents(ctx context.Context, tenantID, id string, events []Event) error {
	c := s.e.Mongo(tenantID).C("orders")
	for _, ev := range events {
		// Whole-element $pull (FerretDB matches whole elements only).
		if _, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
			bson.D{{Key: "$pull", Value: bson.D{{Key: "events", Value: ev}}}}); err != nil {
			return err
		}
	}
	_, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "events", Value: bson.A{}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "outbox", Value: false}}}})
	return err
}

func (s *mongoStore) InsertPayment(ctx context.Context, tenantID string, p Payment) (bool, error) {
	err := s.e.Mongo(tenantID).C("payments").InsertOne(ctx, p)
	if engine.IsUniqueViolation(err) {
		return false, nil
	}
	return err == nil, err
}

func (s *mongoStore) FlagPayment(ctx context.Context, tenantID, provider, transactionID, reason string) (bool, error) {
	res, err := s.e.Mongo(tenantID).C("payments").UpdateOne(ctx,
		bson.D{{Key: "provider", Value: provider}, {Key: "transaction_id", Value: transactionID}, {Key: "refund", Value: bson.D{{Key: "$in", Value: bson.A{"", nil}}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "refund", Value: PaymentToRefund}, {Key: "reason", Value: reason}}}})
	if err != nil {
		return false, err
	}
	return res.ModifiedCount == 1, nil
}

func (s *mongoStore) RefundedPayment(ctx context.Context, tenantID, orderID, provider, transactionID string, at time.Time) (bool, error) {
	res, err := s.e.Mongo(tenantID).C("payments").UpdateOne(ctx,
		bson.D{{Key: "provider", Value: provider}, {Key: "transaction_id", Value: transactionID}, {Key: "order_id", Value: orderID}, {Key: "refund", Value: PaymentToRefund}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "refund", Value: PaymentRefunded}, {Key: "refunded_at", Value: at}}}})
	if err != nil {
		return false, err
	}
	return res.ModifiedCount == 1, nil
}

func (s *mongoStore) Payments(ctx context.Context, tenantID, refund, orderID string, limit int) ([]Payment, error) {
	c := s.e.Mongo(tenantID).C("payments")
	var filter bson.D
	opts := options.Find()
	if orderID != "" {
		filter = bson.D{{Key: "order_id", Value: orderID}}
	} else {
		filter = bson.D{{Key: "refund", Value: refund}}
		opts.SetSort(bson.D{{Key: "refund", Value: 1}, {Key: "at", Value: -1}}).SetLimit(int64(limit))
	}
	cur, err := c.Find(ctx, filter, opts)
	if err != nil {
		return nil, err
	}
	out := []Payment{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, err
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
		return IdemKey{}, false, err
	}
	key := bson.D{{Key: "scope", Value: k.Scope}, {Key: "key", Value: k.Key}}
	// A stale record is taken over by whoever matches it first.
	res, err := c.UpdateOne(ctx, append(key, bson.E{Key: "at", Value: bson.D{{Key: "$lt", Value: staleBefore}}}),
		bson.D{{Key: "$set", Value: bson.D{{Key: "hash", Value: k.Hash}, {Key: "order_id", Value: k.OrderID},
			{Key: "status", Value: 0}, {Key: "body", Value: nil}, {Key: "at", Value: k.At}}}})
	if err != nil {
		return IdemKey{}, false, err
	}
	if res.ModifiedCount == 1 {
		return k, true, nil
	}
	var got IdemKey
	err = c.FindOne(ctx, key).Decode(&got)
	got.At = got.At.UTC()
	return got, false, err
}

func (s *mongoStore) FinishKey(ctx context.Context, tenantID string, k IdemKey) error {
	_, err := s.e.Mongo(tenantID).C("idempotency_keys").UpdateOne(ctx,
		bson.D{{Key: "scope", Value: k.Scope}, {Key: "key", Value: k.Key}, {Key: "hash", Value: k.Hash}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: k.Status}, {Key: "body", Value: k.Body}}}})
	return err
}

func (s *mongoStore) ReleaseKey(ctx context.Context, tenantID string, k IdemKey) error {
	_, err := s.e.Mongo(tenantID).C("idempotency_keys").DeleteOne(ctx, bson.D{{Key: "scope", Value: k.Scope},
		{Key: "key", Value: k.Key}, {Key: "hash", Value: k.Hash}, {Key: "status", Value: 0}})
	return err
}

func (s *mongoStore) DeleteKeysBefore(ctx context.Context, tenantID string, t time.Time, limit int) (int, error) {
	c := s.e.Mongo(tenantID).C("idempotency_keys")
	cur, err := c.Find(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: t}}}},
		options.Find().SetSort(bson.D{{Key: "at", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return 0, err
	}
	var docs []IdemKey
	if err := cur.All(ctx, &docs); err != nil {
		return 0, err
	}
	n := 0
	for _, d := range docs {
		res, err := c.DeleteOne(ctx, bson.D{{Key: "scope", Value: d.Scope}, {Key: "key", Value: d.Key}})
		if err != nil {
			return n, err
		}
		n += int(res.DeletedCount)
	}
	return n, nil
}

func (s *mongoStore) Cart(ctx context.Context, tenantID, fanID string) ([]CartItem, error) {
	cur, err := s.e.Mongo(tenantID).C("cart_items").Find(ctx, bson.D{{Key: "fan_id", Value: fanID}})
	if err != nil {
		return nil, err
	}
	items := []CartItem{}
	if err := cur.All(ctx, &items); err != nil {
		return nil, err
	}
	sortCart(items)
	return items, nil
}

func (s *mongoStore) SetCartItem(ctx context.Context, tenantID, fanID string, it CartItem) error {
	c := s.e.Mongo(tenantID).C("cart_items")
	key := bson.D{{Key: "fan_id", Value: fanID}, {Key: "product_id", Value: it.ProductID}, {Key: "sku_id", Value: it.SKUID}}
	if it.Qty <= 0 {
		_, err := c.DeleteOne(ctx, key)
		return err
	}
	_, err := c.UpdateOne(ctx, key, bson.D{
		{Key: "$set", Value: bson.D{{Key: "qty", Value: it.Qty}, {Key: "price_seen", Value: it.PriceSeen}}},
		{Key: "$setOnInsert", Value: bson.D{{Key: "added_at", Value: it.AddedAt}}},
	}, options.UpdateOne().SetUpsert(true))
	return err
}

func (s *mongoStore) ClearCart(ctx context.Context, tenantID, fanID string) error {
	_, err := s.e.Mongo(tenantID).C("cart_items").DeleteMany(ctx, bson.D{{Key: "fan_id", Value: fanID}})
	return err
}

func (s *mongoStore) Settings(ctx context.Context, tenantID string) (Settings, error) {
	var d struct {
		Doc Settings `bson:"doc"`
	}
	err := s.e.Mongo(tenantID).C("order_settings").FindOne(ctx, bson.D{{Key: "_id", Value: "settings"}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return DefaultSettings(), nil
	}
	return d.Doc, err
}

func (s *mongoStore) SaveSettings(ctx context.Context, tenantID string, st Settings) error {
	_, err := s.e.Mongo(tenantID).C("order_settings").UpdateOne(ctx, bson.D{{Key: "_id", Value: "settings"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "doc", Value: st}}}}, options.UpdateOne().SetUpsert(true))
	return err
}
