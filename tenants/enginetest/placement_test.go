package enginetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants"
	"microshop/tenants/engine"
)

// placementSchema is a small tenant schema for the placement tests: notes
// by _id (domain keys such as "settings" among them) and a unique code.
var placementSchema = engine.Schema{Name: "placement_test", Mongo: []engine.MongoCollection{
	engine.Coll("notes", engine.Unique("code"), engine.Index("kind", "-n")),
}}

type note struct {
	ID   string `bson:"_id"`
	Code string `bson:"code"`
	Kind string `bson:"kind"`
	N    int    `bson:"n"`
}

func notes(t *testing.T, e *engine.Engine, tenant string, f bson.D, opts ...options.Lister[options.FindOptions]) []note {
	t.Helper()
	ctx := context.Background()
	out, err := engine.FindAll(ctx, e.Mongo(tenant).C("notes"), f, func(n note) note { return n }, opts...)
	if err != nil {
		t.Fatalf("find notes of %s: %v", tenant, err)
	}
	return out
}

// TestPooledShopsNeverSeeEachOther: two shops in one pooled database with
// the same domain keys (a fixed "settings" _id, the same unique code) each
// read, page, count, aggregate, upsert and delete only their own.
func TestPooledShopsNeverSeeEachOther(t *testing.T) {
	Pooled(t, []engine.Schema{placementSchema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		a, b := Tenant(t, e), Tenant(t, e)
		pa, _ := e.PlacementOf(ctx, a)
		pb, _ := e.PlacementOf(ctx, b)
		if !pa.Pooled || pa.Database != pb.Database {
			t.Fatalf("placements %+v and %+v: want one pooled database", pa, pb)
		}
		for _, tenant := range []string{a, b} {
			c := e.Mongo(tenant).C("notes")
			for i, id := range []string{"settings", "x1", "x2", "x3"} {
				if err := c.InsertOne(ctx, note{ID: id, Code: "c" + id, Kind: "k", N: i}); err != nil {
					t.Fatalf("insert %s into %s: %v", id, tenant, err)
				}
			}
			if _, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: "counter"}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}},
				{Key: "$set", Value: bson.D{{Key: "code", Value: "counter"}, {Key: "kind", Value: "c"}}}}, options.UpdateOne().SetUpsert(true)); err != nil {
				t.Fatalf("upsert counter of %s: %v", tenant, err)
			}
		}
		if err := e.Mongo(a).C("notes").InsertOne(ctx, note{ID: "settings", Code: "again"}); !engine.IsUniqueViolation(err) {
			t.Fatalf("a second settings of the same shop: %v, want a unique violation", err)
		}
		// b's changes stay b's.
		if _, err := e.Mongo(b).C("notes").UpdateOne(ctx, bson.D{{Key: "_id", Value: "settings"}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "kind", Value: "b-only"}}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Mongo(b).C("notes").DeleteOne(ctx, bson.D{{Key: "_id", Value: "x1"}}); err != nil {
			t.Fatal(err)
		}
		var s note
		if err := e.Mongo(a).C("notes").FindOne(ctx, bson.D{{Key: "_id", Value: "settings"}}).Decode(&s); err != nil || s.Kind != "k" || s.ID != "settings" {
			t.Fatalf("a's settings: %+v %v", s, err)
		}
		if got := notes(t, e, a, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: []string{"x1", "x2"}}}}}); len(got) != 2 {
			t.Fatalf("a's x1, x2 by $in: %+v", got)
		}
		page := notes(t, e, a, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: "x1"}}}}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
		if len(page) != 2 || page[0].ID != "x2" || page[1].ID != "x3" {
			t.Fatalf("a's page after x1: %+v", page)
		}
		if got := notes(t, e, b, bson.D{{Key: "kind", Value: "k"}}, options.Find().SetSort(bson.D{{Key: "kind", Value: 1}, {Key: "n", Value: -1}})); len(got) != 2 {
			t.Fatalf("b's notes of kind k: %+v", got)
		}
		var counter note
		res := e.Mongo(a).C("notes").FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: "counter"}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 1}}}}, options.FindOneAndUpdate().SetReturnDocument(options.After))
		if err := res.Decode(&counter); err != nil || counter.ID != "counter" || counter.N != 2 {
			t.Fatalf("a's counter: %+v %v", counter, err)
		}
		sums, err := engine.MongoSumBy[string](ctx, e.Mongo(a).C("notes"), "$kind", 1,
			bson.D{{Key: "$match", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{"settings", "x1", "counter"}}}}}}})
		if err != nil || sums["k"] != 2 || sums["c"] != 1 || len(sums) != 2 {
			t.Fatalf("a's sums by kind: %v %v", sums, err)
		}
		for tenant, want := range map[string]int64{a: 5, b: 4} {
			if n, err := e.Mongo(tenant).C("notes").CountDocuments(ctx, bson.D{}); err != nil || n != want {
				t.Errorf("%s has %d notes (%v), want %d", tenant, n, err, want)
			}
		}
		if _, err := e.Mongo(a).C("notes").UpdateOne(ctx, bson.D{{Key: "_id", Value: "x2"}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "tenant_id", Value: b}}}}); err == nil {
			t.Errorf("an update moving a record to another shop was accepted")
		}
		if _, err := e.Mongo(a).C("notes").Aggregate(ctx, mongo.Pipeline{{{Key: "$lookup", Value: bson.D{{Key: "from", Value: "notes"}}}}}); err == nil {
			t.Errorf("a $lookup (reading other shops' documents) was accepted")
		}
		if _, err := e.Mongo(a).C("notes").DeleteMany(ctx, bson.D{}); err != nil {
			t.Fatal(err)
		}
		if got := notes(t, e, b, bson.D{{Key: "kind", Value: "b-only"}}); len(got) != 1 || got[0].ID != "settings" {
			t.Fatalf("b's settings after a's delete-all: %+v", got)
		}
		AllowFullScan(t, e, "notes", "the test counts and deletes every note of a shop")

		// Every unique index of the pooled database starts with tenant_id.
		cur, err := server.admin.Database(pa.Database).Collection("notes").Indexes().List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var idx []struct {
			Name   string `bson:"name"`
			Key    bson.D `bson:"key"`
			Unique bool   `bson:"unique"`
		}
		if err := cur.All(ctx, &idx); err != nil {
			t.Fatal(err)
		}
		for _, ix := range idx {
			if ix.Name != "_id_" && ix.Key[0].Key != "tenant_id" {
				t.Errorf("index %s %v of the pooled database does not start with tenant_id", ix.Name, ix.Key)
			}
		}
		if len(idx) != 4 { // _id, {tenant_id, _id}, code, kind
			t.Errorf("pooled database's indexes: %+v", idx)
		}
	})
}

