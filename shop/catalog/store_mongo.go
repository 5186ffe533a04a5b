package catalog

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants"
	"microshop/tenants/fault"
)

type mongoStore struct{ e *tenants.Engine }

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
	return productDoc{ID: p.ID, Title: p.Title, Description: p.Description, Price: p.Price, Stock: p.Stock,
		Images: p.Images, Category: p.Category, Status: p.Status, Rev: p.Rev, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func (d productDoc) product() Product {
	imgs := d.Images
	if imgs == nil {
		imgs = []string{}
	}
	return Product{ID: d.ID, Title: d.Title, Description: d.Description, Price: d.Price, Stock: d.Stock,
		Images: imgs, Category: d.Category, Status: d.Status, Rev: d.Rev, SKUs: []SKU{},
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
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
	if tenants.IsNoDocuments(err) {
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

func (s *mongoStore) Update(ctx context.Context, tenantID string, p *Product) error {
	db := s.e.Mongo(tenantID)
	res, err := db.C("products").UpdateOne(ctx, bson.D{{Key: "_id", Value: p.ID}, {Key: "rev", Value: p.Rev}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "title", Value: p.Title}, {Key: "description", Value: p.Description},
			{Key: "price", Value: p.Price}, {Key: "stock", Value: p.Stock}, {Key: "images", Value: p.Images},
			{Key: "category", Value: p.Category}, {Key: "status", Value: p.Status},
			{Key: "rev", Value: p.Rev + 1}, {Key: "updated_at", Value: p.UpdatedAt},
		}}})
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
	old, err := s.skus(ctx, db, bson.D{{Key: "product_id", Value: p.ID}})
	if err != nil {
		return err
	}
	if err := s.writeSKUs(ctx, db, p.ID, old[p.ID], p.SKUs); err != nil {
		return err
	}
	return s.touch(ctx, db)
}

func (s *mongoStore) writeSKUs(ctx context.Context, db *tenants.MongoScope, productID string, old, next []SKU) error {
	keep := map[string]bool{}
	for i, k := range next {
		keep[k.ID] = true
		_, err := db.C("skus").UpdateOne(ctx, bson.D{{Key: "_id", Value: k.ID}},
			bson.D{{Key: "$set", Value: bson.D{
				{Key: "product_id", Value: productID}, {Key: "name", Value: k.Name},
				{Key: "price", Value: k.Price}, {Key: "stock", Value: k.Stock}, {Key: "position", Value: i},
				{Key: "tenant_id", Value: db.TenantID()},
			}}}, options.UpdateOne().SetUpsert(true))
		if err != nil {
			return fmt.Errorf("write sku: %w", err)
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
func (s *mongoStore) attach(ctx context.Context, db *tenants.MongoScope, docs []productDoc) ([]Product, error) {
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

func (s *mongoStore) skus(ctx context.Context, db *tenants.MongoScope, filter bson.D) (map[string][]SKU, error) {
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

func (s *mongoStore) touch(ctx context.Context, db *tenants.MongoScope) error {
	// A fresh random stamp, not a counter: FerretDB can lose concurrent $inc,
	// but any write leaves a stamp different from what readers saw before.
	_, err := db.C("catalog_meta").UpdateOne(ctx, bson.D{{Key: "_id", Value: "catalog"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "stamp", Value: tenants.NewID()}, {Key: "tenant_id", Value: db.TenantID()}}}},
		options.UpdateOne().SetUpsert(true))
	return err
}

func (s *mongoStore) Stamp(ctx context.Context, tenantID string) (string, error) {
	var d struct {
		Stamp string `bson:"stamp"`
	}
	err := s.e.Mongo(tenantID).C("catalog_meta").FindOne(ctx, bson.D{{Key: "_id", Value: "catalog"}}).Decode(&d)
	if tenants.IsNoDocuments(err) {
		return "", nil
	}
	return d.Stamp, err
}
