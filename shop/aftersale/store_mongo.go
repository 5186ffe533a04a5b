package aftersale

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// mongoStore keeps each request in one document of aftersales, its thread
// in aftersale_messages, and the lines an order's open requests hold in
// one document per order (aftersale_claims, {_id: order id, lines: [...]}):
// claiming lines is one conditional update of that document, which takes
// only if none of the lines is in it.
type mongoStore struct {
	e *engine.Engine
	docStore
}

// claim is one held order line.
type claim struct {
	Line    int       `bson:"line"`
	Request string    `bson:"request"`
	At      time.Time `bson:"at"`
}

// staleClaim is how old a claim whose request was never written must be
// before another request may take its line (the insert after the claim
// takes milliseconds; a crash in between leaves such a claim).
const staleClaim = time.Minute

func (s *mongoStore) coll(tenantID, name string) *engine.Collection {
	return s.e.Mongo(tenantID).C(name)
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// utcRequest is r with its times in UTC, as SQLite gives them.
func utcRequest(r Request) Request {
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	r.DueAt, r.AnsweredAt, r.ReturnedAt, r.ReceivedAt, r.EscalatedAt, r.EndedAt =
		utc(r.DueAt), utc(r.AnsweredAt), utc(r.ReturnedAt), utc(r.ReceivedAt), utc(r.EscalatedAt), utc(r.EndedAt)
	if r.Decision != nil {
		d := *r.Decision
		d.At = d.At.UTC()
		r.Decision = &d
	}
	if r.Lines == nil {
		r.Lines = []Line{}
	}
	if r.Images == nil {
		r.Images = []string{}
	}
	return r
}

func (s *mongoStore) Insert(ctx context.Context, tenantID string, r Request) (bool, error) {
	idx := make([]int, len(r.Lines))
	claims := make([]claim, len(r.Lines))
	for i, l := range r.Lines {
		idx[i], claims[i] = l.Index, claim{Line: l.Index, Request: r.ID, At: r.CreatedAt}
	}
	c := s.coll(tenantID, "aftersale_claims")
	for attempt := 0; ; attempt++ {
		_, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: r.OrderID}, {Key: "lines.line", Value: bson.D{{Key: "$nin", Value: idx}}}},
			bson.D{{Key: "$push", Value: bson.D{{Key: "lines", Value: bson.D{{Key: "$each", Value: claims}}}}},
				{Key: "$inc", Value: bson.D{{Key: "rev", Value: 1}}}},
			options.UpdateOne().SetUpsert(true))
		if err == nil {
			break
		}
		if !engine.IsUniqueViolation(err) {
			return false, fmt.Errorf("claim the lines of order %s: %w", r.OrderID, err)
		}
		// The order's document holds one of the lines (or was created
		// meanwhile): free the claims of requests that ended or were never
		// written, then try again; a line an open request holds is taken.
		if attempt >= 5 {
			return false, nil
		}
		freed, err := s.freeStale(ctx, tenantID, r.OrderID, idx, r.CreatedAt)
		if err != nil {
			return false, err
		}
		if !freed && attempt > 0 {
			return false, nil
		}
	}
	if err := s.coll(tenantID, "aftersales").InsertOne(ctx, r); err != nil {
		s.release(ctx, tenantID, r.OrderID, r.ID)
		return false, fmt.Errorf("insert after-sale request %s: %w", r.ID, err)
	}
	return true, nil
}

