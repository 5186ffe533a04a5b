package tree_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"microshop/distribution/tree"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

var errCrash = errors.New("the process died")

// crashing is a tree store whose subtree rewrite stops after k
// descendants, as a process dying in the middle of a move would leave it.
type crashing struct {
	tree.Store
	k int
}

func (c crashing) MoveSubtree(ctx context.Context, tenantID, id string, _, newPath []string) error {
	all, err := c.Store.All(ctx, tenantID, "", 1000)
	if err != nil {
		return err
	}
	done := 0
	for _, d := range all {
		at := slices.Index(d.Path, id)
		if at < 0 || done == c.k {
			continue
		}
		p := append(append(slices.Clone(newPath), id), d.Path[at+1:]...)
		if err := c.Store.SetPlace(ctx, tenantID, d.ID, d.ParentID, p, len(p)+1); err != nil {
			return err
		}
		done++
	}
	return errCrash
}

// team is a shop's tree for the move tests: root with a and b below it, x
// under a, and below x five children with a child each (ten descendants).
type team struct {
	root, a, b, x tree.Distributor
	kids, grand   []tree.Distributor
}

func newTeam(t *testing.T, tr *tree.Tree, tenant string) team {
	t.Helper()
	var tm team
	tm.root = join(t, tr, tenant, "")
	tm.a = join(t, tr, tenant, tm.root.ID)
	tm.b = join(t, tr, tenant, tm.root.ID)
	tm.x = join(t, tr, tenant, tm.a.ID)
	for range 5 {
		k := join(t, tr, tenant, tm.x.ID)
		tm.kids = append(tm.kids, k)
		tm.grand = append(tm.grand, join(t, tr, tenant, k.ID))
	}
	return tm
}

// checkPaths fails unless every stored path (read raw, page by page) is
// its parent's path and the parent, with the upline and depth to match.
func checkPaths(t *testing.T, tr *tree.Tree, tenant string) {
	t.Helper()
	all, err := tr.Store().All(context.Background(), tenant, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]tree.Distributor{}
	for _, d := range all {
		byID[d.ID] = d
	}
	for _, d := range all {
		want := []string{}
		for p := d.ParentID; p != ""; p = byID[p].ParentID {
			want = append([]string{p}, want...)
		}
		up := slices.Clone(want)
		slices.Reverse(up)
		up = up[:min(len(up), tree.MaxUpline)]
		if !slices.Equal(d.Path, want) || !slices.Equal(d.Upline, up) || d.Depth != len(want)+1 {
			t.Errorf("%s stored with path %v upline %v depth %d, want %v %v %d", d.ID, d.Path, d.Upline, d.Depth, want, up, len(want)+1)
		}
	}
}

// TestInterruptedMove: a move whose process dies after k of the ten
// descendants are rewritten. Until the job finishes it, every read of the
// subtree (the upline an order pays) already sees the new place; the job
// completes the paths and moves the counters once; the next move goes
// through.
func TestInterruptedMove(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		for _, k := range []int{0, 3, 9} {
			t.Run(fmt.Sprintf("after %d of 10", k), func(t *testing.T) {
				l := &locker{}
				tr := tree.New(tree.NewStore(e), l)
				tenant := enginetest.Tenant(t, e)
				tm := newTeam(t, tr, tenant)
				if _, err := tree.New(crashing{tree.NewStore(e), k}, l).Move(ctx, tenant, tm.x.ID, tm.b.ID); !errors.Is(err, errCrash) {
					t.Fatalf("the crashing move: %v", err)
				}

				// A restarted process reads the subtree in its new place.
				for i, kid := range tm.kids {
					for _, tc := range []struct {
						who        tree.Distributor
						wantUpline []string
					}{{kid, []string{tm.x.ID, tm.b.ID, tm.root.ID}}, {tm.grand[i], []string{kid.ID, tm.x.ID, tm.b.ID}}} {
						light, err := tr.Store().Light(ctx, tenant, tc.who.ID)
						if err != nil || !slices.Equal(light.Upline, tc.wantUpline) {
							t.Errorf("light %s: upline %v %v, want %v", tc.who.ID, light.Upline, err, tc.wantUpline)
						}
						byFan, err := tr.ByFan(ctx, tenant, tc.who.FanID)
						if err != nil || !slices.Equal(byFan.Upline, tc.wantUpline) {
							t.Errorf("by fan %s: upline %v %v, want %v", tc.who.ID, byFan.Upline, err, tc.wantUpline)
						}
					}
					if full, err := tr.Store().Get(ctx, tenant, kid.ID); err != nil || !slices.Equal(full.Path, []string{tm.root.ID, tm.b.ID, tm.x.ID}) {
						t.Errorf("get %s: path %v %v", kid.ID, full.Path, err)
					}
				}

				// The job finishes the move: paths, then counters, once.
				for range 2 {
					if _, err := tr.Rollup(ctx, tenant, 100); err != nil {
						t.Fatal(err)
					}
				}
				checkPaths(t, tr, tenant)
				for _, tc := range []struct {
					who  tree.Distributor
					size int64
				}{{tm.root, 13}, {tm.a, 0}, {tm.b, 11}, {tm.x, 10}} {
					if v := view(t, tr, tenant, tc.who.ID); v.TeamSize != tc.size {
						t.Errorf("team size of %s %d, want %d", tc.who.ID, v.TeamSize, tc.size)
					}
				}
				if _, err := tr.Move(ctx, tenant, tm.x.ID, tm.a.ID); err != nil {
					t.Fatalf("moving back: %v", err)
				}
				checkPaths(t, tr, tenant)
				if v := view(t, tr, tenant, tm.a.ID); v.TeamSize != 11 {
					t.Errorf("team size of a after moving back %d, want 11", v.TeamSize)
				}
			})
		}
	})
}
