package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// notes is a schema for the engine tests: a table with a natural key.
var notes = engine.Schema{
	Name: "notes",
	SQLite: []string{
		`CREATE TABLE IF NOT EXISTS notes (
			tenant_id TEXT NOT NULL,
			id TEXT NOT NULL,
			body TEXT NOT NULL,
			PRIMARY KEY (tenant_id, id))`,
		`CREATE INDEX IF NOT EXISTS notes_body ON notes (tenant_id, body)`,
	},
	Mongo: []engine.MongoCollection{{Name: "notes", Indexes: []engine.MongoIndex{
		{Keys: bson.D{{Key: "id", Value: 1}}, Unique: true},
		{Keys: bson.D{{Key: "body", Value: 1}}},
	}}},
}

type note struct {
	TenantID string `bson:"tenant_id"`
	ID       string `bson:"id"`
	Body     string `bson:"body"`
}

func insertNote(ctx context.Context, e *engine.Engine, tenantID string, n note) error {
	if e.Kind() == engine.SQLite {
		sc, err := e.SQL(tenantID)
		if err != nil {
			return err
		}
		_, err = sc.Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, n.ID, n.Body)
		return err
	}
	return e.Mongo(tenantID).C("notes").InsertOne(ctx, n)
}

func noteByID(ctx context.Context, e *engine.Engine, tenantID, id string) (note, error) {
	var n note
	if e.Kind() == engine.SQLite {
		sc, err := e.SQL(tenantID)
		if err != nil {
			return n, err
		}
		err = sc.QueryRow(ctx, `SELECT tenant_id, id, body FROM notes WHERE tenant_id = ? AND id = ?`, id).
			Scan(&n.TenantID, &n.ID, &n.Body)
		return n, err
	}
	err := e.Mongo(tenantID).C("notes").FindOne(ctx, bson.D{{Key: "id", Value: id}}).Decode(&n)
	return n, err
}

func TestEngineProvisionIsIdempotent(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{notes}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		id := engine.NewID()
		if err := e.Provision(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := insertNote(ctx, e, id, note{ID: "n1", Body: "hello"}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := e.Provision(ctx, id); err != nil {
				enginetest.SkipOnFerretDBIndexBug(t, enginetest.OnFerretDB(e), err)
				t.Fatalf("provision again: %v", err)
			}
		}
		n, err := noteByID(ctx, e, id, "n1")
		if err != nil || n != (note{TenantID: id, ID: "n1", Body: "hello"}) {
			t.Fatalf("after re-provisioning: %+v, %v", n, err)
		}
		// The schema's unique key holds after re-provisioning.
		if err := insertNote(ctx, e, id, note{ID: "n1", Body: "again"}); !engine.IsUniqueViolation(err) {
			t.Fatalf("duplicate note id: err = %v, want a unique violation", err)
		}
		// Each tenant has its own data.
		other := enginetest.Tenant(t, e)
		if _, err := noteByID(ctx, e, other, "n1"); err == nil {
			t.Fatal("another tenant sees the note")
		}

		for _, bad := range []string{"", "short", "UPPERCASEUPPERCA", "../../etc/passwd", id + "x"} {
			if err := e.Provision(ctx, bad); err == nil {
				t.Errorf("Provision(%q) succeeded", bad)
			}
		}
	})
}

// The Mongo scope stamps its tenant on every document it writes and adds it
// to every filter, whatever the caller passes.
func TestMongoScopeStampsTenant(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{notes}, func(t *testing.T, e *engine.Engine) {
		if e.Kind() != engine.Mongo {
			t.Skip("engine.Mongo scope only; the SQL scope is TestSQLScope")
		}
		ctx := context.Background()
		id := enginetest.Tenant(t, e)
		c := e.Mongo(id).C("notes")
		if err := c.InsertOne(ctx, note{TenantID: "someone-else", ID: "n1", Body: "b"}); err != nil {
			t.Fatal(err)
		}
		n, err := noteByID(ctx, e, id, "n1")
		if err != nil || n.TenantID != id {
			t.Fatalf("stored note %+v, %v; want tenant_id %s", n, err, id)
		}
		// A filter naming another tenant is overridden, not obeyed.
		cnt, err := c.CountDocuments(ctx, bson.D{{Key: "tenant_id", Value: "someone-else"}, {Key: "id", Value: "n1"}})
		if err != nil || cnt != 1 {
			t.Fatalf("count with a foreign tenant_id = %d, %v; want 1 (own tenant)", cnt, err)
		}
	})
}