// freeStale releases the claims on lines idx of order orderID whose
// request ended, or was never written and is older than staleClaim; it
// reports whether any of the lines is now free to try again (false: an
// open request holds one).
func (s *mongoStore) freeStale(ctx context.Context, tenantID, orderID string, idx []int, now time.Time) (bool, error) {
	var d struct {
		Lines []claim `bson:"lines"`
	}
	err := s.coll(tenantID, "aftersale_claims").FindOne(ctx, bson.D{{Key: "_id", Value: orderID}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the claims of order %s: %w", orderID, err)
	}
	held := false
	for _, cl := range d.Lines {
		if !slices.Contains(idx, cl.Line) {
			continue
		}
		r, err := s.Get(ctx, tenantID, cl.Request)
		switch {
		case err == nil && IsOpen(r.Status):
			held = true
		case err == nil || (errors.Is(err, fault.ErrNotFound) && now.Sub(cl.At) > staleClaim):
			s.release(ctx, tenantID, orderID, cl.Request)
		case errors.Is(err, fault.ErrNotFound):
			held = true // being written now
		default:
			return false, err
		}
	}
	return !held, nil
}

// release gives back the lines request id holds on order orderID: a
// write of the claims document conditional on its revision (FerretDB
// does not $pull by a condition on array members). A failure leaves a
// claim of an ended request, which freeStale frees when a new request
// needs the line.
func (s *mongoStore) release(ctx context.Context, tenantID, orderID, id string) {
	c := s.coll(tenantID, "aftersale_claims")
	for range maxAttempts {
		var d struct {
			Lines []claim `bson:"lines"`
			Rev   int64   `bson:"rev"`
		}
		if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: orderID}}).Decode(&d); err != nil {
			return
		}
		kept := slices.DeleteFunc(slices.Clone(d.Lines), func(cl claim) bool { return cl.Request == id })
		if len(kept) == len(d.Lines) {
			return
		}
		res, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: orderID}, {Key: "rev", Value: d.Rev}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "lines", Value: kept}}}, {Key: "$inc", Value: bson.D{{Key: "rev", Value: 1}}}})
		if err != nil || res.MatchedCount == 1 {
			return
		}
	}
}

func (s *mongoStore) Get(ctx context.Context, tenantID, id string) (Request, error) {
	var r Request
	err := s.coll(tenantID, "aftersales").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&r)
	if engine.IsNoDocuments(err) {
		return Request{}, fault.NotFound("after-sale request")
	}
	if err != nil {
		return Request{}, fmt.Errorf("read after-sale request %s: %w", id, err)
	}
	return utcRequest(r), nil
}

func (s *mongoStore) Update(ctx context.Context, tenantID string, r Request, rev int64) (bool, error) {
	raw, err := bson.Marshal(r)
	if err != nil {
		return false, fmt.Errorf("marshal after-sale request %s: %w", r.ID, err)
	}
	var set bson.D
	if err := bson.Unmarshal(raw, &set); err != nil {
		return false, fmt.Errorf("marshal after-sale request %s: %w", r.ID, err)
	}
	set = slices.DeleteFunc(set, func(e bson.E) bool { return e.Key == "_id" })
	res, err := s.coll(tenantID, "aftersales").UpdateOne(ctx, bson.D{{Key: "_id", Value: r.ID}, {Key: "rev", Value: rev}},
		bson.D{{Key: "$set", Value: set}})
	if err != nil {
		return false, fmt.Errorf("update after-sale request %s: %w", r.ID, err)
	}
	if res.MatchedCount == 0 {
		return false, nil
	}
	if !IsOpen(r.Status) {
		s.release(ctx, tenantID, r.OrderID, r.ID)
	}
	return true, nil
}

// requests finds the requests filter selects.
func (s *mongoStore) requests(ctx context.Context, tenantID string, filter bson.D, opts ...options.Lister[options.FindOptions]) ([]Request, error) {
	list, err := engine.FindAll(ctx, s.coll(tenantID, "aftersales"), filter, utcRequest, opts...)
	if err != nil {
		return nil, fmt.Errorf("read after-sale requests: %w", err)
	}
	return list, nil
}

