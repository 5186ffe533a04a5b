package fan_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"microshop/shop/fan"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

func TestStoreContract(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{fan.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := fan.NewStore(e)
		tenant := enginetest.Tenant(t, e)
		id := engine.NewID()
		now := time.Now().UTC().Truncate(time.Millisecond)
		if _, err := s.Get(ctx, tenant, id); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("get before ensure: %v", err)
		}
		f, err := s.Ensure(ctx, tenant, id, "share_link", now)
		if err != nil || f.ID != id || f.Source != "share_link" || !f.CreatedAt.Equal(now) {
			t.Fatalf("ensure: %+v %v", f, err)
		}
		// A second touch keeps the first source and time.
		f, err = s.Ensure(ctx, tenant, id, "direct", now.Add(time.Hour))
		if err != nil || f.Source != "share_link" || !f.CreatedAt.Equal(now) {
			t.Fatalf("ensure again: %+v %v", f, err)
		}
		if _, err := s.Get(ctx, enginetest.Tenant(t, e), id); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("other tenant sees the fan: %v", err)
		}
	})
}

// TestEnsureConcurrent: a fan's first actions race; one record, one source.
func TestEnsureConcurrent(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{fan.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := fan.NewStore(e)
		tenant := enginetest.Tenant(t, e)
		id := engine.NewID()
		var wg sync.WaitGroup
		sources := make(chan string, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f, err := s.Ensure(ctx, tenant, id, []string{"a", "b"}[i%2], time.Now())
				if err != nil {
					t.Error(err)
					return
				}
				sources <- f.Source
			}()
		}
		wg.Wait()
		close(sources)
		first := ""
		for src := range sources {
			if first == "" {
				first = src
			}
			if src != first {
				t.Errorf("fan has two first sources: %q and %q", first, src)
			}
		}
	})
}

func at(base time.Time, secs int) time.Time { return base.Add(time.Duration(secs) * time.Second) }

// TestApplyEvents: what follows, scans, unfollows and messages do to a fan,
// and that a late retry of an older event changes nothing.
func TestApplyEvents(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{fan.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := fan.NewStore(e)
		tenant := enginetest.Tenant(t, e)
		t0 := time.Now().UTC().Truncate(time.Second)
		openID := "oAbc123"
		id := fan.IDForOpenID(tenant, openID)
		apply := func(kind fan.EventKind, scene string, secs int, want bool) {
			t.Helper()
			src := map[fan.EventKind]string{fan.Subscribed: fan.SourceWeChatQR, fan.Wrote: fan.SourceWeChatMessage}[kind]
			ok, err := s.Apply(ctx, tenant, fan.Event{FanID: id, OpenID: openID, Kind: kind, Scene: scene, Source: src, At: at(t0, secs)})
			if err != nil || ok != want {
				t.Fatalf("%s at +%ds: applied %t %v, want %t", kind, secs, ok, err, want)
			}
		}
		get := func() fan.Fan {
			t.Helper()
			f, err := s.Get(ctx, tenant, id)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		apply(fan.Subscribed, "g1", 10, true)
		f := get()
		if !f.Subscribed || f.OpenID != openID || f.Source != fan.SourceWeChatQR || f.FirstScene != "g1" || f.Scene != "g1" ||
			!f.SubscribedAt.Equal(at(t0, 10)) || !f.CreatedAt.Equal(at(t0, 10)) {
			t.Fatalf("after a follow: %+v", f)
		}
		apply(fan.Scanned, "g2", 20, true)
		if f := get(); f.Scene != "g2" || f.FirstScene != "g1" || !f.SubscribedAt.Equal(at(t0, 10)) || !f.LastEventAt.Equal(at(t0, 20)) {
			t.Errorf("after a scan: %+v", f)
		}
		apply(fan.Unsubscribed, "", 30, true)
		if f := get(); f.Subscribed || !f.UnsubscribedAt.Equal(at(t0, 30)) {
			t.Errorf("after unfollowing: %+v", f)
		}
		apply(fan.Subscribed, "g3", 25, false) // a retry older than the unfollow
		if f := get(); f.Subscribed || f.Scene != "g2" {
			t.Errorf("a late retry changed the fan: %+v", f)
		}
		apply(fan.Subscribed, "", 40, true) // follows again, from the profile
		if f := get(); !f.Subscribed || f.Scene != "g2" || f.Source != fan.SourceWeChatQR || !f.SubscribedAt.Equal(at(t0, 40)) {
			t.Errorf("after following again: %+v", f)
		}
		apply(fan.Wrote, "", 50, true)
		apply(fan.Wrote, "", 45, false)
		if f := get(); !f.LastMessageAt.Equal(at(t0, 50)) {
			t.Errorf("last message at %v", f.LastMessageAt)
		}
		// First seen writing (followed before the shop connected WeChat).
		other := fan.IDForOpenID(tenant, "oWriter")
		if ok, err := s.Apply(ctx, tenant, fan.Event{FanID: other, OpenID: "oWriter", Kind: fan.Wrote, Source: fan.SourceWeChatMessage,
			At: t0}); !ok || err != nil {
			t.Fatal(err)
		}
		if f, _ := s.Get(ctx, tenant, other); !f.Subscribed || f.Source != fan.SourceWeChatMessage {
			t.Errorf("a writer: %+v", f)
		}
		if _, err := s.Get(ctx, enginetest.Tenant(t, e), id); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("another shop sees the fan: %v", err)
		}
	})
}

