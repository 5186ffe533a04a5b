package message

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

func TestSegments(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		enginetest.AllowFullScan(t, e, "audience", "the rule {} (every fan) counts the shop's whole audience")
		ctx := context.Background()
		now := f.now()
		today := now.In(zone(f.shop)).Format(time.DateOnly)
		// Five fans with different figures.
		type fanSpec struct {
			tags               []string
			guide, store, dist string
			subscribed         bool
			orders             int
			activeDaysAgo      int
			points             int64
			streak             int
			checkinDaysAgo     int
		}
		specs := map[string]fanSpec{
			"a": {tags: []string{"vip", "tea"}, guide: "g1", store: "s1", subscribed: true, orders: 3, activeDaysAgo: 1, points: 500, streak: 5, checkinDaysAgo: 0},
			"b": {tags: []string{"tea"}, guide: "g2", store: "s1", dist: "d1", subscribed: true, orders: 1, activeDaysAgo: 10, points: 50, streak: 2, checkinDaysAgo: 1},
			"c": {tags: nil, guide: "g1", subscribed: false, orders: 0, activeDaysAgo: 40, points: 0, streak: 9, checkinDaysAgo: 3},
			"d": {tags: []string{"vip"}, dist: "d1", subscribed: false, orders: 7, activeDaysAgo: 2, points: 2000},
			"e": {activeDaysAgo: 100},
		}
		ids := map[string]string{}
		for name, sp := range specs {
			id := engine.NewID()
			ids[name] = id
			must(t, f.store.Touch(ctx, f.shop.ID, id, now.AddDate(0, 0, -sp.activeDaysAgo)))
			must(t, f.store.SetTags(ctx, f.shop.ID, id, sp.tags))
			must(t, f.store.SetBinding(ctx, f.shop.ID, id, sp.guide, sp.store, sp.dist))
			must(t, f.store.SetWeChat(ctx, f.shop.ID, id, "o"+id, sp.subscribed))
			day := ""
			if sp.streak > 0 {
				day = now.In(zone(f.shop)).AddDate(0, 0, -sp.checkinDaysAgo).Format(time.DateOnly)
			}
			must(t, f.store.SetPoints(ctx, f.shop.ID, id, sp.points, sp.streak, day, time.Time{}))
			for i := 0; i < sp.orders; i++ {
				must(t, f.store.AddPurchase(ctx, f.shop.ID, id, fmt.Sprintf("o%d", i), now.AddDate(0, 0, -sp.activeDaysAgo), "", "", ""))
			}
		}
		cases := []struct {
			name string
			rule Rule
			want []string
		}{
			{"everyone", Rule{}, []string{"a", "b", "c", "d", "e"}},
			{"any of the tags", Rule{Tags: []string{"vip"}}, []string{"a", "d"}},
			{"tags or'ed", Rule{Tags: []string{"vip", "tea"}}, []string{"a", "b", "d"}},
			{"guide", Rule{GuideIDs: []string{"g1"}}, []string{"a", "c"}},
			{"store", Rule{StoreIDs: []string{"s1"}}, []string{"a", "b"}},
			{"distributor", Rule{DistributorIDs: []string{"d1"}}, []string{"b", "d"}},
			{"following", Rule{Subscribed: "yes"}, []string{"a", "b"}},
			{"not following", Rule{Subscribed: "no"}, []string{"c", "d", "e"}},
			{"bought twice or more", Rule{MinOrders: ptr[int64](2)}, []string{"a", "d"}},
			{"never bought", Rule{MaxOrders: ptr[int64](0)}, []string{"c", "e"}},
			{"active in the last week", Rule{ActiveWithinDays: 7}, []string{"a", "d"}},
			{"quiet for a month", Rule{InactiveForDays: 30}, []string{"c", "e"}},
			{"points between", Rule{MinPoints: ptr[int64](50), MaxPoints: ptr[int64](600)}, []string{"a", "b"}},
			{"live streak of 2+", Rule{MinStreak: 2}, []string{"a", "b"}},
			{"combined", Rule{Tags: []string{"tea"}, Subscribed: "yes", MinOrders: ptr[int64](1), ActiveWithinDays: 7}, []string{"a"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				n, err := f.store.Count(ctx, f.shop.ID, tc.rule, today, now)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				after := ""
				for {
					page, err := f.store.Select(ctx, f.shop.ID, tc.rule, today, now, after, 2)
					if err != nil {
						t.Fatal(err)
					}
					for _, p := range page {
						for name, id := range ids {
							if id == p.FanID {
								got = append(got, name)
							}
						}
						after = p.FanID
					}
					if len(page) < 2 {
						break
					}
				}
				sort.Strings(got)
				if fmt.Sprint(got) != fmt.Sprint(tc.want) || n != int64(len(tc.want)) {
					t.Fatalf("selected %v (count %d), want %v", got, n, tc.want)
				}
			})
		}
		// A purchase counts once, however often it is recorded.
		for i := 0; i < 3; i++ {
			must(t, f.store.AddPurchase(ctx, f.shop.ID, ids["e"], "same", now, "g9", "", ""))
		}
		p, err := f.store.Profile(ctx, f.shop.ID, ids["e"])
		if err != nil || p.Orders != 1 || p.GuideID != "g9" {
			t.Fatalf("after one purchase recorded three times: %+v %v", p, err)
		}
		// An earlier activity does not move last_active back.
		must(t, f.store.Touch(ctx, f.shop.ID, ids["a"], now.AddDate(-1, 0, 0)))
		if p, _ := f.store.Profile(ctx, f.shop.ID, ids["a"]); !p.LastActive.After(now.AddDate(0, 0, -2)) {
			t.Fatalf("last active moved back: %s", p.LastActive)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestBroadcastQuota(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		id := engine.NewID()
		must(t, f.store.Touch(ctx, f.shop.ID, id, f.now()))
		for i := 1; i <= BroadcastsPerMonth+1; i++ {
			ok, err := f.store.ReserveBroadcast(ctx, f.shop.ID, id, "2026-11")
			if err != nil || ok != (i <= BroadcastsPerMonth) {
				t.Fatalf("broadcast %d of November: %t %v", i, ok, err)
			}
		}
		must(t, f.store.ReturnBroadcast(ctx, f.shop.ID, id, "2026-11"))
		if ok, _ := f.store.ReserveBroadcast(ctx, f.shop.ID, id, "2026-11"); !ok {
			t.Fatal("a returned broadcast could not be taken again")
		}
		if ok, _ := f.store.ReserveBroadcast(ctx, f.shop.ID, id, "2026-12"); !ok {
			t.Fatal("a new month starts with 4 broadcasts")
		}
	})
}

