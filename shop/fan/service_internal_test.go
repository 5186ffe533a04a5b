package fan

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
	"microshop/tenants/wechat"
	"microshop/tenants/wechat/sandbox"
)

// sim is this test binary's WeChat; the SDK's URI modifier is set once.
var sim *sandbox.Simulator

var clockOffset atomic.Int64

func testNow() time.Time { return time.Now().Add(time.Duration(clockOffset.Load())) }

func advance(t *testing.T, d time.Duration) {
	clockOffset.Add(int64(d))
	t.Cleanup(func() { clockOffset.Add(-int64(d)) })
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestMain(m *testing.M) {
	sim = sandbox.New(sandbox.Options{Now: testNow, Log: quiet})
	if err := sim.Start(); err != nil {
		panic(err)
	}
	util.SetURIModifier(sim.Rewrite)
	code := m.Run()
	_ = sim.Close()
	os.Exit(code)
}

// touches records the attribution calls.
type touches struct {
	mu    sync.Mutex
	calls []string
}

func (r *touches) Touch(_ context.Context, tenantID, fanID, scene, channel string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fanID+" "+scene+" "+channel)
	return nil
}

func (r *touches) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

type rig struct {
	tenant   tenants.Tenant
	accounts *wechat.Accounts
	svc      *Service
	acct     *wechat.Account
	touched  *touches
}

var schemas = []engine.Schema{Schema, wechat.Schema}

func newRig(t *testing.T, e *engine.Engine) rig {
	t.Helper()
	accounts := wechat.New(wechat.NewStore(e), tenants.NewStore(e), wechat.Options{Sandbox: true, Now: testNow, Log: quiet})
	r := rig{tenant: tenants.Tenant{ID: enginetest.Tenant(t, e), Slug: "shop", TimeZone: tenants.DefaultTimeZone},
		accounts: accounts, touched: &touches{}}
	r.svc = NewService(NewStore(e), accounts, r.touched, quiet)
	r.svc.now = testNow
	acct, err := accounts.Account(context.Background(), r.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	r.acct = acct
	return r
}

// push delivers a simulated fan's push as WeChat does: signed, encrypted
// (sandbox accounts are in safe mode), through the push parser.
func (r rig) push(msg []byte) (wechat.Reply, error) {
	q, body, err := wechat.SignPush(r.acct.Settings, msg, testNow().Unix(), sandbox.Nonce())
	if err != nil {
		return wechat.Reply{}, err
	}
	req := httptest.NewRequest(http.MethodPost, "/wx/shop?"+q.Encode(), bytes.NewReader(body))
	return r.acct.ServePush(req, body, func(m *message.MixMessage) (*message.Reply, error) {
		return r.svc.HandlePush(context.Background(), r.acct, m)
	})
}

func (r rig) mustPush(t *testing.T, msg []byte) wechat.Reply {
	t.Helper()
	if msg == nil {
		t.Fatal("no push to deliver")
	}
	rep, err := r.push(msg)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	return rep
}

func (r rig) fan(t *testing.T, openID string) Fan {
	t.Helper()
	f, err := r.svc.store.Get(context.Background(), r.tenant.ID, IDForOpenID(r.tenant.ID, openID))
	if err != nil {
		t.Fatalf("fan %s: %v", openID, err)
	}
	return f
}

func TestFollowScanUnfollow(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r := newRig(t, e)
		q, err := r.accounts.QR(ctx, r.tenant.ID, "guide-anna", false)
		if err != nil {
			t.Fatal(err)
		}
		appID := r.acct.Settings.AppID
		openID := sim.OpenID(appID, "phone-a")
		first, err := sim.Scan(appID, openID, q.Ticket)
		if err != nil {
			t.Fatal(err)
		}
		rep := r.mustPush(t, first)
		raw, err := wechat.OpenReply(r.acct.Settings, rep.Body)
		var welcome struct{ Content string }
		if err != nil || xml.Unmarshal(raw, &welcome) != nil || welcome.Content != r.acct.Settings.Welcome {
			t.Errorf("welcome reply %q: %v", raw, err)
		}
		f := r.fan(t, openID)
		if !f.Subscribed || f.Scene != "guide-anna" || f.FirstScene != "guide-anna" || f.Source != SourceWeChatQR {
			t.Errorf("after following through a QR code: %+v", f)
		}
		advance(t, time.Second)
		second, _ := sim.Scan(appID, openID, q.Ticket)
		if rep := r.mustPush(t, second); string(rep.Body) != "success" {
			t.Errorf("answer to a scan: %q", rep.Body)
		}
		advance(t, time.Second)
		r.mustPush(t, sim.Unfollow(appID, openID))
		if f := r.fan(t, openID); f.Subscribed || f.UnsubscribedAt.IsZero() {
			t.Errorf("after unfollowing: %+v", f)
		}
		r.svc.Wait()
		want := []string{f.ID + " guide-anna subscribe", f.ID + " guide-anna scan"}
		if got := r.touched.list(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("attribution calls %q, want %q", got, want)
		}
	})
}

