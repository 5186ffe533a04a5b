package main

// The check-in scenario, -scenario checkin (issue 6, "Benchmark" (a)):
//
//	go run ./scripts/bench -scenario checkin          # 20,000 fans over 3 rounds, then the Mongo command count
//	go run ./scripts/bench -scenario checkin -short   # 4,000 fans in 1 round
//
// SQLite, timed. It builds ./server and starts it on a fresh data directory
// on 127.0.0.1 and opens a shop through the API. Each round measures, in
// alternating order:
//
//	(r) the baseline: raw single-record inserts into a SQLite file opened
//	    through tenants.OpenSQLite, from -conns goroutines (as -scenario
//	    orders does), for -duration;
//	(c) a check-in burst: -conns keep-alive connections POST
//	    /s/{slug}/api/checkin without a cookie until this round's share of
//	    the fans has checked in, so every check-in is a new fan's first
//	    (the fan record, the day's check-in record, the ledger batch with
//	    the account, the day's counter and the outstanding total).
//
// It prints check-ins/s, p50/p99, the raw insert rate and the ratio, then
// checks through the merchant API that the day's check-in counter and the
// points outstanding equal what the fans were told.
//
// MongoDB, counted: the database commands one check-in costs (FerretDB in
// this process, driver command monitor), for a new fan in a shop with 10
// fans and with 300, and for a fan with 1 and with 30 days of history.
// The count must not grow with either. (FerretDB scans whole collections,
// so the shop stays small: what is counted is commands, not time.)

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	mongooptions "go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/shop/fan"
	"microshop/shop/points"
	"microshop/tenants"
	"microshop/tenants/engine"
)

// checkinFans is how many distinct fans check in (the figure).
func checkinFans(short bool) int {
	if short {
		return 4000
	}
	return 20_000
}

func checkinScenario(ctx context.Context, o options) (err error) {
	root, tmp, cleanup, err := workspace(ctx, o, "checkin")
	if err != nil {
		return err
	}
	defer cleanup(&err)
	fans := checkinFans(o.short)
	fmt.Printf("load: %d distinct fans checking in over %d keep-alive connections in %d round(s); baseline %s per round\n\n",
		fans, o.conns, o.rounds, o.duration)
	if err := checkinSQLite(ctx, o, root, tmp, fans); err != nil {
		return err
	}
	fmt.Println()
	return checkinMongo(ctx, tmp)
}

