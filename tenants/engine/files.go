package engine

import (
	"container/list"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"microshop/tenants/fault"
)

// DefaultOpenShops is how many tenant SQLite files stay open at once unless
// SetOpenShops says otherwise: a platform holds many more shops than a
// process should keep file handles, page caches and prepared statements
// for, and most of them are idle on any given minute.
const DefaultOpenShops = 200

// idleClose is how long an open tenant file may go unused before the
// engine closes it even under the bound: a shop visited once an hour costs
// disk only between its visits.
const idleClose = 5 * time.Minute

// tenantPageSize is the page size of a new tenant file. SQLite gives every
// table and index at least one page: with 4 KiB pages an empty shop (some
// 220 tables and indexes) takes 930 KiB before it holds a record; 512-byte
// pages make it 160 KiB. Small pages cost a big shop speed (shallower
// fan-out, long rows overflowing), so a file that has grown past
// growPagesAt is rebuilt with grownPageSize pages when it is next opened
// (growPages). It applies only when a file is created: an older file keeps
// its own until it grows.
const (
	tenantPageSize = 512
	grownPageSize  = 4096
	growPagesAt    = 1 << 20
)

// A tenantFile is one shop's open SQLite file with its caches: the
// connection pool, the prepared statements and the writer (its one writing
// connection and its queue). Every use holds a reference (Engine.acquire …
// release) for as long as it runs, so a file is closed only when nobody is
// using it: the pool never closes a file under a request.
type tenantFile struct {
	id     string
	db     *sql.DB
	stmts  *stmtCache
	writer *fileWriter

	// Guarded by Engine.mu.
	refs     int           // uses running now
	el       *list.Element // in Engine.lru while open; nil while closing
	state    fileState
	lastUsed time.Time

	ready   chan struct{} // closed once opened (or failed to)
	openErr error         // set before ready is closed
}

type fileState int

const (
	fileOpen    fileState = iota // in the map and the LRU list
	fileClosing                  // out of the LRU list, waiting for its last reader; acquire takes it back
	fileClosed                   // out of the map: closed, or being closed (see Engine.closing)
)

// close lets the writing connection go, finalizes the cached statements,
// folds the WAL into the database file and closes it: an idle shop leaves
// one file behind, no -wal or -shm.
func (tf *tenantFile) close() error {
	tf.writer.close()
	tf.stmts.close()
	var errs []error
	if _, err := tf.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		errs = append(errs, fmt.Errorf("checkpoint %s: %w", tf.id, err))
	}
	errs = append(errs, tf.db.Close())
	return errors.Join(errs...)
}

// readers counts the file's connections in use outside the writer: rows
// a caller has not finished reading.
func (tf *tenantFile) readers() int {
	n := tf.db.Stats().InUse
	tf.writer.mu.Lock()
	if tf.writer.conn != nil {
		n--
	}
	tf.writer.mu.Unlock()
	return n
}

// SetOpenShops bounds how many tenant files stay open at once (SQLite;
// DefaultOpenShops unless set, or when n is not positive). Beyond it the
// least recently used file nobody is using is closed; files in use are
// never closed, so the bound may be exceeded while more shops than it are
// busy at once.
func (e *Engine) SetOpenShops(n int) {
	if n <= 0 {
		n = DefaultOpenShops
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.maxOpen = n
	e.evictLocked()
}

// OpenShops says how many tenant files are open now (SQLite), counting
// those being opened or closed.
func (e *Engine) OpenShops() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.files) + len(e.closing)
}

func (e *Engine) tenantPath(tenantID string) string {
	return filepath.Join(e.dir, "t_"+tenantID+".db")
}

// acquire returns the tenant's open file, opening it if needed, with a
// reference the caller gives back with release. Without create, a missing
// file is ErrNotFound: a request must not create a database for a tenant
// that was never provisioned.
func (e *Engine) acquire(tenantID string, create bool) (*tenantFile, error) {
	for {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			// Work still running at shutdown (a queued notice, a push's
			// follow-up) must not reopen, and so recreate, a tenant's file.
			return nil, errEngineClosed
		}
		if tf, ok := e.files[tenantID]; ok {
			if tf.state == fileClosing { // wanted again before it closed
				tf.state = fileOpen
				tf.el = e.lru.PushFront(tf)
			} else {
				e.lru.MoveToFront(tf.el)
			}
			tf.refs++
			e.mu.Unlock()
			<-tf.ready
			if tf.openErr != nil {
				e.release(tf)
				return nil, tf.openErr
			}
			return tf, nil
		}
		if done, ok := e.closing[tenantID]; ok {
			// Its close is finishing (checkpoint, close): open it after.
			e.mu.Unlock()
			<-done
			continue
		}
		tf := &tenantFile{id: tenantID, refs: 1, ready: make(chan struct{})}
		tf.el = e.lru.PushFront(tf)
		e.files[tenantID] = tf
		e.evictLocked()
		e.mu.Unlock()

		tf.openErr = e.openTenantFile(tf, create)
		close(tf.ready)
		if tf.openErr != nil {
			e.mu.Lock()
			if e.files[tenantID] == tf {
				delete(e.files, tenantID)
				if tf.el != nil {
					e.lru.Remove(tf.el)
					tf.el = nil
				}
			}
			tf.state = fileClosed
			tf.refs--
			e.mu.Unlock()
			return nil, tf.openErr
		}
		return tf, nil
	}
}

