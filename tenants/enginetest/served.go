package enginetest

import (
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// The index rule: whether one of a collection's indexes serves a query's
// filter and sort, and bounds it by more than the shop.

// index is one index a query may use.
type index struct {
	keys   bson.D
	unique bool
}

// idIndex is the implicit unique index on _id.
var idIndex = index{keys: bson.D{{Key: "_id", Value: 1}}, unique: true}

// cond is how strongly a filter constrains one field.
type cond uint8

const (
	condNone  cond = iota // not constrained, or not in a way an index can bound ($ne, $nin, $not, $exists, an unanchored regex, ...)
	condRange             // bounded but not to one value: $gt $gte $lt $lte $in $all $elemMatch, a regex anchored at ^
	condEq                // one value: a literal, or $eq
)

// verdict is what the rule says of a query.
type verdict uint8

const (
	// unserved: no declared index serves the query.
	unserved verdict = iota
	// shopScan: an index serves the query but bounds it by tenant_id alone,
	// so it reads every document of the shop; with a database per shop,
	// the whole collection.
	shopScan
	// served: an index bounds the query to the documents it wants.
	served
)

func (v verdict) String() string {
	return [...]string{unserved: "unserved", shopScan: "shopScan", served: "served"}[v]
}

// judge says whether one of indexes serves the query:
//
//  1. the index's first key is constrained by the filter (equality or a
//     range); the index's "used prefix" is its longest run of leading keys
//     the filter constrains;
//  2. every field the filter constrains by equality, other than tenant_id,
//     is in that used prefix (keys before it may be equality or range);
//  3. with a sort (less keys fixed by equality), the sort keys are index
//     keys in order, right after a prefix of equality-constrained keys, all
//     in the index's direction or all reversed: the index yields the order,
//     no in-memory sort;
//     A limited query with no condition on a platform collection, sorted
//     in an index's order, is served too (a page walked from one end);
//  4. in a tenant database the used prefix holds more than tenant_id: one
//     database per shop means tenant_id alone selects every document of the
//     collection. A query bounded by tenant_id alone is a shopScan, unless
//     it is limited and has no other condition (it reads the first
//     documents in index order and stops: the newest page of a list).
//
// A unique index whose every key is fixed by equality serves the query
// whatever else it says: it finds at most one document, and the other
// conditions (a revision check on an update by _id, say) are tested on that
// one only.
//
// A $or is judged by its weakest branch, each with the rest of the filter.
// Conditions an index cannot bound ($ne, $nin, $not, $exists, $expr, an
// unanchored or case-insensitive regex, ...) are residual and bound
// nothing, and so are range conditions on fields not in the used prefix
// (rule 2 asks only equality fields to be indexed).
func judge(q query, indexes []index) verdict {
	conds := flatten(q.filter, nil)
	for i, e := range conds {
		if e.Key != "$or" {
			continue
		}
		branches, ok := e.Value.(bson.A)
		if !ok || len(branches) == 0 {
			break
		}
		rest := append(append(bson.D{}, conds[:i]...), conds[i+1:]...)
		worst := served
		for _, br := range branches {
			d, ok := asDoc(br)
			if !ok {
				return unserved
			}
			b := q
			b.filter = append(append(bson.D{}, rest...), d...)
			worst = min(worst, judge(b, indexes))
		}
		return worst
	}
	cm := condMap(conds)
	best := unserved
	for _, ix := range indexes {
		best = max(best, indexVerdict(ix, cm, q))
	}
	if best == shopScan && q.limited && onlyTenant(conds) {
		return served
	}
	return best
}

func indexVerdict(idx index, cm map[string]cond, q query) verdict {
	ix := idx.keys
	if idx.unique && len(ix) > 0 {
		point := true
		for _, k := range ix {
			point = point && cm[k.Key] == condEq
		}
		if point {
			return served
		}
	}
	used := 0
	for used < len(ix) && cm[ix[used].Key] != condNone {
		used++
	}
	if used == 0 {
		// A page of a whole platform collection in an index's order (the
		// operator's list of shops): the index is walked from one end and
		// the walk stops at the limit.
		if q.platform && q.limited && len(cm) == 0 && len(q.sort) > 0 && sortFromIndex(ix, cm, q.sort) {
			return served
		}
		return unserved
	}
	inPrefix := map[string]bool{}
	for _, k := range ix[:used] {
		inPrefix[k.Key] = true
	}
	for f, c := range cm {
		if c == condEq && f != "tenant_id" && !inPrefix[f] {
			return unserved
		}
	}
	if !sortFromIndex(ix, cm, q.sort) {
		return unserved
	}
	if !q.platform && len(inPrefix) == 1 && inPrefix["tenant_id"] {
		return shopScan
	}
	return served
}

// sortFromIndex reports whether the index ix yields sort for a filter
// constraining fields as cm says (rule 3).
func sortFromIndex(ix bson.D, cm map[string]cond, sort bson.D) bool {
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
// tenant, in a tenant database): it has no condition an index could bound.
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

// onlyTenant reports whether conds say nothing but tenant_id.
func onlyTenant(conds bson.D) bool {
	for _, e := range conds {
		if e.Key != "tenant_id" {
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
		return regexCond(x.Pattern, x.Options)
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
			case "$gt", "$gte", "$lt", "$lte", "$in", "$all", "$elemMatch":
				best = condRange
			case "$regex":
				best = max(best, regexOp(d, op.Value))
			}
		}
		return best
	}
	return condEq
}

// regexOp classifies {$regex: pattern, $options: o}; the pattern may also
// be a bson.Regex carrying its options.
func regexOp(d bson.D, pattern any) cond {
	var options string
	for _, op := range d {
		if op.Key == "$options" {
			options, _ = op.Value.(string)
		}
	}
	switch p := pattern.(type) {
	case string:
		return regexCond(p, options)
	case bson.Regex:
		return regexCond(p.Pattern, p.Options+options)
	}
	return condNone
}

// regexCond: an index bounds a regex only by a literal prefix, which needs
// the pattern anchored at ^ (\A), and case-sensitive matching.
func regexCond(pattern, options string) cond {
	if strings.ContainsAny(options, "i") {
		return condNone
	}
	rest, ok := strings.CutPrefix(pattern, "^")
	if !ok {
		rest, ok = strings.CutPrefix(pattern, `\A`)
	}
	if !ok || strings.ContainsAny(options, "m") && pattern[0] == '^' {
		return condNone // unanchored; with m, ^ matches after every newline
	}
	if rest == "" || strings.ContainsAny(rest[:1], `.*+?()[]{}|^$`) ||
		rest[0] == '\\' && (len(rest) < 2 || !strings.ContainsAny(rest[1:2], `.*+?()[]{}|^$\\/-`)) {
		return condNone // no literal prefix to bound the scan (\d, \w ... are classes)
	}
	return condRange
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