func TestListFans(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{fan.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := fan.NewStore(e)
		tenant := enginetest.Tenant(t, e)
		t0 := time.Now().UTC().Truncate(time.Second)
		for i := range 7 {
			openID := fmt.Sprintf("oFan%d", i)
			kind := fan.Subscribed
			src := fan.SourceWeChatQR
			if i%2 == 1 {
				src = fan.SourceWeChatFollow
			}
			if _, err := s.Apply(ctx, tenant, fan.Event{FanID: fan.IDForOpenID(tenant, openID), OpenID: openID, Kind: kind,
				Source: src, At: at(t0, i)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Apply(ctx, tenant, fan.Event{FanID: fan.IDForOpenID(tenant, "oFan6"), OpenID: "oFan6", Kind: fan.Unsubscribed,
			At: at(t0, 100)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Ensure(ctx, tenant, engine.NewID(), "share_link", at(t0, 200)); err != nil {
			t.Fatal(err)
		}
		yes, no := true, false
		for _, tc := range []struct {
			given string
			f     fan.Filter
			total int64
			first string
		}{
			{"no filter", fan.Filter{Limit: 3}, 8, ""},
			{"following", fan.Filter{Subscribed: &yes, Limit: 10}, 6, "oFan5"},
			{"not following", fan.Filter{Subscribed: &no, Limit: 10}, 2, ""},
			{"a source", fan.Filter{Source: fan.SourceWeChatFollow, Limit: 10}, 3, "oFan5"},
			{"following and a source", fan.Filter{Subscribed: &yes, Source: fan.SourceWeChatQR, Limit: 10}, 3, "oFan4"},
			{"an openid", fan.Filter{OpenID: "oFan3", Limit: 10}, 1, "oFan3"},
			{"an unknown openid", fan.Filter{OpenID: "oNope", Limit: 10}, 0, ""},
			{"the second page", fan.Filter{Subscribed: &yes, Limit: 4, Offset: 4}, 6, "oFan1"},
		} {
			t.Run(tc.given, func(t *testing.T) {
				list, total, err := s.List(ctx, tenant, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if total != tc.total {
					t.Errorf("total %d, want %d", total, tc.total)
				}
				if want := min(int(tc.total)-tc.f.Offset, tc.f.Limit); len(list) != max(want, 0) {
					t.Errorf("%d fans, want %d", len(list), want)
				}
				if tc.first != "" && (len(list) == 0 || list[0].OpenID != tc.first) {
					t.Errorf("first %+v, want %s", list, tc.first)
				}
			})
		}
	})
}

// TestPushClaims: a push key is claimed once, however many deliveries race
// (a unique insert: holds on every engine); a released claim is taken
// again; old claims are purged.
func TestPushClaims(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{fan.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := fan.NewStore(e)
		tenant := enginetest.Tenant(t, e)
		now := time.Now().UTC().Truncate(time.Millisecond)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.ClaimPush(ctx, tenant, fan.PushRecord{Key: "m:1", OpenID: "o", Kind: "text", At: now})
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d claims of one push, want 1", wins.Load())
		}
		if ok, _ := s.ClaimPush(ctx, enginetest.Tenant(t, e), fan.PushRecord{Key: "m:1", At: now}); !ok {
			t.Error("another shop's push with the same key was refused")
		}
		if err := s.ReleasePush(ctx, tenant, "m:1"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.ClaimPush(ctx, tenant, fan.PushRecord{Key: "m:1", At: now}); !ok {
			t.Error("released push not claimable")
		}
		if ok, _ := s.ClaimPush(ctx, tenant, fan.PushRecord{Key: "e:old", At: now.Add(-100 * time.Hour)}); !ok {
			t.Fatal("old claim")
		}
		n, err := s.PurgePushes(ctx, tenant, now.Add(-72*time.Hour))
		if err != nil || n != 1 {
			t.Errorf("purged %d %v, want 1", n, err)
		}
		if ok, _ := s.ClaimPush(ctx, tenant, fan.PushRecord{Key: "m:1", At: now}); ok {
			t.Error("purge removed a recent claim")
		}
	})
}

func TestMessages(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{fan.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := fan.NewStore(e)
		tenant := enginetest.Tenant(t, e)
		t0 := time.Now().UTC().Truncate(time.Millisecond)
		for i := range 5 {
			ok, err := s.AddMessage(ctx, tenant, fan.Message{ID: fmt.Sprintf("in:f:%d", i), FanID: "f", Direction: "in", Kind: "text",
				Content: fmt.Sprint(i), CreatedAt: at(t0, i)})
			if !ok || err != nil {
				t.Fatal(err)
			}
		}
		if ok, err := s.AddMessage(ctx, tenant, fan.Message{ID: "in:f:1", FanID: "f", CreatedAt: t0}); ok || err != nil {
			t.Errorf("the same message twice: %v %v", ok, err)
		}
		msgs, err := s.Messages(ctx, tenant, "f", 3)
		if err != nil || len(msgs) != 3 || msgs[0].Content != "2" || msgs[2].Content != "4" {
			t.Errorf("last 3, oldest first: %+v %v", msgs, err)
		}
		if msgs, _ := s.Messages(ctx, tenant, "g", 3); len(msgs) != 0 {
			t.Errorf("another fan's conversation: %+v", msgs)
		}
	})
}

// TestReplyAllowance: WeChat's customer-service rule as the store enforces
// it before anything is sent.
func TestReplyAllowance(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{fan.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := fan.NewStore(e)
		tenant := enginetest.Tenant(t, e)
		now := time.Now().UTC().Truncate(time.Second)
		id := fan.IDForOpenID(tenant, "oR")
		reserve := func(when time.Time) bool {
			t.Helper()
			ok, err := s.ReserveReply(ctx, tenant, id, when)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if _, err := s.Apply(ctx, tenant, fan.Event{FanID: id, OpenID: "oR", Kind: fan.Subscribed, At: now.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if reserve(now) {
			t.Error("a reply an hour after the follow, without a message")
		}
		// A follow just now: 3 within the minute.
		if _, err := s.Apply(ctx, tenant, fan.Event{FanID: id, OpenID: "oR", Kind: fan.Scanned, Scene: "x", At: now}); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if !reserve(now.Add(10 * time.Second)) {
				t.Fatalf("reply %d after a scan refused", i+1)
			}
		}
		if reserve(now.Add(10 * time.Second)) {
			t.Error("a 4th reply after a scan")
		}
		// A message: 5 within 48 hours.
		if _, err := s.Apply(ctx, tenant, fan.Event{FanID: id, OpenID: "oR", Kind: fan.Wrote, At: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		later := now.Add(47 * time.Hour)
		for i := range 5 {
			if !reserve(later) {
				t.Fatalf("reply %d within 48 hours refused", i+1)
			}
		}
		if reserve(later) {
			t.Error("a 6th reply")
		}
		if err := s.ReturnReply(ctx, tenant, id); err != nil {
			t.Fatal(err)
		}
		if !reserve(later) {
			t.Error("a returned reply cannot be used")
		}
		f, _ := s.Get(ctx, tenant, id)
		if w := f.ReplyWindow(later, time.UTC); w.Open || !strings.Contains(w.Reason, "5 replies") {
			t.Errorf("window after 5 replies: %+v", w)
		}
		if _, err := s.Apply(ctx, tenant, fan.Event{FanID: id, OpenID: "oR", Kind: fan.Wrote, At: later}); err != nil {
			t.Fatal(err)
		}
		if reserve(later.Add(48*time.Hour + time.Second)) {
			t.Error("a reply 48 hours after the last message")
		}
		f, _ = s.Get(ctx, tenant, id)
		if w := f.ReplyWindow(later.Add(49*time.Hour), time.UTC); w.Open || !strings.Contains(w.Reason, "48-hour reply window closed") {
			t.Errorf("window 49 hours on: %+v", w)
		}
		if _, err := s.Apply(ctx, tenant, fan.Event{FanID: id, OpenID: "oR", Kind: fan.Unsubscribed, At: later.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		if reserve(later.Add(time.Minute)) {
			t.Error("a reply to a fan who unfollowed")
		}
	})
}

// TestReplyAllowanceConcurrent: merchants replying at once cannot take more
// than WeChat allows.
func TestReplyAllowanceConcurrent(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{fan.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := fan.NewStore(e)
		tenant := enginetest.Tenant(t, e)
		now := time.Now().UTC()
		id := fan.IDForOpenID(tenant, "oC")
		if _, err := s.Apply(ctx, tenant, fan.Event{FanID: id, OpenID: "oC", Kind: fan.Wrote, At: now}); err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.ReserveReply(ctx, tenant, id, now)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != fan.MessageReplies {
			t.Errorf("%d replies reserved, want %d", wins.Load(), fan.MessageReplies)
		}
	})
}

// TestMerge: a browser's cookie fan merges into its WeChat fan, which keeps
// the earlier first source; the old id becomes an alias.
func TestMerge(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{fan.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := fan.NewStore(e)
		tenant := enginetest.Tenant(t, e)
		t0 := time.Now().UTC().Truncate(time.Millisecond)
		cookie := engine.NewID()
		if _, err := s.Ensure(ctx, tenant, cookie, "share_link", t0); err != nil {
			t.Fatal(err)
		}
		wx := fan.IDForOpenID(tenant, "oM")
		if _, err := s.Apply(ctx, tenant, fan.Event{FanID: wx, OpenID: "oM", Kind: fan.Subscribed, Source: fan.SourceWeChatQR,
			Scene: "g", At: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		into := fan.Fan{ID: wx, OpenID: "oM", Source: fan.SourceWeChatOAuth, CreatedAt: t0.Add(2 * time.Hour)}
		for range 2 { // idempotent
			if err := s.Merge(ctx, tenant, cookie, into); err != nil {
				t.Fatal(err)
			}
		}
		f, err := s.Get(ctx, tenant, wx)
		if err != nil || f.Source != "share_link" || !f.CreatedAt.Equal(t0) || !f.Subscribed || f.Scene != "g" {
			t.Errorf("merged fan: %+v %v", f, err)
		}
		if _, err := s.Get(ctx, tenant, cookie); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("cookie fan still there: %v", err)
		}
		if got, err := s.Alias(ctx, tenant, cookie); err != nil || got != wx {
			t.Errorf("alias: %q %v", got, err)
		}
		// A browser that never did anything: the WeChat fan is created,
		// no alias.
		fresh := engine.NewID()
		wx2 := fan.Fan{ID: fan.IDForOpenID(tenant, "oN"), OpenID: "oN", Source: fan.SourceWeChatOAuth, CreatedAt: t0}
		if err := s.Merge(ctx, tenant, fresh, wx2); err != nil {
			t.Fatal(err)
		}
		if f, err := s.Get(ctx, tenant, wx2.ID); err != nil || f.OpenID != "oN" || f.Source != fan.SourceWeChatOAuth || f.Subscribed {
			t.Errorf("fan from sign-in: %+v %v", f, err)
		}
		if _, err := s.Alias(ctx, tenant, fresh); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("alias for a browser with no record: %v", err)
		}
	})
}
