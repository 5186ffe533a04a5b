package engine

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/fault"
)

// Placement on MongoDB: where each shop's data lives. A shop is either in
// a database of its own (<prefix>_t_<id>, as every shop was before pools)
// or in a pooled database (<prefix>_p_<pool><n>) shared by many small
// shops, its records told apart by tenant_id (every index starts with it,
// every _id is qualified: placement_ids.go). The tenant directory, the
// platform collection "placements", says which: {_id: tenant id, db,
// pooled, state}. A shop without an entry has its own database (shops
// made before placement, or with placement mode "own").
//
// New shops are pooled when SetPlacement says so; a pooled shop is moved to
// a database of its own by MoveToOwn (placement_move.go). The directory is
// read through a cache of PlacementTTL; a move waits that long after
// freezing a shop, so no replica writes to the old place after the copy.

// Placement configures where new shops go on MongoDB.
type Placement struct {
	// Pooled places new shops in a pooled database; false gives each a
	// database of its own.
	Pooled bool
	// Pool names the pooled databases: <prefix>_p_<Pool><n>, n from 1.
	Pool string
	// PerPool is how many shops one pooled database holds before the next
	// is opened (0: DefaultPerPool).
	PerPool int
}

// DefaultPool and DefaultPerPool are the pool name and size when the
// configuration names none.
const (
	DefaultPool    = "pool"
	DefaultPerPool = 5000
)

// PlacementTTL is how long a replica trusts what it read of a shop's
// directory entry. A move waits longer than this (plus MoveGrace) between
// freezing a shop and its final copy, and between switching it and
// cleaning up the old copy.
var PlacementTTL = 2 * time.Second

// MoveGrace is the time a write that saw the shop writable may still take
// to reach the database, on another replica.
var MoveGrace = time.Second

// ErrShopMoving refuses a write to a shop while it is moved to another
// database (a few seconds): nothing is written, the client tries again.
var ErrShopMoving = fault.New(http.StatusServiceUnavailable, "shop_moving",
	"this shop is moving to another database: try again in a few seconds")

// placementsColl is the tenant directory, in the platform database.
var placementsColl = Coll("placements", Index("pooled"), Index("state"), Index("requested"))

// poolsColl counts the shops of each pooled database and records the
// schema version applied to it: {_id: database name, shops, v}.
var poolsColl = Coll("pools")

// Move states of a directory entry.
const (
	stateServing  = ""         // reads and writes go to db
	stateCopying  = "copying"  // a move copies the shop while it is writable
	stateFrozen   = "frozen"   // writes are refused; the final copy runs
	stateCleaning = "cleaning" // switched to db; the old copy in from is removed
)

// placementDoc is one directory entry.
type placementDoc struct {
	TenantID  string    `bson:"_id"`
	DB        string    `bson:"db"`
	Pooled    bool      `bson:"pooled"`
	State     string    `bson:"state"`
	From      string    `bson:"from,omitempty"`       // the pooled database left (cleaning)
	Requested bool      `bson:"requested,omitempty"`  // a move to its own database was asked for
	Since     time.Time `bson:"since,omitempty"`      // when the state was entered
	MoverTill time.Time `bson:"mover_till,omitempty"` // the running move's claim
	Moved     time.Time `bson:"moved,omitempty"`      // when it last moved
}

// where is a shop's place, as cached.
type where struct {
	db     string
	pooled bool
	frozen bool
	at     time.Time
	// settled: the shop has a database of its own and no move under way,
	// where it stays (only pooled shops move): cached for good, so a shop
	// in its own database costs no directory read after its first.
	settled bool
}

// placements is the engine's placement state: configuration, the cache of
// directory entries, and the writes running per shop (so a move in this
// process knows when they are done).
type placements struct {
	mu      sync.Mutex
	cfg     Placement
	cache   map[string]where
	ensured map[string]bool // pooled databases whose schema is applied at this version
	next    int             // the pool number to try first
}

// SetPlacement sets where new shops go (MongoDB only; SQLite ignores it).
// Call it before serving requests.
func (e *Engine) SetPlacement(p Placement) {
	if p.Pool == "" {
		p.Pool = DefaultPool
	}
	if p.PerPool <= 0 {
		p.PerPool = DefaultPerPool
	}
	e.place.mu.Lock()
	e.place.cfg = p
	e.place.mu.Unlock()
}

