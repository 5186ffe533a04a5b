package vote

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// The market's rounds: the same rounds, votes and rules as a shop's (the
// same Service and Store code), kept in the platform database under the
// scope key MarketKey. Merchants register products for the market's next
// round (pending); the operator approves (listed) or rejects them before
// it starts. The voters are market shoppers (the market's visitor id);
// their ballots come from their spending across the market: the shops'
// fans they linked to their market identity (a one-use token minted by a
// shop's storefront for its fan, taken by the market with its visitor
// cookie), each shop's spending summed. After a round the operator opens
// a product as a group deal in the product's shop (the shop's deal code);
// the market voters linked to a fan of that shop are recorded as the
// deal's voters there, so they are told first and get the head start.

// MarketKey is the market's scope: where a shop's rounds take its id, the
// market's take this key.
const MarketKey = "market"

// Limits of the market's rounds.
const (
	// MaxRegistrations is how many products may be registered for one
	// market round (MaxItems of them approved).
	MaxRegistrations = 500
	// maxLinks is how many shops' spending a market voter's ballots sum.
	maxLinks = 20
	// linkTokenLife is how long a storefront's link token may be taken.
	linkTokenLife = 15 * time.Minute
)

var (
	errNotMarket     = fault.New(http.StatusNotFound, "not_found", "not found")
	errLinkedAway    = fault.New(http.StatusConflict, "linked_elsewhere", "this shop account already counts toward another market shopper's ballots")
	errLinkToken     = fault.New(http.StatusGone, "link_expired", "the link has expired or was used; open it again from the shop")
	errNoMarketRound = fault.New(http.StatusConflict, "round_started", "products join a round before it starts; a product added now is voted on from the next round")
)

// marketScope is what the market's service has beside a shop's.
type marketScope struct {
	links linkStore
	// shop is each shop's spending (what a shop's rounds read).
	shop Spending
	// mu makes one replica create the next round once.
	mu sync.Mutex
}

// Link is a shop's fan whose spending counts toward a market voter's ballots.
type Link struct {
	Visitor string    `json:"-"`
	ShopID  string    `json:"shop_id"`
	FanID   string    `json:"-"`
	At      time.Time `json:"at"`
}

// NewMarket returns the market's vote service: its records in the
// platform database (added idempotently), ballots from the shops'
// spending (spending, per shop) over the voter's links, products read
// from their shops.
func NewMarket(ctx context.Context, e *engine.Engine, spending Spending, products Products, log *slog.Logger) (*Service, error) {
	if err := e.ExtendPlatform(ctx, marketPlatform()); err != nil {
		return nil, err
	}
	store := engine.ByKind[Store](e, &sqliteStore{db: platformSQL{e.PlatformSQL()}},
		&mongoStore{coll: func(_, name string) coll { return platformColl{e.PlatformMongo().Collection(name)} }})
	m := &marketScope{links: newLinkStore(e), shop: spending}
	s := NewService(store, marketSpending{m}, products, log)
	s.market = m
	return s, nil
}

// Market says whether s is the market's service.
func (s *Service) Market() bool { return s.market != nil }

// marketSpending is the market voter's spending: each linked shop's, summed
// (the earliest first paid order; the address of the first link's latest).
type marketSpending struct{ m *marketScope }

func (ms marketSpending) Spent(ctx context.Context, _, visitor string) (Spend, error) {
	links, err := ms.m.links.Links(ctx, visitor, maxLinks)
	if err != nil || ms.m.shop == nil {
		return Spend{}, err
	}
	var sum Spend
	for _, l := range links {
		sp, err := ms.m.shop.Spent(ctx, l.ShopID, l.FanID)
		if err != nil {
			return Spend{}, err
		}
		sum.Paid += max(0, sp.Paid)
		if !sp.FirstPaidAt.IsZero() && (sum.FirstPaidAt.IsZero() || sp.FirstPaidAt.Before(sum.FirstPaidAt)) {
			sum.FirstPaidAt = sp.FirstPaidAt
		}
		if sum.Address == "" {
			sum.Address = sp.Address
		}
	}
	return sum, nil
}

// NextRound is the market's round taking products now (the earliest
// scheduled), made for the next 08:00 window if there is none.
func (s *Service) NextRound(ctx context.Context) (Round, error) {
	if s.market == nil {
		return Round{}, errNotMarket
	}
	find := func() (Round, bool, error) {
		list, err := s.store.Rounds(ctx, MarketKey, recentRounds)
		if err != nil {
			return Round{}, false, err
		}
		now := s.clock()
		var best Round
		found := false
		for _, r := range list {
			if r.takesProducts(now) && (!found || r.StartsAt.Before(best.StartsAt)) {
				best, found = r, true
			}
		}
		return best, found, nil
	}
	if r, ok, err := find(); err != nil || ok {
		return r, err
	}
	s.market.mu.Lock()
	defer s.market.mu.Unlock()
	if r, ok, err := find(); err != nil || ok {
		return r, err
	}
	r, err := s.CreateRound(ctx, MarketKey, RoundInput{})
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Code == "round_overlaps" {
		// Another replica made it first, or a round runs over the next
		// window (extended): none takes products.
		if r, ok, err := find(); err != nil || ok {
			return r, err
		}
		return Round{}, errNoMarketRound
	}
	return r, err
}

