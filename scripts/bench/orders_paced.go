package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// Orders at a paced load (-paced): the rounds measure the machine at
// saturation, where every buyer places its next order the moment the last
// is answered, so the latency printed there is mostly queueing (Little's
// law: 64 buyers ÷ the rate the cores carry). A shop is not run at
// saturation; here orders arrive on a schedule, at fractions of the
// saturated rate, whether or not earlier ones are answered (open loop), and
// each order's latency runs from the moment it was due, so a slow answer
// that delays the ones behind it is counted in theirs too.

// pacedResult is one paced measurement.
type pacedResult struct {
	fraction float64
	offered  float64 // orders per second due
	r        result
}

// paced offers orders at rate per second for warm-up then dur, to at most
// buyers concurrent buyers (an order due while every buyer is busy waits
// for one, and its wait counts).
func (s *ordersShop) paced(ctx context.Context, srv *proc, tag string, buyers int, rate float64, warmup, dur time.Duration) (result, error) {
	var dials atomic.Int64
	tr := buyersTransport(buyers, &dials)
	defer tr.CloseIdleConnections()

	measureFrom, _, rctx, cancel := measureWindow(ctx, warmup, dur)
	start := measureFrom.Add(-warmup)
	defer cancel()

	// due carries each order's due time; it holds every order of the run,
	// so the schedule never waits for the buyers.
	total := int(rate * (warmup + dur).Seconds())
	due := make(chan time.Time, total)
	go func() {
		defer close(due)
		for i := range total {
			at := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			if d := time.Until(at); d > 0 {
				select {
				case <-time.After(d):
				case <-rctx.Done():
					return
				}
			}
			due <- at
		}
	}()

	placeURL := s.srvURL + "/s/" + s.slug + "/api/orders"
	stats := make([]workerStats, buyers)
	var seq atomic.Int64
	var wg sync.WaitGroup
	for w := range buyers {
		client := s.buyer(tr, w)
		st := &stats[w]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for at := range due {
				if rctx.Err() != nil {
					return
				}
				n := seq.Add(1)
				p := int(n) % len(s.bodies)
				key := fmt.Sprintf("%s-p%d", tag, n)
				from := fmt.Sprintf("10.%d.%d.%d", 100+w%100, n/256%256, n%256)
				code, msg := s.placeAndPay(rctx, client, placeURL, s.bodies[p], key, from)
				t1 := time.Now()
				if at.Before(measureFrom) {
					continue // warm-up
				}
				if msg != "" {
					st.errs++
					st.count(code, msg)
					continue
				}
				st.ok++
				st.lat = append(st.lat, t1.Sub(at))
				st.last = t1
			}
		}()
	}

	pause(ctx, time.Until(measureFrom))
	srv0, ok1 := srv.cpu()
	wg.Wait()
	srv1, ok2 := srv.cpu()
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	r := collect(stats, measureFrom, dur)
	r.dials = dials.Load()
	r.cpuKnown = ok1 && ok2
	r.srvCPU = srv1 - srv0
	return r, nil
}

// measurePaced offers orders at each of fractions of rate (the saturated
// rate the rounds measured).
func (s *ordersShop) measurePaced(ctx context.Context, srv *proc, fractions []float64, rate float64, o options) ([]pacedResult, error) {
	var out []pacedResult
	for i, f := range fractions {
		offered := f * rate
		if offered < 1 {
			continue
		}
		r, err := s.paced(ctx, srv, fmt.Sprintf("paced%d", i), o.conns, offered, o.warmup, o.duration)
		if err != nil {
			return out, err
		}
		out = append(out, pacedResult{fraction: f, offered: offered, r: r})
		pause(ctx, 300*time.Millisecond)
	}
	return out, nil
}

func printOrdersPaced(w io.Writer, res []pacedResult, o options) {
	if len(res) == 0 {
		return
	}
	fmt.Fprintf(w, "\norders at a paced load (open loop: orders due on a schedule, latency from when each was due; at most %d buyers at once; %s each)\n", o.conns, o.duration)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "offered\tof saturated\tanswered per s\tp50\tp99\terrors\tserver CPU/op\tp99 target (issue)")
	for _, p := range res {
		cpu := perReq(p.r.srvCPU, p.r, p.r.cpuKnown)
		verdict := "MISS"
		if p.r.pct(0.99) < ordersGoalP99 && p.r.errs == 0 {
			verdict = "PASS"
		}
		fmt.Fprintf(tw, "%.0f/s\t%.2fx\t%.0f\t%s\t%s\t%d\t%s\t< %s: %s\n", p.offered, p.fraction, p.r.reqPerSec,
			ms(p.r.pct(0.50)), ms(p.r.pct(0.99)), p.r.errs, cpu, ordersGoalP99, verdict)
	}
	tw.Flush()
	for _, p := range res {
		if p.r.errs > 0 {
			fmt.Fprintf(w, "  at %.0f/s: errors by status %s; first: %s\n", p.offered, codes(p.r.codes), p.r.firstErr)
		}
	}
}
