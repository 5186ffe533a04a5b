package vote

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"microshop/shop/catalog"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Spending says how much a fan has spent in the shop and what the vote's
// brushing checks read of their orders. server plugs shop/order in.
type Spending interface {
	Spent(ctx context.Context, tenantID, fanID string) (Spend, error)
}

// Spend is a fan's spending in the shop: the paid, not refunded money of
// their orders (fen), when their first counted order was paid (zero:
// none), and the address of their latest order (its phone and street, as
// typed; "" for none), which votes keep only as a hash.
type Spend struct {
	Paid        int64
	FirstPaidAt time.Time
	Address     string
}

// Products is what the vote reads of the catalog. *catalog.Catalog is one.
type Products interface {
	Get(ctx context.Context, tenantID, id string) (catalog.Product, error)
	List(ctx context.Context, tenantID string, f catalog.Filter) ([]catalog.Product, int64, error)
}

// Service runs the shop's votes.
type Service struct {
	store    Store
	spending Spending
	products Products
	log      *slog.Logger
	now      func() time.Time
	// shuffle orders a page's products (rand.Shuffle; tests plug a seeded one).
	shuffle func(n int, swap func(i, j int))
	// notifier tells voters a deal opened (SetNotifier; nil: nobody).
	notifier Notifier
	// bars are the platform's bars of shops from votes (SetBars; nil: none).
	bars Bars
	// deals keeps the product pages' deals a moment (deal_cache.go).
	deals dealCache
	// market is set on the market's service (market.go): its rounds are
	// the platform's, its voters market shoppers.
	market *marketScope
	// checked is when the brushing checks last ran per scope (flag.go).
	checked checks
}

// NewService returns the vote service over store, reading spending and the catalog.
func NewService(store Store, spending Spending, products Products, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: store, spending: spending, products: products, log: log, now: time.Now, shuffle: rand.Shuffle}
}

// SetClock replaces the service's clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// SetShuffle replaces the random order of pages (tests).
func (s *Service) SetShuffle(shuffle func(n int, swap func(i, j int))) { s.shuffle = shuffle }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// Now is the service's clock (what a deal is live by).
func (s *Service) Now() time.Time { return s.clock() }

// RoundInput is a new round: its window (both empty: the next 08:00
// window), or StartNow to open it at once (until the next 08:00 window
// unless EndsAt says otherwise).
type RoundInput struct {
	StartsAt *time.Time `json:"starts_at"`
	EndsAt   *time.Time `json:"ends_at"`
	StartNow bool       `json:"start_now"`
}

// recentRounds is how many of the latest rounds are read to find the open
// one and overlaps.
const recentRounds = 50

// Votes a crash left pending (MongoDB) are recorded once they are
// repairAge old (their own request has surely finished), repairBatch fans
// at a time.
const (
	repairAge   = time.Minute
	repairBatch = 100
)

// RepairVotes records the votes of scope (a shop, or MarketKey) whose
// ballot was taken but whose record a crash left unwritten (the vote
// jobs run it), and says how many.
func (s *Service) RepairVotes(ctx context.Context, scope string) (int, error) {
	return s.store.RepairVotes(ctx, scope, s.clock().Add(-repairAge))
}

// ItemInput is a product put up for a vote.
type ItemInput struct {
	ProductID     string `json:"product_id"`
	ExpectedPrice int64  `json:"expected_price"`
	TargetVotes   int64  `json:"target_votes"`
}

// check checks a product put up for a vote.
func (in ItemInput) check() error {
	if err := engine.CheckID("product_id", "product", in.ProductID); err != nil {
		return err
	}
	if in.ExpectedPrice < 1 || in.ExpectedPrice > 100_000_000 {
		return fault.Invalid("expected_price", "must be from 1 fen to ¥1,000,000")
	}
	if in.TargetVotes < 0 || in.TargetVotes > 1_000_000 {
		return fault.Invalid("target_votes", "must be from 0 to 1000000")
	}
	return nil
}

