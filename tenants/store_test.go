package tenants_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The contract suite of tenants.Store: every case runs on SQLite and on the
// Mongo engine (FerretDB, or MongoDB when MICROSHOP_TEST_MONGODB_URI is set).

// now is a time both engines store exactly (MongoDB keeps milliseconds).
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// allowTenantScans exempts the platform store's whole-collection reads of
// the tenants collection from the index check.
func allowTenantScans(t *testing.T, e *engine.Engine) {
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
	if got.ID != want.ID || got.Slug != want.Slug || got.Name != want.Name || got.TimeZone != want.TimeZone || got.Lang != want.Lang ||
		!got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("tenant = %+v, want %+v", got, want)
	}
}

func newTenant(slug string) tenants.Tenant {
	return tenants.Tenant{ID: engine.NewID(), Slug: slug, Name: "Shop " + slug, TimeZone: tenants.DefaultTimeZone, CreatedAt: now()}
}

func TestStoreTenants(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
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

		_, err = s.TenantByID(ctx, engine.NewID())
		wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)
		_, err = s.TenantBySlug(ctx, "no-such-shop")
		wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)

		// Its settings change in place; a missing tenant is not found.
		a.Name, a.Lang, a.TimeZone = "西湖茶馆", "en", "Asia/Hong_Kong"
		if err := s.UpdateTenant(ctx, a); err != nil {
			t.Fatal(err)
		}
		if got, err := s.TenantBySlug(ctx, a.Slug); err != nil {
			t.Fatal(err)
		} else {
			sameTenant(t, got, a)
		}
		err = s.UpdateTenant(ctx, tenants.Tenant{ID: engine.NewID(), Name: "x", TimeZone: "UTC"})
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
		if err := s.DeleteTenant(ctx, engine.NewID()); err != nil {
			t.Fatalf("deleting a missing tenant: %v", err)
		}
	})
}

func TestStoreTenantIDsAndCount(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
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
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := tenants.NewStore(e)
		tenantID := engine.NewID()
		u := tenants.User{ID: engine.NewID(), TenantID: tenantID, Email: "owner@example.com", PasswordHash: "$2a$11$hash", CreatedAt: now()}
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
		_, err = s.UserByID(ctx, engine.NewID())
		wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)

		// One account per email, across tenants.
		dup := tenants.User{ID: engine.NewID(), TenantID: engine.NewID(), Email: u.Email, PasswordHash: "x", CreatedAt: now()}
		wantStatus(t, s.CreateUser(ctx, dup), fault.ErrConflict, http.StatusConflict)
		_, err = s.UserByID(ctx, dup.ID)
		wantStatus(t, err, fault.ErrNotFound, http.StatusNotFound)
		same(s.UserByEmail(ctx, u.Email))

		// A second user of the same tenant.
		v := tenants.User{ID: engine.NewID(), TenantID: tenantID, Email: "clerk@example.com", PasswordHash: "y", CreatedAt: now()}
		if err := s.CreateUser(ctx, v); err != nil {
			t.Fatal(err)
		}
		if got, err := s.UserByEmail(ctx, v.Email); err != nil || got.ID != v.ID {
			t.Fatalf("second user = %+v, %v", got, err)
		}
	})
}

func TestStoreAPIKeys(t *testing.T) {
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := tenants.NewStore(e)
		tenantID := engine.NewID()
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
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
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
	enginetest.Kinds(t, nil, func(t *testing.T, e *engine.Engine) {
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

// Re-opening the Mongo engine on existing databases (every start-up after
// the first) re-applies the platform indexes.
func TestOpenMongoAgain(t *testing.T) {
	ctx := context.Background()
	uri := enginetest.MongoURI(t)
	prefix := "et" + engine.NewSecret(10)
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
			enginetest.SkipOnFerretDBIndexBug(t, onFerretDB, err)
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
