package message

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
	"microshop/tenants/wechat"
	"microshop/tenants/wechat/sandbox"
)

// sim is the WeChat every test in this binary talks to (the SDK's URI
// modifier is process-wide, so it is set once, here).
var sim *sandbox.Simulator

// clock is the tests' time, shared by the simulator, the accounts and the
// services; tests move it forward and put it back.
var clock = &fakeClock{}

type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *fakeClock) advance(t *testing.T, d time.Duration) {
	t.Helper()
	c.offset.Add(int64(d))
	t.Cleanup(func() { c.offset.Add(-int64(d)) })
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

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

var schemas = []engine.Schema{fan.Schema, order.Schema, wechat.Schema, Schema}

type shops map[string]tenants.Tenant

func (s shops) TenantByID(_ context.Context, id string) (tenants.Tenant, error) {
	if t, ok := s[id]; ok {
		return t, nil
	}
	return tenants.Tenant{}, fault.NotFound("shop")
}

// fixture is a shop with a sandbox WeChat account and the message service.
type fixture struct {
	t        *testing.T
	e        *engine.Engine
	shop     tenants.Tenant
	lookup   shops
	fans     fan.Store
	store    Store
	accounts *wechat.Accounts
	sender   Sender
	svc      *Service
	appID    string
}

func newFixture(t *testing.T, e *engine.Engine) *fixture {
	t.Helper()
	id := enginetest.Tenant(t, e)
	f := &fixture{t: t, e: e, shop: tenants.Tenant{ID: id, Slug: "s-" + id[:6], Name: "Tea House", TimeZone: "Asia/Shanghai"},
		fans: fan.NewStore(e), store: NewStore(e)}
	f.lookup = shops{id: f.shop}
	f.accounts = wechat.New(wechat.NewStore(e), tenants.NewStore(e), wechat.Options{Sandbox: true, Now: clock.Now, Log: discard,
		Timeout: 5 * time.Second})
	st, err := f.accounts.Settings(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	f.appID = st.AppID
	f.sender = WeChatSender{Accounts: f.accounts}
	f.svc = f.newService()
	return f
}

// newService is a fresh service over the same store: a restarted process.
func (f *fixture) newService() *Service {
	svc := NewService(Options{Store: f.store, Fans: f.fans, Sender: f.sender, Tenants: f.lookup, Log: discard})
	svc.SetClock(clock.Now)
	f.t.Cleanup(svc.Wait)
	return svc
}

func (f *fixture) now() time.Time { return clock.Now().UTC().Truncate(time.Millisecond) }

// browserFan is a fan who never met the WeChat account.
func (f *fixture) browserFan() string {
	f.t.Helper()
	id := engine.NewID()
	if _, err := f.fans.Ensure(context.Background(), f.shop.ID, id, "direct", f.now()); err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.Touch(context.Background(), f.shop.ID, id, f.now()); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// follower is a fan who follows the account (now: the 1-minute event
// window is open), on both sides: the simulator and shop/fan.
func (f *fixture) follower() (fanID, openID string) {
	f.t.Helper()
	openID = sim.OpenID(f.appID, engine.NewID())
	if sim.Follow(f.appID, openID) == nil {
		f.t.Fatal("follow: the simulator sent nothing")
	}
	fanID = fan.IDForOpenID(f.shop.ID, openID)
	f.apply(fan.Event{FanID: fanID, OpenID: openID, Kind: fan.Subscribed, Source: fan.SourceWeChatFollow, At: f.now()})
	if err := f.store.SetWeChat(context.Background(), f.shop.ID, fanID, openID, true); err != nil {
		f.t.Fatal(err)
	}
	return fanID, openID
}

// writes makes a follower write to the account (the 48-hour window opens).
func (f *fixture) writes(fanID, openID string) {
	f.t.Helper()
	if sim.Text(f.appID, openID, "hello") == nil {
		f.t.Fatal("text: the simulator sent nothing")
	}
	f.apply(fan.Event{FanID: fanID, OpenID: openID, Kind: fan.Wrote, Source: fan.SourceWeChatMessage, At: f.now()})
}

func (f *fixture) apply(ev fan.Event) {
	f.t.Helper()
	if _, err := f.fans.Apply(context.Background(), f.shop.ID, ev); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) dispatch(svc *Service) Report {
	f.t.Helper()
	r, err := svc.Dispatch(context.Background(), f.shop.ID, time.Minute)
	if err != nil {
		f.t.Fatalf("dispatch: %v", err)
	}
	return r
}

// outbox counts what the simulated account sent: by kind and openid, the
// messages whose text contains text; failures fail the test.
func (f *fixture) outbox(text string) map[string]int {
	f.t.Helper()
	out := map[string]int{}
	for _, m := range sim.Outbox(f.appID) {
		if !strings.Contains(m.Text+m.Data["first"], text) {
			continue
		}
		if !m.Delivered() {
			f.t.Errorf("WeChat refused a message: %+v", m)
		}
		out[m.Kind+":"+m.To]++
	}
	return out
}

func (f *fixture) inbox(fanID string) []InboxItem {
	f.t.Helper()
	items, err := f.store.Inbox(context.Background(), f.shop.ID, fanID, time.Time{}, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return items
}

func (f *fixture) campaign(req CampaignRequest) Campaign {
	f.t.Helper()
	c, err := f.svc.CreateCampaign(context.Background(), f.shop, req, "test")
	if err != nil {
		f.t.Fatalf("create campaign: %v", err)
	}
	return c
}

func ptr[T any](v T) *T { return &v }
