package catalog

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type mongoStore struct{ e *engine.Engine }

type productDoc struct {
	ID          string    `bson:"_id"`
	Title       string    `bson:"title"`
	Description string    `bson:"description"`
	Price       int64     `bson:"price"`
	Stock       int64     `bson:"stock"`
	Images      []string  `bson:"images"`
	Category    string    `bson:"category"`
	Status      string    `bson:"status"`
	Rev         int64     `bson:"rev"`
	CreatedAt   time.Time `bson:"created_at"`
	UpdatedAt   time.Time `bson:"updated_at"`
}

type skuDoc struct {
	ID        string `bson:"_id"`
	ProductID string `bson:"product_id"`
	Name      string `bson:"name"`
	Price     int64  `bson:"price"`
	Stock     int64  `bson:"stock"`
	Position  int    `bson:"position"`
}

func toDoc(p *Product) productDoc {
	return productDoc{ID: p.ID, Title: p.Title, Description: p.Description, Price: p.Price, Stock: p.stockToStore(),
		Images: p.Images, Category: p.Category, Status: p.Status, Rev: p.Rev, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func (d productDoc) product() Product {
	imgs := d.Images
	if imgs == nil {
		imgs = []string{}
	}
	return Product{ID: d.ID, Title: d.Title, Description: d.Description, Price: d.Price, Stock: d.Stock,
		Images: imgs, Category: d.Category, Status: d.Status, Rev: d.Rev, SKUs: []SKU{},
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), rowStock: d.Stock}
}

func (s *mongoStore) Create(ctx context.Context, tenantID string, p *Product) error {
	db := s.e.Mongo(tenantID)
	// SKUs first, product last: a crash leaves at worst orphan SKUs.
	if err := s.writeSKUs(ctx, db, p.ID, nil, p.SKUs); err != nil {
		return err
	}
	if err := db.C("products").InsertOne(ctx, toDoc(p)); err != nil {
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
		return Product{}, err
	}
	p := d.product()
	skus, err := s.skus(ctx, db, bson.D{{Key: "product_id", Value: id}})
	if err != nil {
		return Product{}, err
	}
	if k := skus[id]; k != nil {
		p.SKUs = k
	}
	p.derive()
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
			{Key: "price", Value: p.Price}, {Key: "images", Value: p.Images},
			{Key: "category", Value: p.Category}, {Key: "status", Value: p.Status},
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
	return s.touch(ctx, db)
}

// writeSKUs makes the stored SKUs of a product equal to next, read earlier
// as old; stock changes are written as differences (see Store.Update).
func (s *mongoStore) writeSKUs(ctx context.Context, db *engine.MongoScope, productID string, old, next []SKU) error {
	before := map[string]SKU{}
	for _, k := range old {
		before[k.ID] = k
	}
	keep := map[string]bool{}
	for i, k := range next {
		keep[k.ID] = true
		was, ok := before[k.ID]
		if !ok {
			err := db.C("skus").InsertOne(ctx, skuDoc{ID: k.ID, ProductID: productID, Name: k.Name, Price: k.Price, Stock: k.Stock, Position: i})
			if err != nil {
				return fmt.Errorf("write sku: %w", err)
			}
			continue
		}
		delta := k.Stock - was.Stock
		filter := bson.D{{Key: "_id", Value: k.ID}}
		if delta < 0 {
			filter = append(filter, bson.E{Key: "stock", Value: bson.D{{Key: "$gte", Value: -delta}}})
		}
		res, err := db.C("skus").UpdateOne(ctx, filter, bson.D{
			{Key: "$set", Value: bson.D{{Key: "name", Value: k.Name}, {Key: "price", Value: k.Price}, {Key: "position", Value: i}}},
			{Key: "$inc", Value: bson.D{{Key: "stock", Value: delta}}},
		})
		if err != nil {
			return fmt.Errorf("write sku: %w", err)
		}
		if res.MatchedCount == 0 {
			return fault.Conflict("stock of %q changed while you edited it (orders took some); reload and try again", k.Name)
		}
	}
	for _, k := range old {
		if !keep[k.ID] {
			if _, err := db.C("skus").DeleteOne(ctx, bson.D{{Key: "_id", Value: k.ID}}); err != nil {
				return fmt.Errorf("delete sku: %w", err)
			}
		}
	}
	return nil
}

func (s *mongoStore) Delete(ctx context.Context, tenantID, id string) error {
	db := s.e.Mongo(tenantID)
	res, err := db.C("products").DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return err
	}
	if res.DeletedCount == 0 {
		return fault.NotFound("product")
	}
	if _, err := db.C("skus").DeleteMany(ctx, bson.D{{Key: "product_id", Value: id}}); err != nil {
		return err
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
		filter = append(filter, bson.E{Key: "title", Value: bson.D{
			{Key: "$regex", Value: regexp.QuoteMeta(f.Query)}, {Key: "$options", Value: "i"}}})
	}
	total, err := db.C("products").CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, err
	}
	cur, err := db.C("products").Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).SetSkip(int64(f.Offset)).SetLimit(int64(f.Limit)))
	if err != nil {
		return nil, 0, err
	}
	var docs []productDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, 0, err
	}
	products, err := s.attach(ctx, db, docs)
	return products, total, err
}

