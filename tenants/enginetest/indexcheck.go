package enginetest

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"

	"microshop/tenants"
	"microshop/tenants/engine"
)

// query is one filter (and sort) a command sent to the server.
type query struct {
	platform   bool // the platform database; else a tenant database
	db         string
	collection string
	command    string
	filter     bson.D
	sort       bson.D
	caller     string // the test's or store's frames that sent it
}

// checker records the queries of one Mongo engine (through the driver's
// command monitor) and checks them against the indexes its schemas declare.
type checker struct {
	prefix  string
	schemas []engine.Schema

	mu       sync.Mutex
	stopped  bool
	queries  []query
	fullScan map[string]string // collection -> why a full scan is fine
}

func newChecker(prefix string, schemas []engine.Schema) *checker {
	return &checker{prefix: prefix, schemas: schemas, fullScan: map[string]string{}}
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
	var platform bool
	switch {
	case ev.DatabaseName == c.prefix:
		platform = true
	case strings.HasPrefix(ev.DatabaseName, c.prefix+"_t_"):
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
		q.platform, q.db, q.command, q.caller = platform, ev.DatabaseName, ev.CommandName, caller
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
	one := func(filterKey, sortKey string) []query {
		q := query{collection: coll, filter: docAt(cmd, filterKey)}
		if sortKey != "" {
			q.sort = docAt(cmd, sortKey)
		}
		return []query{q}
	}
	switch name {
	case "find":
		return one("filter", "sort")
	case "findAndModify":
		return one("query", "sort")
	case "distinct":
		return one("query", "")
	case "count":
		if _, err := cmd.LookupErr("query"); err != nil {
			return nil // no filter: answered from collection metadata
		}
		return one("query", "")
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
				qs = append(qs, query{collection: coll, filter: docAt(d, "q")})
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
	}
	return []query{q}
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
		skip := strings.HasPrefix(fn, "go.mongodb.org/") || strings.HasPrefix(fn, "runtime.") ||
			strings.HasSuffix(f.File, "/tenants/enginetest/indexcheck.go") ||
			strings.HasSuffix(f.File, "/tenants/enginetest/enginetest.go") ||
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

// index is one index a query may use.
type index struct {
	keys   bson.D
	unique bool
}

// idIndex is the implicit unique index on _id.
var idIndex = index{keys: bson.D{{Key: "_id", Value: 1}}, unique: true}

// indexes returns the indexes a query can use: the declared ones of its
// collection (tenant_id first in tenant databases) and the implicit _id.
func (c *checker) indexes(q query) []index {
	var out []index
	if q.platform {
		for _, mc := range tenants.Platform.Mongo {
			if mc.Name == q.collection {
				for _, ix := range mc.Indexes {
					out = append(out, index{keys: ix.Keys, unique: ix.Unique})
				}
			}
		}
	} else {
		for _, s := range c.schemas {
			for _, mc := range s.Mongo {
				if mc.Name != q.collection {
					continue
				}
				for _, ix := range mc.Indexes {
					out = append(out, index{keys: ix.FullKeys(), unique: ix.Unique})
				}
			}
		}
	}
	return append(out, idIndex)
}

// unserved returns the recorded queries no declared index serves, less the
// whole-collection reads allowed by AllowFullScan.
func (c *checker) unserved() []query {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []query
	for _, q := range c.queries {
		if served(q.filter, q.sort, c.indexes(q)) {
			continue
		}
		if _, ok := c.fullScan[q.collection]; ok && unconditioned(q.filter) {
			continue
		}
		out = append(out, q)
	}
	return out
}

// errorer is the part of testing.TB report needs.
type errorer interface {
	Errorf(format string, args ...any)
}

// report fails t with one line per distinct unserved query (same collection,
// filter shape, sort and caller).
func (c *checker) report(t errorer) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	qs := c.unserved()
	if len(qs) == 0 {
		return
	}
	type entry struct {
		q query
		n int
	}
	seen := map[string]*entry{}
	var keys []string
	for _, q := range qs {
		k := fmt.Sprintf("%t|%s|%s|%s|%s|%s", q.platform, q.collection, q.command, shape(q.filter), extJSON(q.sort), q.caller)
		if e, ok := seen[k]; ok {
			e.n++
			continue
		}
		seen[k] = &entry{q: q, n: 1}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%d Mongo quer%s not served by a declared index (add the index to the schema, or change the query):",
		len(keys), map[bool]string{true: "y", false: "ies"}[len(keys) == 1])
	for _, k := range keys {
		e := seen[k]
		where := "tenant database"
		if e.q.platform {
			where = "platform database"
		}
		fmt.Fprintf(&b, "\n  - %s collection %q (%s): filter %s", where, e.q.collection, e.q.command, extJSON(e.q.filter))
		if len(e.q.sort) > 0 {
			fmt.Fprintf(&b, " sort %s", extJSON(e.q.sort))
		}
		if e.n > 1 {
			fmt.Fprintf(&b, " (sent %d times)", e.n)
		}
		var ixs []string
		for _, ix := range c.indexes(e.q) {
			u := ""
			if ix.unique {
				u = " unique"
			}
			ixs = append(ixs, extJSON(ix.keys)+u)
		}
		fmt.Fprintf(&b, "\n    declared indexes: %s", strings.Join(ixs, ", "))
		if e.q.caller != "" {
			fmt.Fprintf(&b, "\n    sent from: %s", e.q.caller)
		}
	}
	t.Errorf("%s", b.String())
}

func extJSON(d bson.D) string {
	if d == nil {
		d = bson.D{}
	}
	b, err := bson.MarshalExtJSON(d, false, false)
	if err != nil {
		return fmt.Sprint(d)
	}
	return string(b)
}

// shape is a filter with its values blanked, so the same query written once
// and sent many times is reported once.
func shape(v any) string {
	switch x := v.(type) {
	case bson.D:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = e.Key + ":" + shape(e.Value)
		}
		return "{" + strings.Join(parts, ",") + "}"
	case bson.A:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = shape(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return "?"
}

// The index rule.

// cond is how strongly a filter constrains one field.
type cond uint8

const (
	condNone  cond = iota // not constrained, or not in a way an index can bound ($ne, $nin, $exists, ...)
	condRange             // bounded but not to one value: $gt $gte $lt $lte $in $regex $all $elemMatch
	condEq                // one value: a literal, or $eq
)

// served reports whether one of indexes serves the query filter+sort:
//
//  1. the index's first key is constrained by the filter (equality or a
//     range); the index's "used prefix" is its longest run of leading keys
//     the filter constrains;
//  2. every field the filter constrains by equality, other than tenant_id,
//     is in that used prefix (keys before it may be equality or range);
//  3. with a sort (less keys fixed by equality), the sort keys are index
//     keys in order, right after a prefix of equality-constrained keys, all
//     in the index's direction or all reversed: the index yields the order,
//     no in-memory sort.
//
// A unique index whose every key is fixed by equality serves the query
// whatever else it says: it finds at most one document, and the other
// conditions (a revision check on an update by _id, say) are tested on that
// one only.
//
// A $or is served when each branch, with the rest of the filter, is.
// Conditions an index cannot bound ($ne, $nin, $exists, $not, $expr, ...)
// are residual and ignored, and so are range conditions on fields no index
// holds (rule 2 asks only equality fields to be indexed).
func served(filter, sort bson.D, indexes []index) bool {
	conds := flatten(filter, nil)
	for i, e := range conds {
		if e.Key != "$or" {
			continue
		}
		branches, ok := e.Value.(bson.A)
		if !ok || len(branches) == 0 {
			break
		}
		rest := append(append(bson.D{}, conds[:i]...), conds[i+1:]...)
		for _, br := range branches {
			d, ok := asDoc(br)
			if !ok || !served(append(append(bson.D{}, rest...), d...), sort, indexes) {
				return false
			}
		}
		return true
	}
	cm := condMap(conds)
	for _, ix := range indexes {
		if indexServes(ix, cm, sort) {
			return true
		}
	}
	return false
}

func indexServes(idx index, cm map[string]cond, sort bson.D) bool {
	ix := idx.keys
	if idx.unique && len(ix) > 0 {
		point := true
		for _, k := range ix {
			point = point && cm[k.Key] == condEq
		}
		if point {
			return true
		}
	}
	used := 0
	for used < len(ix) && cm[ix[used].Key] != condNone {
		used++
	}
	if used == 0 {
		return false
	}
	inPrefix := map[string]bool{}
	for _, k := range ix[:used] {
		inPrefix[k.Key] = true
	}
	for f, c := range cm {
		if c == condEq && f != "tenant_id" && !inPrefix[f] {
			return false
		}
	}
	var want bson.D // the sort less keys the filter fixes to one value
	for _, k := range sort {
		if cm[k.Key] != condEq {
			want = append(want, k)
		}
	}
	if len(want) == 0 {
		return true
	}
	i := 0
	for i < len(ix) && cm[ix[i].Key] == condEq {
		i++
	}
	rel := 0 // 1: index direction, -1: reversed
	for j := 0; j < len(want); i++ {
		if i >= len(ix) {
			return false
		}
		if ix[i].Key != want[j].Key {
			if cm[ix[i].Key] == condEq {
				continue // a key fixed to one value does not disturb the order
			}
			return false
		}
		r := direction(want[j].Value) * direction(ix[i].Value)
		if r == 0 || (rel != 0 && r != rel) {
			return false
		}
		rel = r
		j++
	}
	return true
}

// unconditioned reports whether filter selects every document (of the
// tenant, in a tenant database).
func unconditioned(filter bson.D) bool {
	conds := flatten(filter, nil)
	for _, e := range conds {
		if e.Key == "$or" {
			return false
		}
	}
	for f, c := range condMap(conds) {
		if c != condNone && f != "tenant_id" {
			return false
		}
	}
	return true
}

// flatten appends filter's conditions to out with $and expanded.
func flatten(filter bson.D, out bson.D) bson.D {
	for _, e := range filter {
		if e.Key == "$and" {
			if arr, ok := e.Value.(bson.A); ok {
				for _, v := range arr {
					if d, ok := asDoc(v); ok {
						out = flatten(d, out)
					}
				}
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

// condMap says how each field is constrained; operators at the top level
// other than $and/$or ($nor, $expr, $where, $text, $comment) bound no index.
func condMap(conds bson.D) map[string]cond {
	m := map[string]cond{}
	for _, e := range conds {
		if strings.HasPrefix(e.Key, "$") {
			continue
		}
		if c := classify(e.Value); c > m[e.Key] {
			m[e.Key] = c
		}
	}
	return m
}

func classify(v any) cond {
	switch x := v.(type) {
	case bson.Regex:
		return condRange
	case bson.D, bson.M:
		d, _ := asDoc(x)
		if len(d) == 0 || !strings.HasPrefix(d[0].Key, "$") {
			return condEq // a whole embedded document
		}
		best := condNone
		for _, op := range d {
			switch op.Key {
			case "$eq":
				return condEq
			case "$gt", "$gte", "$lt", "$lte", "$in", "$regex", "$all", "$elemMatch":
				best = condRange
			}
		}
		return best
	}
	return condEq
}

// asDoc returns v as a bson.D when it is a document.
func asDoc(v any) (bson.D, bool) {
	switch x := v.(type) {
	case bson.D:
		return x, true
	case bson.M:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := make(bson.D, len(keys))
		for i, k := range keys {
			d[i] = bson.E{Key: k, Value: x[k]}
		}
		return d, true
	case bson.Raw:
		var d bson.D
		if err := bson.Unmarshal(x, &d); err != nil {
			return nil, false
		}
		return d, true
	}
	return nil, false
}

// direction is 1 or -1 for an ascending or descending key, 0 for others
// (text, hashed, $meta).
func direction(v any) int {
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case int32:
		f = float64(x)
	case int64:
		f = float64(x)
	case float64:
		f = x
	default:
		return 0
	}
	switch {
	case f > 0:
		return 1
	case f < 0:
		return -1
	}
	return 0
}
