package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// The target for storefront pages.
const (
	goalRatio = 0.30
	goalP99   = 50 * time.Millisecond
)

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func ratio(r, base result) float64 {
	if base.reqPerSec == 0 {
		return 0
	}
	return r.reqPerSec / base.reqPerSec
}

// perReq is CPU time per completed response, in µs.
func perReq(cpu time.Duration, r result, known bool) string {
	n := len(r.lat)
	if !known || n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fµs", float64(cpu)/float64(time.Microsecond)/float64(n))
}

func printRound(w io.Writer, round int, ts []target, res []result) {
	fmt.Fprintf(w, "round %d\n", round+1)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\treq/s\tp50\tp99\terrors\tvs (a)\tsrv CPU/req\tgen CPU/req\tB/resp\tconns")
	for i, t := range ts {
		r := res[i]
		bpr := int64(0)
		if len(r.lat) > 0 {
			bpr = r.bytes / int64(len(r.lat))
		}
		fmt.Fprintf(tw, "(%s) %s\t%.0f\t%s\t%s\t%d\t%.2fx\t%s\t%s\t%d\t%d\n",
			t.key, t.name, r.reqPerSec, ms(r.pct(0.50)), ms(r.pct(0.99)), r.errs, ratio(r, res[0]),
			perReq(r.srvCPU, r, r.cpuKnown), perReq(r.genCPU, r, r.cpuKnown), bpr, r.dials)
	}
	tw.Flush()
	for i, t := range ts {
		if res[i].errs > 0 {
			fmt.Fprintf(w, "  (%s) errors by status %s; first: %s\n", t.key, codes(res[i].codes), res[i].firstErr)
		}
	}
}

func codes(m map[int]int64) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		name := strconv.Itoa(k)
		if k == 0 {
			name = "transport"
		}
		parts = append(parts, fmt.Sprintf("%s×%d", name, m[k]))
	}
	return strings.Join(parts, " ")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func printSummary(w io.Writer, ts []target, rounds [][]result, o options) {
	fmt.Fprintf(w, "median of %d round(s), %s each, %d connections; per-round figures in brackets\n", len(rounds), o.duration, o.conns)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\treq/s\tp50\tp99\terrors\tvs (a)\tsrv CPU/req\ttarget (issue)\tresult")
	for i, t := range ts {
		var rps, p50, p99, rat, cpu []float64
		var errs int64
		cpuKnown := true
		for _, res := range rounds {
			r := res[i]
			rps = append(rps, r.reqPerSec)
			p50 = append(p50, float64(r.pct(0.50)))
			p99 = append(p99, float64(r.pct(0.99)))
			rat = append(rat, ratio(r, res[0]))
			errs += r.errs
			if r.cpuKnown && len(r.lat) > 0 {
				cpu = append(cpu, float64(r.srvCPU)/float64(len(r.lat)))
			} else {
				cpuKnown = false
			}
		}
		cpuS := "-"
		if cpuKnown {
			cpuS = fmt.Sprintf("%.0fµs", median(cpu)/float64(time.Microsecond))
		}
		goal, verdict := "-", ""
		switch {
		case i == 0:
			goal = "(reference)"
		case t.goal:
			goal = fmt.Sprintf(">= %.2fx, p99 < %s, no errors", goalRatio, goalP99)
			verdict = "PASS"
			var why []string
			if median(rat) < goalRatio {
				why = append(why, "throughput")
			}
			if time.Duration(median(p99)) >= goalP99 {
				why = append(why, "p99")
			}
			if errs > 0 {
				why = append(why, "errors")
			}
			if len(why) > 0 {
				verdict = "MISS (" + strings.Join(why, ", ") + ")"
			}
		default:
			goal = "none (for reference)"
		}
		fmt.Fprintf(tw, "(%s) %s\t%.0f\t%s\t%s\t%d\t%.2fx\t%s\t%s\t%s\n",
			t.key, t.name, median(rps), ms(time.Duration(median(p50))), ms(time.Duration(median(p99))),
			errs, median(rat), cpuS, goal, verdict)
		if len(rounds) > 1 {
			fmt.Fprintf(tw, "\t[%s]\t[%s]\t[%s]\t[%s]\t[%s]\t\t\t\n",
				join(rps, func(v float64) string { return fmt.Sprintf("%.0f", v) }),
				join(p50, func(v float64) string { return ms(time.Duration(v)) }),
				join(p99, func(v float64) string { return ms(time.Duration(v)) }),
				errsPerRound(rounds, i),
				join(rat, func(v float64) string { return fmt.Sprintf("%.2fx", v) }))
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "req/s counts 200 responses per second of measurement; p50/p99 are over every response;")
	fmt.Fprintln(w, "errors are non-200 responses and transport errors (summed over rounds); vs (a) is the median of the")
	fmt.Fprintln(w, "per-round ratios to the baseline; CPU/req is user+system CPU of the serving process (srv) and of")
	fmt.Fprintln(w, "this load generator (gen) per response, from /proc. The load generator shares the CPUs with the servers.")
}

func join(xs []float64, f func(float64) string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = f(x)
	}
	return strings.Join(parts, " ")
}