func checkinSQLite(ctx context.Context, o options, root, tmp string, fans int) (err error) {
	fmt.Println("== SQLite engine: check-ins against raw inserts, timed")
	bin, err := buildServer(ctx, root, tmp, o.serverPkg, false)
	if err != nil {
		return err
	}
	srvAddr, err := freeAddr()
	if err != nil {
		return err
	}
	srv, err := startProcess(ctx, "server", bin, tmp, nil,
		"--addr", srvAddr, "--data", tmp+"/data", "--mongodb-uri=", "--demo=false", "--access-log=false")
	if err != nil {
		return err
	}
	defer func() {
		if serr := srv.stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	base := "http://" + srvAddr
	if err := waitReady(ctx, srv, base+"/readyz"); err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second}
	var signup struct {
		Tenant struct {
			Slug string `json:"slug"`
		} `json:"tenant"`
		APIKey string `json:"api_key"`
	}
	if err := postJSON(ctx, client, base+"/api/v1/tenants", "", map[string]string{
		"name": "Bench Check-in", "slug": "bench-checkin", "email": "checkin@example.com", "password": "bench-password-1",
	}, http.StatusCreated, &signup); err != nil {
		return fmt.Errorf("open shop: %w", err)
	}
	raw, err := openOrdersRaw(ctx, tmp+"/raw")
	if err != nil {
		return err
	}
	defer func() {
		if cerr := raw.eng.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	fmt.Printf("shop %q opened; baseline: %s\n\n", signup.Tenant.Slug, ordersRawDescription)

	var awarded atomic.Int64
	rounds := make([][]result, o.rounds)
	for r := range o.rounds {
		share := fans / o.rounds
		if r == o.rounds-1 {
			share = fans - share*(o.rounds-1)
		}
		res := make([]result, 2)
		first := r % 2
		for k := range 2 {
			if (first+k)%2 == 0 {
				res[0], err = raw.measure(ctx, o.conns, o.warmup, o.duration)
			} else {
				res[1], err = checkinBurst(ctx, base+"/s/"+signup.Tenant.Slug+"/api/checkin", o.conns, share, &awarded)
			}
			if err != nil {
				return err
			}
			pause(ctx, 300*time.Millisecond)
		}
		rounds[r] = res
		fmt.Printf("round %d: check-ins %.0f/s (p50 %s, p99 %s, %d errors), raw inserts %.0f/s, ratio %.3f\n", r+1,
			res[1].reqPerSec, ms(res[1].pct(0.5)), ms(res[1].pct(0.99)), res[1].errs, res[0].reqPerSec, ratio(res[1], res[0]))
		if res[1].errs > 0 {
			fmt.Printf("  errors by status %s; first: %s\n", codes(res[1].codes), res[1].firstErr)
		}
	}
	var rps, p99, rat []float64
	var ok, errs int64
	for _, res := range rounds {
		rps, p99, rat = append(rps, res[1].reqPerSec), append(p99, float64(res[1].pct(0.99))), append(rat, ratio(res[1], res[0]))
		ok, errs = ok+res[1].ok, errs+res[1].errs
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nmedian of rounds\tcheck-ins/s\tp99\tvs raw inserts\tfans\terrors")
	fmt.Fprintf(tw, "(c) check-in, a new fan each\t%.0f\t%s\t%.3fx\t%d\t%d\n", median(rps), ms(time.Duration(median(p99))), median(rat), ok, errs)
	tw.Flush()
	if rss := srv.peakRSS(); rss != "" {
		fmt.Printf("server peak RSS %s\n", rss)
	}
	// The counters the console reads agree with what the fans were told.
	var stats struct {
		Today string `json:"today"`
		Days  []struct {
			Day      string `json:"day"`
			Checkins int64  `json:"checkins"`
		} `json:"days"`
		Outstanding int64 `json:"outstanding"`
	}
	code, body, err := httpGet(ctx, client, base+"/api/v1/points/stats", http.Header{"Authorization": {"Bearer " + signup.APIKey}})
	if err != nil || code != http.StatusOK {
		return fmt.Errorf("points stats: %d %v %.200s", code, err, body)
	}
	if err := json.Unmarshal(body, &stats); err != nil {
		return err
	}
	var counted int64
	for _, d := range stats.Days {
		counted += d.Checkins
	}
	fmt.Printf("check: the console counts %d check-ins and %d points outstanding; the fans were told of %d check-ins and %d points: %s\n",
		counted, stats.Outstanding, ok, awarded.Load(), map[bool]string{true: "OK", false: "MISMATCH"}[counted == ok && stats.Outstanding == awarded.Load()])
	return nil
}

// checkinBurst posts n check-ins from conns workers, each without a cookie
// (a new fan every time), and records every latency.
func checkinBurst(ctx context.Context, url string, conns, n int, awarded *atomic.Int64) (result, error) {
	tr := &http.Transport{DialContext: (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var next atomic.Int64
	stats := make([]workerStats, conns)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conns {
		st := &stats[w]
		st.lat = make([]time.Duration, 0, n/conns+16)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					st.errs++
					st.count(0, err.Error())
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				t1 := time.Now()
				var out struct {
					PointsAwarded int64 `json:"points_awarded"`
				}
				if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &out) != nil || out.PointsAwarded <= 0 {
					st.errs++
					st.count(resp.StatusCode, strings.TrimSpace(string(b)))
					continue
				}
				awarded.Add(out.PointsAwarded)
				st.ok++
				st.lat = append(st.lat, t1.Sub(t0))
				st.last = t1
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	return collect(stats, start, time.Since(start)), nil
}

// checkinShops is the one shop of the Mongo count.
type checkinShops struct{ t tenants.Tenant }

func (s checkinShops) TenantByID(context.Context, string) (tenants.Tenant, error) { return s.t, nil }

// checkinMongo counts the commands of one check-in on FerretDB.
func checkinMongo(ctx context.Context, tmp string) (err error) {
	fmt.Println("== Mongo engine: database commands per check-in (FerretDB 1.24 in this process, driver command monitor; not timed)")
	uri, stopFerret, err := ordersStartFerretDB(ctx, tmp+"/ferretdb")
	if err != nil {
		return err
	}
	defer func() {
		if serr := stopFerret(); serr != nil && err == nil {
			err = serr
		}
	}()
	cmds := &ordersCommands{}
	eng, err := tenants.OpenMongo(ctx, uri, "benchcheckin", mongooptions.Client().SetMonitor(cmds.monitor()), fan.Schema, points.Schema)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := eng.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	t := tenants.Tenant{ID: engine.NewID(), Slug: "bench-checkin", TimeZone: tenants.DefaultTimeZone}
	if err := eng.Provision(ctx, t.ID); err != nil {
		return err
	}
	var mu sync.Mutex
	clock := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	svc := points.NewService(points.NewStore(eng), fan.NewStore(eng), checkinShops{t}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	svc.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return clock })
	setDay := func(d int) {
		mu.Lock()
		clock = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC).AddDate(0, 0, d)
		mu.Unlock()
	}
	count := func(fanID string) ([]string, error) {
		cmds.start()
		r, err := svc.CheckIn(ctx, t, fanID)
		seq := cmds.stop()
		if err == nil && r.PointsAwarded <= 0 {
			err = fmt.Errorf("no points awarded: %+v", r)
		}
		return seq, err
	}
	type row struct {
		what string
		seq  []string
	}
	var rows []row
	// New fans: in a shop with 10 fans, then 300.
	existing := 0
	for _, size := range []int{10, 300} {
		for ; existing < size; existing++ {
			if _, err := svc.CheckIn(ctx, t, engine.NewID()); err != nil {
				return err
			}
		}
		seq, err := count(engine.NewID())
		if err != nil {
			return err
		}
		rows = append(rows, row{fmt.Sprintf("a new fan, shop with %d fans", size), seq})
	}
	// One fan over 30 days: its 2nd and its 30th check-in.
	veteran := engine.NewID()
	for d := 0; d < 30; d++ {
		setDay(d + 1)
		seq, err := count(veteran)
		if err != nil {
			return err
		}
		if d == 1 || d == 29 {
			rows = append(rows, row{fmt.Sprintf("a fan's check-in after %d days", d), seq})
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "check-in\tcommands\tsequence")
	same := true
	for i, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", r.what, len(r.seq), strings.Join(r.seq, ", "))
		if i > 0 && i != 2 && !slices.Equal(r.seq, rows[i-1].seq) {
			same = false
		}
	}
	tw.Flush()
	verdict := "PASS: the same commands whatever the number of fans or days"
	if !same {
		verdict = "MISS: the commands differ with the number of fans or days"
	}
	fmt.Println(verdict)
	fmt.Println("(a new fan's first check-in creates its fan record and account; a returning fan's reads the previous day's record)")
	return nil
}
