package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"microshop/shop/fan"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

// fanIDOf is the shopper's fan id (from its signed cookie).
func fanIDOf(t *testing.T, c *client, base, slug string) string {
	t.Helper()
	u, _ := url.Parse(base + "/s/" + slug + "/")
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == fan.Cookie {
			id, _, _ := strings.Cut(ck.Value, ".")
			return id
		}
	}
	t.Fatal("no fan cookie")
	return ""
}

type checkinJSON struct {
	PointsAwarded int64 `json:"points_awarded"`
	Streak        int   `json:"streak"`
	Balance       int64 `json:"balance"`
	Already       bool  `json:"already_checked_in"`
}

type ledgerJSON struct {
	Balance int64 `json:"balance"`
	Entries []struct {
		Key    string `json:"key"`
		Kind   string `json:"kind"`
		Points int64  `json:"points"`
		By     string `json:"by"`
	} `json:"entries"`
}

type inboxJSON struct {
	Items []struct {
		Kind  string `json:"kind"`
		Title string `json:"title"`
		Body  string `json:"body"`
	} `json:"items"`
	Marketing bool `json:"marketing"`
}

// TestPointsAndMessages walks the issue end to end through the real router:
// rules, a check-in (and the repeat), a merchant's adjustment, an order
// paid partly with points, its notice in the inbox, a refund giving the
// points back, a campaign, the opt-out, the console pages, and bad input.
func TestPointsAndMessages(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		a, srv := startApp(t, e)
		s := signUp(t, srv.URL, "points-shop")
		api := s.apiClient(t, srv.URL)
		base := "/s/" + s.Slug

		var rules map[string]any
		if st := api.json(http.MethodGet, "/api/v1/points/rules", nil, &rules); st != http.StatusOK || rules["enabled"] != true {
			t.Fatalf("default rules: %d %v", st, rules)
		}
		rules["base_points"], rules["streak_rewards"], rules["order_points_per_yuan"] = 10, []any{}, 1
		rules["redeem_points_per_yuan"], rules["redeem_max_percent"] = 100, 50
		if st := api.json(http.MethodPut, "/api/v1/points/rules", rules, &rules); st != http.StatusOK { // the answer: the next rev
			t.Fatalf("save rules: %d", st)
		}

		shopper := newClient(t, srv.URL)
		if st, b := shopper.do(http.MethodGet, base+"/me", nil, ""); st != http.StatusOK || !strings.Contains(string(b), "data-checkin") {
			t.Fatalf("me page: %d %.300s", st, b)
		}
		fanID := fanIDOf(t, shopper, srv.URL, s.Slug)
		var ci checkinJSON
		if st := shopper.json(http.MethodPost, base+"/api/checkin", map[string]any{}, &ci); st != http.StatusCreated ||
			ci.PointsAwarded != 10 || ci.Streak != 1 || ci.Balance != 10 {
			t.Fatalf("check in: %d %+v", st, ci)
		}
		if st := shopper.json(http.MethodPost, base+"/api/checkin", nil, &ci); st != http.StatusOK || !ci.Already || ci.Balance != 10 {
			t.Fatalf("second check-in: %d %+v", st, ci)
		}
		if st, b := shopper.do(http.MethodGet, base+"/me", nil, ""); st != http.StatusOK || !strings.Contains(string(b), "Checked in today") ||
			!strings.Contains(string(b), `data-checked="`) {
			t.Fatalf("me page after checking in: %d %.300s", st, b)
		}

		// The merchant adds points; the fan spends them at checkout.
		var adj map[string]any
		if st := api.json(http.MethodPost, "/api/v1/fans/"+fanID+"/points/adjustments", map[string]any{"points": 5000, "reason": "welcome gift"}, &adj); st != http.StatusCreated {
			t.Fatalf("adjust: %d %v", st, adj)
		}
		p := api.createProduct(map[string]any{"title": "Tea set", "price": 10000, "stock": 5})
		var o struct {
			ID       string `json:"id"`
			Discount int64  `json:"discount"`
			Payable  int64  `json:"payable"`
		}
		if st := shopper.json(http.MethodPost, base+"/api/orders", map[string]any{"items": []map[string]any{{"product_id": p.ID, "qty": 1}},
			"address": testAddress, "points": 9000}, &o); st != http.StatusCreated || o.Discount != 5000 || o.Payable != 5000 {
			t.Fatalf("order with points: %d %+v", st, o)
		}
		if st := shopper.json(http.MethodPost, base+"/api/orders/"+o.ID+"/pay", map[string]bool{"sandbox_confirm": true}, nil); st != http.StatusOK {
			t.Fatalf("pay: %d", st)
		}
		var led ledgerJSON
		if st := shopper.json(http.MethodGet, base+"/api/points", nil, &led); st != http.StatusOK || led.Balance != 10+5000-5000+50 {
			t.Fatalf("points after paying: %d %+v", st, led)
		}
		a.msgs.Wait()
		var inbox inboxJSON
		if st := shopper.json(http.MethodGet, base+"/api/inbox", nil, &inbox); st != http.StatusOK || len(inbox.Items) != 1 ||
			inbox.Items[0].Kind != "order_paid" || !inbox.Marketing {
			t.Fatalf("inbox after paying: %d %+v", st, inbox)
		}
		// A full refund: the reward goes, the points used come back.
		if st := api.json(http.MethodPost, "/api/v1/orders/"+o.ID+"/refund", map[string]any{"amount": 5000, "reason": "broken"}, nil); st != http.StatusOK {
			t.Fatalf("refund: %d", st)
		}
		a.settleRefunds()
		if st := api.json(http.MethodGet, "/api/v1/fans/"+fanID+"/points", nil, &led); st != http.StatusOK || led.Balance != 5010 {
			t.Fatalf("points after the refund: %d %+v", st, led)
		}
		kinds := map[string]int{}
		for _, en := range led.Entries {
			kinds[en.Kind]++
		}
		if kinds["checkin"] != 1 || kinds["adjustment"] != 1 || kinds["redemption"] != 1 || kinds["order_reward"] != 1 ||
			kinds["refund_clawback"] != 1 || kinds["redemption_return"] != 1 {
			t.Fatalf("ledger kinds %v", kinds)
		}
		// The shopper hears of the refund once it succeeded (WeChat's
		// "退款通知" when the shop has it, else the inbox).
		a.msgs.Wait()
		if st := shopper.json(http.MethodGet, base+"/api/inbox", nil, &inbox); st != http.StatusOK || len(inbox.Items) != 2 {
			t.Fatalf("inbox after the refund: %d %+v", st, inbox)
		}
		refunded := 0
		for _, it := range inbox.Items {
			if it.Kind == "order_refunded" && strings.Contains(it.Body, "¥50.00") && strings.Contains(it.Body, o.ID) {
				refunded++
			}
		}
		if refunded != 1 {
			t.Errorf("refund notices in the inbox: %d, want 1: %+v", refunded, inbox.Items)
		}

		// A campaign to everyone reaches the fan's inbox (not a WeChat
		// follower); after opting out, the next is skipped.
		var cp struct {
			ID     string           `json:"id"`
			Status string           `json:"status"`
			Counts map[string]int64 `json:"counts"`
		}
		if st := api.json(http.MethodPost, "/api/v1/campaigns", map[string]any{"name": "Autumn", "kind": "text", "text": "Autumn tea is in!",
			"rule": map[string]any{}}, &cp); st != http.StatusCreated {
			t.Fatalf("campaign: %d", st)
		}
		a.msgs.Wait()
		if st := api.json(http.MethodGet, "/api/v1/campaigns/"+cp.ID, nil, &cp); st != http.StatusOK || cp.Status != "done" || cp.Counts["sent"] != 1 {
			t.Fatalf("campaign after sending: %d %+v", st, cp)
		}
		if st := shopper.json(http.MethodPut, base+"/api/inbox/preferences", map[string]bool{"marketing": false}, nil); st != http.StatusOK {
			t.Fatalf("opt out: %d", st)
		}
		if st := api.json(http.MethodPost, "/api/v1/campaigns", map[string]any{"name": "Winter", "kind": "text", "text": "Winter tea",
			"rule": map[string]any{}}, &cp); st != http.StatusCreated {
			t.Fatalf("campaign: %d", st)
		}
		a.msgs.Wait()
		if st := api.json(http.MethodGet, "/api/v1/campaigns/"+cp.ID, nil, &cp); st != http.StatusOK || cp.Counts["skipped"] != 1 {
			t.Fatalf("campaign to an opted-out fan: %d %+v", st, cp)
		}
		if st, b := shopper.do(http.MethodGet, base+"/inbox", nil, ""); st != http.StatusOK || !strings.Contains(string(b), "Autumn tea is in!") ||
			strings.Contains(string(b), "Winter tea") {
			t.Fatalf("inbox page: %d %.500s", st, b)
		}

		// The console.
		console := s.consoleClient(t, srv.URL)
		for _, path := range []string{"/admin/points", "/admin/points/fans/" + fanID, "/admin/messages", "/admin/messages/" + cp.ID,
			"/admin/segments", "/admin/message-settings", "/admin/audience/" + fanID} {
			if st, b := console.do(http.MethodGet, path, nil, ""); st != http.StatusOK {
				t.Fatalf("GET %s: %d %.300s", path, st, b)
			}
		}
		if st, b := console.form("/admin/points/fans/"+fanID+"/adjust", url.Values{"points": {"-10"}, "reason": {"typo"}, "key": {engine.NewID()}}); st != http.StatusSeeOther {
			t.Fatalf("console adjustment: %d %.300s", st, b)
		}
		if st := api.json(http.MethodGet, "/api/v1/fans/"+fanID+"/points", nil, &led); led.Balance != 5000 || led.Entries[0].By != s.Email {
			t.Fatalf("after the console's adjustment: %d %+v", st, led)
		}
		if st, b := console.form("/admin/points/fans/"+fanID+"/adjust", url.Values{"points": {"-99999"}, "reason": {"too much"}}); st != http.StatusConflict ||
			!strings.Contains(string(b), "cannot be taken") {
			t.Fatalf("console over-deduction: %d %.300s", st, b)
		}
		if st, b := console.form("/admin/segments", url.Values{"name": {"Savers"}, "min_points": {"100"}, "action": {"count"}}); st != http.StatusOK ||
			!strings.Contains(string(b), "1 fans match") {
			t.Fatalf("segment count: %d %.500s", st, b)
		}
		if st, b := console.form("/admin/points/rules", url.Values{"base_points": {"x"}}); st != http.StatusBadRequest {
			t.Fatalf("bad rules form: %d %.300s", st, b)
		}
		var stats struct {
			Days []struct {
				Checkins int64 `json:"checkins"`
			} `json:"days"`
			Outstanding int64 `json:"outstanding"`
			Value       int64 `json:"value"`
			Active7     int64 `json:"active_7d"`
			Fans        int64 `json:"fans"`
		}
		if st := api.json(http.MethodGet, "/api/v1/points/stats", nil, &stats); st != http.StatusOK || stats.Days[13].Checkins != 1 ||
			stats.Outstanding != 5000 || stats.Value != 5000 || stats.Active7 != 1 || stats.Fans != 1 {
			t.Fatalf("stats: %d %+v", st, stats)
		}

		// Bad input: a clear 4xx, never a 500.
		bad := []struct {
			name, method, path string
			c                  *client
			body               any
			want               int
		}{
			{"rules: negative points", http.MethodPut, "/api/v1/points/rules", api, map[string]any{"base_points": -1, "cycle": "week", "expiry": "never"}, 400},
			{"rules: unknown field", http.MethodPut, "/api/v1/points/rules", api, map[string]any{"bonus": 1}, 400},
			{"adjust: no reason", http.MethodPost, "/api/v1/fans/" + fanID + "/points/adjustments", api, map[string]any{"points": 5}, 400},
			{"adjust: unknown fan", http.MethodPost, "/api/v1/fans/" + engine.NewID() + "/points/adjustments", api, map[string]any{"points": 5, "reason": "x"}, 404},
			{"ledger: malformed fan", http.MethodGet, "/api/v1/fans/nope/points", api, nil, 404},
			{"ledger: bad page", http.MethodGet, "/api/v1/fans/" + fanID + "/points?before=x", api, nil, 400},
			{"campaign: template as marketing", http.MethodPost, "/api/v1/campaigns", api, map[string]any{"name": "x", "kind": "template", "rule": map[string]any{},
				"template": map[string]any{"id": "t", "fields": map[string]string{"first": "Sale"}}}, 400},
			{"campaign: unknown segment", http.MethodPost, "/api/v1/campaigns", api, map[string]any{"name": "x", "kind": "text", "text": "x", "segment_id": engine.NewID()}, 400},
			{"segment: bad rule", http.MethodPost, "/api/v1/segments", api, map[string]any{"name": "x", "rule": map[string]any{"subscribed": "maybe"}}, 400},
			{"settings: bad rate", http.MethodPut, "/api/v1/message-settings", api, map[string]any{"rate": 0, "templates": map[string]string{}}, 400},
			{"settings: unknown notice", http.MethodPut, "/api/v1/message-settings", api, map[string]any{"rate": 5, "templates": map[string]string{"sale": "t"}}, 400},
			{"campaign: unknown", http.MethodGet, "/api/v1/campaigns/" + engine.NewID(), api, nil, 404},
			{"tags: bad tag", http.MethodPut, "/api/v1/fans/" + fanID + "/tags", api, map[string]any{"tags": []string{"<b>"}}, 400},
			{"reminder: missing", http.MethodPut, base + "/api/points/reminder", shopper, map[string]any{}, 400},
			{"reminder: wrong type", http.MethodPut, base + "/api/points/reminder", shopper, `{"on":"yes"}`, 400},
			{"preferences: missing", http.MethodPut, base + "/api/inbox/preferences", shopper, map[string]any{}, 400},
			{"check-in: a body that is not JSON", http.MethodPost, base + "/api/checkin", shopper, `nope`, 400},
			{"points: bad page", http.MethodGet, base + "/api/points?limit=1000", shopper, nil, 400},
		}
		for _, b := range bad {
			var out apiError
			if st := b.c.json(b.method, b.path, b.body, &out); st != b.want || (st >= 400 && out.Error.Message == "" && b.method != http.MethodGet) {
				t.Errorf("%s: %d %+v, want %d", b.name, st, out, b.want)
			}
		}
		if st, b := shopper.do(http.MethodGet, base+"/me?month=1999-01", nil, ""); st != http.StatusBadRequest || !strings.Contains(string(b), "month") {
			t.Errorf("me page, bad month: %d", st)
		}
		if st, _ := shopper.do(http.MethodPost, base+"/api/checkin", strings.NewReader("x=1"), "application/x-www-form-urlencoded"); st != http.StatusUnsupportedMediaType {
			t.Errorf("form-encoded check-in: %d", st)
		}
		// Check-in turned off.
		rules["enabled"] = false
		if st := api.json(http.MethodPut, "/api/v1/points/rules", rules, nil); st != http.StatusOK {
			t.Fatalf("turn check-in off: %d", st)
		}
		other := newClient(t, srv.URL)
		if st := other.json(http.MethodPost, base+"/api/checkin", nil, nil); st != http.StatusConflict {
			t.Fatalf("check-in when off: %d", st)
		}
	})
}

// messagingObjects creates a segment and a (scheduled) campaign in shop s
// for the isolation test; customer is one of s's fans.
func messagingObjects(t *testing.T, base string, s shop, customer string) map[string]string {
	t.Helper()
	api := s.apiClient(t, base)
	var sg, cp struct{ ID string }
	api.json(http.MethodPost, "/api/v1/segments", map[string]any{"name": "B's segment", "rule": map[string]any{"tags": []string{"vip"}}}, &sg)
	api.json(http.MethodPost, "/api/v1/campaigns", map[string]any{"name": "B's campaign", "kind": "text", "text": "B only",
		"rule": map[string]any{}, "scheduled_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, &cp)
	if sg.ID == "" || cp.ID == "" {
		t.Fatalf("%s's messaging objects: %+v %+v", s.Slug, sg, cp)
	}
	return map[string]string{"segments": sg.ID, "campaigns": cp.ID, "messages": cp.ID, "fans": customer, "audience": customer}
}
