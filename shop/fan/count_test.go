package fan_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// TestCount: the shop's fan count follows every way a fan is created or
// merged away, and the list's unfiltered total is it; a shop from before
// the counter is counted once.
func TestCount(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{fan.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := fan.NewStore(e)
		tenant := enginetest.Tenant(t, e)
		t0 := time.Now().UTC().Truncate(time.Millisecond)
		cookie, wx := engine.NewID(), fan.IDForOpenID(tenant, "oCount")
		follow := func(openID string, secs int) {
			t.Helper()
			if _, err := s.Apply(ctx, tenant, fan.Event{FanID: fan.IDForOpenID(tenant, openID), OpenID: openID, Kind: fan.Subscribed,
				At: at(t0, secs)}); err != nil {
				t.Fatal(err)
			}
		}
		steps := []struct {
			name string
			do   func()
			want int64
		}{
			{"a new shop", func() {}, 0},
			{"a browser's first action", func() { mustEnsure(t, s, tenant, cookie) }, 1},
			{"the same browser again", func() { mustEnsure(t, s, tenant, cookie) }, 1},
			{"a follow", func() { follow("oA", 1) }, 2},
			{"a later event of the same fan", func() { follow("oA", 2) }, 2},
			{"a sign-in merges the browser into a new WeChat fan", func() {
				mustMerge(t, s, tenant, cookie, fan.Fan{ID: wx, OpenID: "oCount", Source: fan.SourceWeChatOAuth, CreatedAt: t0})
			}, 2},
			{"the same sign-in again", func() {
				mustMerge(t, s, tenant, cookie, fan.Fan{ID: wx, OpenID: "oCount", Source: fan.SourceWeChatOAuth, CreatedAt: t0})
			}, 2},
			{"a sign-in with no browser record", func() {
				mustMerge(t, s, tenant, engine.NewID(), fan.Fan{ID: fan.IDForOpenID(tenant, "oB"), OpenID: "oB", CreatedAt: t0})
			}, 3},
			{"a browser merged into a fan that exists", func() {
				other := engine.NewID()
				mustEnsure(t, s, tenant, other)
				mustMerge(t, s, tenant, other, fan.Fan{ID: fan.IDForOpenID(tenant, "oA"), OpenID: "oA", CreatedAt: t0})
			}, 3},
			{"ten first pushes at once", func() {
				var wg sync.WaitGroup
				for i := range 10 {
					wg.Go(func() { follow(fmt.Sprint("oMany", i%5), i) })
				}
				wg.Wait()
			}, 8},
			{"a shop from before the counter", func() { forgetCount(t, e, tenant) }, 8},
		}
		for _, st := range steps {
			st.do()
			n, err := s.Count(ctx, tenant)
			if err != nil || n != st.want {
				t.Fatalf("after %s: count %d %v, want %d", st.name, n, err, st.want)
			}
			if _, total, err := s.List(ctx, tenant, fan.Filter{Limit: 1}); err != nil || total != st.want {
				t.Fatalf("after %s: list total %d %v, want %d", st.name, total, err, st.want)
			}
		}
		if n, _ := s.Count(ctx, enginetest.Tenant(t, e)); n != 0 {
			t.Errorf("another shop counts %d fans", n)
		}
	})
}

func mustEnsure(t *testing.T, s fan.Store, tenant, id string) {
	t.Helper()
	if _, err := s.Ensure(context.Background(), tenant, id, "direct", time.Now()); err != nil {
		t.Fatal(err)
	}
}

func mustMerge(t *testing.T, s fan.Store, tenant, from string, into fan.Fan) {
	t.Helper()
	if err := s.Merge(context.Background(), tenant, from, into); err != nil {
		t.Fatal(err)
	}
}

