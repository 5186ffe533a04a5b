package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"microshop/tenants/engine"
)

// poolEngine opens a SQLite engine with the notes schema, at most open
// shops open at once, and shops provisioned shops.
func poolEngine(t *testing.T, open, shops int) (*engine.Engine, string, []string) {
	t.Helper()
	dir := t.TempDir()
	e, err := engine.OpenSQLite(dir, engine.Platform{}, notes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	e.SetOpenShops(open)
	ids := make([]string, shops)
	for i := range ids {
		ids[i] = engine.NewID()
		if err := e.Provision(context.Background(), ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	return e, dir, ids
}

// waitOpen waits until at most n shops are open (closes finish in the
// background).
func waitOpen(t *testing.T, e *engine.Engine, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.OpenShops() > n {
		if time.Now().After(deadline) {
			t.Fatalf("%d shops open, want at most %d", e.OpenShops(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Many goroutines read and write 50 shops through a pool of 4 open files:
// files close and reopen under them all the time, yet no call fails
// ("database is closed", a closed statement) and no write is lost.
func TestPoolClosesAndReopensUnderConcurrentRequests(t *testing.T) {
	const open, shops, workers, perWorker = 4, 50, 24, 60
	e, _, ids := poolEngine(t, open, shops)
	ctx := context.Background()
	var written [shops]atomic.Int64
	var failures atomic.Int64
	var firstErr sync.Once
	fail := func(err error) {
		failures.Add(1)
		firstErr.Do(func() { t.Errorf("call failed: %v", err) })
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range perWorker {
				s := r.IntN(shops)
				sc, err := e.SQL(ids[s])
				if err != nil {
					fail(err)
					continue
				}
				switch i % 3 {
				case 0: // a write, through the file's writer
					if _, err := sc.Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`,
						fmt.Sprintf("w%02d-%03d", w, i), "x"); err != nil {
						fail(err)
						continue
					}
					written[s].Add(1)
				case 1: // rows read slowly: the file must outlive them
					rows, err := sc.Query(ctx, `SELECT id FROM notes WHERE tenant_id = ?`)
					if err != nil {
						fail(err)
						continue
					}
					for rows.Next() {
						time.Sleep(50 * time.Microsecond)
					}
					if err := rows.Err(); err != nil {
						fail(err)
					}
					rows.Close()
				default: // a row scanned a moment after the query
					row := sc.QueryRow(ctx, `SELECT count(*) FROM notes WHERE tenant_id = ?`)
					time.Sleep(100 * time.Microsecond)
					var n int
					if err := row.Scan(&n); err != nil {
						fail(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d calls failed", failures.Load())
	}
	waitOpen(t, e, open)
	for s, id := range ids {
		sc, err := e.SQL(id)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := sc.QueryRow(ctx, `SELECT count(*) FROM notes WHERE tenant_id = ?`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != written[s].Load() {
			t.Errorf("shop %d has %d notes, %d were written", s, n, written[s].Load())
		}
	}
}

// A shop closed by the pool leaves one file (no WAL), keeps its data and
// its schema, and is not migrated again when reopened.
func TestClosedShopKeepsDataAndSchema(t *testing.T) {
	e, dir, ids := poolEngine(t, 1, 2)
	ctx := context.Background()
	a, b := ids[0], ids[1]
	sc, err := e.SQL(a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, "n1", "kept"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.SQL(b); err != nil { // a is now the least recently used, beyond the bound of 1
		t.Fatal(err)
	}
	waitOpen(t, e, 1)
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(filepath.Join(dir, "t_"+a+".db"+suffix)); !os.IsNotExist(err) {
			t.Errorf("closed shop left its %s file: %v", suffix, err)
		}
	}
	// The schema version is in the file's header, so an upgrade pass
	// finds nothing to do.
	if n, err := e.Upgrade(ctx, ids, 2); err != nil || n != 0 {
		t.Errorf("Upgrade of up-to-date shops = %d, %v; want 0", n, err)
	}
	// Reopened through the same old scope: the data and the unique key are there.
	var body string
	if err := sc.QueryRow(ctx, `SELECT body FROM notes WHERE tenant_id = ? AND id = ?`, "n1").Scan(&body); err != nil || body != "kept" {
		t.Fatalf("after reopening: %q, %v", body, err)
	}
	if _, err := sc.Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, "n1", "again"); !engine.IsUniqueViolation(err) {
		t.Fatalf("duplicate after reopening: %v, want a unique violation", err)
	}
}

// A file made before a schema change is migrated when opened, and an
// upgrade pass finds exactly the outdated files.
func TestUpgradeFindsOutdatedShops(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	e, err := engine.OpenSQLite(dir, engine.Platform{}, notes)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{engine.NewID(), engine.NewID(), engine.NewID()}
	for _, id := range ids {
		if err := e.Provision(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	v2 := notes
	v2.SQLite = append(append([]string{}, notes.SQLite...), `ALTER TABLE notes ADD COLUMN colour TEXT NOT NULL DEFAULT ''`)
	e, err = engine.OpenSQLite(dir, engine.Platform{}, v2)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	sc, err := e.SQL(ids[0]) // opened by a request: migrated now
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Exec(ctx, `INSERT INTO notes (tenant_id, id, body, colour) VALUES (?, ?, ?, ?)`, "n", "b", "red"); err != nil {
		t.Fatalf("new column missing after open: %v", err)
	}
	e.SetOpenShops(1)
	if _, err := e.SQL(ids[1]); err != nil { // closes ids[0], checkpointing its version into the header
		t.Fatal(err)
	}
	waitOpen(t, e, 1)
	n, err := e.Upgrade(ctx, append(ids, engine.NewID(), "../bad"), 2)
	if err != nil || n != 2 { // ids[1] (open, its header still old) and ids[2]; not ids[0], nor the unknown ones
		t.Fatalf("Upgrade = %d, %v; want 2", n, err)
	}
	for _, id := range ids {
		sc, _ := e.SQL(id)
		if _, err := sc.Exec(ctx, `INSERT INTO notes (tenant_id, id, body, colour) VALUES (?, ?, ?, ?)`, "m", "b", "blue"); err != nil {
			t.Errorf("shop %s not migrated: %v", id, err)
		}
	}
}

// Close with files open and closing ends cleanly; a scope kept after it
// fails instead of reopening a file.
func TestPoolCloseWhileClosing(t *testing.T) {
	dir := t.TempDir()
	e, err := engine.OpenSQLite(dir, engine.Platform{}, notes)
	if err != nil {
		t.Fatal(err)
	}
	e.SetOpenShops(2)
	var ids []string
	for range 10 {
		id := engine.NewID()
		if err := e.Provision(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	sc, _ := e.SQL(ids[0])
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Exec(context.Background(), `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, "x", "y"); err == nil ||
		!strings.Contains(err.Error(), "closed") {
		t.Fatalf("write after Close: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "t_*-wal"))
	if len(left) > 0 {
		t.Errorf("WAL files left after Close: %v", left)
	}
}

// A shop file starts with small pages (an empty shop is small on disk)
// and is rebuilt with 4 KiB pages once it has grown, keeping its data.
func TestGrownShopGetsLargerPages(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	e, err := engine.OpenSQLite(dir, engine.Platform{}, notes)
	if err != nil {
		t.Fatal(err)
	}
	id := engine.NewID()
	if err := e.Provision(ctx, id); err != nil {
		t.Fatal(err)
	}
	pageSize := func() int {
		t.Helper()
		sc, err := e.SQL(id)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := sc.QueryRow(ctx, `SELECT count(*) FROM notes WHERE tenant_id = ?`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		var size int
		b, err := os.ReadFile(filepath.Join(dir, "t_"+id+".db"))
		if err != nil || len(b) < 18 {
			t.Fatalf("read header: %v", err)
		}
		size = int(b[16])<<8 | int(b[17])
		return size
	}
	if got := pageSize(); got != 512 {
		t.Fatalf("new shop's page size %d, want 512", got)
	}
	sc, _ := e.SQL(id)
	body := strings.Repeat("x", 600)
	if err := sc.Tx(ctx, func(tx *engine.SQLTx) error {
		for i := range 3000 {
			if _, err := tx.Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, fmt.Sprintf("n%05d", i), body); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e, err = engine.OpenSQLite(dir, engine.Platform{}, notes)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := pageSize(); got != 4096 {
		t.Fatalf("grown shop's page size %d, want 4096", got)
	}
	if n := countNotes(t, mustSQL(t, e, id), ""); n != 3000 {
		t.Fatalf("%d notes after growing, want 3000", n)
	}
	if _, err := mustSQL(t, e, id).Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, "after", "grown"); err != nil {
		t.Fatalf("write after growing: %v", err)
	}
}

func mustSQL(t *testing.T, e *engine.Engine, id string) *engine.SQLScope {
	t.Helper()
	sc, err := e.SQL(id)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}
