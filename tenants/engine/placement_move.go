package engine

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/fault"
)

// Moving a pooled shop to a database of its own, while every other shop
// of the pool keeps working and the shop itself is read-only for the final
// copy only:
//
//  1. copying: the shop's documents are copied from the pool to
//     <prefix>_t_<id> (its schema applied first) while it is writable;
//  2. frozen: its writes are refused (ErrShopMoving, a 503 "try again"),
//     in this process at once and on other replicas within PlacementTTL;
//     after that and MoveGrace, a second pass copies what changed and
//     removes what was deleted, and the documents of every collection are
//     counted on both sides (verify);
//  3. switch: the directory entry names the new database, writes resume
//     there (state cleaning);
//  4. cleaning: after PlacementTTL and MoveGrace again (a replica may still
//     read the pool until then), the shop's documents leave the pool.
//
// A move that stops anywhere is resumed by the next MoveToOwn (the
// placement job runs every minute): a freeze without a switch is undone
// first, so the shop is never read-only longer than one move's final copy.

// MoveReport says what one move did.
type MoveReport struct {
	From        string `json:"from"`
	To          string `json:"to"`
	Collections int    `json:"collections"`
	Documents   int64  `json:"documents"`
	// Frozen is how long the shop's writes were refused.
	Frozen time.Duration `json:"frozen_ms"`
	Moved  bool          `json:"moved"`
}

// moveClaim is how long a move's claim on the shop's entry lasts before
// another may take over (a crashed mover's shop is then unfrozen by the
// next attempt); a running move renews it at each step.
const moveClaim = time.Minute

// RequestMove asks for the pooled shop to be moved to a database of its
// own; the placement job (or MoveToOwn) does it.
func (e *Engine) RequestMove(ctx context.Context, tenantID string) (ShopPlacement, error) {
	if e.kind != Mongo {
		return ShopPlacement{}, fault.Conflict("only shops on MongoDB are placed in pooled databases")
	}
	d, found, err := e.readPlacement(ctx, tenantID)
	if err != nil {
		return ShopPlacement{}, err
	}
	if !found || !d.Pooled {
		return ShopPlacement{}, fault.Conflict("this shop has a database of its own already")
	}
	if _, err := e.placements().UpdateOne(ctx, bson.D{{Key: "_id", Value: tenantID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "requested", Value: true}}}}); err != nil {
		return ShopPlacement{}, fmt.Errorf("request the move of shop %s: %w", tenantID, err)
	}
	return e.PlacementOf(ctx, tenantID)
}

