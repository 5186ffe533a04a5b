package ledger

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type mongoStore struct{ e *engine.Engine }

type entryDoc struct {
	ID          string     `bson:"_id"`
	Beneficiary string     `bson:"beneficiary"`
	Seq         int64      `bson:"seq"`
	Type        string     `bson:"type"`
	Class       string     `bson:"class"`
	Status      string     `bson:"status"`
	OrderID     string     `bson:"order_id"`
	FanID       string     `bson:"fan_id"`
	Level       int        `bson:"level"`
	Ref         string     `bson:"ref"`
	Amount      int64      `bson:"amount"`
	Base        int64      `bson:"base"`
	RateBps     int64      `bson:"rate_bps"`
	AvailableAt *time.Time `bson:"available_at,omitempty"`
	DPending    int64      `bson:"d_pending"`
	DAvailable  int64      `bson:"d_available"`
	DFrozen     int64      `bson:"d_frozen"`
	DWithdrawn  int64      `bson:"d_withdrawn"`
	Pending     int64      `bson:"pending"`
	Available   int64      `bson:"available"`
	Frozen      int64      `bson:"frozen"`
	Withdrawn   int64      `bson:"withdrawn"`
	Earned      int64      `bson:"earned"`
	Fee         int64      `bson:"fee"`
	Payout      int64      `bson:"payout"`
	Note        string     `bson:"note"`
	TransferRef string     `bson:"transfer_ref"`
	DecidedAt   *time.Time `bson:"decided_at,omitempty"`
	PaidAt      *time.Time `bson:"paid_at,omitempty"`
	Open        bool       `bson:"open"`
	At          time.Time  `bson:"at"`
	Test        bool       `bson:"test"`
}

// val reads an optional time written by engine.OptTime.
func val(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func toDoc(e Entry) entryDoc {
	return entryDoc{ID: e.ID, Beneficiary: e.Beneficiary, Seq: e.Seq, Type: e.Type, Class: e.Class, Status: e.Status,
		OrderID: e.OrderID, FanID: e.FanID, Level: e.Level, Ref: e.Ref, Amount: e.Amount, Base: e.Base, RateBps: e.RateBps,
		AvailableAt: engine.OptTime(e.AvailableAt), DPending: e.DPending, DAvailable: e.DAvailable, DFrozen: e.DFrozen,
		DWithdrawn: e.DWithdrawn, Pending: e.Pending, Available: e.Available, Frozen: e.Frozen, Withdrawn: e.Withdrawn,
		Earned: e.Earned, Fee: e.Fee, Payout: e.Payout, Note: e.Note, TransferRef: e.TransferRef,
		DecidedAt: engine.OptTime(e.DecidedAt), PaidAt: engine.OptTime(e.PaidAt), Open: e.Open, At: e.At, Test: e.Test}
}

func (d entryDoc) entry() Entry {
	return Entry{ID: d.ID, Beneficiary: d.Beneficiary, Seq: d.Seq, Type: d.Type, Class: d.Class, Status: d.Status,
		OrderID: d.OrderID, FanID: d.FanID, Level: d.Level, Ref: d.Ref, Amount: d.Amount, Base: d.Base, RateBps: d.RateBps,
		AvailableAt: val(d.AvailableAt), DPending: d.DPending, DAvailable: d.DAvailable, DFrozen: d.DFrozen,
		DWithdrawn: d.DWithdrawn, Balance: Balance{Pending: d.Pending, Available: d.Available, Frozen: d.Frozen,
			Withdrawn: d.Withdrawn, Earned: d.Earned}, Fee: d.Fee, Payout: d.Payout, Note: d.Note,
		TransferRef: d.TransferRef, DecidedAt: val(d.DecidedAt), PaidAt: val(d.PaidAt), Open: d.Open, At: d.At.UTC(), Test: d.Test}
}

func (s *mongoStore) c(tenantID string) *engine.Collection { return s.e.Mongo(tenantID).C("ledger") }

func (s *mongoStore) find(ctx context.Context, tenantID string, f bson.D, opts *options.FindOptionsBuilder) ([]Entry, error) {
	es, err := engine.FindAll(ctx, s.c(tenantID), f, entryDoc.entry, opts)
	return es, fault.Wrap(err, "list ledger entries")
}

func (s *mongoStore) Get(ctx context.Context, tenantID, id string) (Entry, error) {
	var d entryDoc
	err := s.c(tenantID).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Entry{}, fault.NotFound("ledger entry")
	}
	return d.entry(), fault.Wrap(err, "load ledger entry %s", id)
}

