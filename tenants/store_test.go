package tenants_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// The contract suite of tenants.Store: every case runs on SQLite and on the
// Mongo engine (FerretDB, or MongoDB when MICROSHOP_TEST_MONGODB_URI is set).

// now is a time both engines store exactly (MongoDB keeps milliseconds).
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// allowTenantScans exempts the platform store's whole-collection reads of
// the tenants collection from the index check.
func allowTenantScans(t *testing.T, e *tenants.Engine) {
	enginetest.AllowFullScan(t, e, "tenants",
		"TenantIDs lists every tenant for the start-up schema check, and CountTenants counts them all")
}

func wantStatus(t *testing.T, err error, sentinel error, status int) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("err = %v, want %v", err, sentinel)
	}
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Status != status {
		t.Fatalf("err = %#v, want a fault.Error with status %d", err, status)
	}
}

func sameTenant(t *testing.T, got, want tenants.Tenant) {
	t.Helper()
	if got.ID != want.ID || got.Slug != want.Slug || got.Name != want.Name || got.TimeZone != want.TimeZone ||
		!got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("tenant = %+v, want %+v", got, want)
	}
}

func newTenant(slug string) tenants.Tenant {
	return tenants.Tenant{ID: tenants.NewID(), Slug: slug, Name: "Shop " + slug, TimeZone: tenants.DefaultTimeZone, CreatedAt: now()}
}

func TestStoreTenants(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *tenants.Engine) {
		ctx := context.Background()
		s := tenants.NewStore(e)
		a := newTenant("tea-house")
		if err := s.CreateTenant(ctx, a); err != nil {
			t.Fatal(err)
		}

		got, err := s.TenantByID(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameTenant(t, got, a)
		got, err = s.TenantBySlug(ctx, a.Slug)
		if err != nil {
			t.Fatal(err)
		}
		sameTenant(t, got, a)

		_, err = s.TenantByID(ctx, tenants.NewID())
		wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)
		_, err = s.TenantBySlug(ctx, "no-such-shop")
		wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)

		// A taken slug is a conflict, and the first tenant keeps it.
		b := newTenant(a.Slug)
		err = s.CreateTenant(ctx, b)
		wantStatus(t, err, fault.ErrConflict, http.StatusConflict)
		if got, err := s.TenantBySlug(ctx, a.Slug); err != nil || got.ID != a.ID {
			t.Fatalf("after the conflict the slug resolves to %+v, %v; want tenant %s", got, err, a.ID)
		}
		_, err = s.TenantByID(ctx, b.ID)
		wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)

		// Deleting a tenant frees its slug.
		if err := s.DeleteTenant(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.TenantByID(ctx, a.ID)
		wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)
		if err := s.CreateTenant(ctx, b); err != nil {
			t.Fatalf("slug of a deleted tenant: %v", err)
		}
		if err := s.DeleteTenant(ctx, tenants.NewID()); err != nil {
			t.Fatalf("deleting a missing tenant: %v", err)
		}
	})
}

func TestStoreTenantIDsAndCount(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *tenants.Engine) {
		allowTenantScans(t, e)
		ctx := context.Background()
		s := tenants.NewStore(e)
		ids, err := s.TenantIDs(ctx)
		if err != nil || len(ids) != 0 {
			t.Fatalf("empty store: TenantIDs = %v, %v", ids, err)
		}
		if n, err := s.CountTenants(ctx); err != nil || n != 0 {
			t.Fatalf("empty store: CountTenants = %d, %v", n, err)
		}
		var want []string
		for i := range 5 {
			tn := newTenant(fmt.Sprintf("shop-%d", i))
			if err := s.CreateTenant(ctx, tn); err != nil {
				t.Fatal(err)
			}
			want = append(want, tn.ID)
		}
		slices.Sort(want)
		ids, err = s.TenantIDs(ctx)
		if err != nil || !slices.Equal(ids, want) {
			t.Fatalf("TenantIDs = %v, %v; want %v (sorted)", ids, err, want)
		}
		if n, err := s.CountTenants(ctx); err != nil || n != 5 {
			t.Fatalf("CountTenants = %d, %v; want 5", n, err)
		}
	})
}