// PlacementConfig is what SetPlacement set.
func (e *Engine) PlacementConfig() Placement {
	e.place.mu.Lock()
	defer e.place.mu.Unlock()
	return e.place.cfg
}

// where returns the shop's place, from the cache when fresh.
func (e *Engine) where(ctx context.Context, tenantID string) (where, error) {
	if !ValidID(tenantID) { // no such shop: nothing to read or write there
		return where{db: e.tenantDBName(tenantID), settled: true}, nil
	}
	now := time.Now()
	e.place.mu.Lock()
	w, ok := e.place.cache[tenantID]
	e.place.mu.Unlock()
	if ok && (w.settled || now.Sub(w.at) < PlacementTTL) {
		return w, nil
	}
	d, found, err := e.readPlacement(ctx, tenantID)
	if err != nil {
		return where{}, err
	}
	if found {
		w = where{db: d.DB, pooled: d.Pooled, frozen: d.State == stateFrozen, at: now,
			settled: !d.Pooled && d.State == stateServing}
	} else {
		// No entry: a database of its own, once provisioned (a shop being
		// placed right now has neither yet: asked again after the TTL).
		own, err := e.tenantSchemaRecorded(ctx, tenantID)
		if err != nil {
			return where{}, err
		}
		w = where{db: e.tenantDBName(tenantID), at: now, settled: own}
	}
	e.place.mu.Lock()
	if e.place.cache == nil {
		e.place.cache = map[string]where{}
	}
	e.place.cache[tenantID] = w
	e.place.mu.Unlock()
	return w, nil
}

// forget drops the shop's cached place (this process changed it).
func (e *Engine) forget(tenantID string) {
	e.place.mu.Lock()
	delete(e.place.cache, tenantID)
	e.place.mu.Unlock()
}

// readPlacement reads the shop's directory entry.
func (e *Engine) readPlacement(ctx context.Context, tenantID string) (placementDoc, bool, error) {
	var d placementDoc
	if !ValidID(tenantID) {
		return d, false, nil
	}
	err := e.PlatformMongo().Collection(placementsColl.Name).FindOne(ctx, bson.D{{Key: "_id", Value: tenantID}}).Decode(&d)
	if IsNoDocuments(err) {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("read the placement of shop %s: %w", tenantID, err)
	}
	return d, true, nil
}

// ShopPlacement is where a shop is, for operators.
type ShopPlacement struct {
	Database  string    `json:"database"`
	Pooled    bool      `json:"pooled"`
	State     string    `json:"state"` // serving, copying, frozen, cleaning
	Requested bool      `json:"move_requested"`
	Moved     time.Time `json:"moved_at,omitzero"`
}

// PlacementOf says where the shop's data is (MongoDB; SQLite: its file).
func (e *Engine) PlacementOf(ctx context.Context, tenantID string) (ShopPlacement, error) {
	if e.kind != Mongo {
		return ShopPlacement{Database: filepath.Base(e.tenantPath(tenantID)), State: "serving"}, nil
	}
	d, found, err := e.readPlacement(ctx, tenantID)
	if err != nil {
		return ShopPlacement{}, err
	}
	if !found {
		return ShopPlacement{Database: e.tenantDBName(tenantID), State: "serving"}, nil
	}
	state := d.State
	if state == stateServing {
		state = "serving"
	}
	return ShopPlacement{Database: d.DB, Pooled: d.Pooled, State: state, Requested: d.Requested, Moved: d.Moved}, nil
}

// poolDBName names the n-th pooled database.
func (e *Engine) poolDBName(pool string, n int) string {
	return e.dbPrefix + "_p_" + pool + strconv.Itoa(n)
}

