package main

// The import scenario, -scenario import (issue 7, "Benchmark"):
//
//	go run ./scripts/bench -scenario import            # 3 rounds, 20,000 products
//	go run ./scripts/bench -scenario import -short     # 1 round, 2,000 products
//	go run ./scripts/bench -scenario import -products 5000 -rounds 5
//
// SQLite, timed. Each round runs in a fresh child process (this binary,
// re-executed with -import-round), so its peak memory is its own: on a fresh
// SQLite data directory opened through tenants.OpenSQLite (the engine's own
// settings) it measures, one after the other:
//
//	(r) the baseline: -products single-row inserts of a product-sized row
//	    into a throwaway table of the same tenant database, through a
//	    engine.SQLScope, one writer (an import is one writer too);
//	(i) the import: a Google Merchant RSS feed of -products products (one in
//	    four with three variants: 1.5 feed items per product, about 1.3 KB
//	    each), generated as it is served by a local HTTP server, linked with
//	    pcstore.Syncer.SaveLink (its preview is timed apart) and imported by
//	    Syncer.Sync: every product created through catalog.Catalog, its id
//	    mapping claimed and saved;
//	(u) a re-sync of the same feed with one product in ten repriced: the
//	    rest unchanged.
//
// It prints products/s for (i) and (u), the raw inserts/s, the ratio
// import ÷ raw insert, the heap's peak during the import (sampled every
// 10 ms) and the child's peak RSS, per round and as medians.
//
// MongoDB, counted: the database commands one product costs in an import
// and in an unchanged re-sync, on FerretDB started in this process, at two
// catalog sizes; that number must not grow with the data.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"
	mongooptions "go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/FerretDB/FerretDB/ferretdb"

	"microshop/shop/catalog"
	"microshop/shop/pcstore"
	"microshop/shop/pcstore/feedgen"
	"microshop/shop/pcstore/source"
	"microshop/tenants"
	"microshop/tenants/engine"
)

// importProducts is the scenario's default -products: the 20,000,
// or 2,000 with -short.
func importProducts(short bool) int {
	if short {
		return 2_000
	}
	return 20_000
}

// importRound is what one child process measured.
type importRound struct {
	Products     int     `json:"products"`
	FeedMB       float64 `json:"feed_mb"`
	RawPerSec    float64 `json:"raw_per_s"`
	PreviewSec   float64 `json:"preview_s"`
	ImportSec    float64 `json:"import_s"`
	ImportPerSec float64 `json:"import_per_s"`
	ResyncPerSec float64 `json:"resync_per_s"`
	Created      int64   `json:"created"`
	Updated      int64   `json:"updated"`
	Unchanged    int64   `json:"unchanged"`
	Failed       int64   `json:"failed"`
	PeakHeapMB   float64 `json:"peak_heap_mb"`
	PeakRSSMB    float64 `json:"peak_rss_mb"`
}

func importScenario(ctx context.Context, o options) error {
	n := o.products
	fmt.Printf("microshop bench, import: %s/%s, %d CPUs (GOMAXPROCS %d), %s\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Printf("%d products (%d feed items) per import, %d round(s), each in a fresh process and data directory\n\n",
		n, feedgen.Items(n), o.rounds)
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Println("== SQLite engine: import against raw inserts, timed")
	var rounds []importRound
	for r := range o.rounds {
		tmp, err := os.MkdirTemp("", "microshop-bench-import-")
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, exe, "-import-round", strconv.Itoa(n), "-import-dir", tmp)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, os.Stderr
		err = cmd.Run()
		if !o.keepTemp {
			os.RemoveAll(tmp)
		}
		if err != nil {
			return fmt.Errorf("round %d: %v\n%s", r+1, err, out.String())
		}
		var res importRound
		if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &res); err != nil {
			return fmt.Errorf("round %d: %v: %s", r+1, err, out.String())
		}
		if res.Created != int64(n) || res.Failed != 0 || res.Updated != int64((n+9)/10) || res.Unchanged != int64(n-(n+9)/10) {
			return fmt.Errorf("round %d: created %d, updated %d, unchanged %d, failed %d; want %d created, then %d updated",
				r+1, res.Created, res.Updated, res.Unchanged, res.Failed, n, (n+9)/10)
		}
		rounds = append(rounds, res)
		fmt.Printf("round %d: import %.0f products/s (%.1fs, feed %.0f MB), re-sync %.0f products/s, raw %.0f inserts/s, ratio %.3f, heap peak %.0f MB, RSS peak %.0f MB\n",
			r+1, res.ImportPerSec, res.ImportSec, res.FeedMB, res.ResyncPerSec, res.RawPerSec, res.ImportPerSec/res.RawPerSec, res.PeakHeapMB, res.PeakRSSMB)
	}
	printImportSummary(os.Stdout, rounds)
	fmt.Println()
	return importMongo(ctx, o)
}