func TestStoreUsers(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *tenants.Engine) {
		ctx := context.Background()
		s := tenants.NewStore(e)
		tenantID := tenants.NewID()
		u := tenants.User{ID: tenants.NewID(), TenantID: tenantID, Email: "owner@example.com", PasswordHash: "$2a$11$hash", CreatedAt: now()}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		same := func(got tenants.User, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != u.ID || got.TenantID != u.TenantID || got.Email != u.Email || got.PasswordHash != u.PasswordHash ||
				!got.CreatedAt.Equal(u.CreatedAt) {
				t.Fatalf("user = %+v, want %+v", got, u)
			}
		}
		same(s.UserByEmail(ctx, u.Email))
		same(s.UserByID(ctx, u.ID))

		_, err := s.UserByEmail(ctx, "nobody@example.com")
		wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)
		_, err = s.UserByID(ctx, tenants.NewID())
		wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)

		// One account per email, across tenants.
		dup := tenants.User{ID: tenants.NewID(), TenantID: tenants.NewID(), Email: u.Email, PasswordHash: "x", CreatedAt: now()}
		wantStatus(t, s.CreateUser(ctx, dup), fault.ErrConflict, http.StatusConflict)
		_, err = s.UserByID(ctx, dup.ID)
		wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)
		same(s.UserByEmail(ctx, u.Email))

		// A second user of the same tenant.
		v := tenants.User{ID: tenants.NewID(), TenantID: tenantID, Email: "clerk@example.com", PasswordHash: "y", CreatedAt: now()}
		if err := s.CreateUser(ctx, v); err != nil {
			t.Fatal(err)
		}
		if got, err := s.UserByEmail(ctx, v.Email); err != nil || got.ID != v.ID {
			t.Fatalf("second user = %+v, %v", got, err)
		}
	})
}

func TestStoreAPIKeys(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *tenants.Engine) {
		ctx := context.Background()
		s := tenants.NewStore(e)
		tenantID := tenants.NewID()
		key, rec := tenants.NewAPIKey(tenantID, now())
		if rec.Hash != tenants.HashAPIKey(key) || rec.TenantID != tenantID || len(rec.Prefix) >= len(key) {
			t.Fatalf("NewAPIKey record %+v for key %s", rec, key)
		}
		if err := s.CreateAPIKey(ctx, rec); err != nil {
			t.Fatal(err)
		}
		other, rec2 := tenants.NewAPIKey(tenantID, now())
		if other == key {
			t.Fatal("NewAPIKey returned the same key twice")
		}
		if err := s.CreateAPIKey(ctx, rec2); err != nil {
			t.Fatal(err)
		}
		got, err := s.APIKeyByHash(ctx, tenants.HashAPIKey(key))
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != rec.ID || got.TenantID != tenantID || got.Hash != rec.Hash || got.Prefix != rec.Prefix || !got.CreatedAt.Equal(rec.CreatedAt) {
			t.Fatalf("key = %+v, want %+v", got, rec)
		}
		if got, err := s.APIKeyByHash(ctx, tenants.HashAPIKey(other)); err != nil || got.ID != rec2.ID {
			t.Fatalf("second key = %+v, %v", got, err)
		}
		_, err = s.APIKeyByHash(ctx, tenants.HashAPIKey("msk_unknown"))
		wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)
		// The key itself is not a hash of anything stored.
		_, err = s.APIKeyByHash(ctx, key)
		wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)
	})
}

func TestStoreSecret(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *tenants.Engine) {
		ctx := context.Background()
		s := tenants.NewStore(e)
		v, err := s.Secret(ctx, "session", func() string { return "first" })
		if err != nil || v != "first" {
			t.Fatalf("Secret = %q, %v; want first", v, err)
		}
		v, err = s.Secret(ctx, "session", func() string { return "second" })
		if err != nil || v != "first" {
			t.Fatalf("Secret again = %q, %v; want first", v, err)
		}
		v, err = s.Secret(ctx, "csrf", func() string { return "other" })
		if err != nil || v != "other" {
			t.Fatalf("another secret = %q, %v; want other", v, err)
		}
	})
}

// Replicas racing on first start all get the value that won.
func TestStoreSecretConcurrent(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *tenants.Engine) {
		if enginetest.OnFerretDB(e) {
			t.Skip(enginetest.FerretDBSkipReason)
		}
		ctx := context.Background()
		s := tenants.NewStore(e)
		const n = 20
		got := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				got[i], errs[i] = s.Secret(ctx, "race", func() string { return fmt.Sprintf("value-%d", i) })
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("goroutine %d: %v", i, errs[i])
			}
			if got[i] != got[0] {
				t.Fatalf("goroutines got different secrets: %q", got)
			}
		}
		if v, err := s.Secret(ctx, "race", func() string { return "late" }); err != nil || v != got[0] {
			t.Fatalf("after the race Secret = %q, %v; want %q", v, err, got[0])
		}
	})
}

// notes is a schema for the engine tests: a table with a natural key.
var notes = tenants.Schema{
	Name: "notes",
	SQLite: []string{
		`CREATE TABLE IF NOT EXISTS notes (
			tenant_id TEXT NOT NULL,
			id TEXT NOT NULL,
			body TEXT NOT NULL,
			PRIMARY KEY (tenant_id, id))`,
		`CREATE INDEX IF NOT EXISTS notes_body ON notes (tenant_id, body)`,
	},
	Mongo: []tenants.MongoCollection{{Name: "notes", Indexes: []tenants.MongoIndex{
		{Keys: bson.D{{Key: "id", Value: 1}}, Unique: true},
		{Keys: bson.D{{Key: "body", Value: 1}}},
	}}},
}