// TestSchemaAddsColumnsToOldDatabases: a tenant database made before a
// column was added gains it when the schema is ensured again.
func TestSchemaAddsColumnsToOldDatabases(t *testing.T) {
	dir := t.TempDir()
	v1 := engine.Schema{Name: "t", SQLite: []string{`CREATE TABLE IF NOT EXISTS things (tenant_id TEXT NOT NULL, id TEXT NOT NULL)`}}
	e, err := tenants.OpenSQLite(dir, v1)
	if err != nil {
		t.Fatal(err)
	}
	id := engine.NewID()
	if err := e.Provision(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	e.Close()
	v2 := v1
	v2.SQLite = append([]string{}, v1.SQLite[0], `ALTER TABLE things ADD COLUMN colour TEXT NOT NULL DEFAULT ''`)
	e, err = tenants.OpenSQLite(dir, v2)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for range 2 { // the second run finds the column there
		if err := e.Provision(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	db, err := e.SQL(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(context.Background(), `INSERT INTO things (tenant_id, id, colour) VALUES (?, ?, ?)`, "x", "red"); err != nil {
		t.Errorf("new column missing: %v", err)
	}
}

// TestClosedEngineOpensNothing: work still running after Close must not
// reopen (and so recreate) a tenant's file.
func TestClosedEngineOpensNothing(t *testing.T) {
	dir := t.TempDir()
	e, err := tenants.OpenSQLite(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := engine.NewID()
	if err := e.Provision(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	e.Close()
	if _, err := e.SQL(id); err == nil {
		t.Error("a closed engine handed out a tenant database")
	}
}

func TestSQLScope(t *testing.T) {
	e := openSQLite(t, notes)
	ctx := context.Background()
	id := enginetest.Tenant(t, e)
	sc, err := e.SQL(id)
	if err != nil {
		t.Fatal(err)
	}
	if sc.TenantID() != id {
		t.Fatalf("TenantID = %q", sc.TenantID())
	}

	// Statements that do not name tenant_id are refused before they run.
	if _, err := sc.Exec(ctx, `INSERT INTO notes (id, body) VALUES (?, ?)`, "n1", "x"); err == nil || !strings.Contains(err.Error(), "tenant_id") {
		t.Fatalf("Exec without tenant_id: %v", err)
	}
	if _, err := sc.Query(ctx, `SELECT id FROM notes`); err == nil || !strings.Contains(err.Error(), "tenant_id") {
		t.Fatalf("Query without tenant_id: %v", err)
	}
	var body string
	if err := sc.QueryRow(ctx, `SELECT body FROM notes WHERE id = ?`, "n1").Scan(&body); err == nil || !strings.Contains(err.Error(), "tenant_id") {
		t.Fatalf("QueryRow without tenant_id: %v", err)
	}

	// Scoped statements get the tenant id as their first argument.
	if _, err := sc.Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, "n1", "hello"); err != nil {
		t.Fatal(err)
	}
	var tenantID string
	if err := sc.QueryRow(ctx, `SELECT tenant_id, body FROM notes WHERE tenant_id = ? AND id = ?`, "n1").Scan(&tenantID, &body); err != nil ||
		tenantID != id || body != "hello" {
		t.Fatalf("row = %q %q, %v", tenantID, body, err)
	}
	// The tenant id goes to the `tenant_id = ?` placeholder wherever it is.
	if res, err := sc.Exec(ctx, `UPDATE notes SET body = ? WHERE tenant_id = ? AND id = ?`, "edited", "n1"); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("update changed %d rows, want 1", n)
	}
	if err := sc.QueryRow(ctx, `SELECT body FROM notes WHERE tenant_id = ? AND id = ?`, "n1").Scan(&body); err != nil || body != "edited" {
		t.Fatalf("after update: %q, %v", body, err)
	}
	rows, err := sc.Query(ctx, `SELECT id FROM notes WHERE tenant_id = ? ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s)
	}
	rows.Close()
	if strings.Join(ids, ",") != "n1" {
		t.Fatalf("ids = %v", ids)
	}

	// Only provisioned tenants have a database; a request cannot create one.
	for _, bad := range []string{engine.NewID(), "", "../platform", "UPPERCASEUPPERCA"} {
		if _, err := e.SQL(bad); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("SQL(%q) = %v, want not found", bad, err)
		}
	}
}
