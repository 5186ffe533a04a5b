package main

// The distribution scenario, -scenario distribution (issue 5, "Scale and
// benchmark"):
//
//	go run ./scripts/bench -scenario distribution          # 100,000 distributors, depth 1,000; 3 rounds of 10 s
//	go run ./scripts/bench -scenario distribution -short   # 20,000 distributors, depth 300; 1 round of 2 s
//
// SQLite, timed, in this process. It opens a SQLite engine with every
// schema the server has, wires the order service to the distribution
// service exactly as server/app.go does (Attributor and Subscriber), and
// builds a team tree with direct store inserts: one root (depth 1), a spine
// running from it down to depth 1,000, and the rest a random recursive tree
// under the root (shallow, like real teams). The rebuild job then computes
// every counter. Buyers are bound (a link touch) to the root (depth 1), to
// a depth-2 distributor, or to the deepest one; each measurement runs
// workers that place and pay orders (order.Service Place + SandboxConfirm,
// events and commission delivered inline) for one of those groups. It
// prints orders/s and latencies per group, the ratio deepest ÷ depth 1
// (the target: the deepest within 1.2×), a raw SQLite insert
// baseline measured in the same rounds, and the time to answer the root's
// team size from counters next to a subtree count through the path index.
//
// A depth-1 distributor has no upline, so its orders pay one commission
// level; the others pay two. That is the O(levels) part of an order; the
// depth-2 group shows the same two levels as the deepest without the depth.
//
// MongoDB, counted (distribution_mongo.go): the commands one order costs
// at depth 1, 2 and 1,000 on FerretDB in this process, with a smaller tree.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"microshop/distribution"
	"microshop/distribution/tree"
	"microshop/shop/catalog"
	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
)

// distSchemas are the schemas of server/app.go that the order path touches.
var distSchemas = []engine.Schema{catalog.Schema, fan.Schema, order.Schema, distribution.Schema}

// distTarget is the target: deepest orders/s within 1.2× of depth 1.
const distTarget = 1.2

// distLocker is an in-process tree.Locker (the server uses a lease).
type distLocker struct{ mu sync.Mutex }

func (l *distLocker) Run(ctx context.Context, _ string, _ time.Duration, fn func(ctx context.Context) error) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return true, fn(ctx)
}

// distShops answers the one shop's time zone.
type distShops struct{ t tenants.Tenant }

func (s distShops) TenantByID(context.Context, string) (tenants.Tenant, error) { return s.t, nil }

// distShop is one shop with orders and distribution wired as in the server.
type distShop struct {
	eng      *engine.Engine
	tenant   tenants.Tenant
	orders   *order.Service
	dist     *distribution.Service
	sandbox  *order.Sandbox
	products []catalog.Product
}

func newDistShop(ctx context.Context, eng *engine.Engine, levels []int64) (*distShop, error) {
	t := tenants.Tenant{ID: engine.NewID(), Slug: "bench-dist", Name: "Bench Distribution", TimeZone: tenants.DefaultTimeZone}
	if err := eng.Provision(ctx, t.ID); err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	catalogStore := catalog.NewStore(eng)
	cat := catalog.New(catalogStore, catalog.NewShelf(catalogStore, 2*time.Second))
	fans := fan.NewStore(eng)
	orders := order.NewService(order.NewStore(eng), cat, fans, log)
	dist := distribution.New(eng, distribution.Config{Locker: &distLocker{}, Shops: distShops{t}, Fans: fans, Orders: orders, Log: log})
	orders.SetAttributor(dist)
	orders.Subscribe(dist)
	st := distribution.DefaultSettings()
	st.Enabled, st.Levels, st.Binding = true, levels, distribution.BindPermanent
	if err := dist.SaveSettings(ctx, t.ID, st); err != nil {
		return nil, err
	}
	s := &distShop{eng: eng, tenant: t, orders: orders, dist: dist, sandbox: order.NewSandbox([]byte("sandbox-pay:bench"))}
	for i := range 20 {
		title, price, stock := fmt.Sprintf("Distribution bench product %d", i), int64(1000+i*137), int64(1_000_000_000)
		p, err := cat.Create(ctx, t.ID, catalog.Input{Title: &title, Price: &price, Stock: &stock})
		if err != nil {
			return nil, err
		}
		s.products = append(s.products, p)
	}
	return s, nil
}

