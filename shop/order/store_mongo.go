package order

import (
	"context"
	"fmt"
	"strconv"
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
	for _, t := range []**time.Time{&o.PaidAt, &o.ShippedAt, &o.CompletedAt, &o.CancelledAt, &o.NextQueryAt} {
		if *t != nil {
			*t = engine.OptTime(**t)
		}
	}
	for i := range o.Events {
		o.Events[i].At = o.Events[i].At.UTC()
	}
	for i := range o.Refunds {
		o.Refunds[i].At = o.Refunds[i].At.UTC()
		if t := o.Refunds[i].SettledAt; t != nil {
			o.Refunds[i].SettledAt = engine.OptTime(*t)
		}
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

func (s *mongoStore) InsertTaking(ctx context.Context, tenantID string, o *Order, sl Slot, prev string) (bool, error) {
	// Two documents: the slot first, so no order is written without one.
	ok, err := s.TakeSlot(ctx, tenantID, sl, prev)
	if err != nil || !ok {
		return false, err
	}
	return true, s.Insert(ctx, tenantID, o)
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
	filter := listFilter(f)
	total, err := s.e.Mongo(tenantID).C("orders").CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, fmt.Errorf("count orders: %w", err)
	}
	list, err := s.find(ctx, tenantID, filter, options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).
		SetSkip(int64(f.Offset)).SetLimit(int64(f.Limit)))
	return list, total, fault.Wrap(err, "list orders")
}

// listFilter selects f's orders so that an index bounds the count and
// yields the page in order: a fan's orders through the fan index (a fan
// has few; the status only filters them), one status through the status
// index, and every listed status as one branch each, which MongoDB reads
// from the status index and merges in created_at order.
func listFilter(f Filter) bson.D {
	status := listed
	if f.Status != "" {
		status = []string{f.Status}
	}
	var filter bson.D
	switch {
	case f.FanID != "":
		filter = bson.D{{Key: "fan_id", Value: f.FanID}, {Key: "status", Value: bson.D{{Key: "$in", Value: status}}}}
	case len(status) == 1:
		filter = bson.D{{Key: "status", Value: status[0]}}
	default:
		branches := bson.A{}
		for _, st := range status {
			branches = append(branches, bson.D{{Key: "status", Value: st}})
		}
		filter = bson.D{{Key: "$or", Value: branches}}
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
	return filter
}

// updatedOne says whether an update (res, err) changed its document.
func updatedOne(res *mongo.UpdateResult, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	return res.ModifiedCount == 1, nil
}

// statusUpdate is the update moving an order to status with ch's fields
// set and, with ev, the event queued in the order's outbox.
func statusUpdate(status string, ch Change, ev *Event) bson.D {
	fields := bson.D{}
	for _, c := range append(ch.sets(), set{"status", status}) {
		fields = append(fields, bson.E{Key: c.field, Value: c.value})
	}
	update := bson.D{{Key: "$set", Value: fields}}
	if ev != nil {
		update[0].Value = append(fields, bson.E{Key: "outbox", Value: true})
		update = append(update, bson.E{Key: "$push", Value: bson.D{{Key: "events", Value: *ev}}})
	}
	return update
}

func (s *mongoStore) Transition(ctx context.Context, tenantID, id string, from []string, to string, ch Change, ev *Event) (bool, error) {
	update := statusUpdate(to, ch, ev)
	ok, err := updatedOne(s.e.Mongo(tenantID).C("orders").UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "status", Value: bson.D{{Key: "$in", Value: from}}}}, update))
	return ok, fault.Wrap(err, "order %s to %s", id, to)
}

func (s *mongoStore) Placed(ctx context.Context, tenantID, id string, _ *IdemKey) (bool, bool, error) {
	// Two documents: the key is the caller's to finish (FinishKey).
	ok, err := s.Transition(ctx, tenantID, id, []string{Placing}, PendingPayment, Change{}, nil)
	return ok, false, err
}

