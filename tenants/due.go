package tenants

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
)

// Due is the due index: which shops have scheduled work of which job,
// and when, so a cron pass takes the shops with work due instead of the
// list of every shop. It lives in the platform database:
//
//   - due_work (job, tenant_id, due_at): a domain that schedules something
//     (a shipped order's auto-completion) records when the job must look
//     at the shop (Schedule). An entry stays until a pass that started
//     after it fell due has finished with the shop (Done): a crash in
//     between leaves it, and the next pass runs the shop again (passes
//     are idempotent). Times are kept to the minute, rounded up, so a
//     busy shop has at most one entry per job and minute.
//   - shop_activity (tenant_id, written_at): the last write to each shop,
//     heard from the engine (engine.Engine.OnWrite, at most once a
//     throttle interval per shop and process, flushed every second). Work
//     born from a write and due within a short while (an unpaid order's
//     deadline, an interrupted placing) needs no entry of its own: a job
//     passes over the shops written within its window (Active). A shop
//     never written (opened, nothing saved in it yet) has no scheduled
//     work of any kind: jobs whose work always begins with a write pass
//     over the shops ever written (Written). Shops that existed before the
//     index count as written (backfilled once, at the first NewDue).
type Due struct {
	e   *engine.Engine
	now func() time.Time

	// flush is held by a flush from taking the batch to recording it, so
	// a flush that finds the batch taken (by the loop) returns only once
	// the shops it holds are recorded: a tick counts every write heard
	// before it.
	flush   sync.Mutex
	mu      sync.Mutex
	written map[string]time.Time // shops written since the last flush
	noted   map[string]time.Time // when each shop's activity was last recorded
	stop    chan struct{}
	done    chan struct{}
	log     func(err error)
}

// activityEvery is how often one process records a shop's activity at
// most: the window a job passes over is much longer.
const activityEvery = 30 * time.Second

// dueSQLite is the SQLite platform schema of the due index.
var dueSQLite = []string{
	`CREATE TABLE IF NOT EXISTS due_work (
		job TEXT NOT NULL,
		tenant_id TEXT NOT NULL,
		due_at TEXT NOT NULL,
		PRIMARY KEY (job, tenant_id, due_at)) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS due_work_at ON due_work (job, due_at)`,
	`CREATE TABLE IF NOT EXISTS shop_activity (
		tenant_id TEXT PRIMARY KEY,
		written_at TEXT NOT NULL) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS shop_activity_at ON shop_activity (written_at)`,
	`CREATE TABLE IF NOT EXISTS due_marks (
		name TEXT PRIMARY KEY,
		marked_at TEXT NOT NULL) WITHOUT ROWID`,
}

// dueMongo is its Mongo platform schema.
var dueMongo = []engine.MongoCollection{
	engine.Coll("due_work", engine.Index("job", "due_at"), engine.Index("job", "tenant_id", "due_at")),
	engine.Coll("shop_activity", engine.Index("written_at")),
	engine.Coll("due_marks"), // read by _id only
}

// NewDue opens the due index on e (creating its tables and indexes) and
// starts hearing the shops' writes; Close stops it. log hears a failed
// flush of activity (it is retried at the next).
func NewDue(ctx context.Context, e *engine.Engine, log func(err error)) (*Due, error) {
	if err := e.ExtendPlatform(ctx, engine.Platform{SQLite: dueSQLite, Mongo: dueMongo}); err != nil {
		return nil, fmt.Errorf("due index: %w", err)
	}
	d := &Due{e: e, now: time.Now, written: map[string]time.Time{}, noted: map[string]time.Time{},
		stop: make(chan struct{}), done: make(chan struct{}), log: log}
	if err := d.backfill(ctx); err != nil {
		return nil, err
	}
	e.OnWrite(d.heard)
	go d.flushLoop()
	return d, nil
}

// backfilledMarker is the shop_activity row saying the shops that existed
// before the index were recorded (not a shop id: ids are lowercase).
const backfilledMarker = "~backfilled"

