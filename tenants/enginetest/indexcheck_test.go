package enginetest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants"
	"microshop/tenants/engine"
)

type d = bson.D
type a = bson.A

func e(k string, v any) bson.E { return bson.E{Key: k, Value: v} }

func TestServedRule(t *testing.T) {
	id := idIndex
	byStatus := index{keys: d{e("tenant_id", 1), e("status", 1), e("created_at", -1)}}
	byFan := index{keys: d{e("tenant_id", 1), e("fan_id", 1), e("day", 1)}}
	bySKU := index{keys: d{e("tenant_id", 1), e("items.sku", 1)}}
	byNumber := index{keys: d{e("tenant_id", 1), e("number", 1)}, unique: true}
	orders := []index{byStatus, byFan, bySKU, byNumber, id}
	slug := []index{{keys: d{e("slug", 1)}}, id}

	cases := []struct {
		name    string
		filter  bson.D
		sort    bson.D
		indexes []index
		want    bool
	}{
		// rule 1: some index's first key is constrained
		{"by _id", d{e("_id", "x")}, nil, slug, true},
		{"by unique slug", d{e("slug", "x")}, nil, slug, true},
		{"empty filter", d{}, nil, slug, false},
		{"unindexed field", d{e("name", "x")}, nil, slug, false},
		{"only a residual $ne", d{e("slug", d{e("$ne", "x")})}, nil, slug, false},
		{"range on first key", d{e("slug", d{e("$gte", "a"), e("$lt", "b")})}, nil, slug, true},
		{"$in on first key", d{e("slug", d{e("$in", a{"a", "b"})})}, nil, slug, true},
		{"regex on first key", d{e("slug", bson.Regex{Pattern: "^ab"})}, nil, slug, true},
		{"tenant only: all of the tenant's documents", d{e("tenant_id", "t")}, nil, orders, true},
		{"tenant and _id", d{e("tenant_id", "t"), e("_id", "o")}, nil, orders, true},

		// rule 2: equality fields other than tenant_id are in the used prefix
		{"equality on indexed key", d{e("tenant_id", "t"), e("status", "paid")}, nil, orders, true},
		{"equality on two keys of one index", d{e("tenant_id", "t"), e("fan_id", "f"), e("day", "2024-01-01")}, nil, orders, true},
		{"$eq operator counts as equality", d{e("tenant_id", "t"), e("status", d{e("$eq", "paid")})}, nil, orders, true},
		{"equality on unindexed field", d{e("tenant_id", "t"), e("email", "x")}, nil, orders, false},
		{"equality on second key skipping the first", d{e("tenant_id", "t"), e("day", "2024-01-01")}, nil, orders, false},
		{"equality after a gap in the prefix", d{e("tenant_id", "t"), e("created_at", 5)}, nil, []index{byStatus, id}, false},
		{"equalities split over two indexes", d{e("tenant_id", "t"), e("status", "paid"), e("fan_id", "f")}, nil, orders, false},
		{"range before the equality field", d{e("tenant_id", "t"), e("fan_id", d{e("$in", a{"f", "g"})}), e("day", "d")}, nil, orders, true},
		{"range on unindexed field is residual", d{e("tenant_id", "t"), e("status", "paid"), e("total", d{e("$gt", 100)})}, nil, orders, true},
		{"equality on a dotted key", d{e("tenant_id", "t"), e("items.sku", "s1")}, nil, orders, true},
		{"tenant_id itself need not be indexed", d{e("tenant_id", "t"), e("slug", "x")}, nil, slug, true},
		{"$and is flattened", d{e("$and", a{d{e("tenant_id", "t")}, d{e("status", "paid")}})}, nil, orders, true},
		{"$and hiding an unindexed equality", d{e("$and", a{d{e("tenant_id", "t")}, d{e("email", "x")}})}, nil, orders, false},
		{"embedded document is an equality", d{e("tenant_id", "t"), e("status", d{e("code", 1)})}, nil, orders, true},

		// a unique index fixed by equality finds one document at most
		{"by _id with a revision check", d{e("tenant_id", "t"), e("_id", "o"), e("rev", 3)}, nil, orders, true},
		{"by unique number with a status check", d{e("tenant_id", "t"), e("number", 7), e("status", "paid")}, d{e("total", 1)}, orders, true},
		{"unique index only partly fixed", d{e("tenant_id", "t"), e("number", d{e("$gt", 7)}), e("email", "x")}, nil, orders, false},
		{"non-unique index fixed by equality", d{e("tenant_id", "t"), e("items.sku", "s"), e("email", "x")}, nil, orders, false},

		// $or: every branch served
		{"$or of indexed branches", d{e("tenant_id", "t"), e("$or", a{d{e("status", "paid")}, d{e("fan_id", "f")}})}, nil, orders, true},
		{"$or with an unindexed branch", d{e("tenant_id", "t"), e("$or", a{d{e("status", "paid")}, d{e("email", "x")}})}, nil, orders, false},

		// rule 3: the sort comes from the index
		{"sort after equality prefix", d{e("tenant_id", "t"), e("status", "paid")}, d{e("created_at", -1)}, orders, true},
		{"sort reversed entirely", d{e("tenant_id", "t"), e("status", "paid")}, d{e("created_at", 1)}, orders, true},
		{"sort on tenant's documents in index order", d{e("tenant_id", "t")}, d{e("fan_id", 1), e("day", 1)}, orders, true},
		{"sort with mixed directions against the index", d{e("tenant_id", "t")}, d{e("fan_id", 1), e("day", -1)}, orders, false},
		{"sort not in any index", d{e("tenant_id", "t"), e("status", "paid")}, d{e("total", -1)}, orders, false},
		{"sort skipping the equality key", d{e("tenant_id", "t")}, d{e("created_at", -1)}, orders, false},
		{"sort after a range key needs an in-memory sort", d{e("tenant_id", "t"), e("status", d{e("$in", a{"a", "b"})})}, d{e("created_at", -1)}, orders, false},
		{"sort on the range key itself", d{e("tenant_id", "t"), e("fan_id", d{e("$gt", "f")})}, d{e("fan_id", 1)}, orders, true},
		{"sort on equality keys is free", d{e("tenant_id", "t"), e("status", "paid")}, d{e("tenant_id", 1), e("status", 1), e("created_at", -1)}, orders, true},
		{"sort across a key fixed by equality", d{e("tenant_id", "t"), e("fan_id", d{e("$gt", "f")}), e("day", "d")}, d{e("fan_id", 1)}, orders, true},
		{"sort by _id on an _id range", d{e("_id", d{e("$gt", "x")})}, d{e("_id", 1)}, slug, true},
		{"sort by _id with an empty filter is a full scan", d{}, d{e("_id", 1)}, slug, false},
		{"sort by $meta", d{e("tenant_id", "t")}, d{e("score", d{e("$meta", "textScore")})}, orders, false},
		{"$or branches each give the sort", d{e("tenant_id", "t"), e("$or", a{d{e("status", "paid")}, d{e("status", "new")}})}, d{e("created_at", -1)}, orders, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := served(c.filter, c.sort, c.indexes); got != c.want {
				t.Errorf("served(%s, sort %s, indexes %v) = %t, want %t", extJSON(c.filter), extJSON(c.sort), c.indexes, got, c.want)
			}
		})
	}
}

