// Command paysim runs the WeChat Pay API v3 simulator in a process of its
// own, on a loopback address:
//
//	go run ./tenants/wechat/paysim/cmd/paysim --addr 127.0.0.1:8091
//
// A sandbox server started with MICROSHOP_WECHAT_PAY_SIM=http://127.0.0.1:8091
// pays through it (server/wechatpay.go) instead of the simulator in its own
// process, so the server's CPU counts only its side of each payment
// (scripts/bench -scenario orders starts it so). Notifications go to the
// notify URL each prepay names, over HTTP.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"microshop/tenants/wechat/paysim"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8091", "address to listen on")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "paysim:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Notifications to the server: keep connections alive, as WeChat's
	// servers do, rather than a new one per notification.
	notifier := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}
	sim, err := paysim.New(paysim.Options{Log: log, Notifier: notifier})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Printf("wechat pay simulator listening on http://%s\n", ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	sim.Wait()
	return nil
}
