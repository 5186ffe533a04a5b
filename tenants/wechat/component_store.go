package wechat

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
	"microshop/tenants/fault"
)

// componentStore keeps the component's configuration and the shops'
// authorisations in the platform database: they are the platform's
// records (an event names an authoriser, not a shop). Both are read by
// primary key only (an AppID's shop comes from the AppID registry).
type componentStore interface {
	// Config is the component's configuration; none is ErrNotFound.
	Config(ctx context.Context) (ComponentConfig, error)
	// SaveConfig writes cfg, whose Rev is one more than the stored one (1
	// for the first); a write in between is ErrConflict.
	SaveConfig(ctx context.Context, cfg ComponentConfig) error
	// Authorization is the shop's; none is ErrNotFound.
	Authorization(ctx context.Context, tenantID string) (Authorization, error)
	// SaveAuthorization writes a, whose Rev is one more than the stored
	// one (1 for the first); a write in between is ErrConflict.
	SaveAuthorization(ctx context.Context, a Authorization) error
	// AuthorizedShops lists the shops whose authorisation has status
	// (the token job's shops: one query, not one read per shop).
	AuthorizedShops(ctx context.Context, status string) ([]string, error)
	// Library is the operator's template library entries (library.go);
	// none is an empty list.
	Library(ctx context.Context) ([]NoticeTemplate, error)
	// SaveLibrary replaces them.
	SaveLibrary(ctx context.Context, entries []NoticeTemplate, at time.Time) error
}

var componentPlatform = engine.Platform{
	SQLite: []string{
		`CREATE TABLE IF NOT EXISTS wx_component (
			id TEXT PRIMARY KEY,
			app_id TEXT NOT NULL,
			app_secret TEXT NOT NULL,
			token TEXT NOT NULL,
			aes_key TEXT NOT NULL,
			prev_aes_key TEXT NOT NULL,
			rev INTEGER NOT NULL,
			updated_at TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS wx_authorizations (
			tenant_id TEXT PRIMARY KEY,
			app_id TEXT NOT NULL,
			refresh_token TEXT NOT NULL,
			status TEXT NOT NULL,
			reason TEXT NOT NULL,
			nick_name TEXT NOT NULL,
			funcs TEXT NOT NULL,
			rev INTEGER NOT NULL,
			authorized_at TEXT NOT NULL,
			updated_at TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS wx_authorizations_status ON wx_authorizations (status, tenant_id)`,
	},
	// Read by _id, and by status for the token job.
	Mongo: []engine.MongoCollection{engine.Coll("wx_component"),
		engine.Coll("wx_authorizations", engine.Index("status", "_id"))},
}

// componentID is the configuration's one row.
const componentID = "component"

func newComponentStore(ctx context.Context, e *engine.Engine) (componentStore, error) {
	for _, p := range []engine.Platform{componentPlatform, libraryPlatform} {
		if err := e.ExtendPlatform(ctx, p); err != nil {
			return nil, fmt.Errorf("wechat component: %w", err)
		}
	}
	if e.Kind() == engine.Mongo {
		return &componentMongo{db: e.PlatformMongo()}, nil
	}
	return &componentSQLite{db: e.PlatformSQL()}, nil
}

type componentSQLite struct{ db *sql.DB }

func (s *componentSQLite) Config(ctx context.Context) (ComponentConfig, error) {
	var c ComponentConfig
	var updated string
	err := s.db.QueryRowContext(ctx, `SELECT app_id, app_secret, token, aes_key, prev_aes_key, rev, updated_at FROM wx_component
		WHERE id = ?`, componentID).Scan(&c.AppID, &c.AppSecret, &c.Token, &c.EncodingAESKey, &c.PrevEncodingAESKey, &c.Rev, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return ComponentConfig{}, fault.NotFound("WeChat third-party platform")
	}
	if err != nil {
		return ComponentConfig{}, fmt.Errorf("read the wechat component: %w", err)
	}
	c.UpdatedAt = engine.ParseTimeText(updated)
	return c, nil
}

func (s *componentSQLite) SaveConfig(ctx context.Context, c ComponentConfig) error {
	if c.Rev <= 1 {
		_, err := s.db.ExecContext(ctx, `INSERT INTO wx_component (id, app_id, app_secret, token, aes_key, prev_aes_key, rev, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, 1, ?)`, componentID, c.AppID, c.AppSecret, c.Token, c.EncodingAESKey, c.PrevEncodingAESKey,
			engine.TimeText(c.UpdatedAt))
		if engine.IsUniqueViolation(err) {
			return fault.ErrConflict
		}
		return fault.Wrap(err, "save the wechat component")
	}
	res, err := s.db.ExecContext(ctx, `UPDATE wx_component SET app_id = ?, app_secret = ?, token = ?, aes_key = ?, prev_aes_key = ?,
		rev = ?, updated_at = ? WHERE id = ? AND rev = ?`, c.AppID, c.AppSecret, c.Token, c.EncodingAESKey, c.PrevEncodingAESKey,
		c.Rev, engine.TimeText(c.UpdatedAt), componentID, c.Rev-1)
	return fault.Wrap(engine.One(res, err, fault.ErrConflict), "save the wechat component")
}

