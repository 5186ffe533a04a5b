package main

// -scenario tenants: many idle shops on one SQLite machine.
//
//	go run ./scripts/bench -scenario tenants                     # 10,000 shops, 2 idle minutes
//	go run ./scripts/bench -scenario tenants -shops 2000 -idle 30s
//
// It builds ./server, creates a platform operator (`microshop operator
// create`), starts the server on a fresh SQLite data directory and opens
// shops through the operator API (POST /api/ops/v1/tenants: no password
// hashed), first the 100 shops the load runs on. Then, twice, with those
// 100 shops only (the baseline) and with all -shops:
//
//	restart the server: time from the process's start to /readyz answering
//	visit each of the 100 load shops once (in use in both configurations)
//	idle with cron running for -idle: resident memory (VmRSS, and the peak
//	    VmHWM) and open files (/proc/PID/fd), sampled every second
//	storefront home pages of the 100 shops, rotating: p50/p99 and req/s
//
// and prints the figures side by side with the ratio and the issue's
// targets (with 10,000 shops: ready within 5 s, under 500 MB resident,
// under 1,000 open files, an empty shop under 200 KB, p99 unchanged).

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadShops is how many shops the storefront load visits.
const loadShops = 100

// tenantsFigures is one configuration's measurements.
type tenantsFigures struct {
	shops      int
	ready      time.Duration
	rss, peak  int64 // KiB at the end of the idle period, and the process's peak
	fds, maxFD int   // open files at the end of the idle period, and the most seen
	load       result
}

func tenantsScenario(ctx context.Context, o options) (err error) {
	if o.shops < loadShops {
		return fmt.Errorf("-shops must be at least %d", loadShops)
	}
	root, tmp, cleanup, err := workspace(ctx, o, "tenants")
	if err != nil {
		return err
	}
	defer cleanup(&err)
	fmt.Printf("%d shops on SQLite, storefront load on %d of them: %d connections, %s measured (+%s warm-up); idle %s with cron running\n\n",
		o.shops, loadShops, o.conns, o.duration, o.warmup, o.idle)

	bin, err := buildServer(ctx, root, tmp, o.serverPkg, false)
	if err != nil {
		return err
	}
	data := filepath.Join(tmp, "data")
	out, err := exec.CommandContext(ctx, bin, "operator", "create", "bench-ops@example.com", "--data", data, "--mongodb-uri=").CombinedOutput()
	if err != nil {
		return fmt.Errorf("create an operator: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`operator API key: (\S+)`).FindSubmatch(out)
	if m == nil {
		return fmt.Errorf("create an operator: no API key in its output:\n%s", out)
	}
	opsKey := string(m[1])

	srvAddr, err := freeAddr()
	if err != nil {
		return err
	}
	srvURL := "http://" + srvAddr
	start := func(name string) (*proc, time.Duration, error) {
		t0 := time.Now()
		p, err := startProcess(ctx, name, bin, tmp, nil, "--addr", srvAddr, "--data", data, "--mongodb-uri=",
			"--demo=false", "--access-log=false")
		if err != nil {
			return nil, 0, err
		}
		if err := waitReady(ctx, p, srvURL+"/readyz"); err != nil {
			_ = p.stop()
			return nil, 0, err
		}
		return p, time.Since(t0), nil
	}

	// The shops, the load's first.
	srv, _, err := start("server-create")
	if err != nil {
		return err
	}
	var slugs []string
	var firstID string
	create := func(from, to int) (time.Duration, error) {
		t0 := time.Now()
		ids, err := createShops(ctx, srvURL, opsKey, from, to)
		if err == nil && firstID == "" && len(ids) > 0 {
			firstID = ids[0]
		}
		return time.Since(t0), err
	}
	took, err := create(0, loadShops)
	if err != nil {
		_ = srv.stop()
		return err
	}
	for i := range loadShops {
		slugs = append(slugs, shopSlug(i))
	}
	fmt.Printf("created %d shops in %s (%.0f shops/s, %d workers, POST /api/ops/v1/tenants)\n", loadShops,
		took.Round(time.Millisecond), float64(loadShops)/took.Seconds(), createWorkers)
	if err := srv.stop(); err != nil {
		return err
	}

	measureAt := func(n int) (tenantsFigures, error) {
		f := tenantsFigures{shops: n}
		p, ready, err := start(fmt.Sprintf("server-%d", n))
		if err != nil {
			return f, err
		}
		defer func() {
			if serr := p.stop(); serr != nil && err == nil {
				err = serr
			}
		}()
		f.ready = ready
		// The load's shops are in use in both configurations (a visit each:
		// its page view is a write), so the idle period compares what the
		// other shops cost: nothing, if cron leaves idle shops alone.
		for _, s := range slugs {
			if err := getOK(ctx, srvURL+"/s/"+s+"/"); err != nil {
				return f, err
			}
		}
		fmt.Printf("%d shops: ready in %s; the %d load shops visited once; idle %s ...\n", n, ready.Round(time.Millisecond), loadShops, o.idle)
		end := time.Now().Add(o.idle)
		for time.Now().Before(end) && ctx.Err() == nil {
			if fds := openFiles(p.pid()); fds > f.maxFD {
				f.maxFD = fds
			}
			pause(ctx, time.Second)
		}
		f.rss, f.peak = procStatusKiB(p.pid(), "VmRSS"), procStatusKiB(p.pid(), "VmHWM")
		f.fds = openFiles(p.pid())
		f.maxFD = max(f.maxFD, f.fds)
		var urls []*url.URL
		for _, s := range slugs {
			u, _ := url.Parse(srvURL + "/s/" + s + "/")
			urls = append(urls, u)
		}
		t := target{key: "s", name: "storefront home", urls: urls, proc: p}
		if err := sanityCheck(ctx, []target{t}); err != nil {
			return f, err
		}
		f.load, err = measure(ctx, t, o.conns, o.warmup, o.duration)
		return f, err
	}

	base, err := measureAt(loadShops)
	if err != nil {
		return err
	}

	srv, _, err = start("server-create-more")
	if err != nil {
		return err
	}
	took, err = create(loadShops, o.shops)
	if serr := srv.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	more := o.shops - loadShops
	fmt.Printf("created %d more shops in %s (%.0f shops/s)\n", more, took.Round(time.Millisecond), float64(more)/took.Seconds())
	size, wal := shopFileSize(data, firstID)
	total := dirSize(data)

	full, err := measureAt(o.shops)
	if err != nil {
		return err
	}
	fmt.Println()
	printTenants(base, full, size, wal, total, float64(more)/took.Seconds())
	return nil
}

// createWorkers is how many shops are opened at once.
const createWorkers = 4

func shopSlug(i int) string { return fmt.Sprintf("shop-%05d", i) }

// createShops opens shops from..to-1 through the operator API and returns
// their ids.
func createShops(ctx context.Context, srvURL, opsKey string, from, to int) ([]string, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	ids := make([]string, to-from)
	var next atomic.Int64
	next.Store(int64(from))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range createWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= to || ctx.Err() != nil {
					return
				}
				var ans struct {
					Tenant struct {
						ID string `json:"id"`
					} `json:"tenant"`
				}
				err := postJSON(ctx, client, srvURL+"/api/ops/v1/tenants", opsKey, map[string]string{
					"name": "Shop " + strconv.Itoa(i), "slug": shopSlug(i), "email": shopSlug(i) + "@example.com",
				}, http.StatusCreated, &ans)
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("open shop %d: %w", i, err)
					}
					mu.Unlock()
					next.Store(int64(to))
					return
				}
				ids[i-from] = ans.Tenant.ID
			}
		})
	}
	wg.Wait()
	return ids, first
}

