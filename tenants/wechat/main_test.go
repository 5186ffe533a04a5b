package wechat_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/wechat"
	"microshop/tenants/wechat/sandbox"
)

// sim is the WeChat every test in this binary talks to: the SDK's URI
// modifier is process-wide, so it is set once, here.
var sim *sandbox.Simulator

// clock is the tests' time, shared by the simulator and the accounts;
// tests move it forward and put it back.
var clock = &fakeClock{}

type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// advance moves the clock forward by d until the test ends.
func (c *fakeClock) advance(t *testing.T, d time.Duration) {
	t.Helper()
	c.offset.Add(int64(d))
	t.Cleanup(func() { c.offset.Add(-int64(d)) })
}

func TestMain(m *testing.M) {
	sim = sandbox.New(sandbox.Options{Now: clock.Now, Log: discard})
	if err := sim.Start(); err != nil {
		panic(err)
	}
	util.SetURIModifier(sim.Rewrite)
	code := m.Run()
	_ = sim.Close()
	os.Exit(code)
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// newAccounts is one replica's accounts service over the engine.
func newAccounts(e *engine.Engine, sandboxMode bool) *wechat.Accounts {
	return wechat.New(wechat.NewStore(e), tenants.NewStore(e), wechat.Options{Sandbox: sandboxMode, Now: clock.Now, Log: discard,
		Timeout: 5 * time.Second})
}

func mustAccount(t *testing.T, a *wechat.Accounts, tenantID string) *wechat.Account {
	t.Helper()
	acct, err := a.Account(context.Background(), tenantID)
	if err != nil {
		t.Fatalf("account of %s: %v", tenantID, err)
	}
	return acct
}
