package catalog

import (
	"context"
	"fmt"
	"regexp"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type mongoStore struct{ e *engine.Engine }

// skuDoc is a SKU as its Mongo document, which names its product.
type skuDoc struct {
	SKU       `bson:",inline"`
	ProductID string `bson:"product_id"`
	Position  int    `bson:"position"`
}

// productDoc is a product as its Mongo document: the product, its SKUs'
// codes for the console's search, and how many SKUs it has (so that reading
// a product without SKUs takes one query; absent on products written before
// it was kept: their SKUs are looked for).
type productDoc struct {
	Product  `bson:",inline"`
	SKUCodes []string `bson:"sku_codes"`
	SKUCount *int     `bson:"sku_count,omitempty"`
}

// skuCodes are the SKUs' codes, without blanks.
func skuCodes(skus []SKU) []string {
	out := []string{}
	for _, k := range skus {
		if k.Code != "" {
			out = append(out, k.Code)
		}
	}
	return out
}

func (s *mongoStore) Create(ctx context.Context, tenantID string, p *Product) error {
	db := s.e.Mongo(tenantID)
	// SKUs first, product last: a crash leaves at worst orphan SKUs.
	if err := s.writeSKUs(ctx, db, p.ID, nil, p.SKUs); err != nil {
		return err
	}
	n := len(p.SKUs)
	doc := productDoc{Product: *p, SKUCodes: skuCodes(p.SKUs), SKUCount: &n}
	doc.Stock = p.stockToStore()
	if err := db.C("products").InsertOne(ctx, doc); err != nil {
		return fmt.Errorf("insert product: %w", err)
	}
	return s.touch(ctx, db)
}

func (s *mongoStore) Get(ctx context.Context, tenantID, id string) (Product, error) {
	db := s.e.Mongo(tenantID)
	var d productDoc
	err := db.C("products").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Product{}, fault.NotFound("product")
	}
	if err != nil {
		return Product{}, fmt.Errorf("get product %s: %w", id, err)
	}
	p := d.Product
	p.stored()
	if d.SKUCount != nil && *d.SKUCount == 0 {
		return p, nil // no SKUs: no second query
	}
	skus, err := s.skus(ctx, db, bson.D{{Key: "product_id", Value: id}})
	if err != nil {
		return Product{}, err
	}
	p.attach(skus)
	return p, nil
}

func (s *mongoStore) Update(ctx context.Context, tenantID string, p *Product, old Product) error {
	db := s.e.Mongo(tenantID)
	delta := p.stockToStore() - old.rowStock
	filter := bson.D{{Key: "_id", Value: p.ID}, {Key: "rev", Value: p.Rev}}
	if delta < 0 {
		filter = append(filter, bson.E{Key: "stock", Value: bson.D{{Key: "$gte", Value: -delta}}})
	}
	res, err := db.C("products").UpdateOne(ctx, filter,
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "title", Value: p.Title}, {Key: "description", Value: p.Description},
			{Key: "price", Value: p.Price}, {Key: "original_price", Value: p.OriginalPrice}, {Key: "code", Value: p.Code}, {Key: "images", Value: p.Images},
			{Key: "category", Value: p.Category}, {Key: "status", Value: p.Status},
			{Key: "translations", Value: p.Translations}, {Key: "sku_codes", Value: skuCodes(p.SKUs)},
			// Not 0 while old SKUs may still be stored (they go below).
			{Key: "sku_count", Value: max(len(p.SKUs), len(old.SKUs))},
			{Key: "rev", Value: p.Rev + 1}, {Key: "updated_at", Value: p.UpdatedAt},
		}}, {Key: "$inc", Value: bson.D{{Key: "stock", Value: delta}}}})
	if err != nil {
		return fmt.Errorf("update product: %w", err)
	}
	if res.MatchedCount == 0 {
		n, err := db.C("products").CountDocuments(ctx, bson.D{{Key: "_id", Value: p.ID}})
		if err != nil {
			return err
		}
		if n == 0 {
			return fault.NotFound("product")
		}
		return fault.ErrConflict
	}
	p.Rev++
	p.rowStock = p.stockToStore()
	if err := s.writeSKUs(ctx, db, p.ID, old.SKUs, p.SKUs); err != nil {
		return err
	}
	if len(p.SKUs) == 0 && len(old.SKUs) > 0 { // its SKUs are gone now
		if _, err := db.C("products").UpdateOne(ctx, bson.D{{Key: "_id", Value: p.ID}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "sku_count", Value: 0}}}}); err != nil {
			return fmt.Errorf("update product: %w", err)
		}
	}
	return s.touch(ctx, db)
}

