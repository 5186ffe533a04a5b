package distribution_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"microshop/distribution"
	"microshop/distribution/ledger"
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
	for _, d := range all {
		if at := slices.Index(d.Path, id); at >= 0 && c.k > 0 {
			p := append(append(slices.Clone(newPath), id), d.Path[at+1:]...)
			if err := c.Store.SetPlace(ctx, tenantID, d.ID, d.ParentID, p, len(p)+1); err != nil {
				return err
			}
			c.k--
		}
	}
	return errCrash
}

// threeLevels pays three levels, the distributor's own orders included.
func threeLevels(s *distribution.Settings) {
	s.ThirdLevel, s.Levels, s.SelfPurchase = true, []int64{1000, 500, 200}, true
}

// TestInterruptedMoveAttribution: a merchant moves x (with its team) from
// a to b and the process dies after 2 of x's 6 descendants were rewritten.
// Orders placed before the job runs pay b, not a, at the third level, for
// customers of x's team and for x's team's own orders alike; the job
// completes the move.
func TestInterruptedMoveAttribution(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.settings(threeLevels)
		a, b := f.distributor(nil), f.distributor(nil)
		x := f.distributor(&a)
		var kids []tree.Distributor
		for range 3 {
			k := f.distributor(&x)
			kids = append(kids, k, f.distributor(&k))
		}
		crashed := tree.New(crashing{tree.NewStore(e), 2}, &locker{})
		if _, err := crashed.Move(f.ctx, f.shop.ID, x.ID, b.ID); !errors.Is(err, errCrash) {
			t.Fatalf("the crashing move: %v", err)
		}

		for i, k := range kids {
			if k.ParentID != x.ID {
				continue // a grandchild: its upline is inside x's team
			}
			customer := engine.NewID()
			f.visit(customer, distribution.Touch{DistributorCode: k.Code, Via: "link"})
			for _, tc := range []struct{ name, fan string }{{"customer", customer}, {"own order", k.FanID}} {
				o := f.paidOrder(tc.fan, 10000)
				if want := []string{k.ID, x.ID, b.ID}; !slices.Equal(o.Attribution.Path, want) {
					t.Errorf("kid %d, %s: path %v, want %v", i, tc.name, o.Attribution.Path, want)
				}
				es, err := f.svc.Ledger().ByOrder(f.ctx, f.shop.ID, o.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, en := range es {
					if en.Class == ledger.ClassCommission && en.Level == 3 && en.Beneficiary != b.ID {
						t.Errorf("kid %d, %s: level 3 paid to %s, want b %s", i, tc.name, en.Beneficiary, b.ID)
					}
				}
			}
		}

		f.jobs()
		all, err := f.svc.Tree().Store().All(f.ctx, f.shop.ID, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]tree.Distributor{}
		for _, d := range all {
			byID[d.ID] = d
		}
		for _, d := range all {
			if p, ok := byID[d.ParentID]; ok && !slices.Equal(d.Path, append(slices.Clone(p.Path), p.ID)) {
				t.Errorf("after the job %s has path %v under %s with %v", d.ID, d.Path, p.ID, p.Path)
			}
		}
		if got := byID[x.ID].Path; !slices.Equal(got, []string{b.ID}) {
			t.Errorf("x's path %v, want under b", got)
		}
		for _, tc := range []struct {
			who  tree.Distributor
			size int64
		}{{a, 0}, {b, 7}} {
			if v, _ := f.svc.Tree().View(f.ctx, f.shop.ID, tc.who.ID); v.TeamSize != tc.size {
				t.Errorf("team size %d, want %d", v.TeamSize, tc.size)
			}
		}
	})
}

// TestMoveRacesAttribution: attributions run while a merchant moves x's
// team of 40 from a to b. Once any attribution has paid b, none that starts
// later pays a: the move is seen all at once, not child by child.
func TestMoveRacesAttribution(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newFixture(t, e)
		f.settings(threeLevels)
		a, b := f.distributor(nil), f.distributor(nil)
		x := f.distributor(&a)
		var fans []string // the kids' own fans and their customers
		for i := range 40 {
			k, _, err := f.svc.Tree().Join(f.ctx, f.shop.ID, engine.NewID(), x.ID, tree.Active)
			if err != nil {
				t.Fatal(err)
			}
			fans = append(fans, k.FanID)
			if i%4 == 0 {
				customer := engine.NewID()
				f.visit(customer, distribution.Touch{DistributorCode: k.Code, Via: "link"})
				fans = append(fans, customer)
			}
		}
		var seenB, done atomic.Bool
		var stale atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					finished := done.Load()
					mustB := seenB.Load()
					got, err := f.svc.Attribute(f.ctx, f.shop.ID, fans[rand.IntN(len(fans))])
					if err != nil {
						t.Error(err)
						return
					}
					switch {
					case len(got.Path) != 3:
						t.Errorf("path %v", got.Path)
						return
					case got.Path[2] == b.ID:
						seenB.Store(true)
					case mustB:
						stale.Add(1)
					}
					if finished {
						return
					}
				}
			})
		}
		if _, err := f.svc.Move(f.ctx, f.shop.ID, x.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		done.Store(true)
		wg.Wait()
		if n := stale.Load(); n > 0 {
			t.Errorf("%d attributions paid a after another had paid b", n)
		}
		if got := f.attribute(fans[0]); got.Path[2] != b.ID {
			t.Errorf("after the move: %v", got.Path)
		}
	})
}
