package engine

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// MongoScope is the tenant-scoped accessor to one tenant's MongoDB data,
// wherever the tenant directory places it (placement.go): a database of its
// own, or a pooled database shared with other shops. Its collections add
// {tenant_id: <tenant>} in front of every filter and set tenant_id on every
// inserted document; in a pooled database they also qualify every string
// _id with the shop (placement_ids.go), so keys such as "settings" never collide
// between shops, and give the domain its own _id back on every read.
type MongoScope struct {
	tenantID string
	e        *Engine
}

// TenantID is the tenant this scope reads and writes.
func (m *MongoScope) TenantID() string { return m.tenantID }

// C returns the named collection, tenant-scoped.
func (m *MongoScope) C(name string) *Collection {
	return &Collection{name: name, tenantID: m.tenantID, e: m.e}
}

// Collection is a tenant-scoped MongoDB collection. Where its documents are
// is looked up (cached a moment) at each operation, so a shop moved to
// another database is followed without a restart.
type Collection struct {
	name     string
	tenantID string
	e        *Engine
}

// target is where one operation goes: the collection and whether its
// database is pooled (ids qualified).
type target struct {
	c      *mongo.Collection
	pooled bool
	tenant string
}

// read finds where the shop's documents are for a read.
func (c *Collection) read(ctx context.Context) (target, error) {
	p, err := c.e.where(ctx, c.tenantID)
	if err != nil {
		return target{}, err
	}
	return target{c: c.e.client.Database(p.db).Collection(c.name), pooled: p.pooled, tenant: c.tenantID}, nil
}

// write finds where the shop's documents are for a write, refusing it
// (ErrShopMoving) while the shop is being moved; done must be called when
// the write has returned.
func (c *Collection) write(ctx context.Context) (t target, done func(err error), err error) {
	p, err := c.e.where(ctx, c.tenantID)
	if err != nil {
		return target{}, nil, err
	}
	if p.frozen {
		return target{}, nil, ErrShopMoving
	}
	release, err := c.e.moves.begin(c.tenantID)
	if err != nil {
		return target{}, nil, err
	}
	t = target{c: c.e.client.Database(p.db).Collection(c.name), pooled: p.pooled, tenant: c.tenantID}
	return t, func(err error) {
		release()
		c.wrote(err)
	}, nil
}

// wrote tells the engine's write hook (OnWrite) the shop was written,
// when err says the write went through.
func (c *Collection) wrote(err error) {
	if err == nil && c.e != nil {
		c.e.wrote(c.tenantID)
	}
}

// filter is f within the tenant: tenant_id first (a tenant_id f carries is
// dropped), and in a pooled database its _id conditions qualified.
func (t target) filter(f bson.D) bson.D {
	out := make(bson.D, 0, len(f)+1)
	out = append(out, bson.E{Key: "tenant_id", Value: t.tenant})
	for _, e := range f {
		if e.Key != "tenant_id" {
			out = append(out, e)
		}
	}
	if t.pooled {
		out = qualifyFilter(out, t.tenant)
	}
	return out
}

// doc marshals v into a document carrying this tenant's tenant_id (and, in
// a pooled database, its qualified _id).
func (t target) doc(v any) (bson.D, error) {
	raw, err := bson.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal document: %w", err)
	}
	var d bson.D
	if err := bson.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("unmarshal document: %w", err)
	}
	out := make(bson.D, 0, len(d)+1)
	out = append(out, bson.E{Key: "tenant_id", Value: t.tenant})
	for _, e := range d {
		switch {
		case e.Key == "tenant_id":
		case e.Key == "_id" && t.pooled:
			out = append(out, bson.E{Key: "_id", Value: qualifyValue(e.Value, t.tenant)})
		default:
			out = append(out, e)
		}
	}
	return out, nil
}

// errTenantUpdate refuses an update that would set another shop's
// tenant_id: a record never changes shop.
var errTenantUpdate = errors.New("an update may not set another shop's tenant_id")

