// Command server runs the microshop platform: merchant console and API,
// storefronts and operations endpoints, on SQLite files (default) or
// MongoDB. It only wires the domain packages together; `microshop jobs`
// lists the scheduled jobs and runs one once for operators,
// `microshop operator create EMAIL` creates a platform operator, and
// `microshop secret reseal` seals every stored secret with the current key
// after it was rotated.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // the zone database, so a shop's time zone always loads

	"microshop/tenants/fault"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "microshop:", err)
		os.Exit(1)
	}
}

// run is the command line: with "jobs" first in args the operators' jobs
// command, otherwise the server.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "jobs" {
		return runJobsCommand(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "operator" {
		return runOperatorCommand(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "secret" {
		return runSecretCommand(ctx, args[1:], getenv, stdout, stderr)
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, newLogger(cfg, stdout, slog.LevelInfo))
}

// serve starts the platform and serves until ctx ends, then shuts down in
// order: stop accepting, let in-flight requests finish, stop cron (waiting
// for running jobs), finish background work, close the database.
func serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	log.Info("starting", "config", cfg.String())
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           a.echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", "http://"+displayAddr(ln.Addr()), "data", a.engine.Describe())

	jobs, err := a.startCron(ctx)
	if err != nil {
		return err
	}
	defer func() { // before a.close: running jobs end first
		<-jobs.Stop().Done()
		log.Info("cron stopped")
	}()

	go a.market.Run(ctx) // the market's feed and this replica's copy of its index

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func newLogger(cfg Config, w io.Writer, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return a.String()
}

const jobsUsage = `usage:
  microshop jobs [flags]                          list the scheduled jobs
  microshop jobs run NAME [--shop SLUG] [flags]   run one job once, for every shop or one

The job runs over the engine the server would open (the same flags and
environment: --data, --mongodb-uri ...), under the job's lease, and prints
what it did in each shop. It exits non-zero when it failed in a shop.

flags:
`

// runJobsCommand is `microshop jobs ...`: list the jobs, or run one once.
func runJobsCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := commandFlags("microshop jobs", jobsUsage, stderr)
	config := bindConfig(fs, getenv)
	shop := fs.String("shop", "", "jobs run: run for this shop only (its slug)")
	words, err := parseWords(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(words) == 0:
		if *shop != "" {
			return errors.New("--shop goes with jobs run NAME")
		}
		return listJobs(stdout)
	case words[0] == "run" && len(words) == 2:
	case words[0] == "run":
		return fmt.Errorf("jobs run takes one job name; see microshop jobs --help")
	default:
		return fmt.Errorf("jobs: unknown command %q; see microshop jobs --help", words[0])
	}
	j, err := findJob(words[1])
	if err != nil {
		return err
	}
	cfg, err := config()
	if err != nil {
		return err
	}
	cfg.Demo = false // an operator's run opens no demo shop
	return runJobOnce(ctx, cfg, j, *shop, stdout, stderr)
}

// commandFlags is the flag set of the subcommand name, whose --help
// prints usage and then the flags.
func commandFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseWords parses a subcommand's args with fs and returns its words (the
// arguments that are not flags): flags may come before, between and after
// them.
func parseWords(fs *flag.FlagSet, args []string) ([]string, error) {
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return words, nil
		}
		words, args = append(words, fs.Arg(0)), fs.Args()[1:]
	}
}

// listJobs prints every job: name, schedule, what it does.
func listJobs(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCHEDULE\tWHAT IT DOES")
	for _, j := range jobs {
		every := j.every
		if j.after != "" {
			every = "after " + j.after
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", j.name, every, j.about)
	}
	return tw.Flush()
}

// runJobOnce opens the engine, builds the app (serving nothing), runs j
// for every shop or the one with slug, and prints what it did.
func runJobOnce(ctx context.Context, cfg Config, j job, slug string, stdout, stderr io.Writer) error {
	a, err := openApp(ctx, cfg, newLogger(cfg, stderr, slog.LevelWarn))
	if err != nil {
		return err
	}
	defer a.close()

	var only []string
	if slug != "" {
		t, err := a.tenants.TenantBySlug(ctx, slug)
		if errors.Is(err, fault.ErrNotFound) {
			return fmt.Errorf("no shop has the slug %q", slug)
		}
		if err != nil {
			return fmt.Errorf("find shop %q: %w", slug, err)
		}
		only = []string{t.ID}
	}
	r, err := a.runJob(ctx, j, only)
	for _, s := range r.shops {
		fmt.Fprintf(stdout, "%s: shop %s: %s\n", j.name, a.shopName(ctx, s.tenantID), describe(s.counts, s.err))
	}
	fmt.Fprintf(stdout, "%s: shops=%d failed=%d took=%s; %s\n", j.name, len(r.shops), r.failed(),
		r.took.Round(time.Millisecond), describe(r.totals(), nil))
	if err != nil {
		return err
	}
	if n := r.failed(); n > 0 {
		return fmt.Errorf("job %s failed in %d of %d shops", j.name, n, len(r.shops))
	}
	return nil
}

// shopName is the shop's slug and id, or its id when it cannot be read.
func (a *app) shopName(ctx context.Context, tenantID string) string {
	t, err := a.tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return tenantID
	}
	return t.Slug + " (" + tenantID + ")"
}

// describe is counts as "name=n ...", or the error.
func describe(cs []count, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	if len(cs) == 0 {
		return "nothing to count"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s=%d", c.name, c.n)
	}
	return strings.Join(parts, " ")
}