// backfill records every shop as written, once: shops made before the
// index may hold work nothing recorded.
func (d *Due) backfill(ctx context.Context) error {
	now := d.now().UTC().Truncate(time.Millisecond)
	if db := d.e.PlatformSQL(); db != nil {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM shop_activity WHERE tenant_id = ?`, backfilledMarker).Scan(&n); err != nil || n > 0 {
			return err
		}
		if _, err := db.ExecContext(ctx, `INSERT OR IGNORE INTO shop_activity (tenant_id, written_at) SELECT id, ? FROM tenants`,
			engine.TimeText(now)); err != nil {
			return fmt.Errorf("record existing shops as written: %w", err)
		}
		_, err := db.ExecContext(ctx, `INSERT OR IGNORE INTO shop_activity (tenant_id, written_at) VALUES (?, ?)`, backfilledMarker, engine.TimeText(now))
		return err
	}
	coll := d.e.PlatformMongo().Collection("shop_activity")
	if n, err := coll.CountDocuments(ctx, bson.D{{Key: "_id", Value: backfilledMarker}}); err != nil || n > 0 {
		return err
	}
	shops, err := engine.MongoIDs(ctx, d.e.PlatformMongo().Collection("tenants"), bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: ""}}}}, nil)
	if err != nil {
		return fmt.Errorf("record existing shops as written: %w", err)
	}
	for _, id := range append(shops, backfilledMarker) {
		if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
			bson.D{{Key: "$setOnInsert", Value: bson.D{{Key: "written_at", Value: now}}}}, options.UpdateOne().SetUpsert(true)); err != nil {
			return fmt.Errorf("record existing shops as written: %w", err)
		}
	}
	return nil
}

// Written lists the shops ever written (as far as recorded: see Due).
func (d *Due) Written(ctx context.Context) ([]string, error) {
	return d.Active(ctx, time.Unix(0, 0))
}

// SetClock replaces the index's clock (tests).
func (d *Due) SetClock(now func() time.Time) { d.now = now }

// Now is the index's clock: the time writes are recorded at, and the
// time jobs take due entries at.
func (d *Due) Now() time.Time { return d.now() }

// dueMinute is t rounded up to the minute, as due entries keep it.
func dueMinute(t time.Time) time.Time {
	m := t.UTC().Truncate(time.Minute)
	if m.Before(t) {
		m = m.Add(time.Minute)
	}
	return m
}

// Schedule records that job has work in the shop at at (rounded up to the
// minute). Scheduling the same minute again is a no-op.
func (d *Due) Schedule(ctx context.Context, tenantID, job string, at time.Time) error {
	at = dueMinute(at)
	var err error
	if db := d.e.PlatformSQL(); db != nil {
		_, err = db.ExecContext(ctx, `INSERT OR IGNORE INTO due_work (job, tenant_id, due_at) VALUES (?, ?, ?)`,
			job, tenantID, engine.TimeText(at))
	} else {
		id := job + "|" + tenantID + "|" + engine.TimeText(at)
		_, err = d.e.PlatformMongo().Collection("due_work").UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
			bson.D{{Key: "$setOnInsert", Value: bson.D{{Key: "job", Value: job}, {Key: "tenant_id", Value: tenantID}, {Key: "due_at", Value: at}}}},
			options.UpdateOne().SetUpsert(true))
	}
	if err != nil {
		return fmt.Errorf("schedule %s for shop %s: %w", job, tenantID, err)
	}
	return nil
}

// maxDueEntries bounds the entries one pass reads.
const maxDueEntries = 50_000

// Shops lists the shops with an entry of job due at now or before, each
// once.
func (d *Due) Shops(ctx context.Context, job string, now time.Time) ([]string, error) {
	var ids []string
	if db := d.e.PlatformSQL(); db != nil {
		rows, err := db.QueryContext(ctx, `SELECT DISTINCT tenant_id FROM due_work WHERE job = ? AND due_at <= ? LIMIT ?`,
			job, engine.TimeText(now), maxDueEntries)
		if err != nil {
			return nil, fmt.Errorf("due shops of %s: %w", job, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, rows.Err()
	}
	cur, err := d.e.PlatformMongo().Collection("due_work").Find(ctx,
		bson.D{{Key: "job", Value: job}, {Key: "due_at", Value: bson.D{{Key: "$lte", Value: now}}}},
		options.Find().SetProjection(bson.D{{Key: "tenant_id", Value: 1}}).SetLimit(maxDueEntries))
	if err != nil {
		return nil, fmt.Errorf("due shops of %s: %w", job, err)
	}
	var docs []struct {
		TenantID string `bson:"tenant_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("due shops of %s: %w", job, err)
	}
	seen := map[string]bool{}
	for _, doc := range docs {
		if !seen[doc.TenantID] {
			seen[doc.TenantID] = true
			ids = append(ids, doc.TenantID)
		}
	}
	return ids, nil
}

// Done removes the shop's entries of job due at upTo or before: a pass
// that started at upTo has done their work. Entries due later (scheduled
// meanwhile) stay.
func (d *Due) Done(ctx context.Context, tenantID, job string, upTo time.Time) error {
	var err error
	if db := d.e.PlatformSQL(); db != nil {
		_, err = db.ExecContext(ctx, `DELETE FROM due_work WHERE job = ? AND tenant_id = ? AND due_at <= ?`,
			job, tenantID, engine.TimeText(upTo))
	} else {
		_, err = d.e.PlatformMongo().Collection("due_work").DeleteMany(ctx, bson.D{{Key: "job", Value: job},
			{Key: "tenant_id", Value: tenantID}, {Key: "due_at", Value: bson.D{{Key: "$lte", Value: upTo}}}})
	}
	if err != nil {
		return fmt.Errorf("finish %s for shop %s: %w", job, tenantID, err)
	}
	return nil
}

