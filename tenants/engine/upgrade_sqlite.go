package engine

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// A tenant file's schema: the version fingerprint its header carries, the
// migration that brings a file to it, the pass that upgrades many shops'
// files, and new files copied from an empty one at this version.

// schemaVersion is a fingerprint of every tenant schema's SQLite
// statements, kept in each file's user_version once they are applied: a
// file whose user_version matches is up to date and is opened without
// running a statement; any change to a schema file changes it.
func schemaVersion(schemas []Schema) int32 {
	h := fnv.New32a()
	for _, s := range schemas {
		io.WriteString(h, s.Name)
		for _, stmt := range s.SQLite {
			h.Write([]byte{0})
			io.WriteString(h, stmt)
		}
		h.Write([]byte{1})
	}
	v := int32(h.Sum32() & 0x7fffffff)
	if v == 0 {
		v = 1
	}
	return v
}

// migrate applies every schema statement to db in one transaction and
// records the schema version, unless the file has it already.
func (e *Engine) migrate(db *sql.DB, tenantID string) error {
	ctx := context.Background()
	var have int32
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have); err != nil {
		return fmt.Errorf("schema version of tenant %s: %w", tenantID, err)
	}
	if have == e.schemaVersion {
		return nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("schema for tenant %s: %w", tenantID, err)
	}
	defer tx.Rollback()
	for _, s := range e.schemas {
		for _, stmt := range s.SQLite {
			if err := execSchema(ctx, tx, stmt); err != nil {
				return fmt.Errorf("schema %s for tenant %s: %w", s.Name, tenantID, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", e.schemaVersion)); err != nil {
		return fmt.Errorf("schema version of tenant %s: %w", tenantID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("schema for tenant %s: %w", tenantID, err)
	}
	return nil
}

// fileSchemaVersion reads the user_version a closed tenant file's header
// holds (bytes 60-63, big-endian), without opening it with SQLite: a pass
// over every shop finds the outdated ones by reading 64 bytes of each.
// A version still in the WAL reads as older, which costs one needless open.
func fileSchemaVersion(path string) (int32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var hdr [64]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(hdr[60:])), nil
}

// Upgrade brings the schemas of the given shops up to date, at most
// workers at a time, and says how many it had to change. On SQLite a
// shop whose file already carries this schema version is not opened; an
// outdated one is opened (which migrates it) and left to the LRU bound.
// On MongoDB each shop's applied version is recorded in the platform
// database (tenant_schemas), so only outdated shops' indexes are ensured.
// Start-up need not call it: a SQLite file is migrated when it is opened.
func (e *Engine) Upgrade(ctx context.Context, tenantIDs []string, workers int) (int, error) {
	if e.kind == Mongo {
		return e.upgradeMongo(ctx, tenantIDs, workers)
	}
	var todo []string
	for _, id := range tenantIDs {
		if !ValidID(id) {
			continue
		}
		v, err := fileSchemaVersion(e.tenantPath(id))
		if errors.Is(err, os.ErrNotExist) {
			continue // never provisioned (a sign-up that failed): a request cannot open it either
		}
		if err != nil || v != e.schemaVersion {
			todo = append(todo, id)
		}
	}
	return len(todo), forEach(ctx, todo, workers, func(id string) error {
		tf, err := e.acquire(id, false)
		if err != nil {
			return fmt.Errorf("upgrade shop %s: %w", id, err)
		}
		e.release(tf)
		return nil
	})
}

// forEach runs fn over ids, workers at a time, and returns the first error.
func forEach(ctx context.Context, ids []string, workers int, fn func(string) error) error {
	workers = max(workers, 1)
	var (
		mu    sync.Mutex
		first error
		next  int
		wg    sync.WaitGroup
	)
	for range min(workers, len(ids)) {
		wg.Go(func() {
			for {
				mu.Lock()
				if first != nil || next == len(ids) || ctx.Err() != nil {
					if first == nil {
						first = ctx.Err()
					}
					mu.Unlock()
					return
				}
				id := ids[next]
				next++
				mu.Unlock()
				if err := fn(id); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return first
}

// UpgradeInBackground runs Upgrade (SQLite) in a goroutine the engine's
// Close stops, and reports how many shops it migrated to done. Files are
// migrated when opened anyway: this only spares the first visitor of an
// outdated shop the wait.
func (e *Engine) UpgradeInBackground(tenantIDs []string, workers int, done func(n int, err error)) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-e.stopJanitor:
		case <-ctx.Done():
		}
		cancel()
	}()
	go func() {
		defer cancel()
		n, err := e.Upgrade(ctx, tenantIDs, workers)
		if errors.Is(err, context.Canceled) || errors.Is(err, errEngineClosed) {
			err = nil
		}
		done(n, err)
	}()
}

// createFromTemplate makes a new shop's file by copying an empty file at
// this schema version (built once per engine, kept in memory: some 160
// KB), instead of running every schema statement again: provisioning is
// then a file write. created is false when the file exists already (the
// caller opens it, which migrates it if needed).
func (e *Engine) createFromTemplate(tenantID string) (created bool, err error) {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return false, errEngineClosed
	}
	path := e.tenantPath(tenantID)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	tpl, err := e.emptyFile()
	if err != nil {
		return false, err
	}
	f, err := os.CreateTemp(e.dir, ".t_"+tenantID+"-*.new")
	if err != nil {
		return false, fmt.Errorf("create tenant %s database: %w", tenantID, err)
	}
	tmp := f.Name()
	_, err = f.Write(tpl)
	if err == nil {
		err = f.Sync() // the file is whole before it has its name
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return false, fmt.Errorf("create tenant %s database: %w", tenantID, err)
	}
	return true, nil
}

// emptyFile is the bytes of an empty tenant file with every schema
// applied, made once: a file in a temporary directory, migrated,
// checkpointed and closed.
func (e *Engine) emptyFile() ([]byte, error) {
	e.templateMu.Lock()
	defer e.templateMu.Unlock()
	if e.template != nil {
		return e.template, nil
	}
	dir, err := os.MkdirTemp(e.dir, ".template-")
	if err != nil {
		return nil, fmt.Errorf("tenant template: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "t.db")
	db, err := openTenantDB(path)
	if err != nil {
		return nil, err
	}
	err = e.migrate(db, "template")
	if err == nil {
		_, err = db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("tenant template: %w", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tenant template: %w", err)
	}
	e.template = b
	return b, nil
}

// Reapply runs a shop's schema statements again whatever its file's
// version says, so the backfills schema files carry run again: an
// operator's repair, and how tests stand for a shop from before a
// statement was added. On MongoDB it is Provision.
func (e *Engine) Reapply(ctx context.Context, tenantID string) error {
	if e.kind != SQLite {
		return e.Provision(ctx, tenantID)
	}
	tf, err := e.acquire(tenantID, false)
	if err != nil {
		return err
	}
	defer e.release(tf)
	if _, err := tf.db.ExecContext(ctx, "PRAGMA user_version = 0"); err != nil {
		return fmt.Errorf("reapply the schema of %s: %w", tenantID, err)
	}
	return e.migrate(tf.db, tenantID)
}
