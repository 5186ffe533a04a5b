package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
	"microshop/tenants/wechat"
	"microshop/tenants/wechat/sandbox"
)

// TestWeChatAppIDIsolation: a shop's AppID is public (its storefront's OAuth
// redirect carries it). Another shop entering it, through the API or the
// console, gets a 409 and keeps its own sandbox account: it sees nothing of
// the first shop's outbox or phone, and the first shop's QR codes keep
// working.
func TestWeChatAppIDIsolation(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		a, srv := startApp(t, e)
		victim := newWXShop(t, a, srv.URL, "victim-wx")
		thief := newWXShop(t, a, srv.URL, "thief-wx")
		appID := victim.settings.AppID
		stolen := map[string]string{"app_id": appID, "app_secret": strings.Repeat("7", 32), "token": "ThiefToken1", "mode": "plaintext"}

		// The API: a 409 on app_id.
		var apiErr apiError
		api := thief.apiClient(t, srv.URL)
		if status := api.json(http.MethodPut, "/api/v1/wechat", stolen, &apiErr); status != http.StatusConflict ||
			apiErr.Error.Field != "app_id" || strings.Contains(apiErr.Error.Message, victim.Slug) {
			t.Errorf("PUT another shop's AppID: %d %+v", status, apiErr)
		}
		// The console: the form again, with the error, and a 409.
		console := thief.consoleClient(t, srv.URL)
		form := url.Values{}
		for k, v := range stolen {
			form.Set(k, v)
		}
		if status, b := console.form("/admin/wechat", form); status != http.StatusConflict || !strings.Contains(string(b), "another shop") {
			t.Errorf("console save of another shop's AppID: %d %.300s", status, b)
		}
		// The thief's own account is unchanged, and using it fetches its
		// own token, not one for the victim's AppID.
		var view struct {
			AppID string `json:"app_id"`
		}
		if api.json(http.MethodGet, "/api/v1/wechat", nil, &view); view.AppID != thief.settings.AppID {
			t.Errorf("the thief's AppID is now %q", view.AppID)
		}
		var qr struct {
			Ticket string `json:"ticket"`
		}
		if status := api.json(http.MethodPost, "/api/v1/wechat/qrcodes", map[string]any{"scene": "thief-1"}, &qr); status != http.StatusOK {
			t.Errorf("the thief's own QR code: %d", status)
		}

		// The victim's QR codes work: issued after the attempt, scanned,
		// pushed to the victim.
		vapi := victim.apiClient(t, srv.URL)
		qr.Ticket = ""
		fanID := victim.sim.OpenID(appID, "victim-fan-phone")
		if status := vapi.json(http.MethodPost, "/api/v1/wechat/qrcodes", map[string]any{"scene": "victim-1"}, &qr); status != http.StatusOK || qr.Ticket == "" {
			t.Errorf("the victim's QR code after the attempt: %d", status)
		} else if follow, err := victim.sim.Scan(appID, fanID, qr.Ticket); err != nil {
			t.Errorf("scanning the victim's code: %v", err)
		} else if status, body := victim.deliver(t, victim.settings, follow); status != http.StatusOK {
			t.Errorf("the victim's scan push: %d %s", status, body)
		}

		// The victim's sandbox phone follows: its welcome lands in the
		// victim's outbox.
		vconsole := victim.consoleClient(t, srv.URL)
		if status, b := vconsole.form("/admin/wechat/phone/unfollow", nil); status != http.StatusSeeOther {
			t.Fatalf("victim phone: %d %.200s", status, b)
		}
		if status, b := vconsole.form("/admin/wechat/phone/follow", nil); status != http.StatusSeeOther {
			t.Fatalf("victim phone follow: %d %.200s", status, b)
		}
		status, outbox := vconsole.do(http.MethodGet, "/admin/wechat/outbox", nil, "")
		if status != http.StatusOK || !strings.Contains(string(outbox), "passive") {
			t.Fatalf("victim outbox: %d %.300s", status, outbox)
		}
		victimPhone := between(string(outbox), "<code>", "</code>", "o")

		// The thief's outbox and phone show its own account only.
		status, b := console.do(http.MethodGet, "/admin/wechat/outbox", nil, "")
		if status != http.StatusOK || strings.Contains(string(b), appID) || strings.Contains(string(b), victimPhone) ||
			strings.Contains(string(b), fanID) {
			t.Errorf("the thief's outbox shows the victim's account: %d", status)
		}
		// The thief's phone is a fan of the thief's account.
		status, b = console.do(http.MethodGet, "/admin/wechat/phone", nil, "")
		u, _ := url.Parse(srv.URL)
		device := ""
		for _, c := range console.http.Jar.Cookies(u) {
			if c.Name == sandbox.DeviceCookie {
				device = c.Value
			}
		}
		if phone := between(string(b), `<code id="openid">`, "</code>", ""); status != http.StatusOK ||
			phone != thief.sim.OpenID(thief.settings.AppID, device) || strings.Contains(string(b), appID) {
			t.Errorf("the thief's phone: %d, openid %q", status, phone)
		}
	})
}