// distTree is the tree the scenario built.
type distTree struct {
	root, second, deepest tree.Distributor
	size, depth           int
}

// insert writes one distributor under parent (nil: top level) directly
// through the tree store.
func (s *distShop) insert(ctx context.Context, parent *tree.Distributor) (tree.Distributor, error) {
	d := tree.Distributor{ID: engine.NewID(), FanID: engine.NewID(), Code: tree.NewCode(), Status: tree.Active, Depth: 1,
		Path: []string{}, Upline: []string{}, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if parent != nil {
		d.ParentID, d.Depth = parent.ID, parent.Depth+1
		d.Path = append(slices.Clone(parent.Path), parent.ID)
		for i := len(d.Path) - 1; i >= 0 && len(d.Upline) < tree.MaxUpline; i-- {
			d.Upline = append(d.Upline, d.Path[i])
		}
	}
	d.ActivatedAt = d.CreatedAt
	return d, s.dist.Tree().Store().Insert(ctx, s.tenant.ID, d)
}

// build makes a root, a spine from it down to depth, and size-depth more
// distributors each under a random earlier one of the root and the
// non-spine ones.
func (s *distShop) build(ctx context.Context, size, depth int, progress io.Writer) (distTree, error) {
	rng := rand.New(rand.NewPCG(5, 17))
	root, err := s.insert(ctx, nil)
	if err != nil {
		return distTree{}, err
	}
	tr := distTree{root: root, deepest: root, size: size, depth: depth}
	bushy := []tree.Distributor{root}
	for n := 1; n < size; n++ {
		var d tree.Distributor
		if n < depth {
			d, err = s.insert(ctx, &tr.deepest)
			tr.deepest = d
			if n == 1 {
				tr.second = d
			}
		} else {
			p := bushy[rng.IntN(len(bushy))]
			d, err = s.insert(ctx, &p)
			// Keep paths in memory short: only the shallow ones are parents.
			if d.Depth < 40 {
				bushy = append(bushy, d)
			}
		}
		if err != nil {
			return tr, fmt.Errorf("insert distributor %d: %w", n, err)
		}
		if progress != nil && n%20000 == 0 {
			fmt.Fprintf(progress, "  %d distributors\n", n)
		}
	}
	return tr, nil
}

// bind makes n fans customers of d (a link touch), returning their ids.
func (s *distShop) bind(ctx context.Context, d tree.Distributor, n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		out[i] = engine.NewID()
		if err := s.dist.Record(ctx, s.tenant, out[i], distribution.Touch{DistributorCode: d.Code, Via: "link"}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// buy places and pays one order for fanID.
func (s *distShop) buy(ctx context.Context, fanID string, seq int) (order.Order, error) {
	o, err := s.orders.Place(ctx, s.tenant.ID, fanID, "", distPlaceRequest(s.products[seq%len(s.products)].ID))
	if err != nil {
		return o, fmt.Errorf("place: %w", err)
	}
	o, err = s.orders.SandboxConfirm(ctx, s.sandbox, s.tenant.ID, fanID, o.ID)
	if err != nil {
		return o, fmt.Errorf("pay: %w", err)
	}
	if o.Status != order.Paid || len(o.Events) > 0 {
		return o, fmt.Errorf("order %s is %s with %d undelivered events", o.ID, o.Status, len(o.Events))
	}
	return o, nil
}

func distPlaceRequest(productID string) order.PlaceRequest {
	return order.PlaceRequest{
		Items:   []order.CartItemRequest{{ProductID: productID, Qty: 1}},
		Address: order.Address{Name: "张三", Phone: "13812345678", Province: "浙江省", City: "杭州市", District: "西湖区", Detail: "文三路 1 号"},
	}
}

// measure runs workers buying for the fans of one group for warm-up then
// dur.
func (s *distShop) measure(ctx context.Context, fans []string, workers int, warmup, dur time.Duration) (result, error) {
	start := time.Now()
	measureFrom := start.Add(warmup)
	end := measureFrom.Add(dur)
	stats := make([]workerStats, workers)
	var wg sync.WaitGroup
	for w := range workers {
		st := &stats[w]
		st.lat = make([]time.Duration, 0, 4096)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ; seq++ {
				t0 := time.Now()
				if !t0.Before(end) || ctx.Err() != nil {
					return
				}
				_, err := s.buy(ctx, fans[(w+seq*workers)%len(fans)], w*7+seq)
				t1 := time.Now()
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					st.errs++
					st.count(0, err.Error())
					continue
				}
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
	return collect(stats, measureFrom, dur), nil
}

func distributionScenario(ctx context.Context, o options) (err error) {
	tmp, err := os.MkdirTemp("", "microshop-bench-distribution-")
	if err != nil {
		return err
	}
	defer func() {
		if o.keepTemp {
			fmt.Printf("kept %s\n", tmp)
			return
		}
		if rerr := os.RemoveAll(tmp); rerr != nil && err == nil {
			err = rerr
		}
	}()
	size, depth := 100_000, 1000
	if o.short {
		size, depth = 20_000, 300
	}
	// SQLite has one writer: more workers than cores only add busy waits.
	workers := max(1, min(o.conns, runtime.NumCPU()))
	fmt.Printf("microshop bench, distribution: %s/%s, %d CPUs (GOMAXPROCS %d), %s\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Printf("load: %d workers placing and paying orders in this process, %s measured (+%s warm-up) per group, %d round(s)\n\n",
		workers, o.duration, o.warmup, o.rounds)
	if err := distSQLite(ctx, o, tmp, size, depth, workers); err != nil {
		return err
	}
	fmt.Println()
	return distMongo(ctx, tmp)
}

func distSQLite(ctx context.Context, o options, tmp string, size, depth, workers int) (err error) {
	fmt.Printf("== SQLite engine: %d distributors, spine down to depth %d, orders timed\n", size, depth)
	eng, err := tenants.OpenSQLite(tmp+"/data", distSchemas...)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := eng.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	s, err := newDistShop(ctx, eng, []int64{1000, 500})
	if err != nil {
		return err
	}
	step := time.Now()
	tr, err := s.build(ctx, size, depth, os.Stdout)
	if err != nil {
		return err
	}
	fmt.Printf("tree built with direct store inserts in %s (%.0f distributors/s); deepest at depth %d\n",
		time.Since(step).Round(time.Millisecond), float64(size)/time.Since(step).Seconds(), tr.deepest.Depth)
	step = time.Now()
	rb, err := s.dist.Tree().Rebuild(ctx, s.tenant.ID, nil)
	if err != nil {
		return err
	}
	fmt.Printf("rebuild job (paths checked, every counter computed and written): %s, %d distributors, %d paths fixed, %d counters written\n",
		time.Since(step).Round(time.Millisecond), rb.Distributors, rb.Paths, rb.Counters)

	// Team size of the root: from the counters, and by the path index.
	var fromCounters []float64
	var v tree.View
	for range 200 {
		t0 := time.Now()
		if v, err = s.dist.Tree().View(ctx, s.tenant.ID, tr.root.ID); err != nil {
			return err
		}
		fromCounters = append(fromCounters, float64(time.Since(t0)))
	}
	var walked []float64
	var n int64
	for range 5 {
		t0 := time.Now()
		if n, err = s.dist.Tree().SubtreeSize(ctx, s.tenant.ID, tr.root.ID); err != nil {
			return err
		}
		walked = append(walked, float64(time.Since(t0)))
	}
	fmt.Printf("root team size %d: from counters (View: distributor, counters, children count) median %s; counting the subtree through the path index %d in %s (%.0f× slower)\n",
		v.TeamSize, ms(time.Duration(median(fromCounters))), n, ms(time.Duration(median(walked))), median(walked)/median(fromCounters))
	if v.TeamSize != int64(size-1) || n != int64(size-1) {
		return fmt.Errorf("root team size %d, subtree %d, want %d", v.TeamSize, n, size-1)
	}

	groups := []struct {
		name string
		d    tree.Distributor
		fans []string
	}{{"depth 1 (root, 1 level)", tr.root, nil}, {"depth 2 (2 levels)", tr.second, nil}, {fmt.Sprintf("depth %d (deepest, 2 levels)", tr.deepest.Depth), tr.deepest, nil}}
	for i := range groups {
		if groups[i].fans, err = s.bind(ctx, groups[i].d, workers*8); err != nil {
			return err
		}
	}
	// One order per group first: check the attribution path.
	for _, g := range groups {
		ord, err := s.buy(ctx, g.fans[0], 0)
		if err != nil {
			return err
		}
		want := append([]string{g.d.ID}, g.d.Upline...)[:min(2, 1+len(g.d.Upline))]
		if !slices.Equal(ord.Attribution.Path, want) {
			return fmt.Errorf("%s: path %v, want %v", g.name, ord.Attribution.Path, want)
		}
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
	fmt.Printf("baseline: %s\n\n", ordersRawDescription)

	names := []string{"(r) raw insert (baseline)"}
	for _, g := range groups {
		names = append(names, "(o) order at "+g.name)
	}
	rounds := make([][]result, o.rounds)
	for r := range o.rounds {
		res := make([]result, len(names))
		order := []int{0, 1, 2, 3}
		if r%2 == 1 {
			slices.Reverse(order) // neither end always goes first
		}
		for _, i := range order {
			if i == 0 {
				res[0], err = raw.measure(ctx, workers, o.warmup, o.duration)
			} else {
				res[i], err = s.measure(ctx, groups[i-1].fans, workers, o.warmup, o.duration)
			}
			if err != nil {
				return err
			}
			pause(ctx, 200*time.Millisecond)
		}
		rounds[r] = res
		fmt.Printf("round %d\n", r+1)
		printDistRound(os.Stdout, names, res)
		fmt.Println()
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	printDistSummary(os.Stdout, names, rounds)
	// The money came out right: every order paid its levels once.
	rolled, err := s.dist.RunJobs(ctx, s.tenant.ID)
	if err != nil {
		return err
	}
	bal, _ := s.dist.Ledger().Balance(ctx, s.tenant.ID, tr.deepest.ID)
	view, _ := s.dist.Tree().View(ctx, s.tenant.ID, tr.root.ID)
	fmt.Printf("after the rounds: rollup pass carried %d distributors' sales up their paths; root team sales ¥%s; deepest pending commission ¥%s\n",
		rolled.Rolled, distribution.Yuan(view.TeamSales), distribution.Yuan(bal.Pending))
	return nil
}

func printDistRound(w io.Writer, names []string, res []result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tper s\tp50\tp99\terrors\tvs (r)")
	for i, r := range res {
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%d\t%.3f\n", names[i], r.reqPerSec, ms(r.pct(0.5)), ms(r.pct(0.99)), r.errs, ratio(r, res[0]))
		if r.firstErr != "" {
			fmt.Fprintf(tw, "  first error: %s\t\t\t\t\t\n", r.firstErr)
		}
	}
	tw.Flush()
}

func printDistSummary(w io.Writer, names []string, rounds [][]result) {
	fmt.Fprintf(w, "median of %d round(s)\n", len(rounds))
	col := func(i int, f func(result) float64) float64 {
		var xs []float64
		for _, r := range rounds {
			xs = append(xs, f(r[i]))
		}
		return median(xs)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tper s\tp50\tp99\tvs (r)")
	for i, name := range names {
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%.3f\n", name, col(i, func(r result) float64 { return r.reqPerSec }),
			ms(time.Duration(col(i, func(r result) float64 { return float64(r.pct(0.5)) }))),
			ms(time.Duration(col(i, func(r result) float64 { return float64(r.pct(0.99)) }))),
			col(i, func(r result) float64 { return r.reqPerSec })/col(0, func(r result) float64 { return r.reqPerSec }))
	}
	tw.Flush()
	rate := func(i int) float64 { return col(i, func(r result) float64 { return r.reqPerSec }) }
	vs1 := rate(1) / rate(3)
	vs2 := rate(2) / rate(3)
	verdict := "PASS"
	if vs1 > distTarget {
		verdict = "MISS"
	}
	fmt.Fprintf(w, "depth 1 ÷ deepest: %.3f× (target ≤ %.1f×): %s; depth 2 ÷ deepest (same levels): %.3f×\n", vs1, distTarget, verdict, vs2)
}
