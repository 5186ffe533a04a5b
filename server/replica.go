package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Several replicas on one database. What every replica must agree on
// lives in the platform database: sessions (read on every request), API
// keys (revocation seen within 5 s), WeChat access tokens (the shared
// cache, one refresh at a time under a lease), the due index, leases.
// Caches of a shop's catalog and settings are each replica's, checked
// against the database every few seconds (catalog.Shelf's stamp,
// --shelf-refresh; settings within 5 s). This file adds:
//
//   - one run of each scheduled job per due time: a job's schedule is
//     aligned to the clock (every replica's tick of "@every 1m" is at the
//     same minute), its run holds the job's lease and records the due
//     time it ran for (slot) in the shared cache when it finished, so
//     another replica's tick for the same due time finds it done. A run
//     that dies before recording leaves it: another replica (or the next
//     process) runs it again (passes are idempotent).
//   - the replicas' register (platform table replicas: each process's
//     lease holder, its WeChat mode, a heartbeat): the WeChat sandbox's
//     simulators keep their state (tokens issued, fans, messages sent,
//     payments) in the process's memory, so a process in sandbox mode
//     refuses to start beside another live replica, and a replica refuses
//     to start beside a live one in sandbox mode; several replicas run
//     with --wechat=live.

// replicaBeat is how often a replica records that it is alive; a record
// older than replicaStale is a process that died.
const (
	replicaBeat  = 2 * time.Second
	replicaStale = 3 * replicaBeat
)

var replicasSQLite = []string{`CREATE TABLE IF NOT EXISTS replicas (
	id TEXT PRIMARY KEY,
	mode TEXT NOT NULL,
	host TEXT NOT NULL,
	started_at TEXT NOT NULL,
	seen_at TEXT NOT NULL) WITHOUT ROWID`,
	`ALTER TABLE replicas ADD COLUMN key_id TEXT NOT NULL DEFAULT ''`}

var replicasMongo = []engine.MongoCollection{engine.Coll("replicas")} // small: read whole, by _id

// replicaRecord is one process in the register.
type replicaRecord struct {
	ID        string    `bson:"_id"`
	Mode      string    `bson:"mode"`
	Host      string    `bson:"host"`
	StartedAt time.Time `bson:"started_at"`
	SeenAt    time.Time `bson:"seen_at"`
	// KeyID names the key the process seals secrets with (secret.Box.ID):
	// replicas must share it, or each opens only what it sealed itself.
	KeyID string `bson:"key_id"`
}

// weChatMode is the configured WeChat mode ("sandbox" by default).
func (a *app) weChatMode() string {
	if a.cfg.WeChat == "" {
		return "sandbox"
	}
	return a.cfg.WeChat
}

// errSandboxReplicas is the refusal to run the sandbox beside another
// replica; errKeyReplicas the refusal to run beside a replica sealing
// secrets with another key.
var (
	errSandboxReplicas = errors.New("the WeChat sandbox keeps its simulators' state in one process")
	errKeyReplicas     = errors.New("replicas must seal secrets with one key")
)

// keyID is the id of the key this process seals secrets with.
func (a *app) keyID() string {
	if a.wechat == nil || a.wechat.box == nil {
		return ""
	}
	return a.wechat.box.ID()
}

// clash says why this process may not run beside the live replica r
// (nil: it may).
func (a *app) clash(r replicaRecord) error {
	if a.weChatMode() == "sandbox" || r.Mode == "sandbox" {
		return fmt.Errorf("%w: another replica (%s on %s, started %s, WeChat %s) is running on this database; run one replica with the sandbox, or every replica with --wechat=live",
			errSandboxReplicas, r.ID, r.Host, r.StartedAt.Format(time.RFC3339), r.Mode)
	}
	// While the key is rotated, this process opens what r seals with a
	// previous key of its own (secret.Box.WithPrevious).
	if mine := a.keyID(); r.KeyID != "" && mine != "" && !a.wechat.box.Opens(r.KeyID) {
		return fmt.Errorf("%w: another replica (%s on %s) seals with key %s, this process with key %s; give every replica the same --secret-key (MICROSHOP_SECRET_KEY), and while rotating it the old key in --secret-key-previous (MICROSHOP_SECRET_KEY_PREVIOUS)",
			errKeyReplicas, r.ID, r.Host, r.KeyID, mine)
	}
	return nil
}