// TestBroadcastQuotaConcurrent: 20 dispatchers racing for one fan's
// broadcasts get 4.
func TestBroadcastQuotaConcurrent(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		id := engine.NewID()
		must(t, f.store.Touch(ctx, f.shop.ID, id, f.now()))
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := 0
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := f.store.ReserveBroadcast(ctx, f.shop.ID, id, "2026-11")
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					got++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if got != BroadcastsPerMonth {
			t.Fatalf("%d broadcasts taken, want %d", got, BroadcastsPerMonth)
		}
	})
}

func TestSegmentsAndCampaignsBadInput(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		cases := []struct {
			name string
			req  CampaignRequest
		}{
			{"no name", CampaignRequest{Kind: KindText, Text: "hi", Rule: &Rule{}}},
			{"no audience", CampaignRequest{Name: "x", Kind: KindText, Text: "hi"}},
			{"both segment and rule", CampaignRequest{Name: "x", Kind: KindText, Text: "hi", Rule: &Rule{}, SegmentID: engine.NewID()}},
			{"unknown segment", CampaignRequest{Name: "x", Kind: KindText, Text: "hi", SegmentID: engine.NewID()}},
			{"unknown kind", CampaignRequest{Name: "x", Kind: "sms", Rule: &Rule{}}},
			{"empty text", CampaignRequest{Name: "x", Kind: KindText, Rule: &Rule{}}},
			{"article without url", CampaignRequest{Name: "x", Kind: KindArticle, Rule: &Rule{}, Article: &Article{Title: "New tea"}}},
			{"article with a javascript url", CampaignRequest{Name: "x", Kind: KindArticle, Rule: &Rule{}, Article: &Article{Title: "t", URL: "javascript:alert(1)"}}},
			{"template as marketing", CampaignRequest{Name: "x", Kind: KindTemplate, Rule: &Rule{},
				Template: &TemplateMessage{ID: "sandbox_order_paid", Fields: map[string]string{"first": "Sale!"}}}},
			{"bad rule", CampaignRequest{Name: "x", Kind: KindText, Text: "hi", Rule: &Rule{Subscribed: "maybe"}}},
			{"min above max", CampaignRequest{Name: "x", Kind: KindText, Text: "hi", Rule: &Rule{MinPoints: ptr[int64](5), MaxPoints: ptr[int64](1)}}},
			{"far future", CampaignRequest{Name: "x", Kind: KindText, Text: "hi", Rule: &Rule{}, ScheduledAt: ptr(f.now().AddDate(1, 0, 0))}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.svc.CreateCampaign(ctx, f.shop, tc.req, "test")
				var fe *fault.Error
				if !errors.As(err, &fe) || fe.Status != 400 {
					t.Fatalf("got %v, want a 400", err)
				}
			})
		}
		if _, err := f.svc.CreateSegment(ctx, f.shop, SegmentRequest{Name: "x", Rule: Rule{Tags: []string{"<script>"}}}); !errors.Is(err, fault.ErrInvalid) {
			t.Fatalf("bad tag: %v", err)
		}
		if _, err := f.svc.Campaign(ctx, f.shop.ID, "nope"); !errors.Is(err, fault.ErrNotFound) {
			t.Fatalf("malformed campaign id: %v", err)
		}
	})
}

