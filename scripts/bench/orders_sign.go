package main

// The order scenario's account of RSA signing: our JSAPI prepay request is
// signed with the shop's merchant key (RSA-2048, SHA256-RSA2048, as WeChat
// Pay requires), about a millisecond of CPU that no code of ours can make
// cheaper. The server counts the signatures it makes
// (microshop_wechat_pay_signatures_total in /metrics); this process times
// one signature the same way, in the same run, so the report can give the
// server's CPU per order both in all and without the signing.

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ordersMetricsToken lets the bench read the server's /metrics.
const ordersMetricsToken = "bench-orders-metrics-token"

// signatures reads how many merchant-key signatures the server has made
// (false: unknown).
func (s *ordersShop) signatures(ctx context.Context) (int64, bool) {
	client := &http.Client{Timeout: 10 * time.Second}
	code, body, err := httpGet(ctx, client, s.srvURL+"/metrics", http.Header{"Authorization": {"Bearer " + ordersMetricsToken}})
	if err != nil || code != http.StatusOK {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && name == "microshop_wechat_pay_signatures_total" {
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			return int64(v), err == nil
		}
	}
	return 0, false
}

// signer times RSA-2048 signatures as the SDK makes them.
type signer struct{ key *rsa.PrivateKey }

func newSigner() (*signer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &signer{key: key}, nil
}

// cost is what one RSA-2048 SHA256 signature (PKCS #1 v1.5, as the SDK
// signs) costs in CPU in this process now: 400 signatures timed by this
// process's CPU (the buyers are idle meanwhile). /proc counts CPU in
// 10 ms ticks, so it takes that many (about 0.3 s) to be within a few
// per cent.
func (g *signer) cost() (time.Duration, bool) {
	const n = 400
	c0, ok1 := cpuTime("self")
	for i := range n {
		sum := sha256.Sum256(fmt.Appendf(nil, "POST\n/v3/pay/transactions/jsapi\n%d\nnonce-%d\n{\"body\":\"x\"}\n", time.Now().Unix(), i))
		if _, err := rsa.SignPKCS1v15(rand.Reader, g.key, crypto.SHA256, sum[:]); err != nil {
			return 0, false
		}
	}
	c1, ok2 := cpuTime("self")
	if !ok1 || !ok2 || c1 <= c0 {
		return 0, false
	}
	return (c1 - c0) / n, true
}

// ordersSigning is one round's signing account: signatures per order,
// the cost of one, and the server's CPU per order without them.
type ordersSigning struct {
	perOrder  float64
	cost      time.Duration
	cpuNoSign time.Duration
	known     bool
}

func signing(r result, sigs int64, sigsKnown bool, cost time.Duration, costKnown bool) ordersSigning {
	n := len(r.lat)
	if !sigsKnown || !costKnown || !r.cpuKnown || n == 0 {
		return ordersSigning{}
	}
	// Signatures of orders that failed or straddled the window count too:
	// per completed order, as the CPU is.
	per := float64(sigs) / float64(n)
	rest := float64(r.srvCPU)/float64(n) - per*float64(cost)
	return ordersSigning{perOrder: per, cost: cost, cpuNoSign: time.Duration(rest), known: true}
}

func (g ordersSigning) String() string {
	if !g.known {
		return "signing: unknown (no /metrics or no CPU figures)"
	}
	return fmt.Sprintf("signing: %.2f RSA signatures per order × %.0fµs each (timed in this process, this round) = %.0fµs; server CPU per order without them: %.0fµs",
		g.perOrder, float64(g.cost)/float64(time.Microsecond), g.perOrder*float64(g.cost)/float64(time.Microsecond),
		float64(g.cpuNoSign)/float64(time.Microsecond))
}

// printOrdersSigning prints the medians of the rounds' signing accounts.
func printOrdersSigning(w io.Writer, signs []ordersSigning) {
	var per, cost, rest []float64
	for _, g := range signs {
		if !g.known {
			fmt.Fprintln(w, "signing: unknown in some round")
			return
		}
		per, cost, rest = append(per, g.perOrder), append(cost, float64(g.cost)), append(rest, float64(g.cpuNoSign))
	}
	if len(signs) == 0 {
		return
	}
	verdict := "PASS"
	if time.Duration(median(rest)) > ordersGoalCPU {
		verdict = "MISS"
	}
	fmt.Fprintf(w, "signing (median of %d round(s)): %.2f RSA signatures per order × %.0fµs; server CPU per order without them %.0fµs [%s] (target %s: %s)\n",
		len(signs), median(per), median(cost)/float64(time.Microsecond), median(rest)/float64(time.Microsecond),
		join(rest, func(v float64) string { return fmt.Sprintf("%.0fµs", v/float64(time.Microsecond)) }), ordersGoalCPU, verdict)
}