// shopFileSize is the size of a shop's database file and of its -wal and
// -shm files, if any.
func shopFileSize(dir, id string) (db, wal int64) {
	if fi, err := os.Stat(filepath.Join(dir, "t_"+id+".db")); err == nil {
		db = fi.Size()
	}
	for _, s := range []string{"-wal", "-shm"} {
		if fi, err := os.Stat(filepath.Join(dir, "t_"+id+".db"+s)); err == nil {
			wal += fi.Size()
		}
	}
	return db, wal
}

func dirSize(dir string) int64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// openFiles counts /proc/PID/fd.
func openFiles(pid int) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(entries)
}

// procStatusKiB reads a "Name:  123 kB" line of /proc/PID/status.
func procStatusKiB(pid int, name string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

func printTenants(base, full tenantsFigures, size, wal, total int64, rate float64) {
	mb := func(kib int64) string { return fmt.Sprintf("%.0f MB", float64(kib)/1024) }
	x := func(a, b float64) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("×%.2f", a/b)
	}
	fmt.Printf("%-32s %14s %14s %8s   %s\n", "", fmt.Sprintf("%d shops", base.shops), fmt.Sprintf("%d shops", full.shops), "ratio", "target (10,000 shops)")
	row := func(name, a, b, r, goal string) { fmt.Printf("%-32s %14s %14s %8s   %s\n", name, a, b, r, goal) }
	row("ready after restart", base.ready.Round(time.Millisecond).String(), full.ready.Round(time.Millisecond).String(),
		x(float64(full.ready), float64(base.ready)), "within 5s")
	row("resident memory after idle", mb(base.rss), mb(full.rss), x(float64(full.rss), float64(base.rss)), "under 500 MB")
	row("peak resident memory", mb(base.peak), mb(full.peak), x(float64(full.peak), float64(base.peak)), "")
	row("open files after idle", strconv.Itoa(base.fds), strconv.Itoa(full.fds), x(float64(full.fds), float64(base.fds)), "under 1,000")
	row("most open files while idle", strconv.Itoa(base.maxFD), strconv.Itoa(full.maxFD), x(float64(full.maxFD), float64(base.maxFD)), "")
	row("storefront p50", ms(base.load.pct(0.50)), ms(full.load.pct(0.50)), x(float64(full.load.pct(0.5)), float64(base.load.pct(0.5))), "")
	row("storefront p99", ms(base.load.pct(0.99)), ms(full.load.pct(0.99)), x(float64(full.load.pct(0.99)), float64(base.load.pct(0.99))), "unchanged")
	row("storefront req/s", fmt.Sprintf("%.0f", base.load.reqPerSec), fmt.Sprintf("%.0f", full.load.reqPerSec),
		x(full.load.reqPerSec, base.load.reqPerSec), "")
	row("storefront errors", strconv.FormatInt(base.load.errs, 10), strconv.FormatInt(full.load.errs, 10), "", "0")
	fmt.Printf("\nempty shop on disk: %.0f KB (+%d bytes of -wal/-shm); data directory %.1f MB for %d shops (%.0f KB a shop); target under 200 KB\n",
		float64(size)/1024, wal, float64(total)/(1<<20), full.shops, float64(total)/1024/float64(full.shops))
	fmt.Printf("shop creation: %.0f shops/s through POST /api/ops/v1/tenants\n", rate)
}

// getOK fetches u and wants a 200.
func getOK(ctx context.Context, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", u, resp.StatusCode)
	}
	return nil
}