// AddItem puts one of the shop's products in a round before the round
// starts (or within SetupGrace of a round started at once).
func (s *Service) AddItem(ctx context.Context, tenantID, roundID string, in ItemInput) (Item, error) {
	r, err := s.Round(ctx, tenantID, roundID)
	if err != nil {
		return Item{}, err
	}
	if err := in.check(); err != nil {
		return Item{}, err
	}
	if !r.takesProducts(s.clock()) {
		return Item{}, fault.New(http.StatusConflict, "round_started",
			"products join a round before it starts; a product added now is voted on from the next round")
	}
	p, err := s.products.Get(ctx, tenantID, in.ProductID)
	if err != nil {
		return Item{}, err
	}
	list, err := s.store.Items(ctx, tenantID, roundID)
	if err != nil {
		return Item{}, err
	}
	if len(list) >= MaxItems {
		return Item{}, fault.New(http.StatusConflict, "round_full", "a round holds at most %d products", MaxItems)
	}
	it := Item{RoundID: r.ID, ProductID: p.ID, Title: p.Title, Image: p.Image(), Price: p.Price,
		ExpectedPrice: in.ExpectedPrice, TargetVotes: in.TargetVotes, AddedAt: s.clock(), State: ItemListed}
	if err := s.store.AddItem(ctx, tenantID, it); err != nil {
		return Item{}, err
	}
	return it, nil
}

// Items returns a round's products in the order they were added.
func (s *Service) Items(ctx context.Context, tenantID, roundID string) ([]Item, error) {
	if _, err := s.Round(ctx, tenantID, roundID); err != nil {
		return nil, err
	}
	return s.store.Items(ctx, tenantID, roundID)
}

// Ballots is what the fan holds now: the ballots their spending earned
// less those used (never below zero), and the votes left today.
func (s *Service) Ballots(ctx context.Context, tenantID, fanID string) (Ballots, error) {
	earned, err := s.earned(ctx, tenantID, fanID)
	if err != nil {
		return Ballots{}, err
	}
	a, err := s.store.Account(ctx, tenantID, fanID, "")
	if err != nil {
		return Ballots{}, err
	}
	return a.ballots(earned, ChinaDay(s.clock())), nil
}

// earned is the ballots the fan's spending earns.
func (s *Service) earned(ctx context.Context, tenantID, fanID string) (int64, error) {
	sp, err := s.spent(ctx, tenantID, fanID)
	return max(0, sp.Paid) / BallotSpend, err
}

// spent is the fan's spending (none without a fan or a source).
func (s *Service) spent(ctx context.Context, tenantID, fanID string) (Spend, error) {
	if fanID == "" || s.spending == nil {
		return Spend{}, nil
	}
	return s.spending.Spent(ctx, tenantID, fanID)
}

// Cast is one vote's outcome: the product's votes and what the fan holds
// after it.
type Cast struct {
	RoundID   string `json:"round_id"`
	ProductID string `json:"product_id"`
	Ballots
}

// Vote casts the fan's vote for a product of the open round: 409 for a
// second vote on it, 429 past DailyVotes a day, 403 without ballots.
func (s *Service) Vote(ctx context.Context, tenantID, fanID, productID string) (Cast, error) {
	if fanID == "" {
		return Cast{}, s.noBallots()
	}
	if err := engine.CheckID("product_id", "product", productID); err != nil {
		return Cast{}, err
	}
	r, err := s.Current(ctx, tenantID)
	if err != nil {
		return Cast{}, err
	}
	if it, err := s.store.Item(ctx, tenantID, r.ID, productID); err != nil {
		return Cast{}, err
	} else if it.State == ItemRemoved {
		return Cast{}, errRemoved
	} else if !it.Listed() {
		return Cast{}, fault.NotFound("product")
	}
	sp, err := s.spent(ctx, tenantID, fanID)
	if err != nil {
		return Cast{}, err
	}
	earned := max(0, sp.Paid) / BallotSpend
	if earned == 0 {
		return Cast{}, s.noBallots()
	}
	now := s.clock()
	v := Vote{RoundID: r.ID, ProductID: productID, FanID: fanID, Day: ChinaDay(now), At: now,
		Addr: addressHash(sp.Address), Fresh: sp.FirstPaidAt.IsZero() || now.Sub(sp.FirstPaidAt) < FreshAccount}
	a, err := s.store.Cast(ctx, tenantID, v, earned)
	if errors.Is(err, errNoBallots) {
		return Cast{}, s.noBallots()
	}
	if err != nil {
		return Cast{}, err
	}
	return Cast{RoundID: r.ID, ProductID: productID, Ballots: a.ballots(earned, v.Day)}, nil
}