func TestParseCommand(t *testing.T) {
	raw := func(v bson.D) bson.Raw {
		b, err := bson.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tf := d{e("tenant_id", "t"), e("status", "paid")}
	cases := []struct {
		name    string
		cmd     bson.D
		filters []string // extended JSON, "" for none
		sort    string
	}{
		{"find", d{e("find", "c"), e("filter", tf), e("sort", d{e("created_at", -1)})},
			[]string{`{"tenant_id":"t","status":"paid"}`}, `{"created_at":-1}`},
		{"find without filter", d{e("find", "c")}, []string{`{}`}, `{}`},
		{"findAndModify", d{e("findAndModify", "c"), e("query", tf), e("update", d{})}, []string{`{"tenant_id":"t","status":"paid"}`}, `{}`},
		{"count with query", d{e("count", "c"), e("query", tf)}, []string{`{"tenant_id":"t","status":"paid"}`}, `{}`},
		{"estimated count", d{e("count", "c")}, nil, ""},
		{"update: every statement", d{e("update", "c"), e("updates", a{d{e("q", d{e("_id", 1)}), e("u", d{})}, d{e("q", tf), e("u", d{})}})},
			[]string{`{"_id":1}`, `{"tenant_id":"t","status":"paid"}`}, `{}`},
		{"delete", d{e("delete", "c"), e("deletes", a{d{e("q", tf), e("limit", 1)}})}, []string{`{"tenant_id":"t","status":"paid"}`}, `{}`},
		{"countDocuments", d{e("aggregate", "c"), e("pipeline", a{d{e("$match", tf)}, d{e("$group", d{e("_id", 1), e("n", d{e("$sum", 1)})})}})},
			[]string{`{"tenant_id":"t","status":"paid"}`}, `{}`},
		{"aggregate: leading $match stages and $sort", d{e("aggregate", "c"), e("pipeline", a{d{e("$match", d{e("tenant_id", "t")})}, d{e("$match", d{e("status", "paid")})}, d{e("$sort", d{e("created_at", -1)})}})},
			[]string{`{"$and":[{"tenant_id":"t"},{"status":"paid"}]}`}, `{"created_at":-1}`},
		{"aggregate without $match", d{e("aggregate", "c"), e("pipeline", a{d{e("$group", d{e("_id", "$x")})}})}, []string{`{}`}, `{}`},
		{"aggregate $indexStats", d{e("aggregate", "c"), e("pipeline", a{d{e("$indexStats", d{})}})}, nil, ""},
		{"database aggregate", d{e("aggregate", 1), e("pipeline", a{d{e("$currentOp", d{})}})}, nil, ""},
		{"insert", d{e("insert", "c"), e("documents", a{d{e("x", 1)}})}, nil, ""},
		{"createIndexes", d{e("createIndexes", "c"), e("indexes", a{})}, nil, ""},
		{"listIndexes", d{e("listIndexes", "c")}, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			qs := parseCommand(c.cmd[0].Key, raw(c.cmd))
			var got []string
			for _, q := range qs {
				got = append(got, extJSON(q.filter))
				if s := extJSON(q.sort); s != c.sort {
					t.Errorf("sort %s, want %s", s, c.sort)
				}
				if q.collection != "c" {
					t.Errorf("collection %q, want c", q.collection)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.filters) {
				t.Errorf("filters %v, want %v", got, c.filters)
			}
		})
	}
}

// fakeT records what report says.
type fakeT struct{ errs []string }

func (f *fakeT) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

var widgets = engine.Schema{
	Name: "widgets",
	Mongo: []engine.MongoCollection{{Name: "widgets", Indexes: []engine.MongoIndex{
		{Keys: bson.D{{Key: "sku", Value: 1}}, Unique: true},
		{Keys: bson.D{{Key: "color", Value: 1}, {Key: "created_at", Value: -1}}},
	}}},
}

// TestCheckerCatchesUnindexedQuery drives the real driver against the real
// wire protocol (FerretDB, or MongoDB) and shows that a query no declared
// index serves is reported, and that served ones are not.
func TestCheckerCatchesUnindexedQuery(t *testing.T) {
	e, chk := openMongo(t, []engine.Schema{widgets})
	ctx := context.Background()
	tenant := Tenant(t, e)
	c := e.Mongo(tenant).C("widgets")
	if err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: "w1"}, {Key: "sku", Value: "S1"}, {Key: "color", Value: "red"}, {Key: "weight", Value: 3}}); err != nil {
		t.Fatal(err)
	}

	// Served.
	var doc bson.D
	if err := c.FindOne(ctx, bson.D{{Key: "sku", Value: "S1"}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	cur, err := c.Find(ctx, bson.D{{Key: "color", Value: "red"}}, options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.All(ctx, &[]bson.D{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: "w1"}}, bson.D{{Key: "$inc", Value: bson.D{{Key: "weight", Value: 1}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CountDocuments(ctx, bson.D{{Key: "color", Value: "red"}}); err != nil {
		t.Fatal(err)
	}
	if got := chk.unserved(); len(got) != 0 {
		t.Fatalf("indexed queries reported as unserved: %+v", got)
	}

	// Not served: weight has no index; the sort on weight needs memory; a
	// delete by an unindexed field; an update by an unindexed field and a
	// range on the unique sku.
	if err := c.FindOne(ctx, bson.D{{Key: "weight", Value: 4}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	cur, err = c.Find(ctx, bson.D{{Key: "color", Value: "red"}}, options.Find().SetSort(bson.D{{Key: "weight", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.All(ctx, &[]bson.D{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteMany(ctx, bson.D{{Key: "weight", Value: 99}}); err != nil {
		t.Fatal(err)
	}
	res := e.Mongo(tenant).C("widgets").FindOneAndUpdate(ctx, bson.D{{Key: "sku", Value: bson.D{{Key: "$gte", Value: "S1"}}}, {Key: "weight", Value: 4}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "seen", Value: true}}}})
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}

	got := chk.unserved()
	var lines []string
	for _, q := range got {
		lines = append(lines, q.command+" "+extJSON(q.filter)+" "+extJSON(q.sort))
	}
	want := []string{
		`find {"tenant_id":"` + tenant + `","weight":4} {}`,
		`find {"tenant_id":"` + tenant + `","color":"red"} {"weight":1}`,
		`delete {"tenant_id":"` + tenant + `","weight":99} {}`,
		`findAndModify {"tenant_id":"` + tenant + `","sku":{"$gte":"S1"},"weight":4} {}`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("unserved queries:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, q := range got {
		if !strings.Contains(q.caller, "TestCheckerCatchesUnindexedQuery") {
			t.Errorf("caller of %s is %q, want this test", q.command, q.caller)
		}
	}

	// The report names each one, with the indexes it could have used.
	var ft fakeT
	chk.report(&ft)
	if len(ft.errs) != 1 {
		t.Fatalf("report made %d errors, want 1: %q", len(ft.errs), ft.errs)
	}
	for _, s := range []string{
		"4 Mongo queries not served by a declared index",
		`tenant database collection "widgets" (find): filter {"tenant_id":"` + tenant + `","weight":4}`,
		`sort {"weight":1}`,
		`declared indexes: {"tenant_id":1,"sku":1} unique, {"tenant_id":1,"color":1,"created_at":-1}, {"_id":1} unique`,
		"sent from: enginetest.TestCheckerCatchesUnindexedQuery (enginetest/indexcheck_test.go:",
	} {
		if !strings.Contains(ft.errs[0], s) {
			t.Errorf("report lacks %q:\n%s", s, ft.errs[0])
		}
	}
}

// TestCheckerPlatformAndFullScan checks the platform database against
// tenants.Platform, and AllowFullScan.
func TestCheckerPlatformAndFullScan(t *testing.T) {
	e, chk := openMongo(t, nil)
	ctx := context.Background()
	s := tenants.NewStore(e)
	if _, err := s.TenantBySlug(ctx, "shop-a"); err == nil {
		t.Fatal("found a tenant in an empty store")
	}
	if _, err := s.TenantIDs(ctx); err != nil {
		t.Fatal(err)
	}
	got := chk.unserved()
	if len(got) != 1 || got[0].collection != "tenants" || !got[0].platform || extJSON(got[0].filter) != `{}` {
		t.Fatalf("unserved = %+v, want the platform list of every tenant", got)
	}
	AllowFullScan(t, e, "tenants", "this test lists every tenant")
	if got := chk.unserved(); len(got) != 0 {
		t.Fatalf("unserved after AllowFullScan = %+v", got)
	}
	// AllowFullScan does not excuse a query with conditions.
	client, err := mongo.Connect(options.Client().ApplyURI(MongoURI(t)).SetMonitor(chk.monitor()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	if err := client.Database(chk.prefix).Collection("tenants").FindOne(ctx, bson.D{{Key: "name", Value: "x"}}).Err(); err != mongo.ErrNoDocuments {
		t.Fatal(err)
	}
	if got := chk.unserved(); len(got) != 1 || extJSON(got[0].filter) != `{"name":"x"}` {
		t.Fatalf("unserved = %+v, want the unindexed query by name", got)
	}
}

// TestKinds runs the helper itself: both engines, a fresh engine each, and
// OnFerretDB telling the stand-in apart.
func TestKinds(t *testing.T) {
	var kinds []engine.Kind
	Kinds(t, []engine.Schema{widgets}, func(t *testing.T, e *engine.Engine) {
		kinds = append(kinds, e.Kind())
		tenant := Tenant(t, e)
		if !engine.ValidID(tenant) {
			t.Fatalf("Tenant returned %q", tenant)
		}
		switch e.Kind() {
		case engine.SQLite:
			if OnFerretDB(e) {
				t.Error("OnFerretDB on SQLite")
			}
			if _, err := e.SQL(tenant); err != nil {
				t.Errorf("provisioned tenant has no database: %v", err)
			}
		case engine.Mongo:
			if got, want := OnFerretDB(e), !server.external; got != want {
				t.Errorf("OnFerretDB = %t, want %t", got, want)
			}
			ctx := context.Background()
			if err := e.Mongo(tenant).C("widgets").InsertOne(ctx, bson.D{{Key: "sku", Value: "S1"}}); err != nil {
				t.Fatal(err)
			}
			n, err := e.Mongo(tenant).C("widgets").CountDocuments(ctx, bson.D{{Key: "sku", Value: "S1"}})
			if err != nil || n != 1 {
				t.Fatalf("count = %d, %v", n, err)
			}
			// The unique index was created: a second insert of the sku fails.
			err = e.Mongo(tenant).C("widgets").InsertOne(ctx, bson.D{{Key: "sku", Value: "S1"}})
			if !engine.IsUniqueViolation(err) {
				t.Errorf("duplicate sku: err = %v, want a unique violation", err)
			}
		}
	})
	if fmt.Sprint(kinds) != "[sqlite mongo]" {
		t.Errorf("ran on %v", kinds)
	}
	if uri := MongoURI(t); !regexp.MustCompile(`^mongodb(\+srv)?://`).MatchString(uri) {
		t.Errorf("MongoURI = %q", uri)
	}
}

// TestKindsDropsDatabases: a Mongo engine's databases are gone after its
// subtest.
func TestKindsDropsDatabases(t *testing.T) {
	var prefix string
	t.Run("engine", func(t *testing.T) {
		e, chk := openMongo(t, []engine.Schema{widgets})
		prefix = chk.prefix
		Tenant(t, e)
		if err := e.Mongo(Tenant(t, e)).C("widgets").InsertOne(context.Background(), bson.D{{Key: "sku", Value: "x"}}); err != nil {
			t.Fatal(err)
		}
	})
	names, err := server.admin.ListDatabaseNames(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			t.Errorf("database %s left behind", n)
		}
	}
}
