package guide_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"microshop/distribution/guide"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

func ptr[T any](v T) *T { return &v }

func TestGuidesContract(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{guide.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		g := guide.New(guide.NewStore(e))
		tenant := enginetest.Tenant(t, e)
		shanghai := time.FixedZone("CST", 8*3600)

		west, err := g.CreateLocation(ctx, tenant, guide.LocationInput{Name: ptr(" West Lake "), Address: ptr("1 Hubin Rd")})
		if err != nil || west.Name != "West Lake" || !west.Active {
			t.Fatalf("create store: %+v %v", west, err)
		}
		east, _ := g.CreateLocation(ctx, tenant, guide.LocationInput{Name: ptr("East")})
		if _, err := g.CreateLocation(ctx, tenant, guide.LocationInput{Name: ptr("  ")}); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("blank store name: %v", err)
		}
		li, err := g.CreateGuide(ctx, tenant, guide.GuideInput{Name: ptr("Li"), Phone: ptr("13812345678"), StoreID: &west.ID})
		if err != nil || len(li.Code) != 8 || !li.Active || li.StoreID != west.ID {
			t.Fatalf("create guide: %+v %v", li, err)
		}
		for _, tc := range []struct {
			name string
			in   guide.GuideInput
		}{
			{"no store", guide.GuideInput{Name: ptr("A")}},
			{"unknown store", guide.GuideInput{Name: ptr("A"), StoreID: ptr(engine.NewID())}},
			{"bad phone", guide.GuideInput{Name: ptr("A"), StoreID: &west.ID, Phone: ptr("12")}},
			{"long name", guide.GuideInput{Name: ptr("0123456789012345678901234567890123"), StoreID: &west.ID}},
		} {
			if _, err := g.CreateGuide(ctx, tenant, tc.in); !errors.Is(err, fault.ErrInvalid) {
				t.Errorf("%s: %v", tc.name, err)
			}
		}
		wang, _ := g.CreateGuide(ctx, tenant, guide.GuideInput{Name: ptr("Wang"), StoreID: &east.ID})
		if got, err := g.ByCode(ctx, tenant, li.Code); err != nil || got.ID != li.ID {
			t.Errorf("by code: %+v %v", got, err)
		}
		if _, err := g.ByCode(ctx, enginetest.Tenant(t, e), li.Code); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("another shop's code: %v", err)
		}
		moved, err := g.UpdateGuide(ctx, tenant, li.ID, guide.GuideInput{StoreID: &east.ID})
		if err != nil || moved.StoreID != east.ID || moved.Rev != 2 {
			t.Fatalf("move guide: %+v %v", moved, err)
		}
		if _, err := g.Leave(ctx, tenant, li, wang.ID); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("leave with a stale revision: %v", err)
		}
		left, err := g.Leave(ctx, tenant, moved, wang.ID)
		if err != nil || left.Active || left.HandedTo != wang.ID || left.LeftAt.IsZero() {
			t.Fatalf("leave: %+v %v", left, err)
		}
		if _, err := g.ByCode(ctx, tenant, li.Code); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("a departed guide's code still works: %v", err)
		}
		list, err := g.Store().Guides(ctx, tenant, east.ID, 10, 0)
		if err != nil || len(list) != 2 || list[0].Name != "Li" {
			t.Errorf("guides of east: %+v %v", list, err)
		}

		// Funnel: a day in Shanghai starts at 16:00 UTC the day before.
		at := time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC) // 2026-11-24 01:00 in Shanghai
		if err := g.Count(ctx, tenant, wang, at, shanghai, guide.Counts{Visits: 1, NewFans: 1}); err != nil {
			t.Fatal(err)
		}
		g.Count(ctx, tenant, wang, at, shanghai, guide.Counts{Visits: 1})
		for range 2 { // one fan, two orders: one ordering fan
			if err := g.CountOrdering(ctx, tenant, wang.ID, wang.StoreID, "fan1", at, shanghai, guide.Counts{Orders: 1, PaidGMV: 5000}); err != nil {
				t.Fatal(err)
			}
		}
		g.CountOrdering(ctx, tenant, wang.ID, wang.StoreID, "fan2", at.Add(6*24*time.Hour), shanghai, guide.Counts{Orders: 1, PaidGMV: 100})
		days, err := g.Store().Days(ctx, tenant, guide.DayFilter{GuideID: wang.ID, From: "2026-11-01", To: "2026-12-31"})
		if err != nil || len(days) != 2 || days[0].Day != "2026-11-24" {
			t.Fatalf("days: %+v %v", days, err)
		}
		if d := days[0]; d.Visits != 2 || d.NewFans != 1 || d.OrderingFans != 1 || d.Orders != 2 || d.PaidGMV != 10000 {
			t.Errorf("day counters %+v", d)
		}
		rows, err := guide.Report(days, "guide", "month", map[string]string{wang.ID: "Wang"})
		if err != nil || len(rows) != 1 || rows[0].Orders != 3 || rows[0].Period != "2026-11" || rows[0].Name != "Wang" {
			t.Errorf("monthly: %+v %v", rows, err)
		}
		rows, _ = guide.Report(days, "store", "week", nil)
		if len(rows) != 2 || rows[0].Period != "2026-W48" || rows[1].Period != "2026-W49" || rows[0].Conversion != 100 {
			t.Errorf("weekly: %+v", rows)
		}
		if _, err := guide.Report(days, "nobody", "", nil); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("bad group: %v", err)
		}
		byStore, _ := g.Store().Days(ctx, tenant, guide.DayFilter{StoreID: east.ID, From: "2026-11-24", To: "2026-11-24"})
		all, _ := g.Store().Days(ctx, tenant, guide.DayFilter{From: "2026-01-01", To: "2026-12-31"})
		if len(byStore) != 1 || len(all) != 2 {
			t.Errorf("by store %d, all %d", len(byStore), len(all))
		}
	})
}