// TestSamePushThreeTimes: WeChat's three deliveries of one push, at once,
// are processed once. It rests on the unique insert of the push's key, so
// it holds on FerretDB too.
func TestSamePushThreeTimes(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r := newRig(t, e)
		q, err := r.accounts.QR(ctx, r.tenant.ID, "g-3x", false)
		if err != nil {
			t.Fatal(err)
		}
		openID := sim.OpenID(r.acct.Settings.AppID, "phone-3x")
		msg, _ := sim.Scan(r.acct.Settings.AppID, openID, q.Ticket)
		qv, body, _ := wechat.SignPush(r.acct.Settings, msg, testNow().Unix(), "123")
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := httptest.NewRequest(http.MethodPost, "/wx/shop?"+qv.Encode(), bytes.NewReader(body))
				if _, err := r.acct.ServePush(req, body, func(m *message.MixMessage) (*message.Reply, error) {
					return r.svc.HandlePush(ctx, r.acct, m)
				}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		r.svc.Wait()
		if got := r.touched.list(); len(got) != 1 {
			t.Errorf("processed %d times: %q", len(got), got)
		}
		// And once more, later: still nothing new.
		r.mustPush(t, msg)
		r.svc.Wait()
		if got := r.touched.list(); len(got) != 1 {
			t.Errorf("a late retry processed again: %q", got)
		}
		// A text message, three times: one line in the conversation.
		text := sim.Text(r.acct.Settings.AppID, openID, "hello")
		for range 3 {
			r.mustPush(t, text)
		}
		msgs, _ := r.svc.Conversation(ctx, r.tenant.ID, IDForOpenID(r.tenant.ID, openID), 10)
		if len(msgs) != 1 || msgs[0].Content != "hello" || msgs[0].Direction != "in" {
			t.Errorf("conversation %+v", msgs)
		}
	})
}

// TestConcurrentSubscribes: 200 fans follow at once; every one is
// recorded. Each is a new record (an insert on its own key), so it holds on
// FerretDB too.
func TestConcurrentSubscribes(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r := newRig(t, e)
		appID := r.acct.Settings.AppID
		n := 200
		var wg sync.WaitGroup
		sem := make(chan struct{}, 50)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				msg := sim.Follow(appID, sim.OpenID(appID, fmt.Sprintf("crowd-%d", i)))
				if _, err := r.push(msg); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		yes := true
		_, total, err := r.svc.List(ctx, r.tenant.ID, Filter{Subscribed: &yes, Limit: 1})
		if err != nil || total != int64(n) {
			t.Errorf("%d fans recorded, want %d (%v)", total, n, err)
		}
	})
}