func (s *mongoStore) Tail(ctx context.Context, tenantID, beneficiary string) (Entry, error) {
	var d entryDoc
	err := s.c(tenantID).FindOne(ctx, bson.D{{Key: "beneficiary", Value: beneficiary}},
		options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}})).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Entry{Beneficiary: beneficiary}, nil
	}
	return d.entry(), fault.Wrap(err, "read the ledger tail of %s", beneficiary)
}

func (s *mongoStore) Insert(ctx context.Context, tenantID string, e Entry) error {
	return fault.Wrap(s.c(tenantID).InsertOne(ctx, toDoc(e)), "insert ledger entry %s", e.ID)
}

func (s *mongoStore) Append(ctx context.Context, tenantID, beneficiary string, next func(tail Entry) (Entry, error)) (Entry, error) {
	tail, err := s.Tail(ctx, tenantID, beneficiary)
	if err != nil {
		return Entry{}, err
	}
	e, err := next(tail)
	if err != nil {
		return Entry{}, err
	}
	return e, s.Insert(ctx, tenantID, e)
}

func (s *mongoStore) AppendAll(ctx context.Context, tenantID string, items []Appending) ([]Entry, error) {
	out := make([]Entry, 0, len(items))
	for _, it := range items {
		e, err := s.Append(ctx, tenantID, it.Beneficiary, it.Next)
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *mongoStore) ByOrder(ctx context.Context, tenantID, orderID string) ([]Entry, error) {
	return s.find(ctx, tenantID, bson.D{{Key: "order_id", Value: orderID}},
		options.Find().SetSort(bson.D{{Key: "beneficiary", Value: 1}, {Key: "seq", Value: 1}}))
}

func (s *mongoStore) List(ctx context.Context, tenantID string, f Filter) ([]Entry, error) {
	if f.OrderID != "" {
		all, err := s.ByOrder(ctx, tenantID, f.OrderID)
		return filterByOrder(all, f), err
	}
	filter := bson.D{}
	if f.Beneficiary != "" {
		filter = append(filter, bson.E{Key: "beneficiary", Value: f.Beneficiary})
	}
	filter = append(filter, bson.E{Key: "class", Value: f.Class})
	if f.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: f.Status})
	}
	return s.find(ctx, tenantID, filter, options.Find().SetSort(bson.D{{Key: "at", Value: -1}, {Key: "_id", Value: -1}}).
		SetLimit(int64(f.Limit)).SetSkip(int64(f.Offset)))
}

func (s *mongoStore) History(ctx context.Context, tenantID, beneficiary string, limit int) ([]Entry, error) {
	return s.find(ctx, tenantID, bson.D{{Key: "beneficiary", Value: beneficiary}},
		options.Find().SetSort(bson.D{{Key: "seq", Value: -1}}).SetLimit(int64(limit)))
}

func (s *mongoStore) Due(ctx context.Context, tenantID string, t time.Time, limit int) ([]Entry, error) {
	return s.find(ctx, tenantID, bson.D{{Key: "type", Value: TypeEarn}, {Key: "status", Value: Pending},
		{Key: "available_at", Value: bson.D{{Key: "$lte", Value: t}}}},
		options.Find().SetSort(bson.D{{Key: "available_at", Value: 1}}).SetLimit(int64(limit)))
}

func (s *mongoStore) SetAvailableAt(ctx context.Context, tenantID, id string, at time.Time) error {
	_, err := s.c(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "available_at", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "available_at", Value: at}}}})
	return fault.Wrap(err, "schedule ledger entry %s", id)
}

func (s *mongoStore) SetStatus(ctx context.Context, tenantID, id string, from []string, to string, ch Change) (bool, error) {
	set := bson.D{{Key: "status", Value: to}}
	if ch.DecidedAt != nil {
		set = append(set, bson.E{Key: "decided_at", Value: *ch.DecidedAt})
	}
	if ch.PaidAt != nil {
		set = append(set, bson.E{Key: "paid_at", Value: *ch.PaidAt})
	}
	if ch.TransferRef != nil {
		set = append(set, bson.E{Key: "transfer_ref", Value: *ch.TransferRef})
	}
	res, err := s.c(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: bson.D{{Key: "$in", Value: from}}}},
		bson.D{{Key: "$set", Value: set}})
	if err != nil {
		return false, fault.Wrap(err, "set status of ledger entry %s", id)
	}
	return res.ModifiedCount == 1, nil
}

func (s *mongoStore) Close(ctx context.Context, tenantID, id string) error {
	_, err := s.c(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "open", Value: false}}}})
	return fault.Wrap(err, "close withdrawal %s", id)
}

func (s *mongoStore) Unclosed(ctx context.Context, tenantID string, limit int) ([]Entry, error) {
	return s.find(ctx, tenantID, bson.D{{Key: "type", Value: TypeWithdraw}, {Key: "open", Value: true}}, options.Find().SetLimit(int64(limit)))
}