// Register puts a shop's product up for the market's next round, pending
// the operator's approval. A shop barred from votes may not.
func (s *Service) Register(ctx context.Context, shopID string, in ItemInput) (Item, error) {
	if s.market == nil {
		return Item{}, errNotMarket
	}
	if err := in.check(); err != nil {
		return Item{}, err
	}
	if b, barred, err := s.Barred(ctx, shopID); err != nil {
		return Item{}, err
	} else if barred {
		return Item{}, errBarred(b)
	}
	p, err := s.products.Get(ctx, shopID, in.ProductID)
	if err != nil {
		return Item{}, err
	}
	r, err := s.NextRound(ctx)
	if err != nil {
		return Item{}, err
	}
	list, err := s.store.Items(ctx, MarketKey, r.ID)
	if err != nil {
		return Item{}, err
	}
	if len(list) >= MaxRegistrations {
		return Item{}, fault.New(http.StatusConflict, "round_full", "a round holds at most %d products", MaxRegistrations)
	}
	it := Item{RoundID: r.ID, ProductID: p.ID, Title: p.Title, Image: p.Image(), Price: p.Price, ExpectedPrice: in.ExpectedPrice,
		TargetVotes: in.TargetVotes, AddedAt: s.clock(), State: ItemPending, ShopID: shopID}
	if err := s.store.AddItem(ctx, MarketKey, it); err != nil {
		return Item{}, err
	}
	return it, nil
}

// Registrations are the shop's products in the market's latest rounds, the
// latest round first, with their state.
func (s *Service) Registrations(ctx context.Context, shopID string) ([]Item, error) {
	if s.market == nil {
		return nil, errNotMarket
	}
	rounds, err := s.store.Rounds(ctx, MarketKey, 5)
	if err != nil {
		return nil, err
	}
	out := []Item{}
	for _, r := range rounds {
		items, err := s.store.Items(ctx, MarketKey, r.ID)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if it.ShopID == shopID {
				out = append(out, it)
			}
		}
	}
	return out, nil
}

// Decide is the operator's approval (into the round) or rejection (with
// the reason) of a registered product, before the round starts.
func (s *Service) Decide(ctx context.Context, roundID, productID string, approve bool, note string) (Item, error) {
	if s.market == nil {
		return Item{}, errNotMarket
	}
	r, err := s.Round(ctx, MarketKey, roundID)
	if err != nil {
		return Item{}, err
	}
	if !engine.ValidID(productID) {
		return Item{}, fault.NotFound("product")
	}
	if !r.takesProducts(s.clock()) {
		return Item{}, errNoMarketRound
	}
	note, err = fault.MultilineText("note", note, 200)
	if err != nil {
		return Item{}, err
	}
	it, err := s.store.Item(ctx, MarketKey, r.ID, productID)
	if err != nil {
		return Item{}, err
	}
	to := ItemRejected
	if approve {
		to = ItemListed
		items, err := s.store.Items(ctx, MarketKey, r.ID)
		if err != nil {
			return Item{}, err
		}
		if len(listed(items)) >= MaxItems {
			return Item{}, fault.New(http.StatusConflict, "round_full", "a round holds at most %d products", MaxItems)
		}
	}
	ok, err := s.store.SetItemState(ctx, MarketKey, r.ID, productID, ItemPending, to, note)
	if err != nil {
		return Item{}, err
	}
	if !ok {
		return Item{}, fault.New(http.StatusConflict, "decided", "the product was decided already (%s)", it.State)
	}
	it.State, it.Note = to, note
	return it, nil
}

// OpenMarketDeal opens a product of an ended market round as a group deal
// in its shop (shop is the shops' vote service): first the market voters
// linked to a fan of that shop become the deal's voters there (told first,
// with the head start), then the deal is recorded as a shop's is.
func (s *Service) OpenMarketDeal(ctx context.Context, shop *Service, in DealInput) (Deal, error) {
	if s.market == nil {
		return Deal{}, errNotMarket
	}
	r, err := s.Round(ctx, MarketKey, in.RoundID)
	if errors.Is(err, fault.ErrNotFound) {
		return Deal{}, fault.Invalid("round_id", "no market round %s", in.RoundID)
	}
	if err != nil {
		return Deal{}, err
	}
	if err := engine.CheckID("product_id", "product", in.ProductID); err != nil {
		return Deal{}, err
	}
	it, err := s.store.Item(ctx, MarketKey, r.ID, in.ProductID)
	if errors.Is(err, fault.ErrNotFound) {
		return Deal{}, fault.Invalid("product_id", "the product was not in round %s", r.ID)
	}
	if err != nil {
		return Deal{}, err
	}
	d, err := shop.newDeal(ctx, it.ShopID, r, it, in)
	if err != nil {
		return Deal{}, err
	}
	if err := s.copyVoters(ctx, shop, it); err != nil {
		return Deal{}, err
	}
	return d, shop.insertDeal(ctx, it.ShopID, d)
}