// PendingMoves lists the shops whose move was requested or stopped half
// way.
func (e *Engine) PendingMoves(ctx context.Context) ([]string, error) {
	if e.kind != Mongo {
		return nil, nil
	}
	var ids []string
	for _, f := range []bson.D{{{Key: "requested", Value: true}},
		{{Key: "state", Value: bson.D{{Key: "$in", Value: bson.A{stateCopying, stateFrozen, stateCleaning}}}}}} {
		found, err := MongoIDs(ctx, e.placements(), f, nil)
		if err != nil {
			return nil, fmt.Errorf("list pending moves: %w", err)
		}
		for _, id := range found {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

func (e *Engine) placements() *mongo.Collection {
	return e.PlatformMongo().Collection(placementsColl.Name)
}

// setPlacement sets fields of the shop's entry.
func (e *Engine) setPlacement(ctx context.Context, tenantID string, set bson.D, unset ...string) error {
	set = append(slices.Clip(set), bson.E{Key: "mover_till", Value: time.Now().UTC().Add(moveClaim)})
	update := bson.D{{Key: "$set", Value: set}}
	if len(unset) > 0 {
		u := bson.D{}
		for _, k := range unset {
			u = append(u, bson.E{Key: k, Value: ""})
		}
		update = append(update, bson.E{Key: "$unset", Value: u})
	}
	_, err := e.placements().UpdateOne(ctx, bson.D{{Key: "_id", Value: tenantID}}, update)
	e.forget(tenantID)
	if err != nil {
		return fmt.Errorf("update the placement of shop %s: %w", tenantID, err)
	}
	return nil
}

// MoveToOwn moves a pooled shop to a database of its own (see above), or
// finishes a move that stopped. A shop not pooled and not moving is left
// alone (Moved false).
func (e *Engine) MoveToOwn(ctx context.Context, tenantID string) (rep MoveReport, err error) {
	if e.kind != Mongo {
		return rep, nil
	}
	d, found, err := e.readPlacement(ctx, tenantID)
	if err != nil || !found || (!d.Pooled && d.State == stateServing) {
		return rep, err
	}
	// Claim the entry: one mover at a time, a crashed one's claim expires.
	now := time.Now().UTC()
	res, err := e.placements().UpdateOne(ctx, bson.D{{Key: "_id", Value: tenantID}, {Key: "$or", Value: bson.A{
		bson.D{{Key: "mover_till", Value: bson.D{{Key: "$exists", Value: false}}}},
		bson.D{{Key: "mover_till", Value: bson.D{{Key: "$lt", Value: now}}}}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "mover_till", Value: now.Add(moveClaim)}}}})
	if err != nil {
		return rep, fmt.Errorf("claim the move of shop %s: %w", tenantID, err)
	}
	if res.MatchedCount == 0 {
		return rep, fault.Conflict("this shop is being moved already")
	}
	defer func() {
		_, uerr := e.placements().UpdateOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: tenantID}},
			bson.D{{Key: "$unset", Value: bson.D{{Key: "mover_till", Value: ""}}}})
		if err == nil && uerr != nil {
			err = fmt.Errorf("release the move of shop %s: %w", tenantID, uerr)
		}
	}()
	if d.State == stateCleaning {
		rep = MoveReport{From: d.From, To: d.DB, Moved: true}
		return rep, e.cleanPool(ctx, tenantID, d.From)
	}
	own := e.tenantDBName(tenantID)
	rep = MoveReport{From: d.DB, To: own}
	pool, dest := e.client.Database(d.DB), e.client.Database(own)
	colls, err := e.shopCollections(ctx, pool)
	if err != nil {
		return rep, err
	}
	rep.Collections = len(colls)
	if err := e.ensureSchemas(ctx, own, false); err != nil {
		return rep, err
	}
	// 1. Copy while the shop is writable.
	if err := e.setPlacement(ctx, tenantID, bson.D{{Key: "state", Value: stateCopying}, {Key: "since", Value: now}}); err != nil {
		return rep, err
	}
	for _, c := range colls {
		if _, err := syncShop(ctx, pool.Collection(c), dest.Collection(c), tenantID); err != nil {
			return rep, e.unfreeze(ctx, tenantID, err)
		}
		if err := e.setPlacement(ctx, tenantID, bson.D{}); err != nil { // renew the claim
			return rep, e.unfreeze(ctx, tenantID, err)
		}
	}
	// 2. Freeze, wait for every replica to see it, copy what changed, verify.
	frozeAt := time.Now()
	if err := e.moves.freeze(ctx, tenantID); err != nil {
		return rep, e.unfreeze(ctx, tenantID, err)
	}
	if err := e.setPlacement(ctx, tenantID, bson.D{{Key: "state", Value: stateFrozen}, {Key: "since", Value: frozeAt.UTC()}}); err != nil {
		return rep, e.unfreeze(ctx, tenantID, err)
	}
	if err := sleep(ctx, PlacementTTL+MoveGrace); err != nil {
		return rep, e.unfreeze(ctx, tenantID, err)
	}
	for _, c := range colls {
		n, err := syncShop(ctx, pool.Collection(c), dest.Collection(c), tenantID)
		if err != nil {
			return rep, e.unfreeze(ctx, tenantID, err)
		}
		rep.Documents += n
	}
	if err := verifyCounts(ctx, pool, dest, colls, tenantID); err != nil {
		return rep, e.unfreeze(ctx, tenantID, err)
	}
	// 3. Switch.
	if err := e.recordMongoSchema(ctx, tenantID); err != nil {
		return rep, e.unfreeze(ctx, tenantID, err)
	}
	if err := e.setPlacement(ctx, tenantID, bson.D{{Key: "db", Value: own}, {Key: "pooled", Value: false},
		{Key: "state", Value: stateCleaning}, {Key: "from", Value: d.DB}, {Key: "moved", Value: time.Now().UTC()},
		{Key: "since", Value: time.Now().UTC()}}, "requested"); err != nil {
		return rep, e.unfreeze(ctx, tenantID, err)
	}
	e.moves.thaw(tenantID)
	rep.Frozen = time.Since(frozeAt)
	rep.Moved = true
	// 4. Clean up once no replica reads the pool for this shop.
	if err := sleep(ctx, PlacementTTL+MoveGrace); err != nil {
		return rep, err
	}
	return rep, e.cleanPool(ctx, tenantID, d.DB)
}

// unfreeze undoes a freeze after a move failed before the switch: the shop
// serves from the pool again (its copy in the new database is synced again
// by the next attempt). It returns cause.
func (e *Engine) unfreeze(ctx context.Context, tenantID string, cause error) error {
	err := e.setPlacement(context.WithoutCancel(ctx), tenantID, bson.D{{Key: "state", Value: stateServing}}, "since")
	e.moves.thaw(tenantID)
	if err != nil {
		return fmt.Errorf("%w (and serving it from the pool again failed: %v)", cause, err)
	}
	return fmt.Errorf("move shop %s: %w", tenantID, cause)
}

