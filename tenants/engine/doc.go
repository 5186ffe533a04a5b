package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Doc names one settings document of a shop: a JSON document in a SQLite
// table (tenant_id, doc), or (tenant_id, name, doc) when Name is set, and a
// Mongo document {_id: Name or "settings", doc: ...} in the collection of the
// same name. Every domain keeps its settings this way, one row per shop (or
// per name), replaced whole on save.
type Doc struct {
	Table string
	Name  string
}

func (d Doc) mongoID() string {
	if d.Name == "" {
		return "settings"
	}
	return d.Name
}

// LoadDoc reads the document into v, which holds the defaults: fields the
// stored document lacks keep them. found is false when the shop never saved
// it (v is then untouched).
func (e *Engine) LoadDoc(ctx context.Context, tenantID string, d Doc, v any) (found bool, err error) {
	if e.kind == Mongo {
		var raw struct {
			Doc bson.Raw `bson:"doc"`
		}
		err := e.Mongo(tenantID).C(d.Table).FindOne(ctx, bson.D{{Key: "_id", Value: d.mongoID()}}).Decode(&raw)
		if IsNoDocuments(err) {
			return false, nil
		}
		if err == nil {
			err = bson.Unmarshal(raw.Doc, v)
		}
		if err != nil {
			return false, fmt.Errorf("load %s: %w", d.Table, err)
		}
		return true, nil
	}
	db, err := e.SQL(tenantID)
	if err != nil {
		return false, err
	}
	var text string
	if d.Name == "" {
		err = db.QueryRow(ctx, `SELECT doc FROM `+d.Table+` WHERE tenant_id = ?`).Scan(&text)
	} else {
		err = db.QueryRow(ctx, `SELECT doc FROM `+d.Table+` WHERE tenant_id = ? AND name = ?`, d.Name).Scan(&text)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err == nil {
		err = json.Unmarshal([]byte(text), v)
	}
	if err != nil {
		return false, fmt.Errorf("load %s: %w", d.Table, err)
	}
	return true, nil
}

// SaveDocAt replaces the document with v if the revision stored in it (its
// "rev" field; 0 when it has none or the shop never saved it) is still
// rev, and says whether it did: false, and no change, when another save
// came first. v carries its own next revision (the caller sets it).
func (e *Engine) SaveDocAt(ctx context.Context, tenantID string, d Doc, v any, rev int64) (bool, error) {
	var ok bool
	var err error
	if e.kind == Mongo {
		at := bson.D{{Key: "doc.rev", Value: rev}}
		if rev == 0 {
			at = bson.D{{Key: "doc.rev", Value: bson.D{{Key: "$in", Value: bson.A{0, nil}}}}}
		}
		var res *mongo.UpdateResult
		res, err = e.Mongo(tenantID).C(d.Table).UpdateOne(ctx, append(bson.D{{Key: "_id", Value: d.mongoID()}}, at...),
			bson.D{{Key: "$set", Value: bson.D{{Key: "doc", Value: v}}}}, options.UpdateOne().SetUpsert(rev == 0))
		switch {
		case IsUniqueViolation(err): // saved meanwhile: the upsert found no document at revision 0
			return false, nil
		case err == nil:
			ok = res.MatchedCount+res.UpsertedCount > 0
		}
	} else {
		var db *SQLScope
		if db, err = e.SQL(tenantID); err != nil {
			return false, err
		}
		key, args := `tenant_id`, []any{JSONText(v), rev}
		if d.Name != "" {
			key, args = `tenant_id, name`, []any{d.Name, JSONText(v), rev}
		}
		values := `?, ?`
		if d.Name != "" {
			values = `?, ?, ?`
		}
		ok, err = Changed(db.Exec(ctx, `INSERT INTO `+d.Table+` (`+key+`, doc) VALUES (`+values+`)
			ON CONFLICT (`+key+`) DO UPDATE SET doc = excluded.doc WHERE COALESCE(json_extract(`+d.Table+`.doc, '$.rev'), 0) = ?`, args...))
	}
	if err != nil {
		return false, fmt.Errorf("save %s: %w", d.Table, err)
	}
	return ok, nil
}

// SaveDocNext saves v (a pointer to the document) as its next revision:
// rev points at v's revision field, which holds the revision the caller
// read and is moved to the next one; changed is the error when another
// save came first (then *rev is left as it was).
func (e *Engine) SaveDocNext(ctx context.Context, tenantID string, d Doc, v any, rev *int64, changed error) error {
	read := *rev
	*rev = read + 1
	ok, err := e.SaveDocAt(ctx, tenantID, d, v, read)
	if err == nil && !ok {
		err = changed
	}
	if err != nil {
		*rev = read
	}
	return err
}

// SaveDoc replaces the document with v.
func (e *Engine) SaveDoc(ctx context.Context, tenantID string, d Doc, v any) error {
	var err error
	if e.kind == Mongo {
		_, err = e.Mongo(tenantID).C(d.Table).UpdateOne(ctx, bson.D{{Key: "_id", Value: d.mongoID()}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "doc", Value: v}}}}, options.UpdateOne().SetUpsert(true))
	} else {
		var db *SQLScope
		if db, err = e.SQL(tenantID); err != nil {
			return err
		}
		if d.Name == "" {
			_, err = db.Exec(ctx, `INSERT INTO `+d.Table+` (tenant_id, doc) VALUES (?, ?)
				ON CONFLICT (tenant_id) DO UPDATE SET doc = excluded.doc`, JSONText(v))
		} else {
			_, err = db.Exec(ctx, `INSERT INTO `+d.Table+` (tenant_id, name, doc) VALUES (?, ?, ?)
				ON CONFLICT (tenant_id, name) DO UPDATE SET doc = excluded.doc`, d.Name, JSONText(v))
		}
	}
	if err != nil {
		return fmt.Errorf("save %s: %w", d.Table, err)
	}
	return nil
}
