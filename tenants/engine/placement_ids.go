package engine

import (
	"reflect"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Ids in a pooled database. Every collection's _id is unique across the
// whole database, so in a database many shops share the key a domain
// chooses ("settings", "catalog", a day, a fan's id within the shop...)
// would collide. The tenant scope stores every string _id as
// "<tenant id>:<key>" there and gives "<key>" back on every read: the
// domain code never sees the difference, a shop in a database of its own
// keeps the plain keys, and a move strips the prefix (placement_move.go).
// Sorting and ranges on _id keep their order within a shop (every key of
// the shop has the same prefix). Non-string ids (ObjectIDs the driver
// generates) are unique already and stay as they are.

// qualifyKey is key as stored in a pooled database.
func qualifyKey(key, tenantID string) string { return tenantID + ":" + key }

// qualifyValue qualifies an _id value or, for an operator document
// ({$in: [...]}, {$gt: ...}), its operands.
func qualifyValue(v any, tenantID string) any {
	switch x := v.(type) {
	case string:
		return qualifyKey(x, tenantID)
	case bson.D:
		if len(x) == 0 || !strings.HasPrefix(x[0].Key, "$") {
			return x // an embedded document as the _id: left alone
		}
		out := make(bson.D, len(x))
		var lower, upper, strs bool // a string range's bounds
		for i, op := range x {
			switch op.Key {
			case "$gt", "$gte", "$lt", "$lte":
				_, str := op.Value.(string)
				strs = strs || str
				lower = lower || op.Key == "$gt" || op.Key == "$gte"
				upper = upper || op.Key == "$lt" || op.Key == "$lte"
				op.Value = qualifyValue(op.Value, tenantID)
			case "$eq", "$ne", "$not":
				op.Value = qualifyValue(op.Value, tenantID)
			case "$in", "$nin":
				op.Value = qualifyList(op.Value, tenantID)
			}
			out[i] = op
		}
		// A range open on one side is closed at the shop's own keys, so
		// that even a plan on the _id index alone reads this shop's only
		// (";" follows ":").
		if strs && !lower {
			out = append(out, bson.E{Key: "$gte", Value: tenantID + ":"})
		}
		if strs && !upper {
			out = append(out, bson.E{Key: "$lt", Value: tenantID + ";"})
		}
		return out
	case bson.M:
		d := make(bson.D, 0, len(x))
		for k, val := range x {
			d = append(d, bson.E{Key: k, Value: val})
		}
		return qualifyValue(d, tenantID)
	}
	return v
}

// qualifyList qualifies every string of a list ($in, $nin) of any slice type.
func qualifyList(v any, tenantID string) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return v
	}
	out := make(bson.A, rv.Len())
	for i := range rv.Len() {
		out[i] = qualifyValue(rv.Index(i).Interface(), tenantID)
	}
	return out
}

// qualifyFilter qualifies the _id conditions of a filter, at its top level
// and in the branches of $or, $and and $nor.
func qualifyFilter(f bson.D, tenantID string) bson.D {
	out := make(bson.D, len(f))
	for i, e := range f {
		switch e.Key {
		case "_id":
			e.Value = qualifyValue(e.Value, tenantID)
		case "$or", "$and", "$nor":
			e.Value = qualifyBranches(e.Value, tenantID)
		}
		out[i] = e
	}
	return out
}

func qualifyBranches(v any, tenantID string) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		return v
	}
	out := make(bson.A, rv.Len())
	for i := range rv.Len() {
		el := rv.Index(i).Interface()
		switch d := el.(type) {
		case bson.D:
			el = qualifyFilter(d, tenantID)
		case bson.M:
			q := make(bson.D, 0, len(d))
			for k, val := range d {
				q = append(q, bson.E{Key: k, Value: val})
			}
			el = qualifyFilter(q, tenantID)
		}
		out[i] = el
	}
	return out
}

// unqualifyValue is the domain's own _id of a stored one.
func unqualifyValue(v any, tenantID string) any {
	if s, ok := v.(string); ok {
		if k, found := strings.CutPrefix(s, tenantID+":"); found {
			return k
		}
	}
	return v
}

// unqualifyDoc returns a copy of raw with its _id the domain's own (raw
// itself when its _id is not qualified).
func unqualifyDoc(raw bson.Raw, tenantID string) bson.Raw {
	id, err := raw.LookupErr("_id")
	if err != nil {
		return append(bson.Raw(nil), raw...)
	}
	s, ok := id.StringValueOK()
	if !ok || !strings.HasPrefix(s, tenantID+":") {
		return append(bson.Raw(nil), raw...)
	}
	var d bson.D
	if err := bson.Unmarshal(raw, &d); err != nil {
		return append(bson.Raw(nil), raw...)
	}
	for i := range d {
		if d[i].Key == "_id" {
			d[i].Value = strings.TrimPrefix(s, tenantID+":")
		}
	}
	out, err := bson.Marshal(d)
	if err != nil {
		return append(bson.Raw(nil), raw...)
	}
	return out
}
