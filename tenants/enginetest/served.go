package enginetest

import (
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// The index rule: whether one of a collection's indexes serves a query's
// filter and sort.

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