// release gives back a reference acquire handed out; the last one out of
// a file beyond the bound lets it close.
func (e *Engine) release(tf *tenantFile) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tf.refs--
	tf.lastUsed = time.Now()
	if tf.refs == 0 && e.lru.Len() > e.maxOpen {
		e.evictLocked()
	}
}

// evictLocked starts closing the least recently used files nobody is using
// until no more than maxOpen are open. e.mu is held.
func (e *Engine) evictLocked() {
	for el := e.lru.Back(); el != nil && e.lru.Len() > e.maxOpen; {
		prev := el.Prev()
		if tf := el.Value.(*tenantFile); tf.refs == 0 {
			e.startClose(tf)
		}
		el = prev
	}
}

// startClose takes tf out of the LRU list and closes it once its last
// reader is done, unless it is acquired again first. e.mu is held.
func (e *Engine) startClose(tf *tenantFile) {
	e.lru.Remove(tf.el)
	tf.el = nil
	tf.state = fileClosing
	go e.finishClose(tf)
}

// finishClose waits until tf has no reader left (rows a caller is still
// reading hold a connection after its reference is given back), then
// closes it, unless acquire took it back meanwhile.
func (e *Engine) finishClose(tf *tenantFile) {
	<-tf.ready
	wait := time.Millisecond
	for {
		e.mu.Lock()
		if tf.state != fileClosing || e.closed {
			e.mu.Unlock()
			return // in use again, or Engine.Close closes it
		}
		if tf.refs == 0 && tf.readers() <= 0 {
			tf.state = fileClosed
			delete(e.files, tf.id)
			done := make(chan struct{})
			e.closing[tf.id] = done
			e.closeWG.Add(1)
			e.mu.Unlock()
			_ = tf.close() // a failed checkpoint leaves the WAL for the next open to fold in
			e.mu.Lock()
			delete(e.closing, tf.id)
			e.mu.Unlock()
			close(done)
			e.closeWG.Done()
			return
		}
		e.mu.Unlock()
		time.Sleep(wait)
		wait = min(2*wait, time.Second)
	}
}

// closeIdle starts closing the files nobody has used for idleClose.
func (e *Engine) closeIdle(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for el := e.lru.Back(); el != nil; {
		prev := el.Prev()
		if tf := el.Value.(*tenantFile); tf.refs == 0 && now.Sub(tf.lastUsed) >= idleClose {
			e.startClose(tf)
		}
		el = prev
	}
}

// janitor closes idle files every minute until the engine closes.
func (e *Engine) janitor(stop <-chan struct{}) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			e.closeIdle(now)
		}
	}
}

// openTenantFile opens tf's file and brings its schema up to date: the
// statements run only when the file's user_version is not this engine's
// schema version (a new file, or one made before an upgrade).
func (e *Engine) openTenantFile(tf *tenantFile, create bool) error {
	path := e.tenantPath(tf.id)
	if !create {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("tenant %s database: %w", tf.id, fault.ErrNotFound)
		}
	}
	growPages(path) // best effort: a file another process holds open grows another time
	db, err := openTenantDB(path)
	if err != nil {
		return err
	}
	if err := e.migrate(db, tf.id); err != nil {
		db.Close()
		return err
	}
	tf.db = db
	tf.stmts = newStmtCache(db)
	tf.writer = newFileWriter(db, tf.stmts, &e.writerHook)
	tf.lastUsed = time.Now()
	return nil
}

// openTenantDB opens a tenant file: as openSQLiteFile, with small pages
// for a new file (page_size must come before WAL mode, which fixes it, so
// WAL is set by _journal_mode, applied after the _pragma list), and idle
// reader connections let go after an idle minute: each holds two file
// handles (the file and its WAL) and its own parse of the schema, so an idle
// shop keeps none, while a busy one keeps all it uses (with one idle
// connection, a shop under load re-opened and re-parsed a connection for
// most queries: a fifth of the order path's CPU in the orders benchmark).
func openTenantDB(path string) (*sql.DB, error) {
	dsn := fileURI(path) + "?_pragma=busy_timeout(10000)" + fmt.Sprintf("&_pragma=page_size(%d)", tenantPageSize) +
		"&_journal_mode=WAL&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(time.Minute)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// growPages rebuilds a tenant file whose pages are smaller than
// grownPageSize once it is larger than growPagesAt (see tenantPageSize).
// It runs before the file is opened for use, on a connection of its own: a
// WAL file's page size changes only out of WAL mode, by VACUUM.
func growPages(path string) error {
	size, pageSize, err := fileHeader(path)
	if err != nil || size < growPagesAt || pageSize >= grownPageSize {
		return nil // a new or small file, or a header to leave to SQLite
	}
	db, err := sql.Open("sqlite", fileURI(path)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("grow pages of %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{"PRAGMA journal_mode=DELETE", fmt.Sprintf("PRAGMA page_size=%d", grownPageSize), "VACUUM", "PRAGMA journal_mode=WAL"} {
		if _, err := db.Exec(q); err != nil {
			return fmt.Errorf("grow pages of %s: %s: %w", path, q, err)
		}
	}
	return nil
}

// fileHeader reads a closed SQLite file's size and page size (bytes 16-17
// of its header, big-endian; 1 means 65536).
func fileHeader(path string) (size int64, pageSize int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	var hdr [18]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return fi.Size(), 0, err
	}
	pageSize = int(binary.BigEndian.Uint16(hdr[16:]))
	if pageSize == 1 {
		pageSize = 65536
	}
	return fi.Size(), pageSize, nil
}
