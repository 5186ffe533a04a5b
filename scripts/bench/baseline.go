package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"
)

// serveBaseline is the -serve-baseline process: a plain Echo v4 server that
// answers "ok", behind the same http.Server settings as the real server,
// until SIGTERM (ctx) stops it.
func serveBaseline(ctx context.Context, addr string) error {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startBaseline starts the baseline (this binary again, -serve-baseline) on
// a free 127.0.0.1 port and waits until it answers; the caller stops it.
func startBaseline(ctx context.Context, tmp string) (*proc, string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	base, err := startProcess(ctx, "baseline", exe, tmp, nil, "-serve-baseline", addr)
	if err != nil {
		return nil, "", err
	}
	if err := waitReady(ctx, base, "http://"+addr+"/"); err != nil {
		_ = base.stop()
		return nil, "", err
	}
	return base, addr, nil
}
