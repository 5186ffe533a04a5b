package aftersale

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// The dispute queue: escalated requests of every shop, in the platform
// database, so operators work them without opening each shop's database.
// A dispute's id is its request's (ids are unique on the whole platform);
// the request itself stays in its shop's database, where the decision is
// made. The queue is written after the request is escalated (the pass
// queues an escalated request whose queueing a crash interrupted) and
// marked decided after the request is decided (deciding again only marks
// it).

// Dispute statuses.
const (
	DisputeOpen    = "open"
	DisputeDecided = "decided"
)

// OperatorTarget is how long the platform gives its operators to decide a
// dispute (shown on the queue).
const OperatorTarget = 48 * time.Hour

// Dispute is one escalated request in the platform's queue.
type Dispute struct {
	ID          string     `json:"id" bson:"_id"`
	TenantID    string     `json:"shop_id" bson:"tenant_id"`
	Slug        string     `json:"shop_slug" bson:"slug"`
	ShopName    string     `json:"shop_name" bson:"shop_name"`
	OrderID     string     `json:"order_id" bson:"order_id"`
	Amount      int64      `json:"amount" bson:"amount"`
	Status      string     `json:"status" bson:"status"`
	EscalatedAt time.Time  `json:"escalated_at" bson:"escalated_at"`
	TargetAt    time.Time  `json:"target_at" bson:"target_at"`
	DecidedAt   *time.Time `json:"decided_at,omitempty" bson:"decided_at,omitempty"`
	Outcome     string     `json:"outcome,omitempty" bson:"outcome"`
}

// Disputes is the platform's dispute queue on either engine.
type Disputes struct {
	db *sql.DB         // SQLite
	m  *mongo.Database // MongoDB
}

// disputeSQL creates the queue's table and index in the platform
// database (idempotent).
var disputeSQL = []string{
	`CREATE TABLE IF NOT EXISTS aftersale_disputes (
		id TEXT PRIMARY KEY,
		tenant_id TEXT NOT NULL,
		slug TEXT NOT NULL,
		shop_name TEXT NOT NULL,
		order_id TEXT NOT NULL,
		amount INTEGER NOT NULL,
		status TEXT NOT NULL,
		escalated_at TEXT NOT NULL,
		target_at TEXT NOT NULL,
		decided_at TEXT NOT NULL DEFAULT '',
		outcome TEXT NOT NULL DEFAULT '')`,
	`CREATE INDEX IF NOT EXISTS aftersale_disputes_status ON aftersale_disputes (status, escalated_at)`,
}

// On MongoDB every dispute is in aftersale_disputes and the open ones also
// in aftersale_dispute_queue; both are read by _id only (the queue is
// read whole: it holds what operators have yet to decide, a short list),
// so no index but _id's is needed.
const (
	disputesColl = "aftersale_disputes"
	queueColl    = "aftersale_dispute_queue"
)

// NewDisputes opens the dispute queue in e's platform database, creating
// its table on SQLite.
func NewDisputes(ctx context.Context, e *engine.Engine) (*Disputes, error) {
	if e.Kind() == engine.Mongo {
		return &Disputes{m: e.PlatformMongo()}, nil
	}
	db := e.PlatformSQL()
	for _, stmt := range disputeSQL {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("create the dispute queue: %w", err)
		}
	}
	return &Disputes{db: db}, nil
}