// TestWeChatAppIDLegacyDuplicate: a shop that saved another shop's AppID
// before AppIDs were claimed has no account (its pushes and OAuth stop),
// and its console says why and still lets it enter its own.
func TestWeChatAppIDLegacyDuplicate(t *testing.T) {
	e := sqliteEngine(t)
	a, srv := startApp(t, e)
	victim := newWXShop(t, a, srv.URL, "legacy-victim")
	dup := signUp(t, srv.URL, "legacy-dup")
	copied := victim.settings
	copied.Rev = 1
	if err := wechat.NewStore(e).SaveSettings(context.Background(), dup.ID, copied); err != nil {
		t.Fatal(err)
	}
	console := dup.consoleClient(t, srv.URL)
	status, b := console.do(http.MethodGet, "/admin/wechat", nil, "")
	if status != http.StatusOK || !strings.Contains(string(b), "connected to another shop") || !strings.Contains(string(b), `name="app_id"`) {
		t.Errorf("console of the duplicate: %d %.300s", status, b)
	}
	if _, err := a.wechat.accounts.Account(context.Background(), dup.ID); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("the duplicate has an account: %v", err)
	}
	own := map[string]string{"app_id": "wx000000000legacy1", "app_secret": strings.Repeat("9", 32), "token": "OwnToken1"}
	if status := dup.apiClient(t, srv.URL).json(http.MethodPut, "/api/v1/wechat", own, nil); status != http.StatusOK {
		t.Errorf("entering its own account: %d", status)
	}
}

// between is the first text between start and end that begins with
// prefix, "" if none.
func between(s, start, end, prefix string) string {
	for {
		_, rest, ok := strings.Cut(s, start)
		if !ok {
			return ""
		}
		v, after, ok := strings.Cut(rest, end)
		if !ok {
			return ""
		}
		if strings.HasPrefix(v, prefix) {
			return v
		}
		s = after
	}
}

// TestWeChatAppIDRace: two shops entering one AppID at once: one gets it,
// the other a 409.
func TestWeChatAppIDRace(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		a, srv := startApp(t, e)
		shops := []wxShop{newWXShop(t, a, srv.URL, "race-wx-1"), newWXShop(t, a, srv.URL, "race-wx-2")}
		body := map[string]string{"app_id": "wx0000000000race01", "app_secret": strings.Repeat("8", 32), "token": "RaceToken1"}
		statuses := make([]int, len(shops))
		var wg sync.WaitGroup
		for i, s := range shops {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = s.apiClient(t, srv.URL).json(http.MethodPut, "/api/v1/wechat", body, nil)
			}()
		}
		wg.Wait()
		ok, conflict := 0, 0
		for _, st := range statuses {
			switch st {
			case http.StatusOK:
				ok++
			case http.StatusConflict:
				conflict++
			}
		}
		if ok != 1 || conflict != 1 {
			t.Errorf("statuses %v, want one 200 and one 409", statuses)
		}
	})
}
