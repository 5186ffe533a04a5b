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

// TestParseLimited: which commands read a bounded number of documents.
func TestParseLimited(t *testing.T) {
	tf := d{e("tenant_id", "t")}
	count := d{e("$group", d{e("_id", 1), e("n", d{e("$sum", 1)})})}
	cases := []struct {
		name string
		cmd  bson.D
		want []bool // per filter
	}{
		{"find", d{e("find", "c"), e("filter", tf)}, []bool{false}},
		{"find with a limit", d{e("find", "c"), e("filter", tf), e("limit", int64(20))}, []bool{true}},
		{"findOne", d{e("find", "c"), e("filter", tf), e("limit", int32(1)), e("singleBatch", true)}, []bool{true}},
		{"find with a negative limit", d{e("find", "c"), e("filter", tf), e("limit", int32(-1))}, []bool{true}},
		{"findAndModify", d{e("findAndModify", "c"), e("query", tf), e("update", d{})}, []bool{true}},
		{"count with a limit", d{e("count", "c"), e("query", tf), e("limit", 5)}, []bool{true}},
		{"distinct", d{e("distinct", "c"), e("key", "x"), e("query", tf)}, []bool{false}},
		{"update one and many", d{e("update", "c"), e("updates", a{d{e("q", tf), e("u", d{}), e("multi", false)}, d{e("q", tf), e("u", d{}), e("multi", true)}, d{e("q", tf), e("u", d{})}})},
			[]bool{true, false, true}},
		{"delete one and many", d{e("delete", "c"), e("deletes", a{d{e("q", tf), e("limit", int32(1))}, d{e("q", tf), e("limit", int32(0))}})}, []bool{true, false}},
		{"countDocuments", d{e("aggregate", "c"), e("pipeline", a{d{e("$match", tf)}, count})}, []bool{false}},
		{"countDocuments with a limit", d{e("aggregate", "c"), e("pipeline", a{d{e("$match", tf)}, d{e("$limit", int64(100))}, count})}, []bool{true}},
		{"sort, skip, limit", d{e("aggregate", "c"), e("pipeline", a{d{e("$match", tf)}, d{e("$sort", d{e("at", 1)})}, d{e("$skip", 10)}, d{e("$limit", 10)}})}, []bool{true}},
		{"limit after a group bounds nothing read", d{e("aggregate", "c"), e("pipeline", a{d{e("$match", tf)}, count, d{e("$limit", 1)}})}, []bool{false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := bson.Marshal(c.cmd)
			if err != nil {
				t.Fatal(err)
			}
			var got []bool
			for _, q := range parseCommand(c.cmd[0].Key, b) {
				got = append(got, q.limited)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("limited %v, want %v", got, c.want)
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

// TestCheckerFlagsShopScans drives the real driver: in a tenant database a
// query bounded by tenant_id alone reads the whole collection and is
// reported, unless it stops after a limit without other conditions, or a
// test allows the collection's full scans with a reason.
func TestCheckerFlagsShopScans(t *testing.T) {
	e, chk := openMongo(t, []engine.Schema{widgets})
	ctx := context.Background()
	c := e.Mongo(Tenant(t, e)).C("widgets")
	if err := c.InsertOne(ctx, bson.D{{Key: "_id", Value: "w1"}, {Key: "sku", Value: "S1"}, {Key: "color", Value: "red"}, {Key: "weight", Value: 3}}); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil && err != mongo.ErrNoDocuments {
			t.Fatal(err)
		}
	}
	find := func(filter bson.D, opts *options.FindOptionsBuilder) {
		t.Helper()
		cur, err := c.Find(ctx, filter, opts)
		must(err)
		must(cur.All(ctx, &[]bson.D{}))
	}
	count := func(filter bson.D) {
		t.Helper()
		_, err := c.CountDocuments(ctx, filter)
		must(err)
	}
	var doc bson.D

	// Bounded: the first page in index order, the first document, a capped
	// count, a prefix regex on an indexed key.
	find(bson.D{}, options.Find().SetSort(bson.D{{Key: "color", Value: 1}}).SetLimit(5))
	must(c.FindOne(ctx, bson.D{}).Decode(&doc))
	cur, err := c.Aggregate(ctx, mongo.Pipeline{{{Key: "$limit", Value: 100}}, {{Key: "$count", Value: "n"}}})
	must(err)
	must(cur.All(ctx, &[]bson.D{}))
	find(bson.D{{Key: "color", Value: bson.Regex{Pattern: "^re"}}}, options.Find())
	if got := chk.unserved(); len(got) != 0 {
		t.Fatalf("bounded queries reported: %+v", got)
	}

	// Bounded by tenant_id alone.
	count(bson.D{})
	find(bson.D{{Key: "color", Value: bson.D{{Key: "$nin", Value: bson.A{"blue"}}}}}, options.Find().SetLimit(20))
	find(bson.D{{Key: "color", Value: bson.D{{Key: "$ne", Value: "blue"}}}}, options.Find())
	find(bson.D{{Key: "color", Value: bson.D{{Key: "$not", Value: bson.D{{Key: "$eq", Value: "blue"}}}}}}, options.Find())
	count(bson.D{{Key: "color", Value: bson.D{{Key: "$exists", Value: false}}}})
	find(bson.D{{Key: "color", Value: bson.Regex{Pattern: "ed", Options: "i"}}}, options.Find())
	must(c.FindOne(ctx, bson.D{{Key: "weight", Value: bson.D{{Key: "$gt", Value: 1}}}}).Decode(&doc))
	if _, err := c.UpdateMany(ctx, bson.D{{Key: "weight", Value: bson.D{{Key: "$lt", Value: 0}}}}, bson.D{{Key: "$set", Value: bson.D{{Key: "w", Value: 1}}}}); err != nil {
		t.Fatal(err)
	}
	// Not served at all: an equality no index holds.
	must(c.FindOne(ctx, bson.D{{Key: "weight", Value: 4}}).Decode(&doc))

	got := chk.unserved()
	if len(got) != 9 {
		var lines []string
		for _, q := range got {
			lines = append(lines, q.command+" "+extJSON(q.filter))
		}
		t.Fatalf("%d unserved, want 9:\n%s", len(got), strings.Join(lines, "\n"))
	}
	var ft fakeT
	chk.report(&ft)
	if len(ft.errs) != 1 || strings.Count(ft.errs[0], "bounded by tenant_id alone") != 8 {
		t.Errorf("report does not say which are bounded by tenant_id alone:\n%s", ft.errs)
	}

	// A test that reads the collection whole on purpose says why; the
	// unindexed equality stays reported.
	AllowFullScan(t, e, "widgets", "this test reads every widget")
	got = chk.unserved()
	if len(got) != 1 || extJSON(got[0].filter) != `{"tenant_id":"`+got[0].filter[0].Value.(string)+`","weight":4}` {
		t.Fatalf("unserved after AllowFullScan = %+v, want the equality on weight", got)
	}
	var logged fakeLog
	chk.report(&logged)
	if len(logged.logs) != 1 || !strings.Contains(logged.logs[0], `8 whole-collection read(s) of "widgets" allowed: this test reads every widget`) {
		t.Errorf("logs = %q, want the reason and count", logged.logs)
	}
}

// fakeLog records what report logs (and what it says).
type fakeLog struct {
	fakeT
	logs []string
}

func (f *fakeLog) Logf(format string, args ...any) {
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
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
	if fmt.Sprint(kinds) != "[sqlite mongo mongo]" { // the third: pooled (PooledKind)
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
		e.SetPlacement(engine.Placement{Pooled: true}) // and a pooled database
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