// writeSKUs makes the stored SKUs of a product equal to next, read earlier
// as old (see skuWrites).
func (s *mongoStore) writeSKUs(ctx context.Context, db *engine.MongoScope, productID string, old, next []SKU) error {
	c := db.C("skus")
	for _, w := range skuWrites(old, next) {
		var err error
		switch {
		case w.gone:
			_, err = c.DeleteOne(ctx, bson.D{{Key: "_id", Value: w.ID}})
		case w.new:
			err = c.InsertOne(ctx, skuDoc{SKU: w.SKU, ProductID: productID, Position: w.pos})
		default:
			filter := bson.D{{Key: "_id", Value: w.ID}}
			if w.delta < 0 {
				filter = append(filter, bson.E{Key: "stock", Value: bson.D{{Key: "$gte", Value: -w.delta}}})
			}
			var res *mongo.UpdateResult
			res, err = c.UpdateOne(ctx, filter, bson.D{
				{Key: "$set", Value: bson.D{{Key: "name", Value: w.Name}, {Key: "code", Value: w.Code}, {Key: "price", Value: w.Price},
					{Key: "original_price", Value: w.OriginalPrice}, {Key: "position", Value: w.pos}}},
				{Key: "$inc", Value: bson.D{{Key: "stock", Value: w.delta}}},
			})
			if err == nil && res.MatchedCount == 0 {
				return stockChanged(w.SKU)
			}
		}
		if err != nil {
			return fmt.Errorf("write sku %s: %w", w.ID, err)
		}
	}
	return nil
}

func (s *mongoStore) Delete(ctx context.Context, tenantID, id string) error {
	db := s.e.Mongo(tenantID)
	res, err := db.C("products").DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return fmt.Errorf("delete product %s: %w", id, err)
	}
	if res.DeletedCount == 0 {
		return fault.NotFound("product")
	}
	if _, err := db.C("skus").DeleteMany(ctx, bson.D{{Key: "product_id", Value: id}}); err != nil {
		return fmt.Errorf("delete skus of product %s: %w", id, err)
	}
	return s.touch(ctx, db)
}

func (s *mongoStore) List(ctx context.Context, tenantID string, f Filter) ([]Product, int64, error) {
	db := s.e.Mongo(tenantID)
	filter := bson.D{}
	if f.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: f.Status})
	}
	if f.Category != "" {
		filter = append(filter, bson.E{Key: "category", Value: f.Category})
	}
	if f.Query != "" {
		// The title, or a code (the product's or a SKU's): the merchant
		// searches by any. The SKUs' codes are kept on the product's
		// document too (sku_codes), so one query of one collection finds all.
		match := bson.D{{Key: "$regex", Value: regexp.QuoteMeta(f.Query)}, {Key: "$options", Value: "i"}}
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "title", Value: match}}, bson.D{{Key: "code", Value: match}}, bson.D{{Key: "sku_codes", Value: match}}}})
	}
	total, err := s.count(ctx, db, filter)
	if err != nil {
		return nil, 0, err
	}
	products, err := s.find(ctx, db, filter, options.Find().SetSort(newestFirst).SetSkip(int64(f.Offset)).SetLimit(int64(f.Limit)))
	return products, total, err
}