func errsPerRound(rounds [][]result, i int) string {
	parts := make([]string, len(rounds))
	for r, res := range rounds {
		parts[r] = strconv.FormatInt(res[i].errs, 10)
	}
	return strings.Join(parts, " ")
}

// profileTargets measures each target once more while taking the server's
// CPU and allocation profiles (-pprof), saves them and prints their tops.
func profileTargets(ctx context.Context, ts []target, pprofAddr string, o options) error {
	if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
		return err
	}
	secs := max(1, int(o.duration.Round(time.Second)/time.Second))
	fmt.Printf("\nprofiling the server (%ds per target, numbers below include profiling overhead)\n", secs)
	client := &http.Client{Timeout: time.Duration(secs+30) * time.Second}
	for _, t := range ts {
		type out struct {
			r   result
			err error
		}
		done := make(chan out, 1)
		go func() {
			r, err := measure(ctx, t, o.conns, o.warmup, time.Duration(secs)*time.Second+500*time.Millisecond)
			done <- out{r, err}
		}()
		pause(ctx, o.warmup)
		files := map[string]string{}
		errc := make(chan error, 2)
		for _, kind := range []string{"profile", "allocs"} {
			file, _ := filepath.Abs(filepath.Join(o.pprofDir, fmt.Sprintf("%s-%s.pprof", map[string]string{"profile": "cpu", "allocs": "allocs"}[kind], t.key)))
			files[kind] = file
			go func() {
				errc <- fetchTo(ctx, client, fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", pprofAddr, kind, secs), file)
			}()
		}
		var ferr error
		for range 2 {
			if err := <-errc; err != nil && ferr == nil {
				ferr = err
			}
		}
		res := <-done
		if res.err != nil {
			return res.err
		}
		if ferr != nil {
			return ferr
		}
		fmt.Printf("\n(%s) %s under profiling: %.0f req/s, p99 %s, %s CPU/req; %s\n",
			t.key, t.name, res.r.reqPerSec, ms(res.r.pct(0.99)), perReq(res.r.srvCPU, res.r, res.r.cpuKnown), files["profile"])
		top, err := goCommand(ctx, "", "tool", "pprof", "-top", "-nodecount=25", files["profile"])
		if err != nil {
			return err
		}
		fmt.Print(indent(top))
		top, err = goCommand(ctx, "", "tool", "pprof", "-top", "-cum", "-nodecount=25", files["profile"])
		if err != nil {
			return err
		}
		fmt.Print(indent(top))
		top, err = goCommand(ctx, "", "tool", "pprof", "-top", "-sample_index=alloc_space", "-nodecount=15", files["allocs"])
		if err != nil {
			return err
		}
		fmt.Print(indent(top))
	}
	return nil
}

func fetchTo(ctx context.Context, client *http.Client, url, file string) error {
	code, body, err := httpGet(ctx, client, url, nil)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", url, code, body)
	}
	return os.WriteFile(file, body, 0o644)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}