// TestSettingsDocuments: the settings and the time of the last fan sync
// round-trip on both engines, and a Mongo settings document kept as JSON
// text (as before the engine's settings documents) is still read.
func TestSettingsDocuments(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		st, err := f.store.Settings(ctx, f.shop.ID)
		if err != nil || !reflect.DeepEqual(st, DefaultSettings()) {
			t.Fatalf("a new shop's settings: %+v %v", st, err)
		}
		want := Settings{Rate: 7, Templates: map[string]string{NoticeOrderPaid: "tpl-paid"}}
		must(t, f.store.SaveSettings(ctx, f.shop.ID, want))
		want.Rev++ // stored as the next revision
		if st, err := f.store.Settings(ctx, f.shop.ID); err != nil || !reflect.DeepEqual(st, want) {
			t.Fatalf("saved settings read back as %+v %v, want %+v", st, err, want)
		}
		if at, err := f.store.SyncedAt(ctx, f.shop.ID); err != nil || !at.IsZero() {
			t.Fatalf("never synced: %s %v", at, err)
		}
		now := f.now()
		must(t, f.store.SetSyncedAt(ctx, f.shop.ID, now))
		if at, err := f.store.SyncedAt(ctx, f.shop.ID); err != nil || !at.Equal(now) {
			t.Fatalf("synced at %s, read back as %s %v", now, at, err)
		}
		if e.Kind() != engine.Mongo {
			return
		}
		_, err = e.Mongo(f.shop.ID).C("message_settings").UpdateOne(ctx, bson.D{{Key: "_id", Value: "settings"}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "doc", Value: `{"rate":9,"templates":{"order_paid":"tpl-old"}}`}}}})
		must(t, err)
		old := Settings{Rate: 9, Templates: map[string]string{NoticeOrderPaid: "tpl-old"}}
		if st, err := f.store.Settings(ctx, f.shop.ID); err != nil || !reflect.DeepEqual(st, old) {
			t.Fatalf("settings kept as JSON text read as %+v %v, want %+v", st, err, old)
		}
	})
}

// TestCampaignsCounted: the campaign list counts every campaign (up to
// MaxCampaignsCounted) however it is paged, on both engines.
func TestCampaignsCounted(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		for i := range 3 {
			f.campaign(CampaignRequest{Name: fmt.Sprintf("Later %d", i), Kind: KindText, Text: "hi", Rule: &Rule{},
				ScheduledAt: ptr(f.now().Add(time.Hour))})
		}
		for _, tc := range []struct {
			given         string
			limit, offset int
			want          int
		}{{"the first page", 2, 0, 2}, {"the last page", 2, 2, 1}, {"past the end", 2, 4, 0}} {
			t.Run(tc.given, func(t *testing.T) {
				list, total, err := f.svc.Campaigns(context.Background(), f.shop.ID, tc.limit, tc.offset)
				if err != nil || total != 3 || len(list) != tc.want {
					t.Fatalf("%d campaigns of %d, %v; want %d of 3", len(list), total, err, tc.want)
				}
			})
		}
	})
}