// provisionPooled places a new shop in a pooled database (or finds the
// place it has) and applies the schema to that database once.
func (e *Engine) provisionPooled(ctx context.Context, tenantID string) error {
	d, found, err := e.readPlacement(ctx, tenantID)
	if err != nil {
		return err
	}
	if found {
		if d.Pooled {
			return e.ensurePool(ctx, d.DB)
		}
		return e.provisionOwn(ctx, tenantID, d.DB)
	}
	if own, err := e.hasOwnDatabase(ctx, tenantID); err != nil || own {
		// a shop that has its own database already (made before pools)
		if err != nil {
			return err
		}
		return e.provisionOwn(ctx, tenantID, e.tenantDBName(tenantID))
	}
	db, err := e.takePoolSlot(ctx)
	if err != nil {
		return err
	}
	if err := e.ensurePool(ctx, db); err != nil {
		return err
	}
	_, err = e.PlatformMongo().Collection(placementsColl.Name).InsertOne(ctx,
		placementDoc{TenantID: tenantID, DB: db, Pooled: true})
	if IsUniqueViolation(err) { // placed by a racing Provision: give the slot back
		_ = e.poolShops(ctx, db, -1)
		return nil
	}
	if err != nil {
		return fmt.Errorf("place shop %s: %w", tenantID, err)
	}
	e.forget(tenantID)
	return nil
}

// tenantSchemaRecorded reports whether the shop has a database of its own
// already (its schema version is recorded).
func (e *Engine) tenantSchemaRecorded(ctx context.Context, tenantID string) (bool, error) {
	n, err := e.PlatformMongo().Collection(tenantSchemas.Name).CountDocuments(ctx, bson.D{{Key: "_id", Value: tenantID}})
	if err != nil {
		return false, fmt.Errorf("read schema version of shop %s: %w", tenantID, err)
	}
	return n > 0, nil
}

// hasOwnDatabase reports whether the shop has a database of its own
// already: its schema version is recorded, or the database holds
// collections (a shop made before versions were recorded).
func (e *Engine) hasOwnDatabase(ctx context.Context, tenantID string) (bool, error) {
	if rec, err := e.tenantSchemaRecorded(ctx, tenantID); err != nil || rec {
		return rec, err
	}
	names, err := e.client.Database(e.tenantDBName(tenantID)).ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return false, fmt.Errorf("look for the database of shop %s: %w", tenantID, err)
	}
	return len(names) > 0, nil
}

// takePoolSlot counts one more shop in the first pooled database with room.
func (e *Engine) takePoolSlot(ctx context.Context) (string, error) {
	e.place.mu.Lock()
	cfg, n := e.place.cfg, max(e.place.next, 1)
	e.place.mu.Unlock()
	pools := e.PlatformMongo().Collection(poolsColl.Name)
	for ; ; n++ {
		db := e.poolDBName(cfg.Pool, n)
		// Upserted when new; a full pool matches nothing and the upsert's
		// insert collides with it: try the next.
		_, err := pools.UpdateOne(ctx, bson.D{{Key: "_id", Value: db}, {Key: "shops", Value: bson.D{{Key: "$lt", Value: cfg.PerPool}}}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "shops", Value: 1}}}}, options.UpdateOne().SetUpsert(true))
		if IsUniqueViolation(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("take a place in %s: %w", db, err)
		}
		e.place.mu.Lock()
		e.place.next = n
		e.place.mu.Unlock()
		return db, nil
	}
}

// poolShops adds delta to a pooled database's count of shops.
func (e *Engine) poolShops(ctx context.Context, db string, delta int) error {
	_, err := e.PlatformMongo().Collection(poolsColl.Name).UpdateOne(ctx, bson.D{{Key: "_id", Value: db}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "shops", Value: delta}}}})
	if err == nil && delta < 0 {
		e.place.mu.Lock()
		e.place.next = 1 // a pool has room again
		e.place.mu.Unlock()
	}
	return err
}

// pooledIndex is what a pooled database adds to every declared
// collection: {tenant_id, _id}, which reads one shop's documents in order
// (a move, a whole-shop read) and is the shard key (see
// docs/ARCHITECTURE.md).
var pooledIndex = MongoIndex{Keys: bson.D{{Key: "_id", Value: 1}}}