// checkUpdate refuses updates that set tenant_id to another shop's.
func (c *Collection) checkUpdate(update any) error {
	d, ok := update.(bson.D)
	if !ok {
		return nil
	}
	for _, op := range d {
		fields, ok := op.Value.(bson.D)
		if !ok {
			continue
		}
		for _, f := range fields {
			if f.Key == "tenant_id" && f.Value != c.tenantID {
				return errTenantUpdate
			}
		}
	}
	return nil
}

// FindOne finds one document matching f within the tenant.
func (c *Collection) FindOne(ctx context.Context, f bson.D, opts ...options.Lister[options.FindOneOptions]) *mongo.SingleResult {
	t, err := c.read(ctx)
	if err != nil {
		return mongo.NewSingleResultFromDocument(bson.D{}, err, nil)
	}
	return t.single(t.c.FindOne(ctx, t.filter(f), opts...))
}

// Find finds the documents matching f within the tenant.
func (c *Collection) Find(ctx context.Context, f bson.D, opts ...options.Lister[options.FindOptions]) (*mongo.Cursor, error) {
	t, err := c.read(ctx)
	if err != nil {
		return nil, err
	}
	return t.cursor(ctx)(t.c.Find(ctx, t.filter(f), opts...))
}

// CountDocuments counts the documents matching f within the tenant.
func (c *Collection) CountDocuments(ctx context.Context, f bson.D) (int64, error) {
	t, err := c.read(ctx)
	if err != nil {
		return 0, err
	}
	return t.c.CountDocuments(ctx, t.filter(f))
}

// InsertOne inserts v with the tenant's tenant_id.
func (c *Collection) InsertOne(ctx context.Context, v any) error {
	t, done, err := c.write(ctx)
	if err != nil {
		return err
	}
	d, err := t.doc(v)
	if err == nil {
		_, err = t.c.InsertOne(ctx, d)
	}
	done(err)
	return err
}

// InsertMany inserts vs, each with the tenant's tenant_id, unordered.
func (c *Collection) InsertMany(ctx context.Context, vs []any) error {
	t, done, err := c.write(ctx)
	if err != nil {
		return err
	}
	docs := make([]any, len(vs))
	for i, v := range vs {
		d, err := t.doc(v)
		if err != nil {
			done(err)
			return err
		}
		docs[i] = d
	}
	_, err = t.c.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	done(err)
	return err
}

// UpdateOne updates the first document matching f within the tenant. An
// upsert inserts the filter's equalities, tenant_id among them.
func (c *Collection) UpdateOne(ctx context.Context, f bson.D, update any, opts ...options.Lister[options.UpdateOneOptions]) (*mongo.UpdateResult, error) {
	if err := c.checkUpdate(update); err != nil {
		return nil, err
	}
	t, done, err := c.write(ctx)
	if err != nil {
		return nil, err
	}
	res, err := t.c.UpdateOne(ctx, t.filter(f), update, opts...)
	done(err)
	return t.updated(res), err
}

// UpdateMany updates every document matching f within the tenant.
func (c *Collection) UpdateMany(ctx context.Context, f bson.D, update any) (*mongo.UpdateResult, error) {
	if err := c.checkUpdate(update); err != nil {
		return nil, err
	}
	t, done, err := c.write(ctx)
	if err != nil {
		return nil, err
	}
	res, err := t.c.UpdateMany(ctx, t.filter(f), update)
	done(err)
	return t.updated(res), err
}

// DeleteOne deletes the first document matching f within the tenant.
func (c *Collection) DeleteOne(ctx context.Context, f bson.D) (*mongo.DeleteResult, error) {
	t, done, err := c.write(ctx)
	if err != nil {
		return nil, err
	}
	res, err := t.c.DeleteOne(ctx, t.filter(f))
	done(err)
	return res, err
}

