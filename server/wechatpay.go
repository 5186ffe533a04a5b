package main

import (
	"context"
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"microshop/shop/order"
	"microshop/tenants/wechat/paysim"
)

// paySimEnv names the address of a WeChat Pay simulator running in a
// process of its own (go run ./tenants/wechat/paysim/cmd/paysim): a
// sandbox server given it pays through that simulator instead of the one
// it starts in process, so its CPU counts only its own side of each
// payment (scripts/bench -scenario orders). Ignored with --wechat=live.
const paySimEnv = "MICROSHOP_WECHAT_PAY_SIM"

// useRemotePaySim points the orders' WeChat Pay at the simulator named by
// MICROSHOP_WECHAT_PAY_SIM, if any: the SDK's requests go to it over HTTP,
// and its notifications come to /pay/notify/{slug}/wechat over HTTP, as
// WeChat Pay's do.
//
// It also puts the RSA signatures made with merchants' keys in /metrics
// (microshop_wechat_pay_signatures_total), so that the benchmark can tell
// their cost from the rest of an order's.
func (a *app) useRemotePaySim(ctx context.Context) error {
	a.metrics.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "microshop_wechat_pay_signatures_total",
		Help: "RSA-SHA256 signatures made with merchants' WeChat Pay keys (API requests' Authorization, JSAPI paySign).",
	}, func() float64 { return float64(order.Signatures()) }))
	base := os.Getenv(paySimEnv)
	wp := a.orders.WeChatPay()
	if base == "" || a.cfg.WeChat == "live" || wp == nil {
		return nil
	}
	remote, err := paysim.Dial(ctx, base)
	if err != nil {
		return fmt.Errorf("%s: %w", paySimEnv, err)
	}
	wp.Reach(a.metrics.countCalls("wechat_pay", remote.Client()), remote)
	a.paysim = nil // nothing to deliver in process
	a.log.Info("wechat pay through the simulator at " + base)
	return nil
}