// ensurePool applies the tenant schemas to a pooled database, once per
// schema version (recorded in its pools entry).
func (e *Engine) ensurePool(ctx context.Context, db string) error {
	e.place.mu.Lock()
	done := e.place.ensured[db]
	e.place.mu.Unlock()
	if done {
		return nil
	}
	v := mongoSchemaVersion(e.schemas) ^ 1 // pooled databases have one more index per collection
	pools := e.PlatformMongo().Collection(poolsColl.Name)
	n, err := pools.CountDocuments(ctx, bson.D{{Key: "_id", Value: db}, {Key: "v", Value: v}})
	if err != nil {
		return fmt.Errorf("read schema version of %s: %w", db, err)
	}
	if n == 0 {
		if err := e.ensureSchemas(ctx, db, true); err != nil {
			return err
		}
		if _, err := pools.UpdateOne(ctx, bson.D{{Key: "_id", Value: db}}, bson.D{{Key: "$set", Value: bson.D{{Key: "v", Value: v}}}},
			options.UpdateOne().SetUpsert(true)); err != nil {
			return fmt.Errorf("record schema version of %s: %w", db, err)
		}
	}
	e.place.mu.Lock()
	if e.place.ensured == nil {
		e.place.ensured = map[string]bool{}
	}
	e.place.ensured[db] = true
	e.place.mu.Unlock()
	return nil
}

// ensureSchemas creates every declared index in database db (tenant_id
// first), and in a pooled one {tenant_id, _id} on every collection.
func (e *Engine) ensureSchemas(ctx context.Context, db string, pooled bool) error {
	d := e.client.Database(db)
	for _, s := range e.schemas {
		for _, c := range s.Mongo {
			idx := c.Indexes
			if pooled {
				idx = append([]MongoIndex{pooledIndex}, idx...)
			}
			if err := ensureMongoIndexes(ctx, d.Collection(c.Name), idx); err != nil {
				return fmt.Errorf("schema %s in %s: %w", s.Name, db, err)
			}
		}
	}
	return nil
}

// provisionPlaced applies the schema where the shop's placement record
// says it lives (its pool, or a database of its own); a shop without a
// record has the database named after it.
func (e *Engine) provisionPlaced(ctx context.Context, tenantID string) error {
	d, found, err := e.readPlacement(ctx, tenantID)
	switch {
	case err != nil:
		return err
	case found && d.Pooled:
		return e.ensurePool(ctx, d.DB)
	case found:
		return e.provisionOwn(ctx, tenantID, d.DB)
	}
	return e.provisionOwn(ctx, tenantID, e.tenantDBName(tenantID))
}

// provisionOwn applies the schema to a shop's own database and records it.
func (e *Engine) provisionOwn(ctx context.Context, tenantID, db string) error {
	if err := e.ensureSchemas(ctx, db, false); err != nil {
		return fmt.Errorf("tenant %s: %w", tenantID, err)
	}
	return e.recordMongoSchema(ctx, tenantID)
}

// PooledIndexes returns the indexes of collection as a pooled database has
// them (the index checker's view), tenant_id first.
func PooledIndexes(declared []MongoIndex) []MongoIndex {
	return append([]MongoIndex{pooledIndex}, declared...)
}

// IsPooledDB reports whether name is one of the engine's pooled databases.
func (e *Engine) IsPooledDB(name string) bool {
	p := e.dbPrefix + "_p_"
	return len(name) > len(p) && name[:len(p)] == p
}

// moves tracks the writes running per shop in this process, and the shops
// this process froze: a write takes a slot, a freeze waits until none is
// taken.
type moves struct {
	mu      sync.Mutex
	running map[string]int
	frozen  map[string]bool
}

// begin takes a write slot for the shop, or refuses when it is frozen here.
func (m *moves) begin(tenantID string) (func(), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.frozen[tenantID] {
		return nil, ErrShopMoving
	}
	if m.running == nil {
		m.running = map[string]int{}
	}
	m.running[tenantID]++
	return func() {
		m.mu.Lock()
		if m.running[tenantID]--; m.running[tenantID] <= 0 {
			delete(m.running, tenantID)
		}
		m.mu.Unlock()
	}, nil
}

// freeze refuses the shop's writes in this process and waits for those
// running (at most until ctx ends).
func (m *moves) freeze(ctx context.Context, tenantID string) error {
	m.mu.Lock()
	if m.frozen == nil {
		m.frozen = map[string]bool{}
	}
	m.frozen[tenantID] = true
	m.mu.Unlock()
	for {
		m.mu.Lock()
		n := m.running[tenantID]
		m.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// thaw lets the shop's writes through again in this process.
func (m *moves) thaw(tenantID string) {
	m.mu.Lock()
	delete(m.frozen, tenantID)
	m.mu.Unlock()
}
