package pcstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"microshop/shop/catalog"
	"microshop/shop/pcstore"
	"microshop/shop/pcstore/source"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

var schemas = []engine.Schema{catalog.Schema, pcstore.Schema}

func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func TestStoreContract(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		s := pcstore.NewStore(e)
		now := ms(time.Now())

		t.Run("link settings and schedule are written apart", func(t *testing.T) {
			tenant := enginetest.Tenant(t, e)
			if _, err := s.GetLink(ctx, tenant); !errors.Is(err, fault.ErrNotFound) {
				t.Fatalf("no link yet: %v", err)
			}
			l := pcstore.Link{Type: source.WooCommerce, URL: "https://woo.example", Key: "ck_1", Secret: "cs_1", Currency: "USD",
				Rates: map[string]source.Rate{"USD": {Num: 72315, Den: 10000}}, IntervalMinutes: 30, AssumedStock: 7,
				CreatedAt: now, UpdatedAt: now, NextRunAt: now.Add(time.Hour)}
			if err := s.PutLink(ctx, tenant, l); err != nil {
				t.Fatal(err)
			}
			if err := s.SetLinkRun(ctx, tenant, "run1"); err != nil {
				t.Fatal(err)
			}
			// A settings edit keeps the schedule; the schedule keeps the settings.
			l.IntervalMinutes, l.Secret = 90, "cs_2"
			if err := s.PutLink(ctx, tenant, l); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetLink(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			if got.CurrentRun != "run1" || got.IntervalMinutes != 90 || got.Secret != "cs_2" || got.Rates["USD"] != (source.Rate{Num: 72315, Den: 10000}) ||
				got.Key != "ck_1" || got.AssumedStock != 7 || !got.CreatedAt.Equal(now) {
				t.Errorf("link = %+v", got)
			}
			next := now.Add(2 * time.Hour)
			if err := s.FinishLinkRun(ctx, tenant, "other", next, 5); err != nil {
				t.Fatal(err)
			}
			got, _ = s.GetLink(ctx, tenant)
			if got.CurrentRun != "run1" {
				t.Errorf("finishing another run cleared the current one: %+v", got)
			}
			if err := s.FinishLinkRun(ctx, tenant, "run1", next, 42); err != nil {
				t.Fatal(err)
			}
			got, _ = s.GetLink(ctx, tenant)
			if got.CurrentRun != "" || got.LastRunID != "run1" || !got.NextRunAt.Equal(next) || got.LastCount != 42 {
				t.Errorf("after finish: %+v", got)
			}
			other := enginetest.Tenant(t, e)
			if _, err := s.GetLink(ctx, other); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("another tenant sees the link: %v", err)
			}
			if err := s.DeleteLink(ctx, other); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("another tenant deletes the link: %v", err)
			}
			if err := s.DeleteLink(ctx, tenant); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetLink(ctx, tenant); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("after delete: %v", err)
			}
		})

		t.Run("mappings: claim once, save, mark, sweep, count", func(t *testing.T) {
			tenant := enginetest.Tenant(t, e)
			claim := func(run string, ids ...string) {
				t.Helper()
				var c []pcstore.Mapping
				for _, id := range ids {
					c = append(c, pcstore.Mapping{Source: "feed", ExternalID: id, Run: run, UpdatedAt: now})
				}
				if err := s.ClaimMappings(ctx, tenant, c); err != nil {
					t.Fatal(err)
				}
			}
			claim("r1", "a", "b", "c")
			claim("r2", "b", "d") // b is taken: left as it is
			got, err := s.Mappings(ctx, tenant, "feed", []string{"a", "b", "c", "d", "zz"})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 4 || got["b"].Run != "r1" || got["d"].Run != "r2" || got["a"].ProductID != "" {
				t.Fatalf("mappings = %+v", got)
			}
			if other, _ := s.Mappings(ctx, tenant, "shopify:x", []string{"a"}); len(other) != 0 {
				t.Errorf("another source's ids: %+v", other)
			}
			for _, id := range []string{"a", "b", "c"} {
				m := got[id]
				m.ProductID, m.Outcome, m.SKUs = "p-"+id, "created", map[string]string{"v1": "s1"}
				if err := s.SaveMapping(ctx, tenant, m); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.SaveMapping(ctx, tenant, pcstore.Mapping{Source: "feed", ExternalID: "nope"}); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("save of an unclaimed mapping: %v", err)
			}
			if err := s.MarkSeen(ctx, tenant, "feed", "r3", "unchanged", []string{"a", "b"}); err != nil {
				t.Fatal(err)
			}
			stale, err := s.StaleMappings(ctx, tenant, "feed", "r3", 10)
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]bool{}
			for _, m := range stale {
				ids[m.ExternalID] = true
			}
			if len(stale) != 2 || !ids["c"] || !ids["d"] {
				t.Errorf("stale = %+v", stale)
			}
			c := got["c"]
			c.ProductID, c.Run, c.Outcome, c.Gone = "p-c", "r3", "off_sale", true
			if err := s.SaveMapping(ctx, tenant, c); err != nil {
				t.Fatal(err)
			}
			if stale, _ := s.StaleMappings(ctx, tenant, "feed", "r3", 10); len(stale) != 1 || stale[0].ExternalID != "d" {
				t.Errorf("stale after sweep = %+v", stale)
			}
			counts, err := s.CountOutcomes(ctx, tenant, "r3")
			if err != nil {
				t.Fatal(err)
			}
			if counts != (pcstore.Counts{Unchanged: 2, OffSale: 1}) {
				t.Errorf("counts = %+v", counts)
			}
			again, _ := s.Mappings(ctx, tenant, "feed", []string{"a"})
			if again["a"].SKUs["v1"] != "s1" || again["a"].ProductID != "p-a" {
				t.Errorf("saved mapping = %+v", again["a"])
			}
			otherTenant := enginetest.Tenant(t, e)
			if m, _ := s.Mappings(ctx, otherTenant, "feed", []string{"a", "b"}); len(m) != 0 {
				t.Errorf("another tenant reads mappings: %+v", m)
			}
		})

		t.Run("runs and their errors", func(t *testing.T) {
			tenant := enginetest.Tenant(t, e)
			for i := range 3 {
				r := pcstore.Run{ID: fmt.Sprintf("run%d%s", i, engine.NewSecret(12)), Status: pcstore.Running, Trigger: "api",
					Spec:      pcstore.Spec{Type: "feed", URL: "https://f.example/feed.xml", SourceKey: "feed"},
					StartedAt: now.Add(time.Duration(i) * time.Minute), HeartbeatAt: now}
				if err := s.CreateRun(ctx, tenant, r); err != nil {
					t.Fatal(err)
				}
			}
			runs, err := s.ListRuns(ctx, tenant, time.Time{}, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != 3 || runs[0].StartedAt.Before(runs[1].StartedAt) || runs[0].Spec.SourceKey != "feed" {
				t.Fatalf("runs = %+v", runs)
			}
			older, _ := s.ListRuns(ctx, tenant, runs[0].StartedAt, 10)
			if len(older) != 2 {
				t.Errorf("runs before the newest = %d", len(older))
			}
			r := runs[0]
			r.Status, r.Counts, r.Page, r.Notes, r.FinishedAt = pcstore.Succeeded, pcstore.Counts{Created: 3, Failed: 1}, 7, []string{"n"}, now
			if err := s.SaveRun(ctx, tenant, r); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetRun(ctx, tenant, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != pcstore.Succeeded || got.Counts != r.Counts || got.Page != 7 || len(got.Notes) != 1 || !got.FinishedAt.Equal(now) {
				t.Errorf("run = %+v", got)
			}
			if fresh, _ := s.GetRun(ctx, tenant, runs[1].ID); !fresh.FinishedAt.IsZero() || fresh.Notes != nil {
				t.Errorf("unfinished run = %+v", fresh)
			}
			for i, ref := range []string{"item 2", "item 5", "item 2"} {
				added, err := s.AddRunError(ctx, tenant, pcstore.RunError{RunID: r.ID, Ref: ref, ExternalID: "x", Message: "bad", At: now.Add(time.Duration(i) * time.Millisecond)})
				if err != nil {
					t.Fatal(err)
				}
				if added != (i < 2) {
					t.Errorf("error %d (%s) added = %v", i, ref, added)
				}
			}
			if n, _ := s.CountRunErrors(ctx, tenant, r.ID); n != 2 {
				t.Errorf("error count = %d", n)
			}
			errs, err := s.RunErrors(ctx, tenant, r.ID, 1, 10)
			if err != nil || len(errs) != 1 || errs[0].Ref != "item 5" {
				t.Errorf("errors from offset 1 = %+v %v", errs, err)
			}
			other := enginetest.Tenant(t, e)
			if _, err := s.GetRun(ctx, other, r.ID); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("another tenant reads the run: %v", err)
			}
			if n, _ := s.CountRunErrors(ctx, other, r.ID); n != 0 {
				t.Errorf("another tenant counts the errors: %d", n)
			}
		})

		t.Run("uploads are kept in chunks", func(t *testing.T) {
			tenant := enginetest.Tenant(t, e)
			data := bytes.Repeat([]byte("0123456789abcdef"), (5<<20)/16+3) // just over 5 chunks
			size, err := s.PutUpload(ctx, tenant, pcstore.Upload{ID: "up1", Name: "feed.tsv", CreatedAt: now}, bytes.NewReader(data), 64<<20)
			if err != nil || size != int64(len(data)) {
				t.Fatalf("put: %d %v", size, err)
			}
			rc, n, err := s.OpenUpload(ctx, tenant, "up1")
			if err != nil || n != int64(len(data)) {
				t.Fatalf("open: %d %v", n, err)
			}
			back, err := io.ReadAll(rc)
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("read back %d bytes, %v", len(back), err)
			}
			if _, err := s.PutUpload(ctx, tenant, pcstore.Upload{ID: "up2", CreatedAt: now}, bytes.NewReader(data), 1<<20); !errors.Is(err, fault.ErrInvalid) {
				t.Errorf("over the limit: %v", err)
			}
			if _, _, err := s.OpenUpload(ctx, enginetest.Tenant(t, e), "up1"); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("another tenant opens it: %v", err)
			}
			if _, err := s.PutUpload(ctx, tenant, pcstore.Upload{ID: "up3", CreatedAt: now}, bytes.NewReader([]byte("x")), 1<<20); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteUploads(ctx, tenant, "up3"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.OpenUpload(ctx, tenant, "up1"); !errors.Is(err, fault.ErrNotFound) {
				t.Errorf("deleted upload opens: %v", err)
			}
			if _, _, err := s.OpenUpload(ctx, tenant, "up3"); err != nil {
				t.Errorf("kept upload: %v", err)
			}
		})

		t.Run("concurrent claims of one id: one winner", func(t *testing.T) {
			// A unique insert is the one write FerretDB keeps exactly-once.
			tenant := enginetest.Tenant(t, e)
			var wg sync.WaitGroup
			for i := range 12 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := s.ClaimMappings(ctx, tenant, []pcstore.Mapping{{Source: "feed", ExternalID: "same", Run: fmt.Sprintf("r%d", i), UpdatedAt: now}})
					if err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			got, err := s.Mappings(ctx, tenant, "feed", []string{"same"})
			if err != nil || len(got) != 1 {
				t.Fatalf("mappings = %+v %v", got, err)
			}
		})
	})
}