func TestReplyRule(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r := newRig(t, e)
		appID := r.acct.Settings.AppID
		openID := sim.OpenID(appID, "phone-r")
		r.mustPush(t, sim.Follow(appID, openID))
		advance(t, 2*time.Minute) // the follow's minute is over
		id := IDForOpenID(r.tenant.ID, openID)
		delivered := func() int {
			n := 0
			for _, m := range sim.Outbox(appID) {
				if m.Kind == "custom" {
					n++
				}
			}
			return n
		}
		if _, err := r.svc.Reply(ctx, r.tenant, id, "hi"); !isCode(err, 409) || !strings.Contains(err.Error(), "has not written") {
			t.Errorf("reply before the fan wrote: %v", err)
		}
		r.mustPush(t, sim.Text(appID, openID, "Is the jasmine tea in stock?"))
		for i := range 5 {
			if _, err := r.svc.Reply(ctx, r.tenant, id, fmt.Sprintf("answer %d", i+1)); err != nil {
				t.Fatalf("reply %d: %v", i+1, err)
			}
		}
		if _, err := r.svc.Reply(ctx, r.tenant, id, "6th"); !isCode(err, 409) {
			t.Errorf("6th reply: %v", err)
		}
		if n := delivered(); n != 5 {
			t.Errorf("WeChat was called %d times, want 5: the rule is checked before calling", n)
		}
		msgs, _ := r.svc.Conversation(ctx, r.tenant.ID, id, 100)
		if len(msgs) != 6 || msgs[5].Direction != "out" || msgs[5].Content != "answer 5" {
			t.Errorf("conversation: %+v", msgs)
		}
		r.mustPush(t, sim.Text(appID, openID, "thanks"))
		advance(t, 49*time.Hour)
		_, err := r.svc.Reply(ctx, r.tenant, id, "too late")
		if !isCode(err, 409) || !strings.Contains(err.Error(), "48-hour") {
			t.Errorf("reply after 48 hours: %v", err)
		}
		if n := delivered(); n != 5 {
			t.Errorf("WeChat called after the window closed: %d", n)
		}
		// WeChat refuses (the fan unfollowed, the push not delivered yet):
		// the error says why and the allowance is given back.
		r.mustPush(t, sim.Text(appID, openID, "one more"))
		sim.Unfollow(appID, openID)
		if _, err := r.svc.Reply(ctx, r.tenant, id, "hello?"); !isCode(err, 409) || wechat.ErrCode(err) != wechat.CodeRequireSubscribe {
			t.Errorf("reply WeChat refuses: %v", err)
		}
		if f, _ := r.svc.store.Get(ctx, r.tenant.ID, id); f.RepliesSinceMessage != 0 {
			t.Errorf("allowance not given back: %d used", f.RepliesSinceMessage)
		}
		// Not a WeChat fan; not a fan.
		cookie := engine.NewID()
		if _, err := r.svc.store.Ensure(ctx, r.tenant.ID, cookie, "direct", testNow()); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.Reply(ctx, r.tenant, cookie, "hi"); !isCode(err, 409) {
			t.Errorf("reply to a browser fan: %v", err)
		}
		if _, err := r.svc.Reply(ctx, r.tenant, engine.NewID(), "hi"); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("reply to nobody: %v", err)
		}
		if _, err := r.svc.Reply(ctx, r.tenant, id, strings.Repeat("长", 601)); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("a 601-character reply: %v", err)
		}
	})
}

func isCode(err error, status int) bool {
	var fe *fault.Error
	return errors.As(err, &fe) && fe.Status == status
}

func TestLink(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		r := newRig(t, e)
		cookie := engine.NewID()
		if _, err := r.svc.store.Ensure(ctx, r.tenant.ID, cookie, "share_link", testNow().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		f, err := r.svc.Link(ctx, r.tenant.ID, cookie, "oLinked")
		if err != nil || f.OpenID != "oLinked" || f.Source != "share_link" || f.ID != IDForOpenID(r.tenant.ID, "oLinked") {
			t.Fatalf("link: %+v %v", f, err)
		}
		if got, err := r.svc.Resolve(ctx, r.tenant.ID, cookie); err != nil || got != f.ID {
			t.Errorf("resolve the old id: %q %v", got, err)
		}
		if got, _ := r.svc.Resolve(ctx, r.tenant.ID, f.ID); got != f.ID {
			t.Errorf("resolve a current id: %q", got)
		}
	})
}

func TestIDForOpenID(t *testing.T) {
	a, b := IDForOpenID("t1", "o1"), IDForOpenID("t2", "o1")
	if !engine.ValidID(a) || a == b || IDForOpenID("t1", "o1") != a {
		t.Errorf("ids %q %q", a, b)
	}
}
