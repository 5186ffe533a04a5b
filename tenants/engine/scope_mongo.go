package engine

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// MongoScope is the tenant-scoped accessor to one tenant's MongoDB database.
// Its collections add {tenant_id: <tenant>} in front of every filter and set
// tenant_id on every inserted document.
type MongoScope struct {
	db       *mongo.Database
	tenantID string
	e        *Engine // hears the writes (OnWrite)
}

// TenantID is the tenant this scope reads and writes.
func (m *MongoScope) TenantID() string { return m.tenantID }

// C returns the named collection, tenant-scoped.
func (m *MongoScope) C(name string) *Collection {
	return &Collection{c: m.db.Collection(name), tenantID: m.tenantID, e: m.e}
}

// Collection is a tenant-scoped MongoDB collection.
type Collection struct {
	c        *mongo.Collection
	tenantID string
	e        *Engine
}

// wrote tells the engine's write hook (OnWrite) the shop was written,
// when err says the write went through.
func (c *Collection) wrote(err error) {
	if err == nil && c.e != nil {
		c.e.wrote(c.tenantID)
	}
}

func (c *Collection) filter(f bson.D) bson.D {
	out := make(bson.D, 0, len(f)+1)
	out = append(out, bson.E{Key: "tenant_id", Value: c.tenantID})
	for _, e := range f {
		if e.Key != "tenant_id" {
			out = append(out, e)
		}
	}
	return out
}

// doc marshals v into a document carrying this tenant's tenant_id.
func (c *Collection) doc(v any) (bson.D, error) {
	raw, err := bson.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal document: %w", err)
	}
	var d bson.D
	if err := bson.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("unmarshal document: %w", err)
	}
	return c.filter(d), nil
}

// FindOne finds one document matching f within the tenant.
func (c *Collection) FindOne(ctx context.Context, f bson.D, opts ...options.Lister[options.FindOneOptions]) *mongo.SingleResult {
	return c.c.FindOne(ctx, c.filter(f), opts...)
}

// Find finds the documents matching f within the tenant.
func (c *Collection) Find(ctx context.Context, f bson.D, opts ...options.Lister[options.FindOptions]) (*mongo.Cursor, error) {
	return c.c.Find(ctx, c.filter(f), opts...)
}

// CountDocuments counts the documents matching f within the tenant.
func (c *Collection) CountDocuments(ctx context.Context, f bson.D) (int64, error) {
	return c.c.CountDocuments(ctx, c.filter(f))
}

// InsertOne inserts v with the tenant's tenant_id.
func (c *Collection) InsertOne(ctx context.Context, v any) error {
	d, err := c.doc(v)
	if err != nil {
		return err
	}
	_, err = c.c.InsertOne(ctx, d)
	c.wrote(err)
	return err
}

// InsertMany inserts vs, each with the tenant's tenant_id, unordered.
func (c *Collection) InsertMany(ctx context.Context, vs []any) error {
	docs := make([]any, len(vs))
	for i, v := range vs {
		d, err := c.doc(v)
		if err != nil {
			return err
		}
		docs[i] = d
	}
	_, err := c.c.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	c.wrote(err)
	return err
}

// UpdateOne updates the first document matching f within the tenant.
func (c *Collection) UpdateOne(ctx context.Context, f bson.D, update any, opts ...options.Lister[options.UpdateOneOptions]) (*mongo.UpdateResult, error) {
	res, err := c.c.UpdateOne(ctx, c.filter(f), update, opts...)
	c.wrote(err)
	return res, err
}

// UpdateMany updates every document matching f within the tenant.
func (c *Collection) UpdateMany(ctx context.Context, f bson.D, update any) (*mongo.UpdateResult, error) {
	res, err := c.c.UpdateMany(ctx, c.filter(f), update)
	c.wrote(err)
	return res, err
}

// DeleteOne deletes the first document matching f within the tenant.
func (c *Collection) DeleteOne(ctx context.Context, f bson.D) (*mongo.DeleteResult, error) {
	res, err := c.c.DeleteOne(ctx, c.filter(f))
	c.wrote(err)
	return res, err
}

// DeleteMany deletes every document matching f within the tenant.
func (c *Collection) DeleteMany(ctx context.Context, f bson.D) (*mongo.DeleteResult, error) {
	res, err := c.c.DeleteMany(ctx, c.filter(f))
	c.wrote(err)
	return res, err
}

// FindOneAndUpdate atomically updates and returns one document within the tenant.
func (c *Collection) FindOneAndUpdate(ctx context.Context, f bson.D, update any, opts ...options.Lister[options.FindOneAndUpdateOptions]) *mongo.SingleResult {
	res := c.c.FindOneAndUpdate(ctx, c.filter(f), update, opts...)
	c.wrote(res.Err())
	return res
}

// Aggregate runs pipeline after a leading $match on the tenant.
func (c *Collection) Aggregate(ctx context.Context, pipeline mongo.Pipeline) (*mongo.Cursor, error) {
	p := append(mongo.Pipeline{{{Key: "$match", Value: bson.D{{Key: "tenant_id", Value: c.tenantID}}}}}, pipeline...)
	return c.c.Aggregate(ctx, p)
}
