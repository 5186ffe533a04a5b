// Command bench measures the storefront against a plain Echo server on this
// machine, with one load generator for both:
//
//	go run ./scripts/bench            # 3 rounds of 10 s per target, 1,000 products
//	go run ./scripts/bench -short     # 1 round of 2 s per target, 200 products
//	go run ./scripts/bench -pprof DIR # also profile the server under each load
//
// It builds ./server, starts it on a fresh SQLite data directory on
// 127.0.0.1, opens a shop through the API and fills it with products, starts
// a baseline Echo server that answers "ok" (this binary re-executed with
// -serve-baseline), then load-tests four targets, round after round:
//
//	(a) the baseline "ok"
//	(b) the storefront home          /s/<slug>/
//	(c) product pages                /s/<slug>/p/<id>, rotating through every product
//	(d) the merchant API             GET /api/v1/products?limit=20
//
// Each measurement runs a fixed number of keep-alive connections for a fixed
// time and records every latency. It prints each round and the medians, with
// the target for storefront pages: at least 0.30 of the baseline's
// throughput with p99 under 50 ms. Both servers are stopped with SIGTERM and
// the temporary directories removed at the end.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the command-line settings.
type options struct {
	duration  time.Duration
	warmup    time.Duration
	rounds    int
	conns     int
	products  int
	short     bool
	pprofDir  string
	keepTemp  bool
	serverPkg string
	shops     int           // -scenario tenants
	idle      time.Duration // -scenario tenants
	paced     []float64     // -scenario orders: offered loads, as fractions of the closed-loop rate
}