// joinReplicas registers this process among the replicas of its database
// and keeps its record fresh until ctx ends (then removes it). It refuses
// (errSandboxReplicas) when this process or a live other one runs the
// WeChat sandbox, and (errKeyReplicas) beside a live replica sealing
// secrets with another key: a record seen within replicaStale is watched
// for one heartbeat more, so a process that died a moment ago does not
// stop its successor.
func (a *app) joinReplicas(ctx context.Context) error {
	if err := a.engine.ExtendPlatform(ctx, engine.Platform{SQLite: replicasSQLite, Mongo: replicasMongo}); err != nil {
		return fmt.Errorf("replicas register: %w", err)
	}
	me := a.leaser.Holder()
	seen := map[string]time.Time{}
	for deadline := time.Now().Add(replicaStale); ; {
		others, err := a.replicas(ctx)
		if err != nil {
			return err
		}
		var waiting bool
		for _, r := range others {
			if r.ID == me || time.Since(r.SeenAt) > replicaStale {
				continue
			}
			clash := a.clash(r)
			if clash == nil {
				continue
			}
			if before, ok := seen[r.ID]; ok && r.SeenAt.After(before) {
				return clash
			}
			seen[r.ID] = r.SeenAt
			waiting = true
		}
		if !waiting || time.Now().After(deadline) {
			break
		}
		a.log.Info("another replica's record is recent: waiting for its next heartbeat", "sandbox", a.weChatMode() == "sandbox")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(replicaBeat):
		}
	}
	host, _ := os.Hostname()
	rec := replicaRecord{ID: me, Mode: a.weChatMode(), Host: host, StartedAt: time.Now().UTC().Truncate(time.Millisecond), KeyID: a.keyID()}
	if err := a.beat(ctx, rec); err != nil {
		return err
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(replicaBeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = a.leaveReplicas(dctx, me) // again, surely, when the app finishes (closeDue)
				return
			case <-stop:
				return
			case <-a.engine.Closed():
				return
			case <-t.C:
				if err := a.beat(ctx, rec); err != nil && ctx.Err() == nil {
					a.log.Warn("replicas register: heartbeat", "err", err)
				}
			}
		}
	}()
	if a.due != nil {
		var once sync.Once
		a.due.leave = func(ctx context.Context) {
			once.Do(func() { close(stop) })
			<-stopped
			if err := a.leaveReplicas(ctx, me); err != nil {
				a.log.Warn("replicas register: leave", "err", err)
			}
		}
	}
	return nil
}

// beat records rec as seen now.
func (a *app) beat(ctx context.Context, rec replicaRecord) error {
	rec.SeenAt = time.Now().UTC().Truncate(time.Millisecond)
	var err error
	if db := a.engine.PlatformSQL(); db != nil {
		_, err = db.ExecContext(ctx, `INSERT INTO replicas (id, mode, host, started_at, seen_at, key_id) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at`,
			rec.ID, rec.Mode, rec.Host, engine.TimeText(rec.StartedAt), engine.TimeText(rec.SeenAt), rec.KeyID)
	} else {
		_, err = a.engine.PlatformMongo().Collection("replicas").UpdateOne(ctx, bson.D{{Key: "_id", Value: rec.ID}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "seen_at", Value: rec.SeenAt}}},
				{Key: "$setOnInsert", Value: bson.D{{Key: "mode", Value: rec.Mode}, {Key: "host", Value: rec.Host}, {Key: "started_at", Value: rec.StartedAt},
					{Key: "key_id", Value: rec.KeyID}}}},
			options.UpdateOne().SetUpsert(true))
	}
	if err != nil {
		return fmt.Errorf("replicas register: %w", err)
	}
	return nil
}

