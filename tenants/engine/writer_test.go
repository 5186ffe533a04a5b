package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// writerScope hands the test a fresh tenant's scope on a SQLite file.
func writerScope(t *testing.T) (*engine.Engine, *engine.SQLScope) {
	t.Helper()
	e := openSQLite(t, notes)
	sc, err := e.SQL(enginetest.Tenant(t, e))
	if err != nil {
		t.Fatal(err)
	}
	return e, sc
}

func countNotes(t *testing.T, sc *engine.SQLScope, where string, args ...any) int {
	t.Helper()
	var n int
	if err := sc.QueryRow(context.Background(), `SELECT count(*) FROM notes WHERE tenant_id = ?`+where, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Writers share commits (group commit); each keeps its own outcome: a
// failing transaction leaves nothing behind and takes nobody else's work
// with it, whichever batch it lands in.
func TestGroupCommitKeepsEachOutcome(t *testing.T) {
	_, sc := writerScope(t)
	ctx := context.Background()
	errPlanned := errors.New("planned failure")
	const writers = 300
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			errs[i] = sc.Tx(ctx, func(tx *engine.SQLTx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, fmt.Sprintf("a%03d", i), "first"); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, fmt.Sprintf("b%03d", i), "second"); err != nil {
					return err
				}
				switch i % 3 {
				case 1:
					return errPlanned // both rows must go
				case 2:
					// A constraint error from SQLite itself, after a write.
					_, err := tx.Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, fmt.Sprintf("a%03d", i), "dup")
					return err
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		var want string
		switch i % 3 {
		case 0:
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
			want = "2"
		case 1:
			if !errors.Is(err, errPlanned) {
				t.Errorf("writer %d: %v, want its own error", i, err)
			}
			want = "0"
		case 2:
			if err == nil || !strings.Contains(err.Error(), "UNIQUE") {
				t.Errorf("writer %d: %v, want its unique violation", i, err)
			}
			want = "0"
		}
		if got := fmt.Sprint(countNotes(t, sc, ` AND id IN (?, ?)`, fmt.Sprintf("a%03d", i), fmt.Sprintf("b%03d", i))); got != want {
			t.Errorf("writer %d left %s rows, want %s", i, got, want)
		}
	}
	if n := countNotes(t, sc, ""); n != 2*(writers/3) {
		t.Fatalf("%d rows, want %d", n, 2*(writers/3))
	}
}

// Many goroutines incrementing one row through Exec: not one update lost.
func TestGroupCommitCounter(t *testing.T) {
	_, sc := writerScope(t)
	ctx := context.Background()
	if _, err := sc.Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, "counter", "0"); err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 50, 40
	var wg sync.WaitGroup
	var failed sync.Map
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				res, err := sc.Exec(ctx, `UPDATE notes SET body = CAST(body AS INTEGER) + 1 WHERE tenant_id = ? AND id = ?`, "counter")
				if err != nil {
					failed.Store(g, err)
					return
				}
				if n, _ := res.RowsAffected(); n != 1 {
					failed.Store(g, fmt.Errorf("%d rows affected", n))
					return
				}
			}
		})
	}
	wg.Wait()
	failed.Range(func(k, v any) bool { t.Errorf("goroutine %v: %v", k, v); return true })
	var body string
	if err := sc.QueryRow(ctx, `SELECT body FROM notes WHERE tenant_id = ? AND id = ?`, "counter").Scan(&body); err != nil {
		t.Fatal(err)
	}
	if body != fmt.Sprint(goroutines*each) {
		t.Fatalf("counter = %s, want %d", body, goroutines*each)
	}
}

// A caller whose context has ended writes nothing; one whose context ends
// while its batch runs does not undo the others' work.
func TestGroupCommitCancelledCaller(t *testing.T) {
	_, sc := writerScope(t)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sc.Exec(done, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, "gone", "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Exec with a cancelled context: %v", err)
	}
	if n := countNotes(t, sc, ` AND id = ?`, "gone"); n != 0 {
		t.Fatalf("a cancelled caller wrote %d rows", n)
	}

	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			c, cancel := context.WithCancel(ctx)
			defer cancel()
			err := sc.Tx(c, func(tx *engine.SQLTx) error {
				if i%2 == 1 {
					cancel() // ends mid-transaction: its statements still run to their end
				}
				_, err := tx.Exec(c, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, fmt.Sprintf("c%03d", i), "x")
				return err
			})
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if n := countNotes(t, sc, ` AND id LIKE ?`, "c%"); n != 100 {
		t.Fatalf("%d rows, want 100", n)
	}
}

// After the engine closes, writes are refused rather than reopening files.
func TestGroupCommitAfterClose(t *testing.T) {
	e, sc := writerScope(t)
	ctx := context.Background()
	if _, err := sc.Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, "before", "x"); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, "after", "x"); err == nil {
		t.Fatal("write after Close succeeded")
	}
}

// A transaction that panics fails alone: its caller sees the panic, its
// writes are undone, and the file keeps taking writes.
func TestGroupCommitPanickingCaller(t *testing.T) {
	_, sc := writerScope(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	panics := make([]any, 40)
	for i := range 40 {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			_ = sc.Tx(ctx, func(tx *engine.SQLTx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, fmt.Sprintf("p%03d", i), "x"); err != nil {
					return err
				}
				if i%4 == 0 {
					panic("boom")
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, p := range panics {
		if (i%4 == 0) != (p == "boom") {
			t.Errorf("writer %d: recovered %v", i, p)
		}
	}
	if n := countNotes(t, sc, ` AND id LIKE ?`, "p%"); n != 30 {
		t.Fatalf("%d rows, want the 30 that did not panic", n)
	}
	if _, err := sc.Exec(ctx, `INSERT INTO notes (tenant_id, id, body) VALUES (?, ?, ?)`, "after", "x"); err != nil {
		t.Fatalf("write after the panics: %v", err)
	}
}

func openSQLite(t *testing.T, schemas ...engine.Schema) *engine.Engine {
	t.Helper()
	e, err := engine.OpenSQLite(t.TempDir(), engine.Platform{}, schemas...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}