func main() {
	var o options
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per target per round")
	fs.DurationVar(&o.warmup, "warmup", -1, "unmeasured warm-up before each measurement (default: 1s, or duration/4 when shorter)")
	fs.IntVar(&o.rounds, "rounds", 3, "how many times to measure every target (targets interleaved in each round)")
	fs.IntVar(&o.conns, "conns", 64, "concurrent keep-alive connections (one worker each)")
	fs.IntVar(&o.products, "products", 1000, "products to create in the shop")
	fs.BoolVar(&o.short, "short", false, "quick check: -duration 2s -rounds 1 -products 200 (explicit flags still win)")
	fs.StringVar(&o.pprofDir, "pprof", "", "after the rounds, profile the server's CPU and allocations under loads (b)-(d) and write the profiles to this directory\n    \t(the server is then built with net/http/pprof added by go build -overlay; no file in the repository changes)")
	fs.BoolVar(&o.keepTemp, "keep", false, "keep the temporary directory (server binary, data, logs)")
	fs.StringVar(&o.serverPkg, "server", "./server", "package of the server to build")
	fs.IntVar(&o.shops, "shops", 10_000, "-scenario tenants: how many shops to open (-scenario market: listed shops, default 1,000)")
	fs.DurationVar(&o.idle, "idle", 2*time.Minute, "-scenario tenants: idle time with cron running before memory and open files are read")
	paced := fs.String("paced", "0.25,0.5,0.75", "-scenario orders: after the rounds, offer orders at these fractions of the measured rate (open loop; \"\" for none)")
	baseline := fs.String("serve-baseline", "", "")
	importRound := fs.Int("import-round", 0, "") // internal: one round of -scenario import
	importDir := fs.String("import-dir", "", "") // internal: its data directory
	scenario := fs.String("scenario", "default", "what to measure: default (storefront pages against a plain Echo server), orders (place and pay against raw SQLite inserts; Mongo commands per order), distribution (orders at depth 1 and 1,000 of a 100,000-distributor tree; root team size; Mongo commands per order), push (signed WeChat subscribe pushes, new fans, end to end; Mongo commands per push), import (a 20,000-product feed imported against raw SQLite inserts, with peak memory; Mongo commands per product), checkin (20,000 new fans checking in against raw SQLite inserts; Mongo commands per check-in), campaign (a broadcast campaign to 10,000 and 100,000 fans through the sandbox WeChat: messages/s, time to the last message, peak memory), tenants (-shops idle shops: creation rate, time to ready after a restart, memory and open files after -idle with cron running, storefront p99 on 100 of them, each beside 100 shops only), dashboard (a shop with 100,000 orders over 90 days: the 30-day dashboard, API and console page, p99 beside Echo's hello), market (-shops listed shops, 1,000 by default, × 100 products: searches/s and p99 beside Echo's hello, time until a product change is searchable)")
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "usage: go run ./scripts/bench [flags]\n\n")
		fs.VisitAll(func(f *flag.Flag) {
			if f.Name == "serve-baseline" || strings.HasPrefix(f.Name, "import-") { // internal: child processes
				return
			}
			fmt.Fprintf(out, "  -%s\n    \t%s", f.Name, f.Usage)
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "-1ns" {
				fmt.Fprintf(out, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(out)
		})
	}
	_ = fs.Parse(os.Args[1:])
	if fs.NArg() > 0 {
		fs.Usage()
		os.Exit(2)
	}
	for f := range strings.SplitSeq(*paced, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || v <= 0 || v > 2 {
			fmt.Fprintln(os.Stderr, "bench: -paced takes fractions of the measured rate, above 0 and at most 2:", f)
			os.Exit(2)
		}
		o.paced = append(o.paced, v)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *baseline != "" {
		if err := serveBaseline(ctx, *baseline); err != nil {
			fmt.Fprintln(os.Stderr, "baseline:", err)
			os.Exit(1)
		}
		return
	}
	if *importRound > 0 {
		if err := importChild(ctx, *importRound, *importDir); err != nil {
			fmt.Fprintln(os.Stderr, "import round:", err)
			os.Exit(1)
		}
		return
	}

	if o.short {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["duration"] {
			o.duration = 2 * time.Second
		}
		if !set["rounds"] {
			o.rounds = 1
		}
		if !set["products"] {
			o.products = 200
		}
	}
	if o.warmup < 0 {
		o.warmup = min(time.Second, o.duration/4)
	}
	if o.duration <= 0 || o.rounds < 1 || o.conns < 1 || o.products < 1 {
		fmt.Fprintln(os.Stderr, "bench: -duration, -rounds, -conns and -products must be positive")
		os.Exit(2)
	}

	runScenario := run
	switch *scenario {
	case "default":
	case "orders":
		runScenario = ordersScenario
	case "distribution":
		runScenario = distributionScenario
	case "push":
		runScenario = pushScenario
	case "checkin":
		runScenario = checkinScenario
	case "campaign":
		runScenario = campaignScenario
	case "tenants":
		runScenario = tenantsScenario
	case "dashboard":
		runScenario = dashboardScenario
	case "market":
		runScenario = marketScenario
	case "import":
		runScenario = importScenario
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "products" })
		if !explicit {
			o.products = importProducts(o.short)
		}
	default:
		fmt.Fprintf(os.Stderr, "bench: unknown -scenario %q\n", *scenario)
		os.Exit(2)
	}
	if err := runScenario(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run is the whole benchmark; every process and directory it creates is
// gone when it returns.
func run(ctx context.Context, o options) (err error) {
	root, tmp, cleanup, err := workspace(ctx, o, "")
	if err != nil {
		return err
	}
	defer cleanup(&err)

	fmt.Printf("load: %d keep-alive connections, %s measured (+%s warm-up) per target, %d round(s), %d products\n\n",
		o.conns, o.duration, o.warmup, o.rounds, o.products)

	// 1. Build and start the server.
	step := time.Now()
	bin, err := buildServer(ctx, root, tmp, o.serverPkg, o.pprofDir != "")
	if err != nil {
		return err
	}
	fmt.Printf("built %s in %s\n", o.serverPkg, time.Since(step).Round(time.Millisecond))

	srvAddr, err := freeAddr()
	if err != nil {
		return err
	}
	var pprofAddr string
	env := []string{}
	if o.pprofDir != "" {
		if pprofAddr, err = freeAddr(); err != nil {
			return err
		}
		env = append(env, pprofEnv+"="+pprofAddr)
	}
	srv, err := startProcess(ctx, "server", bin, tmp, env,
		"--addr", srvAddr, "--data", tmp+"/data", "--mongodb-uri=", "--demo=false", "--access-log=false")
	if err != nil {
		return err
	}
	defer func() {
		if serr := srv.stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	srvURL := "http://" + srvAddr
	step = time.Now()
	if err := waitReady(ctx, srv, srvURL+"/readyz"); err != nil {
		return err
	}
	fmt.Printf("server ready on %s in %s (pid %d)\n", srvAddr, time.Since(step).Round(time.Millisecond), srv.pid())

	// 2. A shop and its products.
	step = time.Now()
	shop, err := seedShop(ctx, srvURL, o.products)
	if err != nil {
		return err
	}
	fmt.Printf("shop %q: %d products (%d with SKUs) created in %s by %d workers\n",
		shop.slug, len(shop.productIDs), shop.withSKUs, time.Since(step).Round(time.Millisecond), seedWorkers)

	// 3. The baseline, in its own process.
	base, baseAddr, err := startBaseline(ctx, tmp)
	if err != nil {
		return err
	}
	defer func() {
		if serr := base.stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	fmt.Printf("baseline ready on %s (pid %d)\n", baseAddr, base.pid())

	// 4. Load.
	targets, err := makeTargets(shop, srvURL, "http://"+baseAddr, srv, base)
	if err != nil {
		return err
	}
	if err := sanityCheck(ctx, targets); err != nil {
		return err
	}
	fmt.Println()
	rounds, err := measureRounds(ctx, targets, o)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	printSummary(os.Stdout, targets, rounds, o)
	if rss := srv.peakRSS(); rss != "" {
		fmt.Printf("\nserver peak RSS %s; baseline peak RSS %s\n", rss, base.peakRSS())
	}

	// Optional: where the server's time goes.
	if o.pprofDir != "" {
		if err := profileTargets(ctx, targets[1:], pprofAddr, o); err != nil {
			return err
		}
	}
	return nil
}

// moduleRoot is the directory of the main module (where go.mod is).
func moduleRoot(ctx context.Context) (string, error) {
	out, err := goCommand(ctx, "", "env", "GOMOD")
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(out)
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run from inside the microshop module (go env GOMOD is empty)")
	}
	return strings.TrimSuffix(mod, "/go.mod"), nil
}

// freeAddr returns a free 127.0.0.1 port (free when asked; good enough for
// a program that takes it a moment later).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// httpGet is a one-off GET for set-up checks (not for load).
func httpGet(ctx context.Context, client *http.Client, url string, header http.Header) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := readAll(resp.Body, 8<<20)
	return resp.StatusCode, body, err
}