// count counts the products filter selects, up to MaxCounted.
func (s *mongoStore) count(ctx context.Context, db *engine.MongoScope, filter bson.D) (int64, error) {
	pipeline := mongo.Pipeline{{{Key: "$limit", Value: countLimit}}, {{Key: "$count", Value: "n"}}}
	if len(filter) > 0 {
		pipeline = append(mongo.Pipeline{{{Key: "$match", Value: filter}}}, pipeline...)
	}
	var out []struct {
		N int64 `bson:"n"`
	}
	cur, err := db.C("products").Aggregate(ctx, pipeline)
	if err == nil {
		err = cur.All(ctx, &out)
	}
	if err != nil {
		return 0, fmt.Errorf("count products: %w", err)
	}
	if len(out) == 0 {
		return 0, nil
	}
	return out[0].N, nil
}

// newestFirst is the order of product lists.
var newestFirst = bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}

func (s *mongoStore) OnSale(ctx context.Context, tenantID string) ([]Product, error) {
	return s.find(ctx, s.e.Mongo(tenantID), bson.D{{Key: "status", Value: OnSale}}, options.Find().SetSort(newestFirst))
}

func (s *mongoStore) Products(ctx context.Context, tenantID string, ids []string) ([]Product, error) {
	if len(ids) == 0 {
		return []Product{}, nil
	}
	return s.find(ctx, s.e.Mongo(tenantID), bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, options.Find())
}

// find lists products, with their SKUs (one more query).
func (s *mongoStore) find(ctx context.Context, db *engine.MongoScope, filter bson.D, opts *options.FindOptionsBuilder) ([]Product, error) {
	products := []Product{}
	cur, err := db.C("products").Find(ctx, filter, opts)
	if err == nil {
		err = cur.All(ctx, &products)
	}
	if err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	ids := make([]string, len(products))
	for i := range products {
		products[i].stored()
		ids[i] = products[i].ID
	}
	if len(ids) == 0 {
		return products, nil
	}
	skus, err := s.skus(ctx, db, bson.D{{Key: "product_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return nil, err
	}
	for i := range products {
		products[i].attach(skus)
	}
	return products, nil
}

func (s *mongoStore) skus(ctx context.Context, db *engine.MongoScope, filter bson.D) (map[string][]SKU, error) {
	var docs []skuDoc
	cur, err := db.C("skus").Find(ctx, filter,
		options.Find().SetSort(bson.D{{Key: "product_id", Value: 1}, {Key: "position", Value: 1}}))
	if err == nil {
		err = cur.All(ctx, &docs)
	}
	if err != nil {
		return nil, fmt.Errorf("list skus: %w", err)
	}
	out := map[string][]SKU{}
	for _, d := range docs {
		out[d.ProductID] = append(out[d.ProductID], d.SKU)
	}
	return out, nil
}

func (s *mongoStore) touch(ctx context.Context, db *engine.MongoScope) error {
	// A fresh random stamp, not a counter: FerretDB can lose concurrent $inc,
	// but any write leaves a stamp different from what readers saw before.
	_, err := db.C("catalog_meta").UpdateOne(ctx, bson.D{{Key: "_id", Value: "catalog"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "stamp", Value: engine.NewID()}, {Key: "tenant_id", Value: db.TenantID()}}}},
		options.UpdateOne().SetUpsert(true))
	return fault.Wrap(err, "stamp catalog")
}

// metaDoc is the catalog_meta document: the catalog stamp and the stock
// log, whose last entry is at position StockSeq.
type metaDoc struct {
	Stamp    string   `bson:"stamp"`
	StockSeq int64    `bson:"stock_seq"`
	StockLog []string `bson:"stock_log"`
}

var metaID = bson.D{{Key: "_id", Value: "catalog"}}

func (s *mongoStore) meta(ctx context.Context, tenantID string, fields ...string) (metaDoc, error) {
	var d metaDoc
	projection := bson.D{}
	for _, f := range fields {
		projection = append(projection, bson.E{Key: f, Value: 1})
	}
	err := s.e.Mongo(tenantID).C("catalog_meta").FindOne(ctx, metaID, options.FindOne().SetProjection(projection)).Decode(&d)
	if engine.IsNoDocuments(err) {
		return metaDoc{}, nil
	}
	return d, err
}