func (s *mongoStore) ByOrder(ctx context.Context, tenantID, orderID string) ([]Request, error) {
	list, err := s.requests(ctx, tenantID, bson.D{{Key: "order_id", Value: orderID}})
	slices.SortFunc(list, func(a, b Request) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return list, err
}

func (s *mongoStore) List(ctx context.Context, tenantID, status string, limit, offset int) ([]Request, int64, error) {
	// Every status as one branch: MongoDB reads each from the status
	// index and merges them in created_at order (as orders do).
	branches := bson.A{}
	for _, st := range Statuses {
		if status == "" || st == status {
			branches = append(branches, bson.D{{Key: "status", Value: st}})
		}
	}
	f := bson.D{{Key: "$or", Value: branches}}
	if status != "" {
		f = bson.D{{Key: "status", Value: status}}
	}
	n, err := s.coll(tenantID, "aftersales").CountDocuments(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("count after-sale requests: %w", err)
	}
	list, err := s.requests(ctx, tenantID, f, options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}}).
		SetLimit(int64(limit)).SetSkip(int64(offset)))
	return list, n, err
}

func (s *mongoStore) Between(ctx context.Context, tenantID string, from, to time.Time, limit, offset int) ([]Request, error) {
	return s.requests(ctx, tenantID, bson.D{{Key: "created_at", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lt", Value: to}}}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}).SetLimit(int64(limit)).SetSkip(int64(offset)))
}

func (s *mongoStore) Due(ctx context.Context, tenantID string, now time.Time, limit int) ([]Request, error) {
	return s.requests(ctx, tenantID, bson.D{{Key: "due_at", Value: bson.D{{Key: "$lte", Value: now}}}},
		options.Find().SetSort(bson.D{{Key: "due_at", Value: 1}}).SetLimit(int64(limit)))
}

func (s *mongoStore) Stuck(ctx context.Context, tenantID string, before time.Time, limit int) ([]Request, error) {
	return s.requests(ctx, tenantID, bson.D{{Key: "refund_status", Value: RefundSending},
		{Key: "updated_at", Value: bson.D{{Key: "$lte", Value: before}}}},
		options.Find().SetSort(bson.D{{Key: "updated_at", Value: 1}}).SetLimit(int64(limit)))
}

func (s *mongoStore) Unqueued(ctx context.Context, tenantID string, limit int) ([]Request, error) {
	return s.requests(ctx, tenantID, bson.D{{Key: "status", Value: Escalated}, {Key: "queued", Value: false}},
		options.Find().SetLimit(int64(limit)))
}

func (s *mongoStore) AddMessage(ctx context.Context, tenantID string, m Message) error {
	if err := s.coll(tenantID, "aftersale_messages").InsertOne(ctx, m); err != nil {
		return fmt.Errorf("add a message to after-sale request %s: %w", m.RequestID, err)
	}
	return nil
}

func (s *mongoStore) Messages(ctx context.Context, tenantID, requestID string, limit int) ([]Message, error) {
	list, err := engine.FindAll(ctx, s.coll(tenantID, "aftersale_messages"), bson.D{{Key: "request_id", Value: requestID}},
		func(m Message) Message {
			m.At = m.At.UTC()
			if m.Images == nil {
				m.Images = []string{}
			}
			return m
		}, options.Find().SetSort(bson.D{{Key: "at", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("read the thread of after-sale request %s: %w", requestID, err)
	}
	return list, nil
}

func (s *mongoStore) AdoptSettings(ctx context.Context, tenantID string, st Settings) error {
	// The settings document as engine.SaveDoc keeps it ({_id: "settings",
	// doc}), written only when the upsert inserts it.
	_, err := s.coll(tenantID, "aftersale_settings").UpdateOne(ctx, bson.D{{Key: "_id", Value: "settings"}},
		bson.D{{Key: "$setOnInsert", Value: bson.D{{Key: "doc", Value: st}}}}, options.UpdateOne().SetUpsert(true))
	if engine.IsUniqueViolation(err) {
		return nil // inserted meanwhile by another
	}
	return err
}