type note struct {
	TenantID string `bson:"tenant_id"`
	ID       string `bson:"id"`
	Body     string `bson:"body"`
}

func insertNote(ctx context.Context, e *tenants.Engine, tenantID string, n note) error {
	if e.Kind() == tenants.SQLite {
		sc, err := e.SQL(tenantID)
		if err != nil {
			return err
		}
		_, err = sc.Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, n.ID, n.Body)
		return err
	}
	return e.Mongo(tenantID).C("notes").InsertOne(ctx, n)
}

func noteByID(ctx context.Context, e *tenants.Engine, tenantID, id string) (note, error) {
	var n note
	if e.Kind() == tenants.SQLite {
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
	enginetest.Kinds(t, []tenants.Schema{notes}, func(t *testing.T, e *tenants.Engine) {
		ctx := context.Background()
		id := tenants.NewID()
		if err := e.Provision(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := insertNote(ctx, e, id, note{ID: "n1", Body: "hello"}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := e.Provision(ctx, id); err != nil {
				skipOnFerretDBIndexBug(t, enginetest.OnFerretDB(e), err)
				t.Fatalf("provision again: %v", err)
			}
		}
		n, err := noteByID(ctx, e, id, "n1")
		if err != nil || n != (note{TenantID: id, ID: "n1", Body: "hello"}) {
			t.Fatalf("after re-provisioning: %+v, %v", n, err)
		}
		// The schema's unique key holds after re-provisioning.
		if err := insertNote(ctx, e, id, note{ID: "n1", Body: "again"}); !tenants.IsUniqueViolation(err) {
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
	enginetest.Kinds(t, []tenants.Schema{notes}, func(t *testing.T, e *tenants.Engine) {
		if e.Kind() != tenants.Mongo {
			t.Skip("Mongo scope only; the SQL scope is TestSQLScope")
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

// skipOnFerretDBIndexBug skips when err is FerretDB 1.24's known crash on a
// createIndexes command listing two or more indexes that all exist already
// (its validateIndexesForCreation deletes from the filtered slice by the
// unfiltered index and panics; the connection drops). The engine sends one
// command per collection with all its indexes, so re-applying a schema (or
// the platform indexes) fails there. Creating indexes one per command would
// avoid it; until then these cases skip on FerretDB, and run everywhere else.
func skipOnFerretDBIndexBug(t *testing.T, onFerretDB bool, err error) {
	t.Helper()
	if onFerretDB && strings.Contains(err.Error(), "connection closed unexpectedly") {
		t.Skipf("FerretDB 1.24 crashes on createIndexes of several existing indexes (engine sends them in one command): %v", err)
	}
}

// Re-opening the Mongo engine on existing databases (every start-up after
// the first) re-applies the platform indexes.
func TestOpenMongoAgain(t *testing.T) {
	ctx := context.Background()
	uri := enginetest.MongoURI(t)
	prefix := "et" + tenants.NewSecret(10)
	admin, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.Database(prefix).Drop(ctx)
		_ = admin.Disconnect(ctx)
	})
	onFerretDB := os.Getenv(enginetest.MongoURIEnv) == ""
	var tenantID string
	for i := range 2 {
		e, err := tenants.OpenMongo(ctx, uri, prefix, nil)
		if err != nil {
			skipOnFerretDBIndexBug(t, onFerretDB, err)
			t.Fatalf("open %d: %v", i+1, err)
		}
		s := tenants.NewStore(e)
		if i == 0 {
			tn := newTenant("tea-house")
			tenantID = tn.ID
			err = s.CreateTenant(ctx, tn)
		} else {
			var tn tenants.Tenant
			tn, err = s.TenantBySlug(ctx, "tea-house")
			if err == nil && tn.ID != tenantID {
				err = fmt.Errorf("slug resolves to %s, want %s", tn.ID, tenantID)
			}
		}
		e.Close()
		if err != nil {
			t.Fatalf("open %d: %v", i+1, err)
		}
	}
}

// TestSchemaAddsColumnsToOldDatabases: a tenant database made before a
// column was added gains it when the schema is ensured again.
func TestSchemaAddsColumnsToOldDatabases(t *testing.T) {
	dir := t.TempDir()
	v1 := tenants.Schema{Name: "t", SQLite: []string{`CREATE TABLE IF NOT EXISTS things (tenant_id TEXT NOT NULL, id TEXT NOT NULL)`}}
	e, err := tenants.OpenSQLite(dir, v1)
	if err != nil {
		t.Fatal(err)
	}
	id := tenants.NewID()
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
	id := tenants.NewID()
	if err := e.Provision(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	e.Close()
	if _, err := e.SQL(id); err == nil {
		t.Error("a closed engine handed out a tenant database")
	}
}