func (s *mongoStore) OnSale(ctx context.Context, tenantID string) ([]Product, error) {
	db := s.e.Mongo(tenantID)
	cur, err := db.C("products").Find(ctx, bson.D{{Key: "status", Value: OnSale}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}))
	if err != nil {
		return nil, err
	}
	var docs []productDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	return s.attach(ctx, db, docs)
}

// attach converts documents to products with their SKUs (one more query).
func (s *mongoStore) attach(ctx context.Context, db *engine.MongoScope, docs []productDoc) ([]Product, error) {
	products := make([]Product, len(docs))
	ids := make([]string, len(docs))
	for i, d := range docs {
		products[i] = d.product()
		ids[i] = d.ID
	}
	if len(ids) == 0 {
		return products, nil
	}
	skus, err := s.skus(ctx, db, bson.D{{Key: "product_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return nil, err
	}
	for i := range products {
		if k := skus[products[i].ID]; k != nil {
			products[i].SKUs = k
			products[i].derive()
		}
	}
	return products, nil
}

func (s *mongoStore) skus(ctx context.Context, db *engine.MongoScope, filter bson.D) (map[string][]SKU, error) {
	cur, err := db.C("skus").Find(ctx, filter,
		options.Find().SetSort(bson.D{{Key: "product_id", Value: 1}, {Key: "position", Value: 1}}))
	if err != nil {
		return nil, err
	}
	var docs []skuDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := map[string][]SKU{}
	for _, d := range docs {
		out[d.ProductID] = append(out[d.ProductID], SKU{ID: d.ID, Name: d.Name, Price: d.Price, Stock: d.Stock})
	}
	return out, nil
}

func (s *mongoStore) touch(ctx context.Context, db *engine.MongoScope) error {
	// A fresh random stamp, not a counter: FerretDB can lose concurrent $inc,
	// but any write leaves a stamp different from what readers saw before.
	_, err := db.C("catalog_meta").UpdateOne(ctx, bson.D{{Key: "_id", Value: "catalog"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "stamp", Value: engine.NewID()}, {Key: "tenant_id", Value: db.TenantID()}}}},
		options.UpdateOne().SetUpsert(true))
	return err
}

func (s *mongoStore) Stamp(ctx context.Context, tenantID string) (string, error) {
	var d struct {
		Stamp string `bson:"stamp"`
	}
	err := s.e.Mongo(tenantID).C("catalog_meta").FindOne(ctx, bson.D{{Key: "_id", Value: "catalog"}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return "", nil
	}
	return d.Stamp, err
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
	return true, after.Stock == qty, nil
}

func (s *mongoStore) Commit(ctx context.Context, tenantID, key, productID, skuID string) error {
	coll, target := holdTarget(productID, skuID)
	c := s.e.Mongo(tenantID).C(coll)
	withKey := append(target[:len(target):len(target)], bson.E{Key: "holds.k", Value: key})
	qty, found, err := heldQty(ctx, c, withKey, key)
	if err != nil || !found {
		return err
	}
	_, err = c.UpdateOne(ctx, withKey, pullHold(key, qty))
	return err
}