func printImportSummary(w io.Writer, rounds []importRound) {
	col := func(f func(importRound) float64) (float64, string) {
		var xs []float64
		for _, r := range rounds {
			xs = append(xs, f(r))
		}
		return median(xs), join(xs, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) })
	}
	fmt.Fprintf(w, "\nmedian of %d round(s); per-round figures in brackets\n", len(rounds))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name, unit string, f func(importRound) float64, prec int) {
		m, all := col(func(r importRound) float64 {
			v := f(r)
			p := 1.0
			for range prec {
				p *= 10
			}
			return float64(int64(v*p+0.5)) / p
		})
		fmt.Fprintf(tw, "%s\t%s %s\t[%s]\n", name, strconv.FormatFloat(m, 'f', prec, 64), unit, all)
	}
	row("(r) raw insert, same engine", "rows/s", func(r importRound) float64 { return r.RawPerSec }, 0)
	row("(i) import (create all)", "products/s", func(r importRound) float64 { return r.ImportPerSec }, 0)
	row("    ratio (i) ÷ (r)", "", func(r importRound) float64 { return r.ImportPerSec / r.RawPerSec }, 3)
	row("    import time", "s", func(r importRound) float64 { return r.ImportSec }, 1)
	row("    preview (reads the whole feed)", "s", func(r importRound) float64 { return r.PreviewSec }, 1)
	row("(u) re-sync, 1 in 10 changed", "products/s", func(r importRound) float64 { return r.ResyncPerSec }, 0)
	row("    ratio (u) ÷ (r)", "", func(r importRound) float64 { return r.ResyncPerSec / r.RawPerSec }, 3)
	row("heap peak during (i)", "MB", func(r importRound) float64 { return r.PeakHeapMB }, 1)
	row("process peak RSS", "MB", func(r importRound) float64 { return r.PeakRSSMB }, 0)
	row("feed size", "MB", func(r importRound) float64 { return r.FeedMB }, 1)
	tw.Flush()
	fmt.Fprintln(w, "products/s counts products (not feed items) over the whole sync: fetch, parse and the writes. An imported")
	fmt.Fprintln(w, "product is 4 or more writes through catalog.Catalog and pcstore (product, catalog stamp, mapping, its")
	fmt.Fprintln(w, "share of a batched claim; SKUs more) against the baseline's 1, so about 0.25 is the ceiling of the")
	fmt.Fprintln(w, "ratio without a bulk create in the catalog (see shop/pcstore/doc.go).")
}

// importRawSchema is the baseline's throwaway table, in the tenant database.
var importRawSchema = engine.Schema{Name: "bench_raw", SQLite: []string{`CREATE TABLE IF NOT EXISTS bench_raw (
	tenant_id TEXT NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL, price INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, id))`}}

// importChild is the -import-round process: one round, its figures as JSON
// on stdout.
func importChild(ctx context.Context, n int, dir string) error {
	e, err := tenants.OpenSQLite(dir, catalog.Schema, pcstore.Schema, importRawSchema)
	if err != nil {
		return err
	}
	defer e.Close()
	platform := tenants.NewStore(e)
	tenant := tenants.Tenant{ID: engine.NewID(), Slug: "bench-import", Name: "Bench Import", TimeZone: tenants.DefaultTimeZone, CreatedAt: time.Now()}
	if err := platform.CreateTenant(ctx, tenant); err != nil {
		return err
	}
	if err := e.Provision(ctx, tenant.ID); err != nil {
		return err
	}
	res := importRound{Products: n}

	// (r) raw inserts.
	db, err := e.SQL(tenant.ID)
	if err != nil {
		return err
	}
	body := strings.Repeat("x", 600)
	start := time.Now()
	for i := range n {
		if _, err := db.Exec(ctx, `INSERT INTO bench_raw (tenant_id, id, title, body, price) VALUES (?, ?, ?, ?, ?)`,
			engine.NewID(), fmt.Sprintf("Raw product %06d", i), body, int64(i)); err != nil {
			return err
		}
	}
	res.RawPerSec = float64(n) / time.Since(start).Seconds()

	// (i) the import, from a local server.
	var round atomic.Int64
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		c, _ := io.Copy(w, feedgen.Reader(feedgen.RSS, n, int(round.Load())))
		served.Store(c)
	}))
	defer srv.Close()
	cs := catalog.NewStore(e)
	cat := catalog.New(cs, catalog.NewShelf(cs, 2*time.Second))
	client := source.NewClient()
	client.AllowPrivateNetworks(true)
	s := pcstore.NewSyncer(pcstore.NewStore(e), cat, tenants.NewLeaser(platform), nil, client, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer s.Shutdown(context.Background())
	start = time.Now()
	if _, _, err := s.SaveLink(ctx, tenant.ID, pcstore.LinkInput{Type: "feed", URL: srv.URL + "/feed.xml"}); err != nil {
		return err
	}
	res.PreviewSec = time.Since(start).Seconds()
	var peak uint64
	var r pcstore.Run
	peak, err = sampleHeap(func() error {
		start = time.Now()
		r, err = s.Sync(ctx, tenant.ID, "bench")
		res.ImportSec = time.Since(start).Seconds()
		return err
	})
	if err != nil {
		return err
	}
	if r.Status != pcstore.Succeeded {
		return fmt.Errorf("import %s: %s", r.Status, r.Error)
	}
	res.FeedMB = float64(served.Load()) / (1 << 20)
	res.ImportPerSec = float64(n) / res.ImportSec
	res.Created, res.Failed = r.Counts.Created, r.Counts.Failed
	res.PeakHeapMB = float64(peak) / (1 << 20)

	// (u) a re-sync with one in ten repriced.
	round.Store(1)
	start = time.Now()
	r, err = s.Sync(ctx, tenant.ID, "bench")
	if err != nil {
		return err
	}
	res.ResyncPerSec = float64(n) / time.Since(start).Seconds()
	res.Updated, res.Unchanged = r.Counts.Updated, r.Counts.Unchanged
	res.Failed += r.Counts.Failed
	res.PeakRSSMB = selfPeakRSS()
	return json.NewEncoder(os.Stdout).Encode(res)
}