// Marked says whether name was marked (Mark): a one-time piece of work
// of the whole platform, such as a job's first scheduling of the shops
// that had work before it kept entries, is done.
func (d *Due) Marked(ctx context.Context, name string) (bool, error) {
	var n int64
	var err error
	if db := d.e.PlatformSQL(); db != nil {
		err = db.QueryRowContext(ctx, `SELECT count(*) FROM due_marks WHERE name = ?`, name).Scan(&n)
	} else {
		n, err = d.e.PlatformMongo().Collection("due_marks").CountDocuments(ctx, bson.D{{Key: "_id", Value: name}})
	}
	if err != nil {
		return false, fmt.Errorf("read the due mark %s: %w", name, err)
	}
	return n > 0, nil
}

// Mark records that name's one-time work is done (see Marked); marking
// again is a no-op.
func (d *Due) Mark(ctx context.Context, name string) error {
	now := d.now().UTC().Truncate(time.Millisecond)
	var err error
	if db := d.e.PlatformSQL(); db != nil {
		_, err = db.ExecContext(ctx, `INSERT OR IGNORE INTO due_marks (name, marked_at) VALUES (?, ?)`, name, engine.TimeText(now))
	} else {
		_, err = d.e.PlatformMongo().Collection("due_marks").UpdateOne(ctx, bson.D{{Key: "_id", Value: name}},
			bson.D{{Key: "$setOnInsert", Value: bson.D{{Key: "marked_at", Value: now}}}}, options.UpdateOne().SetUpsert(true))
	}
	if err != nil {
		return fmt.Errorf("record the due mark %s: %w", name, err)
	}
	return nil
}

// Active lists the shops written at since or later (as far as recorded:
// see Due).
func (d *Due) Active(ctx context.Context, since time.Time) ([]string, error) {
	var ids []string
	if db := d.e.PlatformSQL(); db != nil {
		rows, err := db.QueryContext(ctx, `SELECT tenant_id FROM shop_activity WHERE written_at >= ?`, engine.TimeText(since))
		if err != nil {
			return nil, fmt.Errorf("active shops: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			if engine.ValidID(id) {
				ids = append(ids, id)
			}
		}
		return ids, rows.Err()
	}
	found, err := engine.MongoIDs(ctx, d.e.PlatformMongo().Collection("shop_activity"),
		bson.D{{Key: "written_at", Value: bson.D{{Key: "$gte", Value: since}}}}, nil)
	if err != nil {
		return nil, fmt.Errorf("active shops: %w", err)
	}
	for _, id := range found {
		if engine.ValidID(id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// heard is the engine's write hook: it notes the shop, at most once an
// activityEvery; the flush loop records it.
func (d *Due) heard(tenantID string) {
	now := d.now()
	d.mu.Lock()
	if now.Sub(d.noted[tenantID]) >= activityEvery {
		d.noted[tenantID] = now
		d.written[tenantID] = now
		if len(d.noted) > 100_000 {
			clear(d.noted) // bounded: a shop forgotten is only recorded again sooner
		}
	}
	d.mu.Unlock()
}

// Flush records the shops written since the last flush.
func (d *Due) Flush(ctx context.Context) error {
	d.flush.Lock()
	defer d.flush.Unlock()
	d.mu.Lock()
	batch := d.written
	d.written = map[string]time.Time{}
	d.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	var err error
	for id, at := range batch {
		if db := d.e.PlatformSQL(); db != nil {
			_, err = db.ExecContext(ctx, `INSERT INTO shop_activity (tenant_id, written_at) VALUES (?, ?)
				ON CONFLICT (tenant_id) DO UPDATE SET written_at = max(written_at, excluded.written_at)`, id, engine.TimeText(at))
		} else {
			_, err = d.e.PlatformMongo().Collection("shop_activity").UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "written_at", Value: at.UTC().Truncate(time.Millisecond)}}}},
				options.UpdateOne().SetUpsert(true))
		}
		if err != nil {
			d.mu.Lock()
			for id, at := range batch { // again at the next flush
				if at.After(d.written[id]) {
					d.written[id] = at
				}
			}
			d.mu.Unlock()
			return fmt.Errorf("record shop activity: %w", err)
		}
		delete(batch, id)
	}
	return nil
}

func (d *Due) flushLoop() {
	defer close(d.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-d.e.Closed(): // closed without Close: nothing more can be recorded
			return
		case <-t.C:
			if err := d.Flush(context.Background()); err != nil && d.log != nil {
				d.log(err)
			}
		}
	}
}

// Close stops hearing writes and records what was heard last. Call it
// before the engine closes.
func (d *Due) Close(ctx context.Context) error {
	select {
	case <-d.stop:
		return nil
	default:
	}
	d.e.OnWrite(nil)
	close(d.stop)
	<-d.done
	return d.Flush(ctx)
}