// Put queues d unless it is queued already (a replay changes nothing).
func (q *Disputes) Put(ctx context.Context, d Dispute) error {
	if q.m != nil {
		for _, name := range []string{disputesColl, queueColl} {
			_, err := q.m.Collection(name).UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}},
				bson.D{{Key: "$setOnInsert", Value: d}}, options.UpdateOne().SetUpsert(true))
			if err != nil && !engine.IsUniqueViolation(err) {
				return fmt.Errorf("queue dispute %s: %w", d.ID, err)
			}
		}
		return nil
	}
	_, err := q.db.ExecContext(ctx, `INSERT INTO aftersale_disputes (id, tenant_id, slug, shop_name, order_id, amount, status,
		escalated_at, target_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		d.ID, d.TenantID, d.Slug, d.ShopName, d.OrderID, d.Amount, DisputeOpen, engine.TimeText(d.EscalatedAt), engine.TimeText(d.TargetAt))
	if err != nil {
		return fmt.Errorf("queue dispute %s: %w", d.ID, err)
	}
	return nil
}

// Decided marks dispute id decided with outcome (once: a replay keeps the
// first).
func (q *Disputes) Decided(ctx context.Context, id, outcome string, at time.Time) error {
	if q.m != nil {
		_, err := q.m.Collection(disputesColl).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: DisputeOpen}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: DisputeDecided}, {Key: "outcome", Value: outcome},
				{Key: "decided_at", Value: at}}}})
		if err == nil {
			_, err = q.m.Collection(queueColl).DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
		}
		if err != nil {
			return fmt.Errorf("mark dispute %s decided: %w", id, err)
		}
		return nil
	}
	_, err := q.db.ExecContext(ctx, `UPDATE aftersale_disputes SET status = ?, outcome = ?, decided_at = ? WHERE id = ? AND status = ?`,
		DisputeDecided, outcome, engine.TimeText(at), id, DisputeOpen)
	if err != nil {
		return fmt.Errorf("mark dispute %s decided: %w", id, err)
	}
	return nil
}

// Get returns dispute id; fault.NotFound if none.
func (q *Disputes) Get(ctx context.Context, id string) (Dispute, error) {
	if q.m != nil {
		var d Dispute
		err := q.m.Collection(disputesColl).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
		if engine.IsNoDocuments(err) {
			return Dispute{}, fault.NotFound("dispute")
		}
		if err != nil {
			return Dispute{}, fmt.Errorf("read dispute %s: %w", id, err)
		}
		return utcDispute(d), nil
	}
	list, err := q.sqlList(ctx, `WHERE id = ?`, id)
	if err != nil {
		return Dispute{}, err
	}
	if len(list) == 0 {
		return Dispute{}, fault.NotFound("dispute")
	}
	return list[0], nil
}

// List lists up to limit disputes in status (DisputeOpen, DisputeDecided,
// "" any): open ones oldest first (the queue's order), the others newest
// first.
func (q *Disputes) List(ctx context.Context, status string, limit int) ([]Dispute, error) {
	if q.m != nil {
		return q.mongoList(ctx, status, limit)
	}
	switch status {
	case DisputeOpen:
		return q.sqlList(ctx, `WHERE status = ? ORDER BY escalated_at, id LIMIT ?`, status, limit)
	case DisputeDecided:
		return q.sqlList(ctx, `WHERE status = ? ORDER BY escalated_at DESC, id DESC LIMIT ?`, status, limit)
	}
	return q.sqlList(ctx, `ORDER BY id DESC LIMIT ?`, limit)
}

func (q *Disputes) mongoList(ctx context.Context, status string, limit int) ([]Dispute, error) {
	var cur *mongo.Cursor
	var err error
	if status == DisputeOpen {
		cur, err = q.m.Collection(queueColl).Find(ctx, bson.D{})
	} else {
		// Newest first by id (ids grow with time), the decided filtered here.
		cur, err = q.m.Collection(disputesColl).Find(ctx, bson.D{},
			options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit*4)))
	}
	if err != nil {
		return nil, fmt.Errorf("list disputes: %w", err)
	}
	var list []Dispute
	if err := cur.All(ctx, &list); err != nil {
		return nil, fmt.Errorf("list disputes: %w", err)
	}
	out := make([]Dispute, 0, len(list))
	for _, d := range list {
		if status == "" || d.Status == status {
			out = append(out, utcDispute(d))
		}
	}
	if status == DisputeOpen {
		slices.SortFunc(out, func(a, b Dispute) int { return a.EscalatedAt.Compare(b.EscalatedAt) })
	}
	return out[:min(len(out), limit)], nil
}

func utcDispute(d Dispute) Dispute {
	d.EscalatedAt, d.TargetAt, d.DecidedAt = d.EscalatedAt.UTC(), d.TargetAt.UTC(), utc(d.DecidedAt)
	return d
}

func (q *Disputes) sqlList(ctx context.Context, rest string, args ...any) ([]Dispute, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT id, tenant_id, slug, shop_name, order_id, amount, status, escalated_at, target_at,
		decided_at, outcome FROM aftersale_disputes `+rest, args...)
	if err != nil {
		return nil, fmt.Errorf("list disputes: %w", err)
	}
	defer rows.Close()
	var out []Dispute
	for rows.Next() {
		var d Dispute
		var esc, target, decided string
		if err := rows.Scan(&d.ID, &d.TenantID, &d.Slug, &d.ShopName, &d.OrderID, &d.Amount, &d.Status, &esc, &target, &decided,
			&d.Outcome); err != nil {
			return nil, fmt.Errorf("list disputes: %w", err)
		}
		d.EscalatedAt, d.TargetAt = engine.ParseTimeText(esc), engine.ParseTimeText(target)
		if decided != "" {
			t := engine.ParseTimeText(decided)
			d.DecidedAt = &t
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("list disputes: %w", err)
	}
	return out, nil
}
