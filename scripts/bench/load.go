package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// target is one thing the load generator hits.
type target struct {
	key    string // "a".."d"
	name   string
	urls   []*url.URL // workers rotate through these
	header http.Header
	goal   bool  // the storefront target applies
	proc   *proc // the process serving it, for CPU accounting
}

func makeTargets(s shop, srvURL, baseURL string, srv, base *proc) ([]target, error) {
	parse := func(raw ...string) ([]*url.URL, error) {
		out := make([]*url.URL, len(raw))
		for i, r := range raw {
			u, err := url.Parse(r)
			if err != nil {
				return nil, err
			}
			out[i] = u
		}
		return out, nil
	}
	var products []string
	for _, id := range s.productIDs {
		products = append(products, srvURL+"/s/"+s.slug+"/p/"+id)
	}
	ts := []target{
		{key: "a", name: `baseline "ok"`, proc: base},
		{key: "b", name: "storefront home", goal: true, proc: srv},
		{key: "c", name: "product page", goal: true, proc: srv},
		{key: "d", name: "API list limit=20", proc: srv,
			header: http.Header{"Authorization": {"Bearer " + s.apiKey}}},
	}
	var err error
	if ts[0].urls, err = parse(baseURL + "/"); err != nil {
		return nil, err
	}
	if ts[1].urls, err = parse(srvURL + "/s/" + s.slug + "/"); err != nil {
		return nil, err
	}
	if ts[2].urls, err = parse(products...); err != nil {
		return nil, err
	}
	if ts[3].urls, err = parse(srvURL + "/api/v1/products?limit=20"); err != nil {
		return nil, err
	}
	return ts, nil
}

// sanityCheck fetches each target once (products: the first and the last)
// so a wrong URL fails here rather than as a table of errors.
func sanityCheck(ctx context.Context, ts []target) error {
	client := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, t := range ts {
		var sizes []string
		for _, u := range []*url.URL{t.urls[0], t.urls[len(t.urls)-1]} {
			code, body, err := httpGet(ctx, client, u.String(), t.header)
			if err != nil {
				return fmt.Errorf("(%s) %s: %w", t.key, u, err)
			}
			if code != http.StatusOK {
				return fmt.Errorf("(%s) %s: status %d: %.300s", t.key, u, code, body)
			}
			sizes = append(sizes, strconv.Itoa(len(body)))
		}
		u := t.urls[0]
		if len(t.urls) == 1 {
			fmt.Printf("(%s) %-20s GET %s → 200, %s bytes\n", t.key, t.name, u.Path+querySuffix(u), sizes[0])
		} else {
			fmt.Printf("(%s) %-20s GET %s → 200, %s bytes (rotating over %d URLs; the last: %s bytes)\n",
				t.key, t.name, u.Path, sizes[0], len(t.urls), sizes[1])
		}
	}
	return nil
}

func querySuffix(u *url.URL) string {
	if u.RawQuery == "" {
		return ""
	}
	return "?" + u.RawQuery
}

// result is one measurement of one target.
type result struct {
	ok, errs  int64         // 200 responses; non-200 responses and transport errors
	codes     map[int]int64 // non-200 statuses (0: transport error)
	lat       []time.Duration
	elapsed   time.Duration // from the end of warm-up to the last recorded response
	bytes     int64
	dials     int64
	srvCPU    time.Duration // CPU the serving process used while measured
	genCPU    time.Duration // CPU this process (the load generator) used
	cpuKnown  bool
	firstErr  string
	reqPerSec float64
}

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[int(p*float64(len(r.lat)-1)+0.5)]
}

// worker state, one per connection; padded apart to keep workers off each
// other's cache lines.
type workerStats struct {
	lat      []time.Duration
	ok, errs int64
	bytes    int64
	last     time.Time
	codes    map[int]int64
	firstErr string
	_        [64]byte
}