// replicas lists the register (records of dead processes included, and
// pruned here once an hour old).
func (a *app) replicas(ctx context.Context) ([]replicaRecord, error) {
	var out []replicaRecord
	if db := a.engine.PlatformSQL(); db != nil {
		rows, err := db.QueryContext(ctx, `SELECT id, mode, host, started_at, seen_at, key_id FROM replicas`)
		if err != nil {
			return nil, fmt.Errorf("replicas register: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var r replicaRecord
			var started, seen string
			if err := rows.Scan(&r.ID, &r.Mode, &r.Host, &started, &seen, &r.KeyID); err != nil {
				return nil, err
			}
			r.StartedAt, r.SeenAt = engine.ParseTimeText(started), engine.ParseTimeText(seen)
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	} else {
		cur, err := a.engine.PlatformMongo().Collection("replicas").Find(ctx, bson.D{})
		if err != nil {
			return nil, fmt.Errorf("replicas register: %w", err)
		}
		if err := cur.All(ctx, &out); err != nil {
			return nil, fmt.Errorf("replicas register: %w", err)
		}
	}
	for _, r := range out {
		if time.Since(r.SeenAt) > time.Hour {
			_ = a.leaveReplicas(ctx, r.ID)
		}
	}
	return out, nil
}

// leaveReplicas removes a record from the register.
func (a *app) leaveReplicas(ctx context.Context, id string) error {
	var err error
	if db := a.engine.PlatformSQL(); db != nil {
		_, err = db.ExecContext(ctx, `DELETE FROM replicas WHERE id = ?`, id)
	} else {
		_, err = a.engine.PlatformMongo().Collection("replicas").DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	}
	return err
}

// aligned is a job schedule "@every d" aligned to the clock: its ticks are
// at the multiples of d (UTC), the same instants on every replica.
type aligned struct{ every time.Duration }

// Next implements cron.Schedule.
func (s aligned) Next(t time.Time) time.Time { return t.Truncate(s.every).Add(s.every) }

// jobSchedule parses a job's schedule: "@every d" aligned to the clock,
// any other spec as cron reads it (CRON_TZ=… and five fields).
func jobSchedule(spec string) (cron.Schedule, error) {
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		every, err := time.ParseDuration(d)
		if err != nil || every < time.Second {
			return nil, fmt.Errorf("bad interval %q", d)
		}
		return aligned{every}, nil
	}
	return cron.ParseStandard(spec)
}

// jobSlot is the due time a run of j at now stands for: the latest tick
// of its schedule at or before now (for a job run after another, the
// other's). ok is false for a schedule it cannot place (never: the jobs'
// schedules are parsed at start).
func jobSlot(j job, now time.Time) (time.Time, bool) {
	spec := j.every
	if j.after != "" {
		parent, err := findJob(j.after)
		if err != nil {
			return time.Time{}, false
		}
		spec = parent.every
	}
	s, err := jobSchedule(spec)
	if err != nil {
		return time.Time{}, false
	}
	if al, ok := s.(aligned); ok {
		return now.Truncate(al.every), true
	}
	var slot time.Time
	for t := s.Next(now.Add(-8 * 24 * time.Hour)); !t.IsZero() && !t.After(now); t = s.Next(t) {
		slot = t
	}
	return slot, !slot.IsZero()
}

// slotKey is the shared cache's key of the due time j last ran for.
func slotKey(j job) string { return "cron-slot:" + j.name }

// slotDone says whether a run of j for slot finished (on any replica).
func (a *app) slotDone(ctx context.Context, j job, slot time.Time) (bool, error) {
	v, _, err := a.platform().CacheGet(ctx, slotKey(j), time.Now())
	if errors.Is(err, fault.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !engine.ParseTimeText(v).Before(slot), nil
}

// finishSlot records that j ran for slot.
func (a *app) finishSlot(ctx context.Context, j job, slot time.Time) error {
	return a.platform().CachePut(ctx, slotKey(j), engine.TimeText(slot.UTC()), slot.Add(60*24*time.Hour))
}

// platform is the platform store over the app's engine.
func (a *app) platform() tenants.Store { return tenants.NewStore(a.engine) }

// onceADueTime runs fn, on the schedule, only if no replica finished the
// job for the current due time yet, and records it after fn succeeded
// (errSlotDone: it had). An operator's run (not the schedule's), and a job
// whose schedule places no due time, always run. The caller holds the
// job's lease.
func (a *app) onceADueTime(ctx context.Context, j job, fn func(ctx context.Context) error) error {
	if ctx.Value(scheduledRun{}) == nil {
		return fn(ctx)
	}
	now := time.Now()
	if a.due != nil {
		now = a.due.Now()
	}
	slot, ok := jobSlot(j, now)
	if !ok {
		return fn(ctx)
	}
	done, err := a.slotDone(ctx, j, slot)
	if err != nil {
		return err
	}
	if done {
		return errSlotDone
	}
	if err := fn(ctx); err != nil {
		return err
	}
	return a.finishSlot(context.WithoutCancel(ctx), j, slot)
}

// runTick is a job's tick on the schedule: on every replica for work on
// its own memory (everyReplica), else under the job's lease once a due
// time.
func (a *app) runTick(ctx context.Context, j job) error {
	if j.everyReplica {
		return j.tick(a, ctx)
	}
	ran, err := a.leaser.Run(ctx, "cron:"+j.name, cronLease, func(ctx context.Context) error {
		return a.onceADueTime(withScheduled(ctx), j, func(ctx context.Context) error { return j.tick(a, ctx) })
	})
	if err == nil && !ran {
		return errLeaseHeld
	}
	return err
}