// forgetCount removes the shop's fan counter, as a database made before it
// has none, and provisions the shop again as start-up does.
func forgetCount(t *testing.T, e *engine.Engine, tenant string) {
	t.Helper()
	ctx := context.Background()
	var err error
	if e.Kind() == engine.SQLite {
		_, err = e.SQLExec(ctx, tenant, `DELETE FROM fan_counts WHERE tenant_id = ?`)
	} else {
		_, err = e.Mongo(tenant).C("fan_counts").DeleteOne(ctx, bson.D{{Key: "_id", Value: "fans"}})
	}
	if err == nil {
		err = e.Reapply(ctx, tenant) // as a shop from before the counter is migrated
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestWalk: the walk meets every fan once, in pages read by key.
func TestWalk(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{fan.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := fan.NewStore(e)
		tenant := enginetest.Tenant(t, e)
		// Each step adds fans; the walk then meets all of them: none, one,
		// exactly a page, and a page and some.
		total := 0
		for _, add := range []int{0, 1, 499, 501} {
			total += add
			t.Run(fmt.Sprint(total, " fans"), func(t *testing.T) {
				seedFans(t, e, tenant, add)
				seen := map[string]bool{}
				pages := 0
				if err := s.Walk(ctx, tenant, func(list []fan.Fan) error {
					pages++
					for _, f := range list {
						if seen[f.ID] {
							t.Fatalf("fan %s met twice", f.ID)
						}
						seen[f.ID] = true
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if len(seen) != total || pages != (total+499)/500 {
					t.Errorf("met %d fans in %d pages, want %d in %d", len(seen), pages, total, (total+499)/500)
				}
			})
		}
	})
}

// seedFans inserts n fans directly (one by one is slow on FerretDB).
func seedFans(t *testing.T, e *engine.Engine, tenant string, n int) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	var err error
	switch {
	case n == 0:
	case e.Kind() == engine.SQLite:
		err = e.SQLTx(ctx, tenant, func(tx *engine.SQLTx) error {
			for range n {
				if _, err := tx.Exec(ctx, `INSERT INTO fans (tenant_id, id, source, created_at) VALUES (?, ?, 'direct', ?)`,
					engine.NewID(), engine.TimeText(now)); err != nil {
					return err
				}
			}
			return nil
		})
	default:
		docs := make([]any, n)
		for i := range docs {
			docs[i] = fan.Fan{ID: engine.NewID(), Source: "direct", CreatedAt: now}
		}
		err = e.Mongo(tenant).C("fans").InsertMany(ctx, docs)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestListAndWalkQueries: on MongoDB, listing fans with no filter does not
// count the shop's fans (it reads the counter), and the walk reads each
// page by key with no skip. A command monitor sees what is sent.
func TestListAndWalkQueries(t *testing.T) {
	rec := &recorder{}
	e, tenant := openMongo(t, options.Client().SetMonitor(&event.CommandMonitor{Started: rec.started}))
	ctx := context.Background()
	s := fan.NewStore(e)
	seedFans(t, e, tenant, 600)
	if _, err := s.Count(ctx, tenant); err != nil { // the shop's first count makes the counter
		t.Fatal(err)
	}
	yes := true
	cases := []struct {
		name string
		run  func() error
		// ok says whether a query (its command, filter and skip) is fine.
		ok func(cmd string, filter bson.D, skip int64) bool
	}{
		{"an unfiltered page", func() error {
			_, total, err := s.List(ctx, tenant, fan.Filter{Limit: 50, Offset: 50})
			if err == nil && total != 600 {
				err = fmt.Errorf("total %d, want 600", total)
			}
			return err
		}, func(cmd string, filter bson.D, _ int64) bool { return cmd == "find" || bounded(filter) }},
		{"a filtered page", func() error {
			_, _, err := s.List(ctx, tenant, fan.Filter{Subscribed: &yes, Limit: 50})
			return err
		}, func(cmd string, filter bson.D, _ int64) bool { return bounded(filter) }},
		{"the walk", func() error {
			return s.Walk(ctx, tenant, func([]fan.Fan) error { return nil })
		}, func(cmd string, filter bson.D, skip int64) bool {
			return cmd == "find" && skip == 0 && slices.ContainsFunc(filter, func(c bson.E) bool { return c.Key == "_id" })
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec.reset()
			if err := tc.run(); err != nil {
				t.Fatal(err)
			}
			for _, q := range rec.queries() {
				if !tc.ok(q.cmd, q.filter, q.skip) {
					t.Errorf("%s on fans: filter %v skip %d", q.cmd, q.filter, q.skip)
				}
			}
		})
	}
}

// bounded says whether filter constrains a field other than tenant_id.
func bounded(filter bson.D) bool {
	return slices.ContainsFunc(filter, func(c bson.E) bool { return c.Key != "tenant_id" })
}

// sent is one query on the fans collection.
type sent struct {
	cmd    string
	filter bson.D
	skip   int64
}

// recorder keeps the queries a Mongo client sends to the fans collection.
type recorder struct {
	mu   sync.Mutex
	list []sent
}

func (r *recorder) started(_ context.Context, ev *event.CommandStartedEvent) {
	if coll, _ := ev.Command.Lookup(ev.CommandName).StringValueOK(); coll != "fans" {
		return
	}
	q := sent{cmd: ev.CommandName}
	switch ev.CommandName {
	case "find":
		_ = bson.Unmarshal(ev.Command.Lookup("filter").Document(), &q.filter)
		q.skip, _ = ev.Command.Lookup("skip").AsInt64OK()
	case "aggregate", "count":
		if ev.CommandName == "count" {
			_ = bson.Unmarshal(ev.Command.Lookup("query").Document(), &q.filter)
		} else if stages, ok := ev.Command.Lookup("pipeline").ArrayOK(); ok {
			if vals, _ := stages.Values(); len(vals) > 0 {
				if m, ok := vals[0].Document().Lookup("$match").DocumentOK(); ok {
					_ = bson.Unmarshal(m, &q.filter)
				}
			}
		}
	default:
		return
	}
	r.mu.Lock()
	r.list = append(r.list, q)
	r.mu.Unlock()
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.list = nil
	r.mu.Unlock()
}

func (r *recorder) queries() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.list)
}

// openMongo opens a Mongo engine with only the fan schema on the tests'
// MongoDB with the client options given (enginetest's engines use one
// connection and a monitor of their own), with a tenant; its databases are
// dropped at the end. Its queries are not checked against the indexes.
func openMongo(t *testing.T, opts *options.ClientOptions) (*engine.Engine, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prefix := "etfan" + engine.NewSecret(8)
	e, err := tenants.OpenMongo(ctx, enginetest.MongoURI(t), prefix, opts, fan.Schema)
	if err != nil {
		t.Fatalf("open a mongo engine: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		client := e.PlatformMongo().Client()
		names, err := client.ListDatabaseNames(ctx, bson.D{})
		for _, n := range names {
			if err == nil && strings.HasPrefix(n, prefix) {
				err = client.Database(n).Drop(ctx)
			}
		}
		if err != nil {
			t.Errorf("drop the engine's databases: %v", err)
		}
		if err := e.Close(); err != nil {
			t.Errorf("close the engine: %v", err)
		}
	})
	tenant := engine.NewID()
	if err := e.Provision(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	return e, tenant
}