// Page is what the storefront's vote page shows a fan: the open round (nil
// if none), its products in a random order, which the fan voted for, and
// the fan's ballots.
type Page struct {
	Round   *Round
	Items   []Item
	Voted   map[string]bool
	Ballots Ballots
	// Spend is how much more the fan must spend for the next ballot (fen).
	Spend int64
}

// Page gathers the vote page of the fan, the products in a new random
// order each time (each product gets the same exposure).
func (s *Service) Page(ctx context.Context, tenantID, fanID string) (Page, error) {
	p := Page{Voted: map[string]bool{}}
	sp, err := s.spent(ctx, tenantID, fanID)
	if err != nil {
		return p, err
	}
	earned := max(0, sp.Paid) / BallotSpend
	p.Spend = BallotSpend - max(0, sp.Paid)%BallotSpend
	r, err := s.Current(ctx, tenantID)
	roundID := ""
	if err == nil {
		p.Round, roundID = &r, r.ID
		if p.Items, err = s.store.Items(ctx, tenantID, r.ID); err != nil {
			return p, err
		}
		p.Items = listed(p.Items)
		s.shuffle(len(p.Items), func(i, j int) { p.Items[i], p.Items[j] = p.Items[j], p.Items[i] })
	} else if !errors.Is(err, errClosed) {
		return p, err
	}
	a := Account{}
	if fanID != "" {
		if a, err = s.store.Account(ctx, tenantID, fanID, roundID); err != nil {
			return p, err
		}
	}
	for _, id := range a.Voted {
		p.Voted[id] = true
	}
	p.Ballots = a.ballots(earned, ChinaDay(s.clock()))
	return p, nil
}

// Result is one product's standing in a round: its votes against its
// target, and its votes per hour.
type Result struct {
	Item
	Series []Point `json:"series"`
}

// Results is a round's standing, the most votes first: the products voted
// on (Items) and those whose votes do not count (Out: removed as brushed,
// and in a market round those pending or rejected), with their state and
// reason.
type Results struct {
	Round Round    `json:"round"`
	State string   `json:"state"`
	Items []Result `json:"items"`
	Out   []Result `json:"out"`
}

// Results reads a round's votes per product, and per hour.
func (s *Service) Results(ctx context.Context, tenantID, roundID string) (Results, error) {
	r, err := s.Round(ctx, tenantID, roundID)
	if err != nil {
		return Results{}, err
	}
	items, err := s.store.Items(ctx, tenantID, roundID)
	if err != nil {
		return Results{}, err
	}
	hours, err := s.store.Hours(ctx, tenantID, roundID)
	if err != nil {
		return Results{}, err
	}
	out := Results{Round: r, State: r.State(s.clock()), Items: make([]Result, 0, len(items)), Out: []Result{}}
	for _, it := range items {
		series := hours[it.ProductID]
		if series == nil {
			series = []Point{}
		}
		if it.Listed() {
			out.Items = append(out.Items, Result{Item: it, Series: series})
		} else {
			out.Out = append(out.Out, Result{Item: it, Series: series})
		}
	}
	sortResults(out.Items)
	return out, nil
}

// listed keeps the items voted on.
func listed(items []Item) []Item {
	out := items[:0]
	for _, it := range items {
		if it.Listed() {
			out = append(out, it)
		}
	}
	return out
}

// noBallots is the 403 of a voter without ballots, in the scope's words.
func (s *Service) noBallots() error {
	if s.market != nil {
		return errNoMarketBallots
	}
	return errNoBallots
}

// sortResults orders results by votes, most first, then by when added.
func sortResults(rs []Result) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && (rs[j].Votes > rs[j-1].Votes); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// pickable lists the shop's products on sale that are not in the round yet
// (the console's add form), up to pickable.
func (s *Service) pickable(ctx context.Context, tenantID string, in []Result) ([]catalog.Product, error) {
	list, _, err := s.products.List(ctx, tenantID, catalog.Filter{Status: catalog.OnSale, Limit: pickable})
	if err != nil {
		return nil, err
	}
	listed := map[string]bool{}
	for _, r := range in {
		listed[r.ProductID] = true
	}
	out := list[:0]
	for _, p := range list {
		if !listed[p.ID] {
			out = append(out, p)
		}
	}
	return out, nil
}
