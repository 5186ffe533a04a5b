package enginetest

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestJudge is the index rule (see judge), case by case.
func TestJudge(t *testing.T) {
	id := idIndex
	byStatus := index{keys: d{e("tenant_id", 1), e("status", 1), e("created_at", -1)}}
	byFan := index{keys: d{e("tenant_id", 1), e("fan_id", 1), e("day", 1)}}
	bySKU := index{keys: d{e("tenant_id", 1), e("items.sku", 1)}}
	byNumber := index{keys: d{e("tenant_id", 1), e("number", 1)}, unique: true}
	orders := []index{byStatus, byFan, bySKU, byNumber, id}
	slug := []index{{keys: d{e("slug", 1)}}, id}
	byShop := []index{{keys: d{e("tenant_id", 1), e("created_at", -1)}}, id}

	cases := []struct {
		name     string
		filter   bson.D
		sort     bson.D
		indexes  []index
		want     verdict
		limited  bool // a limit, a findAndModify, an update or delete of one
		platform bool
	}{
		// rule 1: some index's first key is constrained
		{"by _id", d{e("_id", "x")}, nil, slug, served, false, false},
		{"by unique slug", d{e("slug", "x")}, nil, slug, served, false, false},
		{"empty filter", d{}, nil, slug, unserved, false, false},
		{"unindexed field", d{e("name", "x")}, nil, slug, unserved, false, false},
		{"only a residual $ne", d{e("slug", d{e("$ne", "x")})}, nil, slug, unserved, false, false},
		{"range on first key", d{e("slug", d{e("$gte", "a"), e("$lt", "b")})}, nil, slug, served, false, false},
		{"$in on first key", d{e("slug", d{e("$in", a{"a", "b"})})}, nil, slug, served, false, false},
		{"regex on first key", d{e("slug", bson.Regex{Pattern: "^ab"})}, nil, slug, served, false, false},
		{"tenant only: all of the tenant's documents", d{e("tenant_id", "t")}, nil, orders, shopScan, false, false},
		{"tenant and _id", d{e("tenant_id", "t"), e("_id", "o")}, nil, orders, served, false, false},

		// rule 2: equality fields other than tenant_id are in the used prefix
		{"equality on indexed key", d{e("tenant_id", "t"), e("status", "paid")}, nil, orders, served, false, false},
		{"equality on two keys of one index", d{e("tenant_id", "t"), e("fan_id", "f"), e("day", "2024-01-01")}, nil, orders, served, false, false},
		{"$eq operator counts as equality", d{e("tenant_id", "t"), e("status", d{e("$eq", "paid")})}, nil, orders, served, false, false},
		{"equality on unindexed field", d{e("tenant_id", "t"), e("email", "x")}, nil, orders, unserved, false, false},
		{"equality on second key skipping the first", d{e("tenant_id", "t"), e("day", "2024-01-01")}, nil, orders, unserved, false, false},
		{"equality after a gap in the prefix", d{e("tenant_id", "t"), e("created_at", 5)}, nil, []index{byStatus, id}, unserved, false, false},
		{"equalities split over two indexes", d{e("tenant_id", "t"), e("status", "paid"), e("fan_id", "f")}, nil, orders, unserved, false, false},
		{"range before the equality field", d{e("tenant_id", "t"), e("fan_id", d{e("$in", a{"f", "g"})}), e("day", "d")}, nil, orders, served, false, false},
		{"range on unindexed field is residual", d{e("tenant_id", "t"), e("status", "paid"), e("total", d{e("$gt", 100)})}, nil, orders, served, false, false},
		{"equality on a dotted key", d{e("tenant_id", "t"), e("items.sku", "s1")}, nil, orders, served, false, false},
		{"tenant_id itself need not be indexed", d{e("tenant_id", "t"), e("slug", "x")}, nil, slug, served, false, false},
		{"$and is flattened", d{e("$and", a{d{e("tenant_id", "t")}, d{e("status", "paid")}})}, nil, orders, served, false, false},
		{"$and hiding an unindexed equality", d{e("$and", a{d{e("tenant_id", "t")}, d{e("email", "x")}})}, nil, orders, unserved, false, false},
		{"embedded document is an equality", d{e("tenant_id", "t"), e("status", d{e("code", 1)})}, nil, orders, served, false, false},

		// a unique index fixed by equality finds one document at most
		{"by _id with a revision check", d{e("tenant_id", "t"), e("_id", "o"), e("rev", 3)}, nil, orders, served, false, false},
		{"by unique number with a status check", d{e("tenant_id", "t"), e("number", 7), e("status", "paid")}, d{e("total", 1)}, orders, served, false, false},
		{"unique index only partly fixed", d{e("tenant_id", "t"), e("number", d{e("$gt", 7)}), e("email", "x")}, nil, orders, unserved, false, false},
		{"non-unique index fixed by equality", d{e("tenant_id", "t"), e("items.sku", "s"), e("email", "x")}, nil, orders, unserved, false, false},

		// $or: every branch served
		{"$or of indexed branches", d{e("tenant_id", "t"), e("$or", a{d{e("status", "paid")}, d{e("fan_id", "f")}})}, nil, orders, served, false, false},
		{"$or with an unindexed branch", d{e("tenant_id", "t"), e("$or", a{d{e("status", "paid")}, d{e("email", "x")}})}, nil, orders, unserved, false, false},

		// rule 3: the sort comes from the index
		{"sort after equality prefix", d{e("tenant_id", "t"), e("status", "paid")}, d{e("created_at", -1)}, orders, served, false, false},
		{"sort reversed entirely", d{e("tenant_id", "t"), e("status", "paid")}, d{e("created_at", 1)}, orders, served, false, false},
		{"sort on tenant's documents in index order", d{e("tenant_id", "t")}, d{e("fan_id", 1), e("day", 1)}, orders, shopScan, false, false},
		{"sort with mixed directions against the index", d{e("tenant_id", "t")}, d{e("fan_id", 1), e("day", -1)}, orders, unserved, false, false},
		{"sort not in any index", d{e("tenant_id", "t"), e("status", "paid")}, d{e("total", -1)}, orders, unserved, false, false},
		{"sort skipping the equality key", d{e("tenant_id", "t")}, d{e("created_at", -1)}, orders, unserved, false, false},
		{"sort after a range key needs an in-memory sort", d{e("tenant_id", "t"), e("status", d{e("$in", a{"a", "b"})})}, d{e("created_at", -1)}, orders, unserved, false, false},
		{"sort on the range key itself", d{e("tenant_id", "t"), e("fan_id", d{e("$gt", "f")})}, d{e("fan_id", 1)}, orders, served, false, false},
		{"sort on equality keys is free", d{e("tenant_id", "t"), e("status", "paid")}, d{e("tenant_id", 1), e("status", 1), e("created_at", -1)}, orders, served, false, false},
		{"sort across a key fixed by equality", d{e("tenant_id", "t"), e("fan_id", d{e("$gt", "f")}), e("day", "d")}, d{e("fan_id", 1)}, orders, served, false, false},
		{"sort by _id on an _id range", d{e("_id", d{e("$gt", "x")})}, d{e("_id", 1)}, slug, served, false, false},
		{"sort by _id with an empty filter is a full scan", d{}, d{e("_id", 1)}, slug, unserved, false, false},
		{"sort by $meta", d{e("tenant_id", "t")}, d{e("score", d{e("$meta", "textScore")})}, orders, unserved, false, false},
		{"$or with a branch bounded by tenant_id alone", d{e("tenant_id", "t"), e("$or", a{d{e("status", "paid")}, d{e("email", d{e("$ne", "x")})}})}, nil, orders, shopScan, false, false},
		{"$or branches each give the sort", d{e("tenant_id", "t"), e("$or", a{d{e("status", "paid")}, d{e("status", "new")}})}, d{e("created_at", -1)}, orders, served, false, false},

		// rule 4: in a tenant database tenant_id bounds nothing
		{"count of the shop's documents", d{e("tenant_id", "t")}, nil, orders, shopScan, false, false},
		{"$nin is no bound", d{e("tenant_id", "t"), e("status", d{e("$nin", a{"closed", "refunded"})})}, nil, orders, shopScan, false, false},
		{"$ne is no bound", d{e("tenant_id", "t"), e("status", d{e("$ne", "closed")})}, nil, orders, shopScan, false, false},
		{"$not is no bound", d{e("tenant_id", "t"), e("status", d{e("$not", d{e("$eq", "closed")})})}, nil, orders, shopScan, false, false},
		{"$exists: false is no bound", d{e("tenant_id", "t"), e("status", d{e("$exists", false)})}, nil, orders, shopScan, false, false},
		{"$exists: true is no bound", d{e("tenant_id", "t"), e("status", d{e("$exists", true)})}, nil, orders, shopScan, false, false},
		{"range on a field outside the used prefix", d{e("tenant_id", "t"), e("created_at", d{e("$gt", 5)})}, nil, orders, shopScan, false, false},
		{"range on the field right after tenant_id", d{e("tenant_id", "t"), e("created_at", d{e("$gt", 5)})}, d{e("created_at", -1)}, byShop, served, false, false},
		{"unanchored regex is no bound", d{e("tenant_id", "t"), e("status", bson.Regex{Pattern: "ai"})}, nil, orders, shopScan, false, false},
		{"case-insensitive regex is no bound", d{e("tenant_id", "t"), e("status", bson.Regex{Pattern: "^pa", Options: "i"})}, nil, orders, shopScan, false, false},
		{"$regex operator anchored", d{e("tenant_id", "t"), e("status", d{e("$regex", "^pa")})}, nil, orders, served, false, false},
		{"$regex operator with $options i", d{e("tenant_id", "t"), e("status", d{e("$regex", "^pa"), e("$options", "i")})}, nil, orders, shopScan, false, false},
		{"anchored regex starting with a class", d{e("tenant_id", "t"), e("status", bson.Regex{Pattern: `^\d+`})}, nil, orders, shopScan, false, false},
		{"anchored regex with an escaped literal", d{e("tenant_id", "t"), e("status", bson.Regex{Pattern: `^\.x`})}, nil, orders, served, false, false},
		{"$nin beside a real bound is residual", d{e("tenant_id", "t"), e("fan_id", "f"), e("day", d{e("$nin", a{"d"})})}, nil, orders, served, false, false},
		{"newest page: limited, index order, nothing but tenant_id", d{e("tenant_id", "t")}, d{e("created_at", -1)}, byShop, served, true, false},
		{"first document of the shop", d{e("tenant_id", "t")}, nil, orders, served, true, false},
		{"limited page filtered by $nin may read every document", d{e("tenant_id", "t"), e("status", d{e("$nin", a{"x"})})}, d{e("created_at", -1)}, byShop, shopScan, true, false},
		{"limited page sorted in memory", d{e("tenant_id", "t")}, d{e("total", -1)}, orders, unserved, true, false},
		{"update of one by a residual condition", d{e("tenant_id", "t"), e("locked", d{e("$exists", false)})}, nil, orders, shopScan, true, false},
		{"one settings document by _id", d{e("tenant_id", "t"), e("_id", "settings")}, nil, byShop, served, false, false},
		{"platform: tenant_id is a real bound there", d{e("tenant_id", "t")}, d{e("created_at", -1)}, byShop, served, false, true},
		{"platform: a page of the whole collection in reverse index order", d{}, d{e("tenant_id", -1), e("created_at", 1)}, byShop, served, true, true},
		{"platform: the whole collection, no limit", d{}, d{e("tenant_id", -1), e("created_at", -1)}, byShop, unserved, false, true},
		{"platform: a page sorted in memory", d{}, d{e("created_at", -1)}, byShop, unserved, true, true},
		{"tenant database: a page of the whole collection", d{}, d{e("tenant_id", -1), e("created_at", -1)}, byShop, unserved, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := query{filter: c.filter, sort: c.sort, limited: c.limited, platform: c.platform}
			if got := judge(q, c.indexes); got != c.want {
				t.Errorf("judge(%s, sort %s, limited %t, indexes %v) = %s, want %s",
					extJSON(c.filter), extJSON(c.sort), c.limited, c.indexes, got, c.want)
			}
		})
	}
}
