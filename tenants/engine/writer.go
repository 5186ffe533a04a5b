package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
)

// maxGroup bounds how many queued write transactions one commit carries, so
// a batch stays short and the writers after it are not kept waiting long.
const maxGroup = 128

// fileWriter runs one tenant file's write transactions with group commit.
//
// SQLite admits one writer per file, and most of a small transaction's
// cost is its commit (the WAL frames of every page it touched). Writers
// queue here instead of on SQLite's lock, where they would back off in
// busy_timeout's sleeps (1, 2, 5 … 100 ms) and leave the CPU idle. The
// first writer to find the file free leads: it takes every transaction
// queued at that moment, runs each inside its own SAVEPOINT of one SQLite
// transaction (a failing one is rolled back to its savepoint and reports
// its own error; the others are untouched), commits once, and hands the
// lead to the next writer in the queue. Each caller returns only after the
// commit that carries its work, with that commit's error if it failed:
// a transaction reported successful is durable, exactly as before.
//
// busy_timeout still covers writers outside this process (a backup, the
// sqlite3 shell).
type fileWriter struct {
	db    *sql.DB
	stmts *stmtCache
	hook  *writerHook // hears each batch's size and the queue behind it

	mu     sync.Mutex
	queue  []*writeJob
	busy   bool // a leader is running a batch
	closed bool

	conn *sql.Conn // the file's one writing connection (see begin); the leader's
}

// writerCacheKiB is the writing connection's page cache (SQLite's default
// is 2 MiB): it is the one cache no other connection's write invalidates,
// and a busy shop's indexes outgrow 2 MiB, so writes would read back the
// pages they touch. Pages are allocated as used, so a small shop's file
// costs no more than before.
const writerCacheKiB = 64 << 10

type writeJob struct {
	ctx   context.Context
	fn    func(tx *sql.Tx) error
	err   error
	panic any       // fn panicked with this: its caller panics again with it
	wake  chan bool // true: lead the next batch; false: done, err is set
}

func newFileWriter(db *sql.DB, stmts *stmtCache, hook *writerHook) *fileWriter {
	return &fileWriter{db: db, stmts: stmts, hook: hook}
}

// do runs fn in a write transaction of the file, possibly shared with other
// callers' fns (each isolated by a savepoint), and returns fn's error or the
// commit's. fn must write only through tx.
func (w *fileWriter) do(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &writeJob{ctx: ctx, fn: fn, wake: make(chan bool, 1)}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errEngineClosed
	}
	w.queue = append(w.queue, j)
	lead := !w.busy
	w.busy = true
	w.mu.Unlock()
	// A queued caller waits even if its context ends: the leader may be
	// running its fn at that moment. The leader skips a job whose context
	// has already ended, and a batch is short.
	if !lead && !<-j.wake {
		return j.result()
	}
	w.mu.Lock()
	n := min(len(w.queue), maxGroup)
	batch := append([]*writeJob(nil), w.queue[:n]...)
	w.queue = w.queue[n:]
	queued := len(w.queue)
	w.mu.Unlock()

	w.hook.batch(n, queued)
	w.run(batch)
	for _, b := range batch {
		if b != j {
			b.wake <- false
		}
	}

	w.mu.Lock()
	if len(w.queue) > 0 {
		w.queue[0].wake <- true
	} else {
		w.busy = false
		if w.closed {
			w.closeConn()
		}
	}
	w.mu.Unlock()
	return j.result()
}

// call runs the job's fn; a panic in it fails this job alone (its writes
// are undone like an error's) instead of stopping the file's writer.
func (j *writeJob) call(tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			j.panic = p
			err = fmt.Errorf("write transaction panicked: %v", p)
		}
	}()
	return j.fn(tx)
}

// result is the job's outcome for its caller, re-raising fn's panic in the
// caller's own goroutine (where the server's recoverer reports it).
func (j *writeJob) result() error {
	if j.panic != nil {
		panic(j.panic)
	}
	return j.err
}

// close refuses further writes and lets the writing connection go once
// the running batch, if any, is done.
func (w *fileWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if !w.busy {
		w.closeConn()
	}
}

func (w *fileWriter) closeConn() {
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}

// run executes batch in one transaction and sets every job's err.
func (w *fileWriter) run(batch []*writeJob) {
	// The transaction is the batch's, not any caller's: a caller's
	// cancelled context must not roll back the others' work.
	tx, err := w.begin()
	if err != nil {
		for _, j := range batch {
			j.err = err
		}
		return
	}
	if len(batch) == 1 {
		j := batch[0]
		if j.err = j.ctx.Err(); j.err == nil {
			j.err = j.call(tx)
		}
		if j.err != nil {
			_ = tx.Rollback()
			return
		}
		j.err = tx.Commit()
		return
	}
	ok := 0
	for _, j := range batch {
		if j.err = j.ctx.Err(); j.err != nil {
			continue
		}
		if err := w.exec(tx, "SAVEPOINT batch_job"); err != nil {
			w.abort(tx, batch, err)
			return
		}
		if j.err = j.call(tx); j.err != nil {
			// ROLLBACK TO keeps the savepoint open; RELEASE ends it.
			if err := w.exec(tx, "ROLLBACK TO batch_job"); err != nil {
				// SQLite rolled the whole transaction back (a full disk,
				// an I/O error): nothing in this batch was kept.
				w.abort(tx, batch, fmt.Errorf("%w (while undoing a failed write: %v)", err, j.err))
				return
			}
		} else {
			ok++
		}
		if err := w.exec(tx, "RELEASE batch_job"); err != nil {
			w.abort(tx, batch, err)
			return
		}
	}
	if ok == 0 {
		_ = tx.Rollback()
		return
	}
	if err := tx.Commit(); err != nil {
		for _, j := range batch {
			if j.err == nil {
				j.err = err
			}
		}
	}
}

// begin starts the batch's transaction on the writing connection. Every
// write goes through this one connection, so its page cache is never made
// stale by another writer and stays warm from batch to batch. Its commits
// also run SQLite's automatic WAL checkpoints, in the writer's turn: a
// checkpoint running beside the writer never finds the WAL quiet, so the
// WAL is never restarted and grows without bound (measured: 660 MB in ten
// seconds of orders).
func (w *fileWriter) begin() (*sql.Tx, error) {
	bg := context.Background()
	if w.conn == nil {
		conn, err := w.db.Conn(bg)
		if err != nil {
			return nil, err
		}
		if _, err := conn.ExecContext(bg, fmt.Sprintf("PRAGMA cache_size = -%d", writerCacheKiB)); err != nil {
			conn.Close()
			return nil, err
		}
		w.conn = conn
	}
	tx, err := w.conn.BeginTx(bg, nil)
	if err != nil && errors.Is(err, driver.ErrBadConn) {
		w.conn.Close()
		w.conn = nil
	}
	return tx, err
}

// abort rolls the batch back and fails every job that had succeeded.
func (w *fileWriter) abort(tx *sql.Tx, batch []*writeJob, err error) {
	_ = tx.Rollback()
	for _, j := range batch {
		if j.err == nil { // succeeded, or not run yet
			j.err = errors.Join(errGroupAborted, err)
		}
	}
}

var errGroupAborted = errors.New("write batch rolled back")

func (w *fileWriter) exec(tx *sql.Tx, query string) error {
	bg := context.Background()
	if st := w.stmts.get(bg, query); st != nil {
		_, err := tx.StmtContext(bg, st).ExecContext(bg)
		return err
	}
	_, err := tx.ExecContext(bg, query)
	return err
}
