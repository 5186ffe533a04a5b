package credit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
)

// Record is one shop's platform record: its latest credit, its promise
// and its penalties. Rev grows with every write.
type Record struct {
	TenantID      string            `json:"tenant_id" bson:"_id"`
	Score         int               `json:"score" bson:"score"`
	Level         string            `json:"level" bson:"level"`
	Factors       map[string]Factor `json:"factors" bson:"factors"`
	Inputs        Inputs            `json:"inputs" bson:"inputs"`
	ComputedAt    *time.Time        `json:"computed_at,omitempty" bson:"computed_at"`
	PromisedHours int               `json:"promised_hours" bson:"promised_hours"`
	Penalties     []Penalty         `json:"penalties" bson:"penalties"`
	Rev           int64             `json:"rev" bson:"rev"`
}

// store keeps the records in the platform database.
type store interface {
	// ensure creates the table or collection and its indexes (idempotent).
	ensure(ctx context.Context) error
	// load reads the shop's record; found false for a shop that has none.
	load(ctx context.Context, tenantID string) (Record, bool, error)
	// save writes r if the stored record is still at revision prev (0: none
	// stored yet), with r.Rev = prev + 1; false, changing nothing, when
	// another write came first.
	save(ctx context.Context, r Record, prev int64) (bool, error)
	// all reads every shop's record (the operators' list).
	all(ctx context.Context) ([]Record, error)
}

func newStore(e *engine.Engine) store {
	if e.Kind() == engine.Mongo {
		return &mongoStore{c: e.PlatformMongo().Collection("credit_shops")}
	}
	return &sqliteStore{db: e.PlatformSQL()}
}

// sqliteStore keeps each record as a JSON document in platform.db.
type sqliteStore struct{ db *sql.DB }

func (s *sqliteStore) ensure(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS credit_shops (
		tenant_id TEXT PRIMARY KEY,
		doc TEXT NOT NULL,
		rev INTEGER NOT NULL)`)
	return err
}

func (s *sqliteStore) load(ctx context.Context, tenantID string) (Record, bool, error) {
	var doc string
	err := s.db.QueryRowContext(ctx, `SELECT doc FROM credit_shops WHERE tenant_id = ?`, tenantID).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("read credit of shop %s: %w", tenantID, err)
	}
	var r Record
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return Record{}, false, fmt.Errorf("credit of shop %s: %w", tenantID, err)
	}
	return r, true, nil
}

func (s *sqliteStore) save(ctx context.Context, r Record, prev int64) (bool, error) {
	r.Rev = prev + 1
	doc := engine.JSONText(r)
	var res sql.Result
	var err error
	if prev == 0 {
		res, err = s.db.ExecContext(ctx, `INSERT INTO credit_shops (tenant_id, doc, rev) VALUES (?, ?, ?) ON CONFLICT (tenant_id) DO NOTHING`,
			r.TenantID, doc, r.Rev)
	} else {
		res, err = s.db.ExecContext(ctx, `UPDATE credit_shops SET doc = ?, rev = ? WHERE tenant_id = ? AND rev = ?`, doc, r.Rev, r.TenantID, prev)
	}
	ok, err := engine.Changed(res, err)
	if err != nil {
		return false, fmt.Errorf("write credit of shop %s: %w", r.TenantID, err)
	}
	return ok, nil
}

func (s *sqliteStore) all(ctx context.Context) ([]Record, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT doc FROM credit_shops ORDER BY tenant_id`)
	if err != nil {
		return nil, fmt.Errorf("read every shop's credit: %w", err)
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		var doc string
		var r Record
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(doc), &r); err != nil {
			return nil, fmt.Errorf("credit record: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// mongoStore keeps each record as a document of the platform database's
// credit_shops, _id the shop's id (the only index its queries use).
type mongoStore struct{ c *mongo.Collection }

func (s *mongoStore) ensure(context.Context) error { return nil } // _id is the only key

func (s *mongoStore) load(ctx context.Context, tenantID string) (Record, bool, error) {
	var r Record
	err := s.c.FindOne(ctx, bson.D{{Key: "_id", Value: tenantID}}).Decode(&r)
	if engine.IsNoDocuments(err) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("read credit of shop %s: %w", tenantID, err)
	}
	return r.utc(), true, nil
}

func (s *mongoStore) save(ctx context.Context, r Record, prev int64) (bool, error) {
	r.Rev = prev + 1
	if prev == 0 {
		_, err := s.c.InsertOne(ctx, r)
		if engine.IsUniqueViolation(err) {
			return false, nil
		}
		return err == nil, saveErr(err, r.TenantID)
	}
	res, err := s.c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: r.TenantID}, {Key: "rev", Value: prev}}, r)
	if err != nil {
		return false, saveErr(err, r.TenantID)
	}
	return res.MatchedCount == 1, nil
}

func saveErr(err error, tenantID string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("write credit of shop %s: %w", tenantID, err)
}

func (s *mongoStore) all(ctx context.Context) ([]Record, error) {
	cur, err := s.c.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("read every shop's credit: %w", err)
	}
	out := []Record{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("read every shop's credit: %w", err)
	}
	for i := range out {
		out[i] = out[i].utc()
	}
	return out, nil
}

// utc puts the record's times back in UTC (the driver decodes local).
func (r Record) utc() Record {
	if r.ComputedAt != nil {
		t := r.ComputedAt.UTC()
		r.ComputedAt = &t
	}
	for i := range r.Penalties {
		p := &r.Penalties[i]
		p.Start, p.End = p.Start.UTC(), p.End.UTC()
		if p.Appeal != nil {
			a := *p.Appeal
			a.At = a.At.UTC()
			if a.DecidedAt != nil {
				t := a.DecidedAt.UTC()
				a.DecidedAt = &t
			}
			p.Appeal = &a
		}
	}
	return r
}