// measure runs conns workers against t: warm-up, then dur measured. Each
// worker owns one request and one keep-alive connection of a shared
// transport (capped at conns connections), loops GETs and records every
// response's latency.
func measure(ctx context.Context, t target, conns int, warmup, dur time.Duration) (result, error) {
	var dials atomic.Int64
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		// Headers come back fast or the server is broken; bound it anyway.
		ResponseHeaderTimeout: 30 * time.Second,
	}
	defer tr.CloseIdleConnections()

	measureFrom, end, rctx, cancel := measureWindow(ctx, warmup, dur)
	defer cancel()

	stats := make([]workerStats, conns)
	var wg sync.WaitGroup
	for w := range conns {
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, t.urls[0].String(), nil)
		if err != nil {
			return result{}, err
		}
		for k, v := range t.header {
			req.Header[k] = v
		}
		st := &stats[w]
		st.lat = make([]time.Duration, 0, 4096)
		next := w * len(t.urls) / conns // spread workers over the URLs
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				t0 := time.Now()
				if !t0.Before(end) || rctx.Err() != nil {
					return
				}
				if len(t.urls) > 1 {
					// Safe: the previous response is fully read and closed,
					// so the transport is done with req.
					req.URL = t.urls[next]
					if next++; next == len(t.urls) {
						next = 0
					}
				}
				resp, err := tr.RoundTrip(req)
				if err != nil {
					if !t0.Before(measureFrom) {
						st.errs++
						st.count(0, err.Error())
					}
					pause(rctx, 10*time.Millisecond) // do not spin on a dead server
					continue
				}
				n, cerr := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				t1 := time.Now()
				if t0.Before(measureFrom) {
					continue // warm-up
				}
				st.lat = append(st.lat, t1.Sub(t0))
				st.last = t1
				st.bytes += n
				switch {
				case cerr != nil:
					st.errs++
					st.count(0, cerr.Error())
				case resp.StatusCode != http.StatusOK:
					st.errs++
					st.count(resp.StatusCode, resp.Status)
				default:
					st.ok++
				}
			}
		}()
	}

	// CPU of both sides over the measured part only.
	pause(ctx, time.Until(measureFrom))
	srv0, ok1 := t.proc.cpu()
	gen0, ok2 := cpuTime("self")
	wg.Wait()
	srv1, ok3 := t.proc.cpu()
	gen1, ok4 := cpuTime("self")
	if err := ctx.Err(); err != nil {
		return result{}, err
	}

	r := collect(stats, measureFrom, dur)
	r.dials = dials.Load()
	r.cpuKnown = ok1 && ok2 && ok3 && ok4
	r.srvCPU, r.genCPU = srv1-srv0, gen1-gen0
	return r, nil
}

func (st *workerStats) count(code int, msg string) {
	if st.codes == nil {
		st.codes = map[int]int64{}
	}
	st.codes[code]++
	if st.firstErr == "" {
		st.firstErr = msg
	}
}

// measureWindow starts a measurement now: warm-up until measureFrom, then
// dur measured until end. Its context ends 10 s after end: requests still
// running then are abandoned (and counted).
func measureWindow(ctx context.Context, warmup, dur time.Duration) (measureFrom, end time.Time, rctx context.Context, cancel context.CancelFunc) {
	measureFrom = time.Now().Add(warmup)
	end = measureFrom.Add(dur)
	rctx, cancel = context.WithDeadline(ctx, end.Add(10*time.Second))
	return measureFrom, end, rctx, cancel
}

// collect merges the workers' statistics into one result: counts, codes,
// bytes and the successful operations' latencies, sorted; elapsed runs from
// measureFrom to the last answer (at least dur).
func collect(stats []workerStats, measureFrom time.Time, dur time.Duration) result {
	r := result{codes: map[int]int64{}}
	var last time.Time
	n := 0
	for i := range stats {
		n += len(stats[i].lat)
	}
	r.lat = make([]time.Duration, 0, n)
	for i := range stats {
		st := &stats[i]
		r.lat = append(r.lat, st.lat...)
		r.ok += st.ok
		r.errs += st.errs
		r.bytes += st.bytes
		if st.last.After(last) {
			last = st.last
		}
		for c, k := range st.codes {
			r.codes[c] += k
		}
		if r.firstErr == "" {
			r.firstErr = st.firstErr
		}
	}
	slices.Sort(r.lat)
	r.elapsed = dur
	if last.After(measureFrom) {
		r.elapsed = max(last.Sub(measureFrom), dur)
	}
	r.reqPerSec = float64(r.ok) / r.elapsed.Seconds()
	return r
}

// measureRounds measures every target o.rounds times, a round after
// another, each round in a rotated order (no target always goes first),
// and prints each round's results.
func measureRounds(ctx context.Context, targets []target, o options) ([][]result, error) {
	rounds := make([][]result, o.rounds)
	for r := range o.rounds {
		order := make([]int, len(targets))
		names := make([]string, len(targets))
		for k := range order {
			order[k] = (k + r) % len(targets)
			names[k] = targets[order[k]].key
		}
		fmt.Printf("round %d/%d (order %s) ...\n", r+1, o.rounds, strings.Join(names, ", "))
		res := make([]result, len(targets))
		for _, i := range order {
			var err error
			if res[i], err = measure(ctx, targets[i], o.conns, o.warmup, o.duration); err != nil {
				return nil, err
			}
			pause(ctx, 300*time.Millisecond)
		}
		rounds[r] = res
		printRound(os.Stdout, r, targets, res)
		fmt.Println()
	}
	return rounds, nil
}