// cleanPool removes the moved shop's documents from the pool it left.
func (e *Engine) cleanPool(ctx context.Context, tenantID, from string) error {
	pool := e.client.Database(from)
	colls, err := e.shopCollections(ctx, pool)
	if err != nil {
		return err
	}
	for _, c := range colls {
		if _, err := pool.Collection(c).DeleteMany(ctx, bson.D{{Key: "tenant_id", Value: tenantID}}); err != nil {
			return fmt.Errorf("remove shop %s from %s.%s: %w", tenantID, from, c, err)
		}
	}
	if err := e.poolShops(ctx, from, -1); err != nil {
		return fmt.Errorf("count shop %s out of %s: %w", tenantID, from, err)
	}
	return e.setPlacement(ctx, tenantID, bson.D{{Key: "state", Value: stateServing}}, "from", "since")
}

// shopCollections lists the collections a shop may have documents in: the
// declared ones and any other the database holds.
func (e *Engine) shopCollections(ctx context.Context, db *mongo.Database) ([]string, error) {
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("list the collections of %s: %w", db.Name(), err)
	}
	for _, s := range e.schemas {
		for _, c := range s.Mongo {
			if !slices.Contains(names, c.Name) {
				names = append(names, c.Name)
			}
		}
	}
	slices.Sort(names)
	return slices.DeleteFunc(names, func(n string) bool { return len(n) > 7 && n[:7] == "system." }), nil
}

// syncShop makes the shop's documents in to (a database of its own: plain
// _ids) what they are in from (a pooled database: qualified _ids):
// missing or changed ones written, extra ones deleted. It returns how many
// documents the shop has there.
func syncShop(ctx context.Context, from, to *mongo.Collection, tenantID string) (int64, error) {
	byID := bson.D{{Key: "_id", Value: 1}}
	src, err := readShop(ctx, from, tenantID, byID)
	if err != nil {
		return 0, err
	}
	dst, err := readShop(ctx, to, tenantID, byID)
	if err != nil {
		return 0, err
	}
	var models []mongo.WriteModel
	for k, doc := range src {
		if old, ok := dst[k]; ok && bytes.Equal(old, doc) {
			continue
		}
		models = append(models, mongo.NewReplaceOneModel().SetFilter(bson.D{{Key: "_id", Value: doc.Lookup("_id")}}).
			SetReplacement(doc).SetUpsert(true))
	}
	for k, doc := range dst {
		if _, ok := src[k]; !ok {
			models = append(models, mongo.NewDeleteOneModel().SetFilter(bson.D{{Key: "_id", Value: doc.Lookup("_id")}}))
		}
	}
	for len(models) > 0 {
		batch := models[:min(len(models), 500)]
		models = models[len(batch):]
		if _, err := to.BulkWrite(ctx, batch, options.BulkWrite().SetOrdered(false)); err != nil {
			return 0, fmt.Errorf("copy %s: %w", to.Name(), err)
		}
	}
	return int64(len(src)), nil
}

// readShop reads every document of the shop in c, by its unqualified _id
// (raw type and value).
func readShop(ctx context.Context, c *mongo.Collection, tenantID string, sort bson.D) (map[string]bson.Raw, error) {
	cur, err := c.Find(ctx, bson.D{{Key: "tenant_id", Value: tenantID}}, options.Find().SetSort(sort))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.Name(), err)
	}
	defer cur.Close(ctx)
	out := map[string]bson.Raw{}
	for cur.Next(ctx) {
		doc := unqualifyDoc(cur.Current, tenantID)
		id := doc.Lookup("_id")
		out[string(rune(id.Type))+string(id.Value)] = doc
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", c.Name(), err)
	}
	return out, nil
}

// verifyCounts compares the shop's documents per collection on both sides.
func verifyCounts(ctx context.Context, from, to *mongo.Database, colls []string, tenantID string) error {
	f := bson.D{{Key: "tenant_id", Value: tenantID}}
	for _, c := range colls {
		a, err := from.Collection(c).CountDocuments(ctx, f)
		if err != nil {
			return fmt.Errorf("count %s.%s: %w", from.Name(), c, err)
		}
		b, err := to.Collection(c).CountDocuments(ctx, f)
		if err != nil {
			return fmt.Errorf("count %s.%s: %w", to.Name(), c, err)
		}
		if a != b {
			return fmt.Errorf("verify %s: %d documents in %s, %d in %s", c, a, from.Name(), b, to.Name())
		}
	}
	return nil
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