// DeleteMany deletes every document matching f within the tenant.
func (c *Collection) DeleteMany(ctx context.Context, f bson.D) (*mongo.DeleteResult, error) {
	t, done, err := c.write(ctx)
	if err != nil {
		return nil, err
	}
	res, err := t.c.DeleteMany(ctx, t.filter(f))
	done(err)
	return res, err
}

// FindOneAndUpdate atomically updates and returns one document within the tenant.
func (c *Collection) FindOneAndUpdate(ctx context.Context, f bson.D, update any, opts ...options.Lister[options.FindOneAndUpdateOptions]) *mongo.SingleResult {
	if err := c.checkUpdate(update); err != nil {
		return mongo.NewSingleResultFromDocument(bson.D{}, err, nil)
	}
	t, done, err := c.write(ctx)
	if err != nil {
		return mongo.NewSingleResultFromDocument(bson.D{}, err, nil)
	}
	res := t.single(t.c.FindOneAndUpdate(ctx, t.filter(f), update, opts...))
	done(res.Err())
	return res
}

// stagesLeavingTenant are aggregation stages that read or write outside
// the collection's documents of the shop: refused.
var stagesLeavingTenant = map[string]bool{"$lookup": true, "$graphLookup": true, "$unionWith": true,
	"$out": true, "$merge": true, "$collStats": true, "$indexStats": true, "$currentOp": true}

// Aggregate runs pipeline after a leading $match on the tenant.
func (c *Collection) Aggregate(ctx context.Context, pipeline mongo.Pipeline) (*mongo.Cursor, error) {
	t, err := c.read(ctx)
	if err != nil {
		return nil, err
	}
	p := make(mongo.Pipeline, 0, len(pipeline)+1)
	p = append(p, bson.D{{Key: "$match", Value: t.filter(nil)}})
	ids := true // the documents still carry their stored _id
	for _, stage := range pipeline {
		if len(stage) != 1 {
			return nil, fmt.Errorf("aggregate on %s: a stage must have one operator", c.name)
		}
		op := stage[0].Key
		if stagesLeavingTenant[op] {
			return nil, fmt.Errorf("aggregate on %s: %s leaves the shop's documents", c.name, op)
		}
		if op == "$match" && ids && t.pooled {
			if m, ok := stage[0].Value.(bson.D); ok {
				stage = bson.D{{Key: "$match", Value: qualifyFilter(m, t.tenant)}}
			}
		}
		switch op {
		case "$group", "$project", "$replaceRoot", "$replaceWith", "$set", "$addFields", "$unset", "$bucket", "$bucketAuto", "$sortByCount", "$facet", "$count":
			ids = false
		}
		p = append(p, stage)
	}
	return t.cursor(ctx)(t.c.Aggregate(ctx, p))
}

// updated is res (an upsert's new _id given back unqualified).
func (t target) updated(res *mongo.UpdateResult) *mongo.UpdateResult {
	if res != nil && t.pooled {
		res.UpsertedID = unqualifyValue(res.UpsertedID, t.tenant)
	}
	return res
}

// single gives a found document back with the domain's own _id.
func (t target) single(res *mongo.SingleResult) *mongo.SingleResult {
	if !t.pooled || res.Err() != nil {
		return res
	}
	raw, err := res.Raw()
	if err != nil {
		return res
	}
	return mongo.NewSingleResultFromDocument(unqualifyDoc(raw, t.tenant), nil, nil)
}

// cursor gives back a cursor whose documents carry the domain's own _id:
// in a pooled database the documents are read through and re-served.
func (t target) cursor(ctx context.Context) func(cur *mongo.Cursor, err error) (*mongo.Cursor, error) {
	return func(cur *mongo.Cursor, err error) (*mongo.Cursor, error) {
		if err != nil || !t.pooled {
			return cur, err
		}
		defer cur.Close(ctx)
		var docs []any
		for cur.Next(ctx) {
			docs = append(docs, unqualifyDoc(cur.Current, t.tenant))
		}
		if err := cur.Err(); err != nil {
			return nil, err
		}
		return mongo.NewCursorFromDocuments(docs, nil, nil)
	}
}
