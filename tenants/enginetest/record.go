package enginetest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"

	"microshop/tenants/engine"
)

// Recording: the checker sees every command a Mongo engine sends (the
// driver's command monitor) and keeps the filters and sorts that select
// documents, with the frames that sent them.

// query is one filter (and sort) a command sent to the server.
type query struct {
	platform   bool // the platform database; else a tenant database
	pooled     bool // a pooled database (many shops); else one shop's own
	db         string
	collection string
	command    string
	filter     bson.D
	sort       bson.D
	// limited: the command reads a bounded number of documents: a find or
	// aggregate with a limit, a findAndModify, an update or delete of one.
	limited bool
	caller  string // the test's or store's frames that sent it
}

// checker records the queries of one Mongo engine (through the driver's
// command monitor) and checks them against the indexes its schemas declare.
type checker struct {
	prefix  string
	schemas []engine.Schema
	// engine is the engine checked, whose platform schema domains may
	// extend after it opened (nil until set).
	engine *engine.Engine

	mu       sync.Mutex
	stopped  bool
	queries  []query
	fullScan map[string]string // collection -> why a full scan is fine
	scanned  map[string]int    // collection -> full scans allowed, as last counted
}

func newChecker(prefix string, schemas []engine.Schema) *checker {
	return &checker{prefix: prefix, schemas: schemas, fullScan: map[string]string{}, scanned: map[string]int{}}
}

func (c *checker) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: c.started}
}

// stop ends recording (commands sent after the subtest are not its own).
func (c *checker) stop() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
}

func (c *checker) allowFullScan(collection, reason string) {
	c.mu.Lock()
	c.fullScan[collection] = reason
	c.mu.Unlock()
}

// started records the queries in one command. The driver calls it on the
// goroutine that sends the command, so the caller's frames are on the stack.
func (c *checker) started(_ context.Context, ev *event.CommandStartedEvent) {
	var platform, pooled bool
	switch {
	case ev.DatabaseName == c.prefix:
		platform = true
	case strings.HasPrefix(ev.DatabaseName, c.prefix+"_t_"):
	case strings.HasPrefix(ev.DatabaseName, c.prefix+"_p_"):
		pooled = true
	default:
		return // admin, config, local, or another prefix's
	}
	qs := parseCommand(ev.CommandName, ev.Command)
	if len(qs) == 0 {
		return
	}
	caller := callerFrames()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	for _, q := range qs {
		q.platform, q.pooled, q.db, q.command, q.caller = platform, pooled, ev.DatabaseName, ev.CommandName, caller
		c.queries = append(c.queries, q)
	}
}

// parseCommand extracts the filters and sorts of a command; commands that
// select no documents (insert, createIndexes, listIndexes, ping, hello, ...)
// yield none.
func parseCommand(name string, cmd bson.Raw) []query {
	coll, ok := cmd.Lookup(name).StringValueOK()
	if !ok {
		return nil // aggregate: 1 and other database-level commands
	}
	one := func(filterKey, sortKey string, limited bool) []query {
		q := query{collection: coll, filter: docAt(cmd, filterKey), limited: limited}
		if sortKey != "" {
			q.sort = docAt(cmd, sortKey)
		}
		return []query{q}
	}
	switch name {
	case "find":
		return one("filter", "sort", intAt(cmd, "limit") != 0) // FindOne sends a limit of 1 (or -1)
	case "findAndModify":
		return one("query", "sort", true)
	case "distinct":
		return one("query", "", false)
	case "count":
		if _, err := cmd.LookupErr("query"); err != nil {
			return nil // no filter: answered from collection metadata
		}
		return one("query", "", intAt(cmd, "limit") != 0)
	case "update", "delete":
		list := map[string]string{"update": "updates", "delete": "deletes"}[name]
		arr, ok := cmd.Lookup(list).ArrayOK()
		if !ok {
			return nil
		}
		vals, _ := arr.Values()
		var qs []query
		for _, v := range vals {
			if d, ok := v.DocumentOK(); ok {
				// An update of one has multi false; a delete of one, limit 1.
				multi, _ := d.Lookup("multi").BooleanOK()
				one := (name == "update" && !multi) || (name == "delete" && intAt(d, "limit") != 0)
				qs = append(qs, query{collection: coll, filter: docAt(d, "q"), limited: one})
			}
		}
		return qs
	case "aggregate":
		return parseAggregate(coll, cmd)
	}
	return nil
}

