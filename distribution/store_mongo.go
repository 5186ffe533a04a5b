package distribution

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type mongoStore struct{ e *engine.Engine }

type slotDoc struct {
	ID      string     `bson:"id"`
	StoreID string     `bson:"store_id"`
	Channel string     `bson:"channel"`
	At      *time.Time `bson:"at,omitempty"`
	Until   *time.Time `bson:"until,omitempty"`
	Protect *time.Time `bson:"protect,omitempty"`
}

type bindingDoc struct {
	FanID       string    `bson:"_id"`
	Guide       slotDoc   `bson:"guide"`
	Distributor slotDoc   `bson:"distributor"`
	Channel     string    `bson:"channel"`
	ReferrerID  string    `bson:"referrer_id"`
	PaidOrders  int64     `bson:"paid_orders"`
	Rev         int64     `bson:"rev"`
	CreatedAt   time.Time `bson:"created_at"`
	UpdatedAt   time.Time `bson:"updated_at"`
}

// tv reads an optional time written by engine.OptTime.
func tv(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func toSlotDoc(s Slot) slotDoc {
	return slotDoc{ID: s.ID, StoreID: s.StoreID, Channel: s.Channel, At: engine.OptTime(s.At), Until: engine.OptTime(s.Until), Protect: engine.OptTime(s.Protect)}
}

func (d slotDoc) slot() Slot {
	return Slot{ID: d.ID, StoreID: d.StoreID, Channel: d.Channel, At: tv(d.At), Until: tv(d.Until), Protect: tv(d.Protect)}
}

func (d bindingDoc) binding() Binding {
	return Binding{FanID: d.FanID, Guide: d.Guide.slot(), Distributor: d.Distributor.slot(), Channel: d.Channel,
		ReferrerID: d.ReferrerID, PaidOrders: d.PaidOrders, Rev: d.Rev, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

func (s *mongoStore) c(tenantID, name string) *engine.Collection { return s.e.Mongo(tenantID).C(name) }

func (s *mongoStore) Settings(ctx context.Context, tenantID string) (Settings, error) {
	return loadSettings(ctx, s.e, tenantID)
}

func (s *mongoStore) SaveSettings(ctx context.Context, tenantID string, st Settings) error {
	return saveSettings(ctx, s.e, tenantID, st)
}

func (s *mongoStore) Binding(ctx context.Context, tenantID, fanID string) (Binding, error) {
	var d bindingDoc
	err := s.c(tenantID, "bindings").FindOne(ctx, bson.D{{Key: "_id", Value: fanID}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Binding{}, fault.NotFound("customer")
	}
	return d.binding(), fault.Wrap(err, "load the binding of fan %s", fanID)
}

func (s *mongoStore) InsertBinding(ctx context.Context, tenantID string, b Binding) error {
	err := s.c(tenantID, "bindings").InsertOne(ctx, bindingDoc{FanID: b.FanID, Guide: toSlotDoc(b.Guide),
		Distributor: toSlotDoc(b.Distributor), Channel: b.Channel, ReferrerID: b.ReferrerID, PaidOrders: b.PaidOrders, Rev: 1,
		CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt})
	return fault.Wrap(err, "insert the binding of fan %s", b.FanID)
}

func (s *mongoStore) UpdateBinding(ctx context.Context, tenantID string, b Binding) (bool, error) {
	res, err := s.c(tenantID, "bindings").UpdateOne(ctx, bson.D{{Key: "_id", Value: b.FanID}, {Key: "rev", Value: b.Rev}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "guide", Value: toSlotDoc(b.Guide)}, {Key: "distributor", Value: toSlotDoc(b.Distributor)},
			{Key: "channel", Value: b.Channel}, {Key: "referrer_id", Value: b.ReferrerID}, {Key: "updated_at", Value: b.UpdatedAt},
			{Key: "rev", Value: b.Rev + 1}}}})
	if err != nil {
		return false, fault.Wrap(err, "update the binding of fan %s", b.FanID)
	}
	return res.MatchedCount == 1, nil
}

// countPaidUpdate adds a paid order to a fan's record, made if missing.
func countPaidUpdate() bson.D {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return bson.D{{Key: "$inc", Value: bson.D{{Key: "paid_orders", Value: 1}}},
		{Key: "$setOnInsert", Value: bson.D{{Key: "rev", Value: 1}, {Key: "created_at", Value: now}, {Key: "updated_at", Value: now},
			{Key: "guide", Value: slotDoc{}}, {Key: "distributor", Value: slotDoc{}}, {Key: "channel", Value: ""}, {Key: "referrer_id", Value: ""}}}}
}

func (s *mongoStore) BoundTo(ctx context.Context, tenantID, slot, id string, limit, offset int) ([]Binding, error) {
	field := "guide.id"
	if slot == "distributor" {
		field = "distributor.id"
	}
	bs, err := engine.FindAll(ctx, s.c(tenantID, "bindings"), bson.D{{Key: field, Value: id}}, bindingDoc.binding,
		options.Find().SetSort(bson.D{{Key: "updated_at", Value: -1}}).SetLimit(int64(limit)).SetSkip(int64(offset)))
	return bs, fault.Wrap(err, "list the customers bound to %s %s", slot, id)
}

type logDoc struct {
	ID      string    `bson:"_id"`
	FanID   string    `bson:"fan_id"`
	Kind    string    `bson:"kind"`
	Slot    string    `bson:"slot"`
	From    string    `bson:"from"`
	To      string    `bson:"to"`
	Code    string    `bson:"code"`
	Via     string    `bson:"via"`
	Channel string    `bson:"channel"`
	Result  string    `bson:"result"`
	By      string    `bson:"by"`
	At      time.Time `bson:"at"`
}

func (d logDoc) entry() LogEntry {
	d.At = d.At.UTC()
	return LogEntry(d)
}

func (s *mongoStore) Log(ctx context.Context, tenantID string, e LogEntry) error {
	return fault.Wrap(s.c(tenantID, "binding_log").InsertOne(ctx, logDoc(e)), "log a binding change of fan %s", e.FanID)
}

func (s *mongoStore) History(ctx context.Context, tenantID, fanID string, limit int) ([]LogEntry, error) {
	es, err := engine.FindAll(ctx, s.c(tenantID, "binding_log"), bson.D{{Key: "fan_id", Value: fanID}}, logDoc.entry,
		options.Find().SetSort(bson.D{{Key: "at", Value: -1}}).SetLimit(int64(limit)))
	return es, fault.Wrap(err, "read the binding log of fan %s", fanID)
}

type saleDoc struct {
	OrderID       string    `bson:"_id"`
	FanID         string    `bson:"fan_id"`
	GuideID       string    `bson:"guide_id"`
	StoreID       string    `bson:"store_id"`
	DistributorID string    `bson:"distributor_id"`
	Channel       string    `bson:"channel"`
	Base          int64     `bson:"base"`
	Paid          int64     `bson:"paid"`
	Refunded      int64     `bson:"refunded"`
	RefundedBase  int64     `bson:"refunded_base"`
	PaidAt        time.Time `bson:"paid_at"`
}

func (s *mongoStore) RecordSale(ctx context.Context, tenantID string, sl Sale) (bool, int64, error) {
	err := s.c(tenantID, "distribution_sales").InsertOne(ctx, saleDoc(sl))
	if engine.IsUniqueViolation(err) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fault.Wrap(err, "record the sale of order %s", sl.OrderID)
	}
	// The sale is the marker: a crash before the count below is not
	// counted again (the fan's paid orders stay one short, as they did
	// when the two were written apart).
	var b struct {
		PaidOrders int64 `bson:"paid_orders"`
	}
	err = s.c(tenantID, "bindings").FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: sl.FanID}}, countPaidUpdate(),
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&b)
	return true, b.PaidOrders - 1, fault.Wrap(err, "count the paid order %s of fan %s", sl.OrderID, sl.FanID)
}

