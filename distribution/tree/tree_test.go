package tree_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"microshop/distribution/tree"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

var schemas = []engine.Schema{tree.Schema}

// locker is an in-process tree.Locker.
type locker struct{ mu sync.Mutex }

func (l *locker) Run(ctx context.Context, _ string, _ time.Duration, fn func(ctx context.Context) error) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return true, fn(ctx)
}

func join(t *testing.T, tr *tree.Tree, tenant, parent string) tree.Distributor {
	t.Helper()
	d, created, err := tr.Join(context.Background(), tenant, engine.NewID(), parent, tree.Active)
	if err != nil || !created {
		t.Fatalf("join under %q: %v %v", parent, created, err)
	}
	return d
}

func view(t *testing.T, tr *tree.Tree, tenant, id string) tree.View {
	t.Helper()
	v, err := tr.View(context.Background(), tenant, id)
	if err != nil {
		t.Fatalf("view %s: %v", id, err)
	}
	return v
}

func TestTreeContract(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		tr := tree.New(tree.NewStore(e), &locker{})
		tenant := enginetest.Tenant(t, e)

		// A chain root ← a ← b ← c ← d, and x beside a.
		root := join(t, tr, tenant, "")
		a := join(t, tr, tenant, root.ID)
		b := join(t, tr, tenant, a.ID)
		c := join(t, tr, tenant, b.ID)
		d := join(t, tr, tenant, c.ID)
		x := join(t, tr, tenant, root.ID)
		if d.Depth != 5 || !slices.Equal(d.Path, []string{root.ID, a.ID, b.ID, c.ID}) ||
			!slices.Equal(d.Upline, []string{c.ID, b.ID, a.ID}) || d.ParentID != c.ID {
			t.Fatalf("d = %+v", d)
		}
		got, err := tr.Store().Light(ctx, tenant, d.ID)
		if err != nil || got.Path != nil || !slices.Equal(got.Upline, d.Upline) || got.Depth != 5 {
			t.Fatalf("light d = %+v %v", got, err)
		}
		if byCode, err := tr.Store().ByCode(ctx, tenant, d.Code); err != nil || byCode.ID != d.ID || !tree.ValidCode(d.Code) {
			t.Fatalf("by code: %+v %v", byCode, err)
		}
		if v := view(t, tr, tenant, root.ID); v.TeamSize != 5 || v.Children != 2 {
			t.Errorf("root team %d children %d, want 5 and 2", v.TeamSize, v.Children)
		}
		if n, err := tr.SubtreeSize(ctx, tenant, a.ID); err != nil || n != 3 {
			t.Errorf("subtree of a: %d %v", n, err)
		}

		// Joining twice is the same distributor.
		again, created, err := tr.Join(ctx, tenant, d.FanID, x.ID, tree.Active)
		if err != nil || created || again.ID != d.ID {
			t.Errorf("join again: %+v %v %v", again, created, err)
		}

		// Cycles: under itself, under a descendant, the A↔B swap.
		for _, tc := range []struct{ name, id, parent string }{
			{"self", b.ID, b.ID}, {"own child", b.ID, c.ID}, {"deep descendant", a.ID, d.ID}, {"a under b", a.ID, b.ID},
		} {
			if _, err := tr.Move(ctx, tenant, tc.id, tc.parent); !errors.Is(err, tree.ErrCycle) {
				t.Errorf("%s: %v, want a cycle refusal", tc.name, err)
			}
		}
		if _, err := tr.Move(ctx, tenant, a.ID, engine.NewID()); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("unknown parent: %v", err)
		}

		// Move b (with c, d) under x.
		sales := func(id string, amount int64) {
			if err := tr.AddSales(ctx, tenant, id, amount); err != nil {
				t.Fatal(err)
			}
		}
		sales(d.ID, 1000)
		sales(b.ID, 300)
		if _, err := tr.Rollup(ctx, tenant, 100); err != nil {
			t.Fatal(err)
		}
		if v := view(t, tr, tenant, a.ID); v.TeamSales != 1300 {
			t.Errorf("a's team sales %d before the move, want 1300", v.TeamSales)
		}
		if _, err := tr.Move(ctx, tenant, b.ID, x.ID); err != nil {
			t.Fatal(err)
		}
		moved, _ := tr.Store().Get(ctx, tenant, d.ID)
		if !slices.Equal(moved.Path, []string{root.ID, x.ID, b.ID, c.ID}) || moved.Depth != 5 ||
			!slices.Equal(moved.Upline, []string{c.ID, b.ID, x.ID}) {
			t.Errorf("d after the move: %+v", moved)
		}
		for _, tc := range []struct {
			who         tree.Distributor
			size, sales int64
		}{{root, 5, 1300}, {a, 0, 0}, {x, 3, 1300}, {b, 2, 1300}} {
			if v := view(t, tr, tenant, tc.who.ID); v.TeamSize != tc.size || v.TeamSales != tc.sales {
				t.Errorf("after the move %s: team %d sales %d, want %d %d", tc.who.ID, v.TeamSize, v.TeamSales, tc.size, tc.sales)
			}
		}
		// Now a may go under d's old chain? a under c is fine (no cycle).
		if _, err := tr.Move(ctx, tenant, a.ID, c.ID); err != nil {
			t.Errorf("a under c: %v", err)
		}
		if n, err := tr.SubtreeSize(ctx, tenant, x.ID); err != nil || n != 4 {
			t.Errorf("subtree of x: %d %v", n, err)
		}

		// Rebuild repairs corrupted counters and paths.
		if err := tr.Store().SetStats(ctx, tenant, tree.Stats{ID: root.ID, TeamSize: 99, TeamSales: 5}); err != nil {
			t.Fatal(err)
		}
		if err := tr.Store().SetPlace(ctx, tenant, d.ID, c.ID, []string{"aaaaaaaaaaaaaaaa"}, 2); err != nil {
			t.Fatal(err)
		}
		r, err := tr.Rebuild(ctx, tenant, nil)
		if err != nil || r.Distributors != 6 || r.Paths != 1 || r.Counters == 0 {
			t.Fatalf("rebuild: %+v %v", r, err)
		}
		if v := view(t, tr, tenant, root.ID); v.TeamSize != 5 || v.TeamSales != 1300 {
			t.Errorf("root after rebuild: %+v", v)
		}
		if fixed, _ := tr.Store().Get(ctx, tenant, d.ID); fixed.Depth != 5 || len(fixed.Path) != 4 || fixed.Path[1] != x.ID {
			t.Errorf("d after rebuild: %+v", fixed)
		}
		if r, err := tr.Rebuild(ctx, tenant, nil); err != nil || r.Paths != 0 || r.Counters != 0 {
			t.Errorf("second rebuild changed %+v %v", r, err)
		}

		// Applications.
		p, _, err := tr.Join(ctx, tenant, engine.NewID(), root.ID, tree.Pending)
		if err != nil || p.Status != tree.Pending {
			t.Fatalf("apply: %+v %v", p, err)
		}
		if v := view(t, tr, tenant, root.ID); v.TeamSize != 5 {
			t.Errorf("a pending application counted: %d", v.TeamSize)
		}
		if _, err := tr.Decide(ctx, tenant, p.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Decide(ctx, tenant, p.ID, false); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("reject after approval: %v", err)
		}
		if v := view(t, tr, tenant, root.ID); v.TeamSize != 6 {
			t.Errorf("root team %d after approval, want 6", v.TeamSize)
		}
		top, err := tr.Top(ctx, tenant, "size", 3)
		if err != nil || len(top) != 3 || top[0].ID != root.ID {
			t.Errorf("top: %+v %v", top, err)
		}
		kids, err := tr.Children(ctx, tenant, "", 10, 0)
		if err != nil || len(kids) != 1 || kids[0].ID != root.ID {
			t.Errorf("top level: %+v %v", kids, err)
		}
		// Another tenant sees none of it.
		if _, err := tr.Store().Get(ctx, enginetest.Tenant(t, e), root.ID); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("other tenant: %v", err)
		}
	})
}

// TestConcurrentJoin: one fan asking to become a distributor many times at
// once gets one distributor (a unique fan id: an insert, safe on FerretDB).
func TestConcurrentJoin(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		tr := tree.New(tree.NewStore(e), &locker{})
		tenant := enginetest.Tenant(t, e)
		fan := engine.NewID()
		var wg sync.WaitGroup
		ids := make(chan string, 16)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, _, err := tr.Join(ctx, tenant, fan, "", tree.Active)
				if err != nil {
					t.Error(err)
					return
				}
				ids <- d.ID
			}()
		}
		wg.Wait()
		close(ids)
		seen := map[string]bool{}
		for id := range ids {
			seen[id] = true
		}
		if len(seen) != 1 {
			t.Errorf("%d distributors for one fan", len(seen))
		}
		all, err := tr.Store().List(ctx, tenant, "", 100, 0)
		if err != nil || len(all) != 1 {
			t.Errorf("stored %d distributors, %v", len(all), err)
		}
	})
}