func (s *mongoStore) MarkPaid(ctx context.Context, tenantID, id string, amount int64, ch Change, ev *Event, p Payment) (Order, bool, error) {
	update := statusUpdate(Paid, ch, ev)
	// One findAndModify: the order as paid comes back with the write, so
	// its events are delivered without reading it again.
	var d orderDoc
	err := s.e.Mongo(tenantID).C("orders").FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "status", Value: PendingPayment}, {Key: "payable", Value: amount}}, update,
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Order{}, false, nil
	}
	if err != nil {
		return Order{}, false, fmt.Errorf("order %s to paid: %w", id, err)
	}
	// The payment is the order's own fields (provider, transaction_id,
	// paid, paid_at), written with it: Payments and PaymentsBetween list
	// it with the payments collection (orderPayment).
	return d.order(), true, nil
}

func (s *mongoStore) AddRefund(ctx context.Context, tenantID, id string, from []string, r Refund) (bool, error) {
	// One conditional update, as on SQLite: refundable >= amount reserves
	// the amount against every other refund, processing or not.
	ok, err := updatedOne(s.e.Mongo(tenantID).C("orders").UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "status", Value: bson.D{{Key: "$in", Value: from}}},
			{Key: "refundable", Value: bson.D{{Key: "$gte", Value: r.Amount}}}},
		bson.D{
			{Key: "$inc", Value: bson.D{{Key: "refundable", Value: -r.Amount}, {Key: "refunding", Value: 1}, {Key: "refund_seq", Value: 1}}},
			{Key: "$push", Value: bson.D{{Key: "refunds", Value: r}}},
		}))
	return ok, fault.Wrap(err, "refund order %s", id)
}

// seqIs matches an order whose refund_seq is seq (absent on orders of
// earlier releases: 0).
func seqIs(seq int64) any {
	if seq == 0 {
		return bson.D{{Key: "$in", Value: bson.A{0, nil}}}
	}
	return seq
}

func (s *mongoStore) SettleRefund(ctx context.Context, tenantID, id string, seq int64, refunds []Refund, st RefundSettle) (bool, error) {
	set := bson.D{{Key: "refunds", Value: refunds}}
	if st.Close {
		set = append(set, bson.E{Key: "status", Value: Refunded})
	}
	update := bson.D{}
	if st.Event != nil {
		set = append(set, bson.E{Key: "outbox", Value: true})
		update = append(update, bson.E{Key: "$push", Value: bson.D{{Key: "events", Value: *st.Event}}})
	}
	update = append(update, bson.E{Key: "$set", Value: set}, bson.E{Key: "$inc", Value: bson.D{
		{Key: "refunded", Value: st.Refunded}, {Key: "refundable", Value: st.Refundable},
		{Key: "refunding", Value: -1}, {Key: "refund_seq", Value: 1}}})
	ok, err := updatedOne(s.e.Mongo(tenantID).C("orders").UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "refund_seq", Value: seqIs(seq)}}, update))
	return ok, fault.Wrap(err, "settle refund of order %s", id)
}

func (s *mongoStore) Refunding(ctx context.Context, tenantID string, limit int) ([]Order, error) {
	list, err := s.find(ctx, tenantID, bson.D{{Key: "refunding", Value: bson.D{{Key: "$gt", Value: 0}}}}, options.Find().SetLimit(int64(limit)))
	return list, fault.Wrap(err, "orders with refunds processing")
}

// FullyRefunded finds what the two-write refund of earlier releases could
// leave behind when interrupted between its writes: the money all given
// back, the status not "refunded" (and no refund still processing, whose
// reservation also leaves refundable at 0).
func (s *mongoStore) FullyRefunded(ctx context.Context, tenantID string, limit int) ([]Order, error) {
	list, err := s.find(ctx, tenantID, bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: refundable}}},
		{Key: "refundable", Value: 0}, {Key: "refunded", Value: bson.D{{Key: "$gt", Value: 0}}},
		{Key: "refunding", Value: bson.D{{Key: "$in", Value: bson.A{0, nil}}}}}, options.Find().SetLimit(int64(limit)))
	return list, fault.Wrap(err, "fully refunded orders")
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