// copyVoters records, in the item's shop, the market voters of the item
// who linked a fan of that shop, as that fan's vote (no ballot taken):
// what the shop's deal code reads to tell voters and let them in first.
func (s *Service) copyVoters(ctx context.Context, shop *Service, it Item) error {
	after := ""
	for {
		voters, err := s.store.Voters(ctx, MarketKey, it.RoundID, it.ProductID, after, notifyPage)
		if err != nil {
			return err
		}
		for _, v := range voters {
			links, err := s.market.links.Links(ctx, v, maxLinks)
			if err != nil {
				return err
			}
			for _, l := range links {
				if l.ShopID != it.ShopID {
					continue
				}
				now := s.clock()
				if err := shop.store.AddVoter(ctx, it.ShopID, Vote{RoundID: it.RoundID, ProductID: it.ProductID, FanID: l.FanID,
					Day: ChinaDay(now), At: now}); err != nil {
					return err
				}
			}
		}
		if len(voters) < notifyPage {
			return nil
		}
		after = voters[len(voters)-1]
	}
}

// LinkToken is a one-use token by which the market takes a shop's fan as
// one of its visitor's (the storefront mints it for its signed-in fan).
func (s *Service) LinkToken(ctx context.Context, shopID, fanID string) (string, error) {
	if s.market == nil {
		return "", errNotMarket
	}
	if fanID == "" {
		return "", fault.New(http.StatusForbidden, "no_fan", "open the shop first")
	}
	token := engine.NewSecret(32)
	return token, s.market.links.AddToken(ctx, inviteHash(token), shopID, fanID, s.clock())
}

// Link takes a storefront's token: the shop's fan now counts toward the
// visitor's market ballots. A fan counts for one market visitor only.
func (s *Service) Link(ctx context.Context, visitor, token string) (Link, error) {
	if s.market == nil {
		return Link{}, errNotMarket
	}
	if visitor == "" || token == "" || len(token) > 64 {
		return Link{}, errLinkToken
	}
	shopID, fanID, at, err := s.market.links.TakeToken(ctx, inviteHash(token))
	if errors.Is(err, fault.ErrNotFound) || (err == nil && s.clock().Sub(at) > linkTokenLife) {
		return Link{}, errLinkToken
	}
	if err != nil {
		return Link{}, err
	}
	l := Link{Visitor: visitor, ShopID: shopID, FanID: fanID, At: s.clock()}
	got, err := s.market.links.AddLink(ctx, l)
	if err != nil {
		return Link{}, err
	}
	if got.Visitor != visitor {
		return Link{}, errLinkedAway
	}
	return got, nil
}

// LinkVotes records, in the linked shop, the visitor's votes in the
// market's latest rounds for that shop's products (as copyVoters does when
// a deal opens): a voter who links a shop after its deal opened still buys
// first there.
func (s *Service) LinkVotes(ctx context.Context, shop *Service, l Link) error {
	if s.market == nil {
		return errNotMarket
	}
	rounds, err := s.store.Rounds(ctx, MarketKey, 3)
	if err != nil {
		return err
	}
	for _, r := range rounds {
		a, err := s.store.Account(ctx, MarketKey, l.Visitor, r.ID)
		if err != nil {
			return err
		}
		for _, productID := range a.Voted {
			it, err := s.store.Item(ctx, MarketKey, r.ID, productID)
			if errors.Is(err, fault.ErrNotFound) || (err == nil && it.ShopID != l.ShopID) {
				continue
			}
			if err != nil {
				return err
			}
			now := s.clock()
			if err := shop.store.AddVoter(ctx, l.ShopID, Vote{RoundID: r.ID, ProductID: productID, FanID: l.FanID, Day: ChinaDay(now), At: now}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Links are the shops whose spending counts toward the visitor's ballots.
func (s *Service) Links(ctx context.Context, visitor string) ([]Link, error) {
	if s.market == nil || visitor == "" {
		return nil, nil
	}
	list, err := s.market.links.Links(ctx, visitor, maxLinks)
	sort.Slice(list, func(i, j int) bool { return list[i].At.Before(list[j].At) })
	return list, err
}