func (s *mongoStore) Stamp(ctx context.Context, tenantID string) (Stamp, error) {
	d, err := s.meta(ctx, tenantID, "stamp", "stock_seq")
	return Stamp{Catalog: d.Stamp, Stock: d.StockSeq}, fault.Wrap(err, "read catalog stamp")
}

func (s *mongoStore) StockChanges(ctx context.Context, tenantID string, since int64) (int64, []string, bool, error) {
	d, err := s.meta(ctx, tenantID, "stock_seq", "stock_log")
	if err != nil {
		return 0, nil, false, fmt.Errorf("read stock log: %w", err)
	}
	first := d.StockSeq - int64(len(d.StockLog)) // the position before the oldest entry
	if since < first || since > d.StockSeq {
		return d.StockSeq, nil, false, nil
	}
	return d.StockSeq, d.StockLog[since-first:], true, nil
}

// logStock appends productID to the stock log (see stocklog.go). The
// position and the entries change in one update, so entries stay at their
// positions; the log is cut back to stockLogKeep entries when it holds
// twice as many, only if no entry was added meanwhile (FerretDB ignores
// $push's $slice).
func (s *mongoStore) logStock(ctx context.Context, db *engine.MongoScope, productID string) error {
	c := db.C("catalog_meta")
	var d metaDoc
	err := c.FindOneAndUpdate(ctx, metaID, bson.D{
		{Key: "$inc", Value: bson.D{{Key: "stock_seq", Value: 1}}},
		{Key: "$push", Value: bson.D{{Key: "stock_log", Value: productID}}},
		{Key: "$set", Value: bson.D{{Key: "tenant_id", Value: db.TenantID()}}},
	}, options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&d)
	if err != nil {
		return fmt.Errorf("log stock of product %s: %w", productID, err)
	}
	if len(d.StockLog) > 2*stockLogKeep {
		_, err = c.UpdateOne(ctx, append(metaID[:1:1], bson.E{Key: "stock_seq", Value: d.StockSeq}),
			bson.D{{Key: "$set", Value: bson.D{{Key: "stock_log", Value: d.StockLog[len(d.StockLog)-stockLogKeep:]}}}})
	}
	return fault.Wrap(err, "trim stock log")
}

// FerretDB 1.24 does not implement projections in findAndModify, so the
// updates below return whole documents; and its $pull matches whole array
// elements only, so holds are pulled as the exact {k, q} pair.

// holdTarget is the collection holding the stock of a product or SKU.
func holdTarget(productID, skuID string) (string, bson.D) {
	if skuID != "" {
		return "skus", bson.D{{Key: "_id", Value: skuID}, {Key: "product_id", Value: productID}}
	}
	return "products", bson.D{{Key: "_id", Value: productID}}
}

func (s *mongoStore) Hold(ctx context.Context, tenantID, key, productID, skuID string, qty int64) (int64, error) {
	coll, target := holdTarget(productID, skuID)
	c := s.e.Mongo(tenantID).C(coll)
	// One document, one update: the decrement and the hold marker together.
	filter := append(target[:len(target):len(target)],
		bson.E{Key: "stock", Value: bson.D{{Key: "$gte", Value: qty}}},
		bson.E{Key: "holds.k", Value: bson.D{{Key: "$ne", Value: key}}})
	var after struct {
		Stock int64 `bson:"stock"`
	}
	err := c.FindOneAndUpdate(ctx, filter, bson.D{
		{Key: "$inc", Value: bson.D{{Key: "stock", Value: -qty}}},
		{Key: "$push", Value: bson.D{{Key: "holds", Value: bson.D{{Key: "k", Value: key}, {Key: "q", Value: qty}}}}},
	}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&after)
	if err == nil {
		if shownChange(after.Stock+qty, after.Stock) {
			// Held already: a failure here fails the order, which releases it.
			if err := s.logStock(ctx, s.e.Mongo(tenantID), productID); err != nil {
				return 0, err
			}
		}
		return after.Stock, nil
	}
	if !engine.IsNoDocuments(err) {
		return 0, err
	}
	n, err := c.CountDocuments(ctx, append(target[:len(target):len(target)], bson.E{Key: "holds.k", Value: key}))
	if err != nil {
		return 0, err
	}
	if n > 0 {
		return -1, nil // held before: a replay
	}
	return 0, ErrOutOfStock
}