// adminStages start pipelines that read server metadata, not documents.
var adminStages = map[string]bool{
	"$collStats": true, "$indexStats": true, "$currentOp": true, "$listLocalSessions": true,
	"$listSessions": true, "$planCacheStats": true, "$changeStream": true, "$listSearchIndexes": true,
}

// parseAggregate takes the leading $match stages (MongoDB coalesces them)
// as the filter and a $sort right after them as the sort: those are what an
// index can serve. A pipeline with no leading $match reads every document.
// A $limit among the $skip and $limit stages right after those makes the
// pipeline limited (CountDocuments with a limit sends one).
func parseAggregate(coll string, cmd bson.Raw) []query {
	arr, ok := cmd.Lookup("pipeline").ArrayOK()
	if !ok {
		return nil
	}
	vals, _ := arr.Values()
	var stages []bson.D
	for _, v := range vals {
		d, ok := v.DocumentOK()
		if !ok {
			return nil
		}
		var stage bson.D
		if err := bson.Unmarshal(d, &stage); err != nil || len(stage) != 1 {
			return nil
		}
		stages = append(stages, stage)
	}
	if len(stages) > 0 && adminStages[stages[0][0].Key] {
		return nil
	}
	q := query{collection: coll}
	var matches bson.A
	i := 0
	for ; i < len(stages) && stages[i][0].Key == "$match"; i++ {
		matches = append(matches, stages[i][0].Value)
	}
	switch len(matches) {
	case 0:
		q.filter = bson.D{}
	case 1:
		q.filter, _ = asDoc(matches[0])
	default:
		q.filter = bson.D{{Key: "$and", Value: matches}}
	}
	if i < len(stages) && stages[i][0].Key == "$sort" {
		q.sort, _ = asDoc(stages[i][0].Value)
		i++
	}
	for ; i < len(stages) && (stages[i][0].Key == "$skip" || stages[i][0].Key == "$limit"); i++ {
		q.limited = q.limited || stages[i][0].Key == "$limit"
	}
	return []query{q}
}

// intAt reads an integer field (int32, int64 or a whole double), 0 if absent.
func intAt(doc bson.Raw, key string) int64 {
	v := doc.Lookup(key)
	if n, ok := v.AsInt64OK(); ok {
		return n
	}
	return 0
}

func docAt(cmd bson.Raw, key string) bson.D {
	d := bson.D{}
	if raw, ok := cmd.Lookup(key).DocumentOK(); ok {
		_ = bson.Unmarshal(raw, &d)
	}
	return d
}

// callerFrames names the first two frames outside the driver, this package
// and the tenant-scoped collection wrapper: where the query was written.
func callerFrames() string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var out []string
	for len(out) < 2 {
		f, more := frames.Next()
		fn := f.Function
		inPackage := strings.Contains(f.File, "/tenants/enginetest/") && !strings.HasSuffix(f.File, "_test.go")
		skip := strings.HasPrefix(fn, "go.mongodb.org/") || strings.HasPrefix(fn, "runtime.") || inPackage ||
			strings.HasPrefix(fn, "microshop/tenants/engine.(*Collection).")
		if !skip && fn != "" {
			short := fn[strings.LastIndex(fn, "/")+1:]
			out = append(out, fmt.Sprintf("%s (%s:%d)", short, shortPath(f.File), f.Line))
		}
		if !more {
			break
		}
	}
	return strings.Join(out, " < ")
}

func shortPath(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) > 2 {
		parts = parts[len(parts)-2:]
	}
	return strings.Join(parts, "/")
}