func (s *mongoStore) AddSaleRefund(ctx context.Context, tenantID, orderID string, amount, base int64) error {
	_, err := s.c(tenantID, "distribution_sales").UpdateOne(ctx, bson.D{{Key: "_id", Value: orderID}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "refunded", Value: amount}, {Key: "refunded_base", Value: base}}}})
	return fault.Wrap(err, "add a refund to the sale of order %s", orderID)
}

func (d saleDoc) sale() Sale {
	d.PaidAt = d.PaidAt.UTC()
	return Sale(d)
}

func (s *mongoStore) sales(ctx context.Context, tenantID string, f bson.D, opts *options.FindOptionsBuilder) ([]Sale, error) {
	sales, err := engine.FindAll(ctx, s.c(tenantID, "distribution_sales"), f, saleDoc.sale, opts)
	return sales, fault.Wrap(err, "list sales")
}

func (s *mongoStore) Sales(ctx context.Context, tenantID, distributorID string, limit, offset int) ([]Sale, error) {
	return s.sales(ctx, tenantID, bson.D{{Key: "distributor_id", Value: distributorID}},
		options.Find().SetSort(bson.D{{Key: "paid_at", Value: -1}}).SetLimit(int64(limit)).SetSkip(int64(offset)))
}

func (s *mongoStore) AllSales(ctx context.Context, tenantID, afterOrderID string, limit int) ([]Sale, error) {
	return s.sales(ctx, tenantID, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: afterOrderID}}}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

func (s *mongoStore) Mark(ctx context.Context, tenantID, key string) (bool, error) {
	err := s.c(tenantID, "distribution_marks").InsertOne(ctx, bson.D{{Key: "_id", Value: key}})
	if engine.IsUniqueViolation(err) {
		return false, nil
	}
	return err == nil, fault.Wrap(err, "mark %s", key)
}
