package enginetest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The MongoDB the Mongo cases run on: a real one named by MongoURIEnv, or
// FerretDB started in-process, and the FerretDB quirks the cases step
// around.

// server is the MongoDB the Mongo cases run on, started once per test binary.
var server struct {
	once     sync.Once
	uri      string
	external bool // MICROSHOP_TEST_MONGODB_URI, not FerretDB
	admin    *mongo.Client
	err      error
}

// MongoURI returns the URI of the MongoDB the Mongo cases use: the one at
// MICROSHOP_TEST_MONGODB_URI, or FerretDB started in-process (once per test
// binary, left running until the process exits), for tests that start the
// server itself on Mongo. Use a database prefix of your own there.
func MongoURI(t testing.TB) string {
	t.Helper()
	server.once.Do(startServer)
	if server.err != nil {
		t.Fatalf("enginetest: %v", server.err)
	}
	return server.uri
}

func describeMongo() string {
	if server.external {
		return "MongoDB at " + MongoURIEnv
	}
	return "in-process FerretDB " + server.uri
}

func startServer() {
	if uri := os.Getenv(MongoURIEnv); uri != "" {
		server.uri, server.external = uri, true
	} else {
		server.uri, server.err = startFerretDB()
		if server.err != nil {
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	admin, err := mongo.Connect(options.Client().ApplyURI(server.uri))
	if err == nil {
		err = admin.Ping(ctx, nil)
	}
	if err != nil {
		server.err = fmt.Errorf("connect to %s: %w", describeMongo(), err)
		return
	}
	server.admin = admin
}

// ferretDirPattern names FerretDB's data directories under os.TempDir().
const ferretDirPattern = "microshop-ferretdb-*"

// startFerretDB starts FerretDB 1.24 in-process on a random loopback port,
// storing its data in SQLite files under a new temporary directory. Nothing
// stops it: it lives as long as the test binary. The directory cannot be
// removed at exit, so each start removes those left by binaries that have
// ended (each holds a pid file).
func startFerretDB() (string, error) {
	sweepFerretDirs()
	dir, err := os.MkdirTemp("", ferretDirPattern)
	if err != nil {
		return "", fmt.Errorf("FerretDB data dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pid"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return "", fmt.Errorf("FerretDB data dir: %w", err)
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		// FerretDB logs every connection at INFO, and dumps every failed
		// command at WARN: an expected duplicate key, and the endSessions
		// (which it does not implement) the driver sends on disconnect.
		Logger: slog.New(quietHandler{slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})}).
			With("component", "ferretdb"),
	})
	if err != nil {
		return "", fmt.Errorf("start FerretDB: %w", err)
	}
	go func() {
		if err := f.Run(context.Background()); err != nil {
			slog.Error("FerretDB stopped", "err", err)
		}
	}()
	// MongoDBURI waits for Run to open the listener.
	return f.MongoDBURI(), nil
}

// sweepFerretDirs removes FerretDB data directories whose test binary has
// exited.
func sweepFerretDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), ferretDirPattern))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "pid"))
		if err != nil {
			continue // being created, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if p, err := os.FindProcess(pid); err == nil && p.Signal(syscall.Signal(0)) == nil {
			continue // still running
		}
		_ = os.RemoveAll(d)
	}
}

// dropDatabases drops the platform and tenant databases under prefix.
func dropDatabases(prefix string) error {
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	names, err := server.admin.ListDatabaseNames(ctx, bson.D{})
	if err != nil {
		return err
	}
	for _, n := range names {
		if n == prefix || strings.HasPrefix(n, prefix+"_t_") || strings.HasPrefix(n, prefix+"_p_") {
			if err := server.admin.Database(n).Drop(ctx); err != nil {
				return fmt.Errorf("drop %s: %w", n, err)
			}
		}
	}
	return nil
}

// quietHandler drops FerretDB's WARN dumps of failed commands (the client
// sees the error itself) and passes every other record on.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn && (strings.HasPrefix(r.Message, "Response header: ") ||
		strings.HasPrefix(r.Message, "Response message:")) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(attrs)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name)}
}

// SkipOnFerretDBIndexBug skips when err is FerretDB 1.24's known crash on a
// createIndexes command listing two or more indexes that all exist already
// (its validateIndexesForCreation deletes from the filtered slice by the
// unfiltered index and panics; the connection drops). The engine sends one
// command per collection with all its indexes, so re-applying a schema (or
// the platform indexes) fails there. Creating indexes one per command would
// avoid it; until then these cases skip on FerretDB, and run everywhere else.
func SkipOnFerretDBIndexBug(t testing.TB, onFerretDB bool, err error) {
	t.Helper()
	if onFerretDB && strings.Contains(err.Error(), "connection closed unexpectedly") {
		t.Skipf("FerretDB 1.24 crashes on createIndexes of several existing indexes (engine sends them in one command): %v", err)
	}
}
