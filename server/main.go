// Command server runs the microshop platform: merchant console and API,
// storefronts and operations endpoints, on SQLite files (default) or
// MongoDB. It only wires the domain packages together.
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
	"syscall"
	"time"

	"github.com/robfig/cron/v3"
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

// run starts the platform and serves until ctx ends, then shuts down in
// order: stop accepting, let in-flight requests finish, close the database.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stdout)
	log.Info("starting", "config", cfg.String())

	engine, err := openEngine(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := engine.Close(); err != nil {
			log.Error("close database", "err", err)
		} else {
			log.Info("database closed")
		}
	}()
	a, err := newApp(ctx, cfg, log, engine)
	if err != nil {
		return err
	}
	if err := a.prepare(ctx); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
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
	log.Info("listening", "addr", "http://"+displayAddr(ln.Addr()), "data", engine.Describe())

	// Cron jobs skip a tick while the previous run is still going, and
	// recover from panics; stopping waits for running jobs.
	jobs := cron.New(cron.WithChain(cron.Recover(cron.DefaultLogger), cron.SkipIfStillRunning(cron.DefaultLogger)))
	// Distribution runs after the order pass in the same tick, so
	// completions are delivered before commission settles.
	if _, err := jobs.AddFunc("@every 1m", func() { a.runOrderJobs(ctx); a.runDistributionJobs(ctx) }); err != nil {
		return err
	}
	if _, err := jobs.AddFunc("@every 1m", func() { a.runPointsJobs(ctx) }); err != nil {
		return err
	}
	if _, err := jobs.AddFunc("@every 1m", func() { a.runMessageJobs(ctx) }); err != nil {
		return err
	}
	if _, err := jobs.AddFunc("@every 1m", func() {
		if err := a.pcstore.RunDue(ctx); err != nil {
			log.Error("pc store sync schedule", "err", err)
		}
	}); err != nil {
		return err
	}
	jobs.Start()
	defer func() {
		<-jobs.Stop().Done()
		log.Info("cron stopped")
	}()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// Finish the work WeChat pushes started after answering.
	a.wechat.fans.Wait()
	// Stop PC-store syncs at a clean point; they resume on the next start.
	if err := a.pcstore.Shutdown(shutCtx); err != nil {
		log.Warn("stop pc store syncs", "err", err)
	}
	return nil
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return a.String()
}