func (s *mongoStore) SetNextQuery(ctx context.Context, tenantID, id string, at *time.Time) error {
	update := bson.D{{Key: "$unset", Value: bson.D{{Key: "next_query_at", Value: ""}}}}
	if at != nil {
		update = bson.D{{Key: "$set", Value: bson.D{{Key: "next_query_at", Value: *at}}}}
	}
	_, err := s.e.Mongo(tenantID).C("orders").UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "status", Value: PendingPayment}}, update)
	return fault.Wrap(err, "schedule the payment query of order %s", id)
}

func (s *mongoStore) DueQueries(ctx context.Context, tenantID string, t time.Time, limit int) ([]Order, error) {
	list, err := s.find(ctx, tenantID, bson.D{{Key: "status", Value: PendingPayment}, {Key: "next_query_at", Value: bson.D{{Key: "$lte", Value: t}}}},
		options.Find().SetSort(bson.D{{Key: "next_query_at", Value: 1}}).SetLimit(int64(limit)))
	return list, fault.Wrap(err, "orders whose payment query is due")
}

func (s *mongoStore) AckEvents(ctx context.Context, tenantID, id string, events []Event) error {
	c := s.e.Mongo(tenantID).C("orders")
	// The usual case, every event of the outbox delivered: one update,
	// conditional on the outbox holding exactly those (one appended
	// meanwhile makes it miss, and the events go one by one).
	emptied, err := updatedOne(c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "events", Value: events}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "events", Value: bson.A{}}, {Key: "outbox", Value: false}}}}))
	if err != nil || emptied {
		return fault.Wrap(err, "ack events of order %s", id)
	}
	for _, ev := range events {
		// Whole-element $pull (FerretDB matches whole elements only).
		if _, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
			bson.D{{Key: "$pull", Value: bson.D{{Key: "events", Value: ev}}}}); err != nil {
			return fmt.Errorf("ack events of order %s: %w", id, err)
		}
	}
	_, err = c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "events", Value: bson.A{}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "outbox", Value: false}}}})
	return fault.Wrap(err, "ack events of order %s", id)
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

// slotID is the _id of slot n of a fan.
func slotID(fanID string, n int) string { return fanID + ":" + strconv.Itoa(n) }

func (s *mongoStore) Slots(ctx context.Context, tenantID, fanID string) ([]Slot, error) {
	ids := bson.A{}
	for n := range MaxUnpaid {
		ids = append(ids, slotID(fanID, n))
	}
	list, err := findAll[Slot](ctx, s.e.Mongo(tenantID).C("unpaid_slots"), bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	for i := range list {
		list[i].At = list[i].At.UTC()
	}
	return list, fault.Wrap(err, "read unpaid slots of fan %s", fanID)
}

func (s *mongoStore) TakeSlot(ctx context.Context, tenantID string, sl Slot, prev string) (bool, error) {
	c := s.e.Mongo(tenantID).C("unpaid_slots")
	id := slotID(sl.FanID, sl.N)
	if prev == "" {
		err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "fan_id", Value: sl.FanID}, {Key: "n", Value: sl.N},
			{Key: "order_id", Value: sl.OrderID}, {Key: "at", Value: sl.At}})
		if engine.IsUniqueViolation(err) {
			return false, nil
		}
		return err == nil, fault.Wrap(err, "take unpaid slot %s", id)
	}
	ok, err := updatedOne(c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "order_id", Value: prev}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "order_id", Value: sl.OrderID}, {Key: "at", Value: sl.At}}}}))
	return ok, fault.Wrap(err, "take unpaid slot %s", id)
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
