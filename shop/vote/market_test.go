package vote

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

// marketFixture is two shops with their vote service and the market's.
type marketFixture struct {
	*fixture
	shopB  string
	market *Service
}

func newMarketFixture(t *testing.T, e *engine.Engine) *marketFixture {
	f := newFixture(t, e)
	m, err := NewMarket(context.Background(), e, f.spend, products{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.SetClock(f.svc.now)
	return &marketFixture{fixture: f, shopB: enginetest.Tenant(t, e), market: m}
}

// link makes fan of shop count toward visitor's market ballots, with spent fen.
func (f *marketFixture) link(visitor, shop, fan string, spent int64) {
	f.t.Helper()
	ctx := context.Background()
	f.spend.set(fan, spent)
	token, err := f.market.LinkToken(ctx, shop, fan)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.market.Link(ctx, visitor, token); err != nil {
		f.t.Fatalf("link: %v", err)
	}
}

func code(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	return ""
}

func TestMarketRounds(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newMarketFixture(t, e)
		ctx := context.Background()

		// Merchants register products: pending in the next 08:00 round, made for it.
		ids := make([]string, 12)
		var round Round
		for i := range ids {
			ids[i] = engine.NewID()
			shop := f.shop
			if i >= 10 {
				shop = f.shopB
			}
			it, err := f.market.Register(ctx, shop, ItemInput{ProductID: ids[i], ExpectedPrice: 2900, TargetVotes: 10})
			if err != nil {
				t.Fatalf("register %d: %v", i, err)
			}
			if it.State != ItemPending || it.ShopID != shop {
				t.Fatalf("registration %+v, want pending, of its shop", it)
			}
			round.ID = it.RoundID
		}
		if _, err := f.market.Register(ctx, f.shop, ItemInput{ProductID: ids[0], ExpectedPrice: 2900}); status(err) != http.StatusConflict {
			t.Fatalf("registering twice: %v", err)
		}
		round, err := f.market.Round(ctx, MarketKey, round.ID)
		if want, _ := Window(f.now); err != nil || !round.StartsAt.Equal(want) {
			t.Fatalf("market round %+v %v, want the next window", round, err)
		}
		if list, err := f.market.Rounds(ctx, MarketKey); err != nil || len(list) != 1 {
			t.Fatalf("market rounds %v %v, want the one", list, err)
		}
		// No shop's rounds hold them, no shop's page shows them.
		if list, err := f.svc.Rounds(ctx, f.shop); err != nil || len(list) != 0 {
			t.Fatalf("shop rounds %v %v", list, err)
		}
		if regs, err := f.market.Registrations(ctx, f.shopB); err != nil || len(regs) != 2 {
			t.Fatalf("shop B's registrations %v %v, want 2", regs, err)
		}

		// The operator approves ten, rejects one and leaves one pending.
		for i := range 10 {
			if _, err := f.market.Decide(ctx, round.ID, ids[i], true, ""); err != nil {
				t.Fatalf("approve %d: %v", i, err)
			}
		}
		if it, err := f.market.Decide(ctx, round.ID, ids[10], false, "not a group deal product"); err != nil || it.State != ItemRejected {
			t.Fatalf("reject: %+v %v", it, err)
		}
		if _, err := f.market.Decide(ctx, round.ID, ids[10], true, ""); code(err) != "decided" {
			t.Fatalf("deciding twice: %v", err)
		}

		// Shoppers vote once the round opens; only approved products show.
		f.advance(round.StartsAt.Sub(f.now) + 30*time.Minute)
		if _, err := f.market.Register(ctx, f.shop, ItemInput{ProductID: engine.NewID(), ExpectedPrice: 100}); err != nil {
			t.Fatalf("a registration during a round goes to the next: %v", err)
		}
		if _, err := f.market.Decide(ctx, round.ID, ids[11], true, ""); status(err) != http.StatusConflict {
			t.Fatalf("approving after the start: %v", err)
		}
		page, err := f.market.Page(ctx, MarketKey, "")
		if err != nil || page.Round == nil || page.Round.ID != round.ID || len(page.Items) != 10 {
			t.Fatalf("market page %+v %v, want the 10 approved", page, err)
		}
		for _, it := range page.Items {
			if it.ProductID == ids[10] || it.ProductID == ids[11] {
				t.Fatalf("the page shows a product not approved: %+v", it)
			}
		}
		if _, err := f.market.Vote(ctx, MarketKey, "nobody-linked", ids[0]); status(err) != http.StatusForbidden || err != errNoMarketBallots {
			t.Fatalf("a shopper without market ballots: %v", err)
		}

		// One shopper, 6 ballots from two shops, 50 votes at once over 10 products: exactly 5.
		voter := "visitor-one"
		f.link(voter, f.shop, engine.NewID(), 400_00)
		f.link(voter, f.shopB, engine.NewID(), 200_00)
		if _, err := f.market.Vote(ctx, MarketKey, voter, ids[10]); status(err) != http.StatusNotFound {
			t.Fatalf("a vote for a rejected product: %v", err)
		}
		var ok, other atomic.Int32
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				_, err := f.market.Vote(ctx, MarketKey, voter, ids[i%10])
				switch status(err) {
				case 0:
					ok.Add(1)
				case http.StatusConflict, http.StatusTooManyRequests:
				default:
					other.Add(1)
					t.Errorf("vote %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 5 || other.Load() != 0 {
			t.Fatalf("%d votes counted, want exactly 5", ok.Load())
		}
		if b, err := f.market.Ballots(ctx, MarketKey, voter); err != nil || b.Earned != 6 || b.Remaining != 1 || b.LeftToday != 0 {
			t.Fatalf("ballots %+v %v, want 6 earned, 1 left, none today", b, err)
		}

		// A second vote on a product, 20 at once: one counts, 19 × 409.
		fanA := engine.NewID()
		second := "visitor-two"
		f.link(second, f.shop, fanA, 300_00)
		var once, conflicts atomic.Int32
		for range 20 {
			wg.Go(func() {
				switch _, err := f.market.Vote(ctx, MarketKey, second, ids[2]); status(err) {
				case 0:
					once.Add(1)
				case http.StatusConflict:
					conflicts.Add(1)
				default:
					t.Errorf("concurrent vote: %v", err)
				}
			})
		}
		wg.Wait()
		if once.Load() != 1 || conflicts.Load() != 19 {
			t.Fatalf("%d counted, %d conflicts; want 1 and 19", once.Load(), conflicts.Load())
		}

		// A fan counts for one market shopper only; a token is taken once.
		token, err := f.market.LinkToken(ctx, f.shop, fanA)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.market.Link(ctx, "visitor-three", token); code(err) != "linked_elsewhere" {
			t.Fatalf("a fan linked to a second shopper: %v", err)
		}
		if _, err := f.market.Link(ctx, "visitor-three", token); status(err) != http.StatusGone {
			t.Fatalf("a token taken twice: %v", err)
		}

		// A shopper whose ballots come from shop B votes for shop A's product 2.
		f.link("visitor-four", f.shopB, engine.NewID(), 100_00)
		if _, err := f.market.Vote(ctx, MarketKey, "visitor-four", ids[2]); err != nil {
			t.Fatal(err)
		}

		// A brushing ring (20 fresh accounts, one address) on product 3: it
		// leaves the round, its votes stop counting and it takes no more.
		for i := range 20 {
			v, fan := engine.NewID(), engine.NewID()
			f.link(v, f.shop, fan, 100_00)
			f.spend.profile(fan, f.now.Add(-time.Hour), "13800000000 杭州市西湖区龙井路 1 号")
			if _, err := f.market.Vote(ctx, MarketKey, v, ids[3]); err != nil {
				t.Fatalf("ring vote %d: %v", i, err)
			}
		}
		flags, err := f.market.Flags(ctx, MarketKey, round.ID)
		if err != nil || len(flags) == 0 || flags[0].ProductID != ids[3] {
			t.Fatalf("flags %+v %v, want product 3's", flags, err)
		}
		res, err := f.market.Results(ctx, MarketKey, round.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Items {
			if r.ProductID == ids[3] {
				t.Fatalf("the brushed product still counts: %+v", r)
			}
		}
		removed := false
		for _, r := range res.Out {
			removed = removed || (r.ProductID == ids[3] && r.State == ItemRemoved && r.Note == RuleSharedAddress && r.Votes >= 20)
		}
		if !removed {
			t.Fatalf("the brushed product is not shown removed with its votes: %+v", res.Out)
		}
		late := engine.NewID()
		f.link("visitor-late", f.shop, late, 100_00)
		if _, err := f.market.Vote(ctx, MarketKey, "visitor-late", ids[3]); code(err) != "product_removed" {
			t.Fatalf("a vote for the removed product: %v", err)
		}
		if page, _ := f.market.Page(ctx, MarketKey, ""); len(page.Items) != 9 {
			t.Fatalf("the page shows %d products, want 9", len(page.Items))
		}

		// After the round the operator opens product 2 as a deal in its shop:
		// its market voter linked to that shop is told once and buys first.
		f.mu.Lock()
		f.now = round.EndsAt.Add(time.Minute)
		f.mu.Unlock()
		n := &notices{keys: map[string]int{}}
		f.svc.SetNotifier(n)
		in := DealInput{RoundID: round.ID, ProductID: ids[3], Price: 2500, Quantity: 20, EndsAt: f.now.Add(48 * time.Hour)}
		if _, err := f.market.OpenMarketDeal(ctx, f.svc, in); code(err) != "product_not_listed" {
			t.Fatalf("a deal on the removed product: %v", err)
		}
		in.ProductID = ids[2]
		d, err := f.market.OpenMarketDeal(ctx, f.svc, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.market.OpenMarketDeal(ctx, f.svc, in); status(err) != http.StatusConflict {
			t.Fatalf("a second deal: %v", err)
		}
		for range 4 {
			wg.Go(func() {
				if _, err := f.svc.NotifyDeals(ctx, f.shop); err != nil {
					t.Errorf("notify: %v", err)
				}
			})
		}
		wg.Wait()
		if n.keys["group-deal:"+d.ID+":"+fanA] != 1 {
			t.Fatalf("notices %v, want the market voter's fan told once", n.keys)
		}
		if _, price, err := f.svc.DealPrice(ctx, f.shop, fanA, ids[2], 1, f.now); err != nil || price != 2500 {
			t.Fatalf("the market voter's head start: %d %v", price, err)
		}
		if id, _, err := f.svc.DealPrice(ctx, f.shop, engine.NewID(), ids[2], 1, f.now); err != nil || id != "" {
			t.Fatalf("another fan in the head start: %q %v", id, err)
		}
		// A market voter who links the shop after the deal opened buys first too.
		lateFan := engine.NewID()
		token, err = f.market.LinkToken(ctx, f.shop, lateFan)
		if err != nil {
			t.Fatal(err)
		}
		l, err := f.market.Link(ctx, "visitor-four", token)
		if err == nil {
			err = f.market.LinkVotes(ctx, f.svc, l)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, price, err := f.svc.DealPrice(ctx, f.shop, lateFan, ids[2], 1, f.now); err != nil || price != 2500 {
			t.Fatalf("the late-linked voter in the head start: %d %v", price, err)
		}
		var sold atomic.Int32
		for range 50 {
			wg.Go(func() {
				if err := f.svc.ClaimDeal(ctx, f.shop, d.ID, engine.NewID(), 1); err == nil {
					sold.Add(1)
				} else if code(err) != "deal_sold_out" {
					t.Errorf("claim: %v", err)
				}
			})
		}
		wg.Wait()
		if sold.Load() != 20 {
			t.Fatalf("%d sold of 20", sold.Load())
		}
	})
}

// TestMarketNextRoundOnce: two replicas' market services (and several
// requests on each) asking for the next round at once make one round.
func TestMarketNextRoundOnce(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		f := newMarketFixture(t, e)
		other, err := NewMarket(context.Background(), e, f.spend, products{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		other.SetClock(f.svc.now)
		replicas := []*Service{f.market, other}
		ids := make([]string, 10)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := replicas[i%2].NextRound(context.Background())
				if err != nil {
					t.Errorf("next round: %v", err)
				}
				ids[i] = r.ID
			}()
		}
		wg.Wait()
		if list, err := f.market.Rounds(context.Background(), MarketKey); err != nil || len(list) != 1 {
			t.Fatalf("market rounds after 10 concurrent asks on two replicas: %d %v, want 1", len(list), err)
		}
		for _, id := range ids {
			if id != ids[0] {
				t.Errorf("asks answered different rounds: %v", ids)
				break
			}
		}
	})
}