// sampleHeap runs fn and returns the peak HeapInuse seen while it ran.
func sampleHeap(fn func() error) (uint64, error) {
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	err := fn()
	close(stop)
	wg.Wait()
	return peak.Load(), err
}

// selfPeakRSS is this process's VmHWM in MB, or 0.
func selfPeakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// importMongo counts the commands a product costs on the Mongo engine.
func importMongo(ctx context.Context, o options) (err error) {
	fmt.Println("== Mongo engine: database commands per product (FerretDB 1.24 in this process, driver command monitor; not timed)")
	dir, err := os.MkdirTemp("", "microshop-bench-import-ferret-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	uri, stop, err := importStartFerretDB(ctx, dir)
	if err != nil {
		return err
	}
	defer func() {
		if serr := stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	var count atomic.Int64
	var byName sync.Map
	mon := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		count.Add(1)
		name := e.CommandName
		if v, err := e.Command.IndexErr(0); err == nil {
			if coll, ok := v.Value().StringValueOK(); ok {
				name += " " + coll
			}
		}
		v, _ := byName.LoadOrStore(name, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}}
	eng, err := tenants.OpenMongo(ctx, uri, "benchimport", mongooptions.Client().SetMonitor(mon), catalog.Schema, pcstore.Schema)
	if err != nil {
		return err
	}
	defer eng.Close()
	sizes := []int{40, 160}
	if o.short {
		sizes = []int{20, 80}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "products\timport: commands/product\tunchanged re-sync: commands/product\timport commands by kind")
	for _, n := range sizes {
		tenant := engine.NewID()
		if err := eng.Provision(ctx, tenant); err != nil {
			return err
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(w, feedgen.Reader(feedgen.RSS, n, 0))
		}))
		cs := catalog.NewStore(eng)
		client := source.NewClient()
		client.AllowPrivateNetworks(true)
		s := pcstore.NewSyncer(pcstore.NewStore(eng), catalog.New(cs, catalog.NewShelf(cs, time.Hour)),
			tenants.NewLeaser(tenants.NewStore(eng)), nil, client, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if _, _, err := s.SaveLink(ctx, tenant, pcstore.LinkInput{Type: "feed", URL: srv.URL + "/feed.xml"}); err != nil {
			srv.Close()
			return err
		}
		measure := func() (float64, pcstore.Run, error) {
			count.Store(0)
			byName.Clear()
			r, err := s.Sync(ctx, tenant, "bench")
			return float64(count.Load()) / float64(n), r, err
		}
		first, r1, err := measure()
		if err == nil && r1.Counts.Created != int64(n) {
			err = fmt.Errorf("import created %d of %d", r1.Counts.Created, n)
		}
		var kinds []string
		byName.Range(func(k, v any) bool {
			kinds = append(kinds, fmt.Sprintf("%s %.2f", k, float64(v.(*atomic.Int64).Load())/float64(n)))
			return true
		})
		var second float64
		var r2 pcstore.Run
		if err == nil {
			second, r2, err = measure()
		}
		if err == nil && r2.Counts.Unchanged != int64(n) {
			err = fmt.Errorf("re-sync: %d unchanged of %d", r2.Counts.Unchanged, n)
		}
		s.Shutdown(context.Background())
		srv.Close()
		if err != nil {
			return err
		}
		slices.Sort(kinds)
		fmt.Fprintf(tw, "%d\t%.2f\t%.2f\t%s\n", n, first, second, strings.Join(kinds, ", "))
	}
	tw.Flush()
	fmt.Println("per product, including the per-run commands (link, run record, checkpoints) spread over the products;")
	fmt.Println("a product with three variants costs three more SKU writes. The figures must not grow with the size.")
	return nil
}

// importStartFerretDB starts FerretDB on a random loopback port with its
// SQLite files in dir; stop ends it. (tenants/enginetest does the same for
// tests, but imports package testing.)
func importStartFerretDB(ctx context.Context, dir string) (string, func() error, error) {
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + filepath.Clean(dir) + "/",
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		return "", nil, fmt.Errorf("start FerretDB: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(runCtx)
	}()
	return f.MongoDBURI(), func() error {
		cancel()
		select {
		case <-done:
			return nil
		case <-time.After(30 * time.Second):
			return fmt.Errorf("FerretDB did not stop within 30s")
		}
	}, nil
}
