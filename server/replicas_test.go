package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// mongoReplicas opens n engines on one Mongo database (FerretDB in
// process, or MICROSHOP_TEST_MONGODB_URI), as n server processes would:
// each its own client (one connection on FerretDB), monitored by mon when
// given. The databases are dropped at cleanup.
func mongoReplicas(t *testing.T, n int, mon *event.CommandMonitor) []*engine.Engine {
	t.Helper()
	uri := enginetest.MongoURI(t)
	prefix := "rp" + engine.NewSecret(10)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var es []*engine.Engine
	for range n {
		opts := options.Client().SetMaxPoolSize(1)
		if mon != nil {
			opts.SetMonitor(mon)
		}
		e, err := tenants.OpenMongo(ctx, uri, prefix, opts, schemas...)
		if err != nil {
			t.Fatalf("open mongo: %v", err)
		}
		es = append(es, e)
	}
	t.Cleanup(func() {
		for _, e := range es {
			_ = e.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		client, err := mongo.Connect(options.Client().ApplyURI(uri))
		if err != nil {
			t.Errorf("drop test databases: %v", err)
			return
		}
		defer client.Disconnect(ctx)
		names, err := client.ListDatabaseNames(ctx, bson.D{})
		if err != nil {
			t.Errorf("drop test databases: %v", err)
			return
		}
		for _, name := range names {
			if strings.HasPrefix(name, prefix) {
				if err := client.Database(name).Drop(ctx); err != nil {
					t.Errorf("drop %s: %v", name, err)
				}
			}
		}
	})
	return es
}

// storefrontShows polls base's storefront of slug until it shows text, and
// says how long that took (false: not within limit).
func storefrontShows(t *testing.T, base, slug, text string, limit time.Duration) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	for {
		status, body := newClient(t, base).do(http.MethodGet, "/s/"+slug+"/", nil, "")
		if status == http.StatusOK && strings.Contains(string(body), text) {
			return time.Since(start), true
		}
		if time.Since(start) > limit {
			return time.Since(start), false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTwoReplicasOneDatabase starts two apps (two server processes) on one
// MongoDB database (FerretDB) and drives both: a product changed on A shows
// on B's storefront within seconds (B's shelf checks the catalog's stamp
// every --shelf-refresh, 2 s by default), a shop setting too (its cache
// lasts 5 s), a session made on A works on B, and the order pass runs
// once per due time, on whichever replica ticks first.
func TestTwoReplicasOneDatabase(t *testing.T) {
	es := mongoReplicas(t, 2, nil)
	cfg := testConfig()
	cfg.ShelfRefresh = 2 * time.Second // the default
	a, one := startAppWith(t, es[0], cfg)
	b, two := startAppWith(t, es[1], cfg)
	ctx := context.Background()
	defer a.closeDue(ctx)
	defer b.closeDue(ctx)

	s := signUp(t, one.URL, "replica-shop")
	p := s.apiClient(t, one.URL).createProduct(map[string]any{"title": "West Lake Longjing", "price": 3900, "stock": 10})
	if _, ok := storefrontShows(t, two.URL, s.Slug, "West Lake Longjing", 10*time.Second); !ok {
		t.Fatal("B never showed the product A created")
	}

	// A product changed on A shows on B within seconds.
	if status := s.apiClient(t, one.URL).json(http.MethodPatch, "/api/v1/products/"+p.ID, map[string]any{"title": "Longjing, pre-Qingming"}, nil); status != http.StatusOK {
		t.Fatalf("change the product on A: %d", status)
	}
	// (The bounds below are the designed delays with room for a loaded
	// CI machine polling through FerretDB; the times taken are logged.)
	if took, ok := storefrontShows(t, two.URL, s.Slug, "Longjing, pre-Qingming", 12*time.Second); !ok {
		t.Errorf("B still shows the old title %v after A changed it", took)
	} else {
		t.Logf("a product change on A showed on B after %v", took.Round(10*time.Millisecond))
	}

	// A shop setting changed on A applies on B within seconds (B resolves
	// the shop anew within 5 s).
	var shopOnB struct{ Name, TimeZone string }
	if status := s.apiClient(t, two.URL).json(http.MethodGet, "/api/v1/shop", nil, &shopOnB); status != http.StatusOK {
		t.Fatalf("the shop on B: %d", status)
	}
	if status := s.apiClient(t, one.URL).json(http.MethodPut, "/api/v1/shop", map[string]any{"name": "Tea House Renamed"}, nil); status != http.StatusOK {
		t.Fatalf("rename the shop on A: %d", status)
	}
	start := time.Now()
	for {
		if status := s.apiClient(t, two.URL).json(http.MethodGet, "/api/v1/shop", nil, &shopOnB); status != http.StatusOK {
			t.Fatalf("the shop on B: %d", status)
		}
		if shopOnB.Name == "Tea House Renamed" {
			t.Logf("a shop setting changed on A applied on B after %v", time.Since(start).Round(10*time.Millisecond))
			break
		}
		if time.Since(start) > 15*time.Second {
			t.Errorf("B still has the old shop name %v after A renamed it", time.Since(start))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// … and B's storefront pages, rendered once and kept, show the new name.
	if took, ok := storefrontShows(t, two.URL, s.Slug, "Tea House Renamed", 15*time.Second); !ok {
		t.Errorf("B's storefront still shows the old shop name %v after A renamed it", took)
	}

	// A session made on A works on B; signing out on B ends it on A.
	console := s.consoleClient(t, one.URL)
	ck := sessionCookie(t, console)
	if !signedIn(t, two.URL, ck) {
		t.Error("a session made on A is not valid on B")
	}
	onB := holding(t, two.URL, ck)
	onB.fetchCSRF("/admin/account")
	if status, _ := onB.form("/logout", nil); status != http.StatusSeeOther {
		t.Fatalf("sign out on B: %d", status)
	}
	if signedIn(t, one.URL, ck) {
		t.Error("a session ended on B is still valid on A")
	}

	// The order pass: once per due time, whichever replica ticks first.
	orders := ordersJob(t)
	tick := func(x *app, at time.Time) error {
		t.Helper()
		x.due.SetClock(func() time.Time { return at })
		_, err := x.runJob(withScheduled(ctx), orders, nil)
		return err
	}
	at := time.Now().Truncate(time.Minute).Add(10 * time.Minute)
	if err := tick(a, at); err != nil {
		t.Fatalf("A's tick: %v", err)
	}
	if err := tick(b, at.Add(20*time.Second)); !errors.Is(err, errSlotDone) {
		t.Errorf("B's tick in the same minute: %v, want %v", err, errSlotDone)
	}
	if err := tick(b, at.Add(time.Minute)); err != nil {
		t.Errorf("B's tick the next minute: %v", err)
	}
	if err := tick(a, at.Add(time.Minute+30*time.Second)); !errors.Is(err, errSlotDone) {
		t.Errorf("A's tick after B ran that minute: %v, want %v", err, errSlotDone)
	}
}

// TestCronOncePerDueTime: two replicas (two apps on one database) tick at
// the same due times, several goroutines each: each due time's pass runs
// once; an operator's run is not held to it.
func TestCronOncePerDueTime(t *testing.T) {
	e := sqliteEngine(t)
	a, srv := startApp(t, e)
	b, _ := startApp(t, e)
	ctx := context.Background()
	defer a.closeDue(ctx)
	defer b.closeDue(ctx)
	signUp(t, srv.URL, "once-shop")
	var mu sync.Mutex
	runs := map[time.Time]int{}
	j := job{name: "probe", every: "@every 1m", shop: func(_ *app, _ context.Context, _ string) (any, error) {
		return struct{ Done int }{1}, nil
	}}
	base := time.Now().Truncate(time.Minute).Add(time.Hour)
	for minute := range 3 {
		at := base.Add(time.Duration(minute) * time.Minute)
		a.due.SetClock(func() time.Time { return at })
		b.due.SetClock(func() time.Time { return at.Add(20 * time.Second) })
		var wg sync.WaitGroup
		for _, x := range []*app{a, b} { // each replica's ticks follow each other (cron skips a tick while one runs)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 4 {
					r, err := x.runJob(withScheduled(ctx), j, nil)
					switch {
					case err == nil:
						mu.Lock()
						runs[at] += len(r.shops)
						mu.Unlock()
					case errors.Is(err, errSlotDone), errors.Is(err, errLeaseHeld):
					default:
						t.Errorf("tick: %v", err)
					}
				}
			}()
		}
		wg.Wait()
		if runs[at] != 1 {
			t.Errorf("due time %s: the pass ran %d times, want once", at.Format("15:04"), runs[at])
		}
	}
	if r, err := a.runJob(ctx, j, nil); err != nil || len(r.shops) != 1 {
		t.Errorf("an operator's run after the schedule's: %+v, %v", r, err)
	}
}

// TestJobSlots: the due time a tick stands for.
func TestJobSlots(t *testing.T) {
	at := time.Date(2026, 12, 5, 18, 31, 42, 0, time.UTC) // 02:31 China time, Dec 6
	for _, c := range []struct {
		job  string
		want time.Time
	}{
		{"orders", time.Date(2026, 12, 5, 18, 31, 0, 0, time.UTC)},
		{"distribution", time.Date(2026, 12, 5, 18, 31, 0, 0, time.UTC)}, // after orders: its due time
		{"reconcile", time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)},
		{"market", time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)},
		{"credit", time.Date(2026, 12, 5, 18, 30, 0, 0, time.UTC)}, // 02:30 China time
	} {
		j, err := findJob(c.job)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := jobSlot(j, at); !ok || !got.Equal(c.want) {
			t.Errorf("%s at %s: slot %s %t, want %s", c.job, at, got.UTC(), ok, c.want)
		}
	}
	if got, ok := jobSlot(mustJob(t, "credit"), at.Add(-2*time.Minute)); !ok || !got.Equal(time.Date(2026, 12, 4, 18, 30, 0, 0, time.UTC)) {
		t.Errorf("credit just before 02:30: slot %s, want the day before's", got.UTC())
	}
	s, err := jobSchedule("@every 1m")
	if err != nil {
		t.Fatal(err)
	}
	if next := s.Next(at); !next.Equal(time.Date(2026, 12, 5, 18, 32, 0, 0, time.UTC)) {
		t.Errorf("@every 1m after %s: %s, want the next whole minute", at, next)
	}
}

func mustJob(t *testing.T, name string) job {
	t.Helper()
	j, err := findJob(name)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestSandboxRefusesASecondReplica: the WeChat sandbox keeps its
// simulators' state in its process, so a second replica on the same
// database refuses to start beside a live one; it starts once the first
// has left, and a record no process renews any more (a process killed)
// does not stop it.
func TestSandboxRefusesASecondReplica(t *testing.T) {
	e := sqliteEngine(t)
	a, _ := startApp(t, e)
	b, _ := startApp(t, e)
	defer a.closeDue(context.Background())
	defer b.closeDue(context.Background())
	actx, stopA := context.WithCancel(context.Background())
	defer stopA()
	if err := a.joinReplicas(actx); err != nil {
		t.Fatalf("the first replica: %v", err)
	}
	bctx, stopB := context.WithCancel(context.Background())
	defer stopB()
	start := time.Now()
	err := b.joinReplicas(bctx)
	if !errors.Is(err, errSandboxReplicas) || !strings.Contains(err.Error(), "--wechat=live") {
		t.Fatalf("a second sandbox replica beside a live one: %v", err)
	}
	t.Logf("refused after %v: %v", time.Since(start).Round(time.Millisecond), err)

	stopA() // the first stops: its record goes
	deadline := time.Now().Add(5 * time.Second)
	for {
		rs, err := b.replicas(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stopped replica's record is still there: %+v", rs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A process killed: its record stays, never renewed.
	if err := a.beat(context.Background(), replicaRecord{ID: "killed", Mode: "sandbox", Host: "gone", StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := b.joinReplicas(bctx); err != nil {
		t.Fatalf("after the first left and another died: %v", err)
	}
	if took := time.Since(start); took > replicaStale+2*replicaBeat {
		t.Errorf("starting beside a dead record took %v", took)
	}
}

// TestReplicasShareTheSealingKey: a replica refuses to start beside a live
// one that seals secrets with another key (each would open only what it
// sealed itself); the register keeps each replica's key id on both
// engines, and a replica from before key ids (none recorded) stops no one.
func TestReplicasShareTheSealingKey(t *testing.T) {
	for _, kind := range []string{"sqlite", "mongo"} {
		t.Run(kind, func(t *testing.T) {
			var e *engine.Engine
			if kind == "sqlite" {
				e = sqliteEngine(t)
			} else {
				e = mongoReplicas(t, 1, nil)[0]
			}
			a, _ := startApp(t, e)
			defer a.closeDue(context.Background())
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			if err := a.engine.ExtendPlatform(ctx, engine.Platform{SQLite: replicasSQLite, Mongo: replicasMongo}); err != nil {
				t.Fatal(err)
			}
			other := replicaRecord{ID: "other", Mode: "live", Host: "elsewhere", StartedAt: time.Now(), KeyID: "k-other"}
			if err := a.beat(ctx, other); err != nil { // registered before it is read, however slow the first write
				t.Fatal(err)
			}
			go func() { // the other replica's heartbeat
				for ctx.Err() == nil {
					_ = a.beat(ctx, other)
					time.Sleep(replicaBeat / 4)
				}
			}()
			rs, err := a.replicas(ctx)
			if err != nil || len(rs) != 1 || rs[0].KeyID != "k-other" {
				t.Fatalf("the register: %+v %v, want the other replica with its key id", rs, err)
			}
			live := &app{cfg: a.cfg, log: a.log, engine: a.engine, leaser: a.leaser, wechat: a.wechat, due: nil}
			live.cfg.WeChat = "live"
			if err := live.clash(replicaRecord{Mode: "live", KeyID: live.keyID()}); err != nil {
				t.Errorf("a replica with the same key: %v", err)
			}
			if err := live.clash(replicaRecord{Mode: "live"}); err != nil {
				t.Errorf("a replica recording no key id: %v", err)
			}
			err = live.joinReplicas(ctx)
			if !errors.Is(err, errKeyReplicas) || !strings.Contains(err.Error(), "MICROSHOP_SECRET_KEY") {
				t.Fatalf("beside a live replica with another key: %v", err)
			}
		})
	}
}