// TestFirstOrderOnce: racing first orders of one fan (and the same one
// delivered many times) count one first order; a fan whose first order
// had no guide counts none for a guide later.
func TestFirstOrderOnce(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{guide.Schema}, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		g := guide.New(guide.NewStore(e))
		tenant := enginetest.Tenant(t, e)
		shanghai := time.FixedZone("CST", 8*3600)
		west, _ := g.CreateLocation(ctx, tenant, guide.LocationInput{Name: ptr("West")})
		li, err := g.CreateGuide(ctx, tenant, guide.GuideInput{Name: ptr("Li"), StoreID: &west.ID})
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC) // 2026-11-24 in Shanghai
		var wg sync.WaitGroup
		var firsts atomic.Int64
		for range 24 {
			wg.Go(func() {
				first, err := g.CountFirstOrder(ctx, tenant, li.ID, li.StoreID, "fan1", at, shanghai)
				if err != nil {
					t.Error(err)
				}
				if first {
					firsts.Add(1)
				}
			})
		}
		wg.Wait()
		if firsts.Load() != 1 {
			t.Errorf("%d first orders of one fan", firsts.Load())
		}
		// fan2's first order had no guide: marked, counted for nobody.
		if first, err := g.CountFirstOrder(ctx, tenant, "", "", "fan2", at, shanghai); err != nil || !first {
			t.Fatalf("fan2's first order: %t %v", first, err)
		}
		if first, _ := g.CountFirstOrder(ctx, tenant, li.ID, li.StoreID, "fan2", at, shanghai); first {
			t.Errorf("fan2's second order counted as a first")
		}
		days, err := g.Store().Days(ctx, tenant, guide.DayFilter{GuideID: li.ID, From: "2026-11-24", To: "2026-11-24"})
		if err != nil || len(days) != 1 || days[0].FirstOrders != 1 {
			t.Fatalf("days %+v %v", days, err)
		}
		if r := guide.Total(days); r.FirstOrders != 1 {
			t.Errorf("total %+v", r)
		}
	})
}