// heldQty reads the units held for key; found is false without a hold.
func heldQty(ctx context.Context, c *engine.Collection, withKey bson.D, key string) (qty int64, found bool, err error) {
	var doc struct {
		Holds []struct {
			K string `bson:"k"`
			Q int64  `bson:"q"`
		} `bson:"holds"`
	}
	err = c.FindOne(ctx, withKey, options.FindOne().SetProjection(bson.D{{Key: "holds", Value: 1}})).Decode(&doc)
	if engine.IsNoDocuments(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	for _, h := range doc.Holds {
		if h.K == key {
			return h.Q, true, nil
		}
	}
	return 0, false, nil
}

func pullHold(key string, qty int64) bson.D {
	return bson.D{{Key: "$pull", Value: bson.D{{Key: "holds", Value: bson.D{{Key: "k", Value: key}, {Key: "q", Value: qty}}}}}}
}

func (s *mongoStore) Release(ctx context.Context, tenantID, key, productID, skuID string) (bool, bool, error) {
	coll, target := holdTarget(productID, skuID)
	c := s.e.Mongo(tenantID).C(coll)
	withKey := append(target[:len(target):len(target)], bson.E{Key: "holds.k", Value: key})
	qty, found, err := heldQty(ctx, c, withKey, key)
	if err != nil || !found {
		return false, false, err
	}
	// The filter on the key makes the increment happen once, however many
	// releases race.
	var after struct {
		Stock int64 `bson:"stock"`
	}
	err = c.FindOneAndUpdate(ctx, withKey, append(bson.D{
		{Key: "$inc", Value: bson.D{{Key: "stock", Value: qty}}},
	}, pullHold(key, qty)...), options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&after)
	if engine.IsNoDocuments(err) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	if !shownChange(after.Stock-qty, after.Stock) {
		return true, false, nil
	}
	return true, true, s.logStock(ctx, s.e.Mongo(tenantID), productID)
}

func (s *mongoStore) Restock(ctx context.Context, tenantID, key, productID, skuID string, qty int64) (bool, error) {
	coll, target := holdTarget(productID, skuID)
	c := s.e.Mongo(tenantID).C(coll)
	// One document, one update: the increment and the key it was done for,
	// so however many restocks of one key race, one adds the units.
	notYet := append(target[:len(target):len(target)], bson.E{Key: "restocks", Value: bson.D{{Key: "$ne", Value: key}}})
	var after struct {
		Stock int64 `bson:"stock"`
	}
	err := c.FindOneAndUpdate(ctx, notYet, bson.D{
		{Key: "$inc", Value: bson.D{{Key: "stock", Value: qty}}},
		{Key: "$push", Value: bson.D{{Key: "restocks", Value: key}}},
	}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&after)
	if engine.IsNoDocuments(err) {
		return false, nil // restocked before, or the product is gone
	}
	if err != nil || !shownChange(after.Stock-qty, after.Stock) {
		return false, err
	}
	return true, s.logStock(ctx, s.e.Mongo(tenantID), productID)
}

func (s *mongoStore) Commit(ctx context.Context, tenantID, key, productID, skuID string, qty int64) error {
	coll, target := holdTarget(productID, skuID)
	c := s.e.Mongo(tenantID).C(coll)
	withKey := append(target[:len(target):len(target)], bson.E{Key: "holds.k", Value: key})
	// One update when the hold is of qty units, as the caller says it is.
	res, err := c.UpdateOne(ctx, withKey, pullHold(key, qty))
	if err != nil || res.MatchedCount == 0 || res.ModifiedCount > 0 {
		return err // committed, or nothing held for key
	}
	// Held for another quantity: pull what is held.
	qty, found, err := heldQty(ctx, c, withKey, key)
	if err != nil || !found {
		return err
	}
	_, err = c.UpdateOne(ctx, withKey, pullHold(key, qty))
	return err
}