func (s *componentSQLite) Authorization(ctx context.Context, tenantID string) (Authorization, error) {
	a := Authorization{TenantID: tenantID}
	var funcs, authorized, updated string
	err := s.db.QueryRowContext(ctx, `SELECT app_id, refresh_token, status, reason, nick_name, funcs, rev, authorized_at, updated_at
		FROM wx_authorizations WHERE tenant_id = ?`, tenantID).
		Scan(&a.AppID, &a.RefreshToken, &a.Status, &a.Reason, &a.NickName, &funcs, &a.Rev, &authorized, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Authorization{}, fault.NotFound("WeChat authorisation")
	}
	if err != nil {
		return Authorization{}, fmt.Errorf("read the wechat authorisation: %w", err)
	}
	_ = json.Unmarshal([]byte(funcs), &a.Funcs)
	a.AuthorizedAt, a.UpdatedAt = engine.ParseTimeText(authorized), engine.ParseTimeText(updated)
	return a, nil
}

func (s *componentSQLite) SaveAuthorization(ctx context.Context, a Authorization) error {
	funcs, _ := json.Marshal(a.Funcs)
	if a.Rev <= 1 {
		_, err := s.db.ExecContext(ctx, `INSERT INTO wx_authorizations (tenant_id, app_id, refresh_token, status, reason, nick_name, funcs,
			rev, authorized_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`, a.TenantID, a.AppID, a.RefreshToken, a.Status, a.Reason,
			a.NickName, string(funcs), engine.TimeText(a.AuthorizedAt), engine.TimeText(a.UpdatedAt))
		if engine.IsUniqueViolation(err) {
			return fault.ErrConflict
		}
		return fault.Wrap(err, "save the wechat authorisation")
	}
	res, err := s.db.ExecContext(ctx, `UPDATE wx_authorizations SET app_id = ?, refresh_token = ?, status = ?, reason = ?, nick_name = ?,
		funcs = ?, rev = ?, authorized_at = ?, updated_at = ? WHERE tenant_id = ? AND rev = ?`, a.AppID, a.RefreshToken, a.Status, a.Reason,
		a.NickName, string(funcs), a.Rev, engine.TimeText(a.AuthorizedAt), engine.TimeText(a.UpdatedAt), a.TenantID, a.Rev-1)
	return fault.Wrap(engine.One(res, err, fault.ErrConflict), "save the wechat authorisation")
}

type componentMongo struct{ db *mongo.Database }

func (s *componentMongo) Config(ctx context.Context) (ComponentConfig, error) {
	var c ComponentConfig
	err := s.db.Collection("wx_component").FindOne(ctx, bson.D{{Key: "_id", Value: componentID}}).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ComponentConfig{}, fault.NotFound("WeChat third-party platform")
	}
	if err != nil {
		return ComponentConfig{}, fmt.Errorf("read the wechat component: %w", err)
	}
	c.UpdatedAt = c.UpdatedAt.UTC()
	return c, nil
}

// saveRev writes doc as the record _id with revision rev: an insert for the
// first, else a replacement of revision rev-1.
func saveRev(ctx context.Context, coll *mongo.Collection, id string, rev int64, doc any) error {
	if rev <= 1 {
		_, err := coll.InsertOne(ctx, doc)
		if engine.IsUniqueViolation(err) {
			return fault.ErrConflict
		}
		return err
	}
	res, err := coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "rev", Value: rev - 1}}, doc, options.Replace())
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return fault.ErrConflict
	}
	return nil
}

func (s *componentMongo) SaveConfig(ctx context.Context, c ComponentConfig) error {
	if c.Rev <= 1 {
		c.Rev = 1
	}
	doc := struct {
		ID              string `bson:"_id"`
		ComponentConfig `bson:",inline"`
	}{componentID, c}
	return fault.Wrap(saveRev(ctx, s.db.Collection("wx_component"), componentID, c.Rev, doc), "save the wechat component")
}

func (s *componentMongo) Authorization(ctx context.Context, tenantID string) (Authorization, error) {
	var a Authorization
	err := s.db.Collection("wx_authorizations").FindOne(ctx, bson.D{{Key: "_id", Value: tenantID}}).Decode(&a)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Authorization{}, fault.NotFound("WeChat authorisation")
	}
	if err != nil {
		return Authorization{}, fmt.Errorf("read the wechat authorisation: %w", err)
	}
	a.AuthorizedAt, a.UpdatedAt = a.AuthorizedAt.UTC(), a.UpdatedAt.UTC()
	return a, nil
}

func (s *componentMongo) SaveAuthorization(ctx context.Context, a Authorization) error {
	if a.Rev <= 1 {
		a.Rev = 1
	}
	if a.Funcs == nil {
		a.Funcs = []int{}
	}
	return fault.Wrap(saveRev(ctx, s.db.Collection("wx_authorizations"), a.TenantID, a.Rev, a), "save the wechat authorisation")
}

func (s *componentSQLite) AuthorizedShops(ctx context.Context, status string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tenant_id FROM wx_authorizations WHERE status = ? ORDER BY tenant_id`, status)
	if err != nil {
		return nil, fmt.Errorf("list authorised shops: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list authorised shops: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (s *componentMongo) AuthorizedShops(ctx context.Context, status string) ([]string, error) {
	cur, err := s.db.Collection("wx_authorizations").Find(ctx, bson.D{{Key: "status", Value: status}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetSort(bson.D{{Key: "status", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list authorised shops: %w", err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list authorised shops: %w", err)
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids, nil
}
