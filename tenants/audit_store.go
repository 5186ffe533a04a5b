package tenants

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
)

// The audit log is tenant data: each shop's entries live in its own
// database, written through its SQLite writer with its other writes (a
// platform table would put every shop's every change on one file).

// AuditEntry is one change: who made it, through which route, to what.
type AuditEntry struct {
	ID string    `json:"id" bson:"_id"`
	At time.Time `json:"at" bson:"at"`
	// Actor names the person or program (Principal.Actor); Role is the
	// role they acted in.
	Actor  string `json:"actor" bson:"actor"`
	Role   Role   `json:"role" bson:"role"`
	Method string `json:"method" bson:"method"`
	// Route is the route's pattern (/api/v1/orders/:id/refund), Path the
	// path called.
	Route string `json:"route" bson:"route"`
	Path  string `json:"path" bson:"path"`
	// Target is the id the path names ("" for none).
	Target string `json:"target" bson:"target"`
	// Amount is the money the change moved, in fen, when its body said
	// (refunds, withdrawals); null otherwise.
	Amount *int64 `json:"amount" bson:"amount,omitempty"`
	Status int    `json:"status" bson:"status"`
}

// ActionKey names the action for people: the method and the route without
// its /admin/ or /api/v1/ prefix ("POST orders/:id/ship"), so the console
// and the API's same action read alike; the audit page translates it
// (audit.action.* in the catalogs) or shows it as it is.
func (e AuditEntry) ActionKey() string {
	route := e.Route
	for _, prefix := range []string{"/api/v1/", "/admin/"} {
		if rest, ok := strings.CutPrefix(route, prefix); ok {
			route = rest
			break
		}
	}
	return e.Method + " " + route
}

// ViaAPI reports whether the change came through /api/v1 (an API key),
// not the console.
func (e AuditEntry) ViaAPI() bool { return strings.HasPrefix(e.Route, "/api/") }

// AuditStore keeps the shops' audit logs.
type AuditStore interface {
	// AppendAudit records e in the shop's log.
	AppendAudit(ctx context.Context, tenantID string, e AuditEntry) error
	// AuditLog lists up to limit entries with ids below before ("": the
	// newest), newest first.
	AuditLog(ctx context.Context, tenantID, before string, limit int) ([]AuditEntry, error)
}

//go:embed audit_schema.sql
var auditSchemaSQL string

// AuditSchema is the audit log's part of every tenant database; server
// adds it to the engine's schemas.
var AuditSchema = engine.NewSchema("audit", auditSchemaSQL, engine.Coll("audit_log", engine.Index("-_id")))

// NewAuditStore returns the audit store on the engine's kind.
func NewAuditStore(e *engine.Engine) AuditStore {
	return engine.ByKind[AuditStore](e, &sqliteAudit{e: e}, &mongoAudit{e: e})
}

type sqliteAudit struct{ e *engine.Engine }

func (s *sqliteAudit) AppendAudit(ctx context.Context, tenantID string, e AuditEntry) error {
	var amount sql.NullInt64
	if e.Amount != nil {
		amount = sql.NullInt64{Int64: *e.Amount, Valid: true}
	}
	_, err := s.e.SQLExec(ctx, tenantID, `INSERT INTO audit_log (tenant_id, id, at, actor, role, method, route, path, target, amount, status)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, engine.TimeText(e.At), e.Actor, e.Role, e.Method, e.Route, e.Path, e.Target, amount, e.Status)
	if err != nil {
		return fmt.Errorf("append to audit log: %w", err)
	}
	return nil
}

func (s *sqliteAudit) AuditLog(ctx context.Context, tenantID, before string, limit int) ([]AuditEntry, error) {
	if before == "" {
		before = "~" // after every id
	}
	out, err := engine.SQLAll(ctx, s.e, tenantID, func(scan func(...any) error) (AuditEntry, error) {
		var e AuditEntry
		var at string
		var amount sql.NullInt64
		err := scan(&e.ID, &at, &e.Actor, &e.Role, &e.Method, &e.Route, &e.Path, &e.Target, &amount, &e.Status)
		e.At = engine.ParseTimeText(at)
		if amount.Valid {
			e.Amount = &amount.Int64
		}
		return e, err
	}, `SELECT id, at, actor, role, method, route, path, target, amount, status FROM audit_log
		WHERE tenant_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}

type mongoAudit struct{ e *engine.Engine }

func (s *mongoAudit) AppendAudit(ctx context.Context, tenantID string, e AuditEntry) error {
	if err := s.e.Mongo(tenantID).C("audit_log").InsertOne(ctx, e); err != nil {
		return fmt.Errorf("append to audit log: %w", err)
	}
	return nil
}

func (s *mongoAudit) AuditLog(ctx context.Context, tenantID, before string, limit int) ([]AuditEntry, error) {
	f := bson.D{}
	if before != "" {
		f = bson.D{{Key: "_id", Value: bson.D{{Key: "$lt", Value: before}}}}
	}
	out, err := engine.FindAll(ctx, s.e.Mongo(tenantID).C("audit_log"), f, func(e AuditEntry) AuditEntry { return e },
		options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}
