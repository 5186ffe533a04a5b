package enginetest

import (
	"fmt"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"microshop/tenants"
	"microshop/tenants/engine"
)

// Checking and reporting: the recorded queries no declared index serves,
// one line each in the failure.

// indexes returns the indexes a query can use: the declared ones of its
// collection (tenant_id first in tenant databases) and the implicit _id.
func (c *checker) indexes(q query) []index {
	var out []index
	if q.platform {
		platform := tenants.Platform.Mongo
		if c.engine != nil { // with what domains added (engine.ExtendPlatform)
			platform = c.engine.PlatformSchema().Mongo
		}
		for _, mc := range platform {
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
				declared := mc.Indexes
				if q.pooled { // with {tenant_id, _id}, which a pooled database adds
					declared = engine.PooledIndexes(declared)
				}
				for _, ix := range declared {
					out = append(out, index{keys: ix.FullKeys(), unique: ix.Unique})
				}
			}
		}
	}
	return append(out, idIndex)
}

// unserved returns the recorded queries no declared index serves or bounds
// by more than tenant_id (see judge), less the whole-collection reads
// AllowFullScan allows: on its collection, a query bounded by tenant_id
// alone, or one with no condition an index could bound.
func (c *checker) unserved() []query {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scanned = map[string]int{}
	var out []query
	for _, q := range c.queries {
		v := judge(q, c.indexes(q))
		if v == served || movedByEngine(q) {
			continue
		}
		// In a pooled database tenant_id alone selects one shop among many
		// only through an index led by it: a read no index serves reads
		// every shop's documents, however small the shop, so no reason
		// allows it there.
		if _, ok := c.fullScan[q.collection]; ok && (v == shopScan || unconditioned(q.filter) && !q.pooled) {
			c.scanned[q.collection]++
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

// logger is the part of testing.TB that shows the full scans allowed.
type logger interface {
	Logf(format string, args ...any)
}

// report fails t with one line per distinct unserved query (same collection,
// filter shape, sort and caller).
func (c *checker) report(t errorer) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	qs := c.unserved()
	if l, ok := t.(logger); ok {
		c.mu.Lock()
		for coll, n := range c.scanned {
			l.Logf("enginetest: %d whole-collection read(s) of %q allowed: %s", n, coll, c.fullScan[coll])
		}
		c.mu.Unlock()
	}
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
		k := fmt.Sprintf("%t|%s|%s|%s|%s|%t|%s", q.platform, q.collection, q.command, shape(q.filter), extJSON(q.sort), q.limited, q.caller)
		if e, ok := seen[k]; ok {
			e.n++
			continue
		}
		seen[k] = &entry{q: q, n: 1}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%d Mongo quer%s not served by a declared index (add the index to the schema, or change the query; "+
		"a read of a whole collection on purpose names its reason with enginetest.AllowFullScan):",
		len(keys), map[bool]string{true: "y", false: "ies"}[len(keys) == 1])
	for _, k := range keys {
		e := seen[k]
		where := "tenant database"
		if e.q.platform {
			where = "platform database"
		}
		if e.q.pooled {
			where = "pooled database"
		}
		fmt.Fprintf(&b, "\n  - %s collection %q (%s): filter %s", where, e.q.collection, e.q.command, extJSON(e.q.filter))
		if len(e.q.sort) > 0 {
			fmt.Fprintf(&b, " sort %s", extJSON(e.q.sort))
		}
		if judge(e.q, c.indexes(e.q)) == shopScan {
			b.WriteString("\n    bounded by tenant_id alone: it reads every document of the shop")
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

// movedByEngine reports whether q is the engine's own copy of a shop from
// a pooled database to one of its own (engine/placement_move.go): it reads
// every document of the shop on purpose, through {tenant_id, _id} in the
// pool.
func movedByEngine(q query) bool {
	return strings.Contains(q.caller, "engine/placement_move.go")
}
