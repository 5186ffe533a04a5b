package market_test

import (
	"context"
	"errors"
	"testing"

	"microshop/market"
	"microshop/shop/catalog"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
)

func picks(ps []market.Pick) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Title+"|"+p.Why+"|"+p.Because)
	}
	return out
}

// TestForYouAndFriends: what a shopper viewed brings products of the same
// kind; a friend's favourites show only after the invitation is accepted,
// only while both share, and not after either withdraws.
func TestForYouAndFriends(t *testing.T) {
	enginetest.Kinds(t, []engine.Schema{catalog.Schema}, func(t *testing.T, e *engine.Engine) {
		w := newWorld(t, e)
		ctx := context.Background()
		a, ids := w.shop(t, "tea-a", "西湖龙井", "紫砂壶")
		b, bids := w.shop(t, "tea-b", "安吉白茶")
		// Category "绿茶" on the teas: viewing one recommends the other.
		green := "绿茶"
		for _, p := range []struct{ tenant, id string }{{a.ID, ids[0]}, {b.ID, bids[0]}} {
			if _, err := w.catalog.Patch(ctx, p.tenant, p.id, catalog.Input{Category: &green}); err != nil {
				t.Fatal(err)
			}
		}
		w.list(t, a, true)
		w.list(t, b, true)
		if err := w.market.Viewed(ctx, "alice", a.ID+"/"+ids[0]); err != nil {
			t.Fatal(err)
		}
		fy, err := w.market.Recommend(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if got := picks(fy.Picks); len(got) != 1 || got[0] != "安吉白茶|market.why_viewed|西湖龙井" {
			t.Fatalf("for you after viewing 西湖龙井: %v", got)
		}

		// Bob saves 紫砂壶 and shares; Alice sees nothing of it before accepting.
		if err := w.market.SetFavourite(ctx, "bob", "tea-a", ids[1], true); err != nil {
			t.Fatal(err)
		}
		if _, err := w.market.Invite(ctx, "bob"); !errors.Is(err, fault.ErrConflict) {
			t.Errorf("an invitation before opting in: %v", err)
		}
		if _, err := w.market.SetSharing(ctx, "bob", true, "小鲍"); err != nil {
			t.Fatal(err)
		}
		token, err := w.market.Invite(ctx, "bob")
		if err != nil {
			t.Fatal(err)
		}
		if fy, _ := w.market.Recommend(ctx, "alice"); len(fy.FromFriends) != 0 || len(fy.Friends) != 0 {
			t.Fatalf("before accepting alice sees %v / %v", picks(fy.FromFriends), fy.Friends)
		}
		if err := w.market.Accept(ctx, "bob", token, ""); !errors.Is(err, fault.ErrInvalid) {
			t.Errorf("accepting one's own invitation: %v", err)
		}
		token, _ = w.market.Invite(ctx, "bob")
		if err := w.market.Accept(ctx, "alice", token, "小艾"); err != nil {
			t.Fatal(err)
		}
		if err := w.market.Accept(ctx, "carol", token, ""); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("an invitation used twice: %v", err)
		}
		fy, _ = w.market.Recommend(ctx, "alice")
		if got := picks(fy.FromFriends); len(got) != 1 || got[0] != "紫砂壶|market.why_friend|小鲍" {
			t.Fatalf("alice's friends' picks: %v", got)
		}
		// Withdrawing, from either side, ends it at once.
		if err := w.market.Unfriend(ctx, "bob", 0); err != nil {
			t.Fatal(err)
		}
		for _, who := range []string{"alice", "bob"} {
			if fy, _ := w.market.Recommend(ctx, who); len(fy.FromFriends) != 0 || len(fy.Friends) != 0 {
				t.Errorf("after withdrawing %s still sees %v / %v", who, picks(fy.FromFriends), fy.Friends)
			}
		}
	})
}