// TestMoveShopToOwnDatabase: a shop moved from the pool loses nothing,
// refuses writes only while frozen (ErrShopMoving, never a lost write),
// and the other shop of the pool is read and written throughout.
func TestMoveShopToOwnDatabase(t *testing.T) {
	ttl, grace := engine.PlacementTTL, engine.MoveGrace
	engine.PlacementTTL, engine.MoveGrace = 150*time.Millisecond, 100*time.Millisecond
	t.Cleanup(func() { engine.PlacementTTL, engine.MoveGrace = ttl, grace })
	Pooled(t, []engine.Schema{placementSchema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		moving, other := Tenant(t, e), Tenant(t, e)
		for _, tenant := range []string{moving, other} {
			for i := range 30 {
				id := fmt.Sprintf("n%02d", i)
				if err := e.Mongo(tenant).C("notes").InsertOne(ctx, note{ID: id, Code: id, Kind: "k", N: i}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := e.MoveToOwn(ctx, moving); err != nil { // not requested: still moves when called
			t.Fatalf("move: %v", err)
		}
		// The move above ran to the end; now one with traffic during it.
		other2 := Tenant(t, e)
		if err := e.Mongo(other2).C("notes").InsertOne(ctx, note{ID: "settings", Code: "s"}); err != nil {
			t.Fatal(err)
		}
		third := Tenant(t, e)
		for i := range 20 {
			id := fmt.Sprintf("m%02d", i)
			if err := e.Mongo(third).C("notes").InsertOne(ctx, note{ID: id, Code: id, Kind: "k", N: i}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.RequestMove(ctx, third); err != nil {
			t.Fatal(err)
		}
		if ids, err := e.PendingMoves(ctx); err != nil || len(ids) != 1 || ids[0] != third {
			t.Fatalf("pending moves: %v %v", ids, err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var written, refused, otherReads atomic.Int64
		var otherErr atomic.Value
		wg.Go(func() { // the moving shop's writer: every write lands or is refused
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("w%04d", i)
				err := e.Mongo(third).C("notes").InsertOne(ctx, note{ID: id, Code: id, Kind: "w", N: i})
				switch {
				case err == nil:
					written.Add(1)
				case errors.Is(err, engine.ErrShopMoving):
					refused.Add(1)
					time.Sleep(5 * time.Millisecond)
				default:
					otherErr.Store(fmt.Errorf("write to the moving shop: %w", err))
					return
				}
			}
		})
		wg.Go(func() { // another shop of the pool, read throughout
			for {
				select {
				case <-stop:
					return
				default:
				}
				if got, err := engine.FindAll(ctx, e.Mongo(other).C("notes"), bson.D{{Key: "kind", Value: "k"}},
					func(n note) note { return n }); err != nil || len(got) != 30 {
					otherErr.Store(fmt.Errorf("the other shop read %d notes: %v", len(got), err))
					return
				}
				otherReads.Add(1)
			}
		})
		rep, err := e.MoveToOwn(ctx, third)
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatalf("move: %v", err)
		}
		if v := otherErr.Load(); v != nil {
			t.Fatal(v)
		}
		t.Logf("move: %+v; %d writes landed, %d refused while frozen, %d reads of another shop", rep, written.Load(), refused.Load(), otherReads.Load())
		if !rep.Moved || rep.Frozen > 5*time.Second || refused.Load() == 0 || otherReads.Load() == 0 {
			t.Errorf("move %+v: refused %d, other reads %d", rep, refused.Load(), otherReads.Load())
		}
		for tenant, want := range map[string]int64{third: 20 + written.Load(), moving: 30, other: 30, other2: 1} {
			if n, err := e.Mongo(tenant).C("notes").CountDocuments(ctx, bson.D{}); err != nil || n != want {
				t.Errorf("shop %s has %d notes (%v), want %d", tenant, n, err, want)
			}
		}
		for _, tenant := range []string{moving, third} {
			p, err := e.PlacementOf(ctx, tenant)
			if err != nil || p.Pooled || p.State != "serving" || p.Requested {
				t.Errorf("placement of the moved shop: %+v %v", p, err)
			}
			var s note
			if err := e.Mongo(tenant).C("notes").FindOne(ctx, bson.D{{Key: "_id", Value: "n05"}}).Decode(&s); tenant == moving && (err != nil || s.N != 5) {
				t.Errorf("moved note n05: %+v %v", s, err)
			}
			if err := e.Mongo(tenant).C("notes").InsertOne(ctx, note{ID: "after", Code: "after"}); err != nil {
				t.Errorf("write after the move: %v", err)
			}
			// its own database holds plain ids; the pool none of its documents
			raw := server.admin.Database(p.Database).Collection("notes")
			if n, err := raw.CountDocuments(ctx, bson.D{{Key: "_id", Value: "after"}}); err != nil || n != 1 {
				t.Errorf("own database of %s: %d documents with _id after (%v)", tenant, n, err)
			}
		}
		pool, _ := e.PlacementOf(ctx, other)
		if n, err := server.admin.Database(pool.Database).Collection("notes").CountDocuments(ctx,
			bson.D{{Key: "tenant_id", Value: bson.D{{Key: "$in", Value: bson.A{moving, third}}}}}); err != nil || n != 0 {
			t.Errorf("the pool keeps %d documents of moved shops (%v)", n, err)
		}
		if rep, err := e.MoveToOwn(ctx, third); err != nil || rep.Moved {
			t.Errorf("moving a shop with its own database: %+v %v", rep, err)
		}
		AllowFullScan(t, e, "notes", "the test counts every note of a shop")
	})
}

// TestPoolingLeavesExistingShops: turning pools on places new shops only;
// a shop with a database of its own keeps it through Provision and
// Upgrade (schema upgrades reach both kinds of database).
func TestPoolingLeavesExistingShops(t *testing.T) {
	e, chk := openMongo(t, []engine.Schema{placementSchema})
	t.Cleanup(func() { chk.report(t) })
	ctx := context.Background()
	old := Tenant(t, e) // placed before pools: its own database
	if err := e.Mongo(old).C("notes").InsertOne(ctx, note{ID: "settings", Code: "old"}); err != nil {
		t.Fatal(err)
	}
	e.SetPlacement(engine.Placement{Pooled: true, PerPool: 1})
	fresh, fresh2 := Tenant(t, e), Tenant(t, e)
	for _, id := range []string{old, fresh, fresh2} {
		if err := e.Provision(ctx, id); err != nil { // again: idempotent
			t.Fatal(err)
		}
	}
	if n, err := e.Upgrade(ctx, []string{old, fresh, fresh2}, 2); err != nil {
		t.Fatalf("upgrade: %d, %v", n, err)
	}
	po, _ := e.PlacementOf(ctx, old)
	pf, _ := e.PlacementOf(ctx, fresh)
	pf2, _ := e.PlacementOf(ctx, fresh2)
	if po.Pooled || !pf.Pooled || !pf2.Pooled || pf.Database == pf2.Database {
		t.Fatalf("placements: old %+v, fresh %+v and %+v (one shop per pool)", po, pf, pf2)
	}
	var s note
	if err := e.Mongo(old).C("notes").FindOne(ctx, bson.D{{Key: "_id", Value: "settings"}}).Decode(&s); err != nil || s.Code != "old" {
		t.Fatalf("the old shop's settings: %+v %v", s, err)
	}
}

// TestPoolSchemaAppliedOnce: the first shop of a pooled database creates
// its indexes; the next shops placed there send no createIndexes, and
// start-up (Upgrade) sends none either while the schema is unchanged.
func TestPoolSchemaAppliedOnce(t *testing.T) {
	ctx := context.Background()
	var created atomic.Int64
	mon := &event.CommandMonitor{Started: func(_ context.Context, ev *event.CommandStartedEvent) {
		if ev.CommandName == "createIndexes" {
			created.Add(1)
		}
	}}
	prefix := "et" + engine.NewSecret(10)
	opts := options.Client().SetMonitor(mon)
	if !server.external {
		opts.SetMaxPoolSize(1)
	}
	e, err := tenants.OpenMongo(ctx, MongoURI(t), prefix, opts, placementSchema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = e.Close()
		if err := dropDatabases(prefix); err != nil {
			t.Error(err)
		}
	})
	e.SetPlacement(engine.Placement{Pooled: true})
	var ids []string
	ids = append(ids, Tenant(t, e))
	first := created.Swap(0)
	if first == 0 {
		t.Fatalf("the first pooled shop created no index")
	}
	for range 3 {
		ids = append(ids, Tenant(t, e))
	}
	if _, err := e.Upgrade(ctx, ids, 2); err != nil {
		t.Fatal(err)
	}
	if n := created.Load(); n != 0 {
		t.Errorf("%d createIndexes for the pool's next shops and the upgrade (first shop: %d)", n, first)
	}
	// A restarted replica: a fresh engine on the same databases.
	e2, err := tenants.OpenMongo(ctx, MongoURI(t), prefix, opts, placementSchema)
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	created.Store(0) // the platform's own indexes, ensured at open
	if _, err := e2.Upgrade(ctx, ids, 2); err != nil {
		t.Fatal(err)
	}
	if n := created.Load(); n != 0 {
		t.Errorf("%d createIndexes in a restarted replica's upgrade", n)
	}
}
