package vote

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Group deals: after a round, the merchant opens a voted product as a group
// deal with a price, a quantity and a window. The product's voters may buy
// from the deal's start, everyone else HeadStart later; orders take the
// group price only inside the window and within the quantity (a claim per
// order and deal, one conditional update of the deal's sold count, so 50
// buyers at once never take more than the quantity). The voters are told
// once when the deal opens (Notifier).

// Limits of a deal.
const (
	MaxDealQuantity = 10_000
	MaxDeal         = 30 * 24 * time.Hour
	// DefaultHeadStart is the voters' head start when the merchant names none.
	DefaultHeadStart = time.Hour
	MaxHeadStart     = 24 * time.Hour
)

var (
	errSoldOut    = fault.New(http.StatusConflict, "deal_sold_out", "the group deal's quantity is sold out")
	errDealExists = fault.New(http.StatusConflict, "deal_exists", "the product has a group deal from this round already")
)

// Deal is a group deal on a voted product.
type Deal struct {
	ID        string `json:"id"`
	RoundID   string `json:"round_id"`
	ProductID string `json:"product_id"`
	Title     string `json:"title"`
	// Price is the group price (fen); RegularPrice the product's when the deal was made.
	Price        int64 `json:"price"`
	RegularPrice int64 `json:"regular_price"`
	Quantity     int64 `json:"quantity"`
	Sold         int64 `json:"sold"`
	// Votes is the product's votes in the round when the deal was made.
	Votes int64 `json:"votes"`
	// StartsAt opens the deal to the product's voters, PublicAt to everyone.
	StartsAt  time.Time `json:"starts_at"`
	PublicAt  time.Time `json:"public_at"`
	EndsAt    time.Time `json:"ends_at"`
	CreatedAt time.Time `json:"created_at"`
	// Notified: every voter was told (NotifiedAfter is the last fan told,
	// the pass's cursor).
	Notified      bool   `json:"notified"`
	NotifiedAfter string `json:"-"`
}

// Left is the quantity still to sell.
func (d Deal) Left() int64 { return max(0, d.Quantity-d.Sold) }

// Deal states.
const (
	DealUpcoming = "upcoming"
	DealVoters   = "voters_only"
	DealOpen     = "open"
	DealSoldOut  = "sold_out"
	DealEnded    = "ended"
)

// State is the deal's state at now.
func (d Deal) State(now time.Time) string {
	switch {
	case now.Before(d.StartsAt):
		return DealUpcoming
	case !now.Before(d.EndsAt):
		return DealEnded
	case d.Left() == 0:
		return DealSoldOut
	case now.Before(d.PublicAt):
		return DealVoters
	}
	return DealOpen
}

// DealInput is a new group deal: a product of an ended round, its group
// price (fen), quantity and window; the voters' head start in minutes
// (nil: DefaultHeadStart).
type DealInput struct {
	RoundID          string     `json:"round_id"`
	ProductID        string     `json:"product_id"`
	Price            int64      `json:"price"`
	Quantity         int64      `json:"quantity"`
	StartsAt         *time.Time `json:"starts_at"`
	EndsAt           time.Time  `json:"ends_at"`
	HeadStartMinutes *int       `json:"head_start_minutes"`
}

// Notifier tells a fan a deal they voted for opened, once per key (the
// message service's notices: a WeChat template message within its rules,
// else the inbox). server plugs it in; without one nobody is told.
type Notifier interface {
	DealOpened(ctx context.Context, tenantID, fanID, key string, d Deal) error
}

// SetNotifier plugs in how voters are told of a deal.
func (s *Service) SetNotifier(n Notifier) { s.notifier = n }

// CreateDeal opens a group deal on a product voted for in an ended round.
func (s *Service) CreateDeal(ctx context.Context, tenantID string, in DealInput) (Deal, error) {
	r, err := s.Round(ctx, tenantID, in.RoundID)
	if errors.Is(err, fault.ErrNotFound) {
		return Deal{}, fault.Invalid("round_id", "no vote round %s in this shop", in.RoundID)
	}
	if err != nil {
		return Deal{}, err
	}
	if err := engine.CheckID("product_id", "product", in.ProductID); err != nil {
		return Deal{}, err
	}
	it, err := s.store.Item(ctx, tenantID, r.ID, in.ProductID)
	if errors.Is(err, fault.ErrNotFound) {
		return Deal{}, fault.Invalid("product_id", "the product was not in round %s", r.ID)
	}
	if err != nil {
		return Deal{}, err
	}
	d, err := s.newDeal(ctx, tenantID, r, it, in)
	if err != nil {
		return Deal{}, err
	}
	return d, s.insertDeal(ctx, tenantID, d)
}

// newDeal checks a deal on item it of round r (a round of this scope; the
// product is the shop tenantID's) and makes it, not yet recorded.
func (s *Service) newDeal(ctx context.Context, tenantID string, r Round, it Item, in DealInput) (Deal, error) {
	now := s.clock()
	if !it.Listed() {
		return Deal{}, fault.New(http.StatusConflict, "product_not_listed", "the product's votes do not count in this round (%s)", it.State)
	}
	if r.State(now) != Ended {
		return Deal{}, fault.New(http.StatusConflict, "round_not_ended", "a group deal opens after its round has ended")
	}
	if it.Votes == 0 {
		return Deal{}, fault.New(http.StatusConflict, "no_votes", "a group deal needs a product with votes")
	}
	p, err := s.products.Get(ctx, tenantID, in.ProductID)
	if err != nil {
		return Deal{}, err
	}
	if in.Price < 1 || in.Price > p.Price {
		return Deal{}, fault.Invalid("price", "must be from 1 fen to the product's price")
	}
	if in.Quantity < 1 || in.Quantity > MaxDealQuantity {
		return Deal{}, fault.Invalid("quantity", "must be from 1 to %d", MaxDealQuantity)
	}
	d := Deal{ID: engine.NewID(), RoundID: r.ID, ProductID: p.ID, Title: p.Title, Price: in.Price, RegularPrice: p.Price,
		Quantity: in.Quantity, Votes: it.Votes, StartsAt: now, CreatedAt: now}
	if in.StartsAt != nil {
		d.StartsAt = in.StartsAt.UTC().Truncate(time.Second)
		if d.StartsAt.Before(now.Add(-time.Minute)) {
			return Deal{}, fault.Invalid("starts_at", "must not be in the past")
		}
		if d.StartsAt.Before(now) {
			d.StartsAt = now
		}
	}
	head := DefaultHeadStart
	if in.HeadStartMinutes != nil {
		head = time.Duration(*in.HeadStartMinutes) * time.Minute
		if head < 0 || head > MaxHeadStart {
			return Deal{}, fault.Invalid("head_start_minutes", "must be from 0 to %d", int(MaxHeadStart.Minutes()))
		}
	}
	d.PublicAt = d.StartsAt.Add(head)
	d.EndsAt = in.EndsAt.UTC().Truncate(time.Second)
	if !d.EndsAt.After(d.PublicAt) || d.EndsAt.Sub(d.StartsAt) > MaxDeal {
		return Deal{}, fault.Invalid("ends_at", "must be after the head start and within 30 days of the start")
	}
	return d, nil
}

// insertDeal records deal d of the shop and, if it has started, tells its voters.
func (s *Service) insertDeal(ctx context.Context, tenantID string, d Deal) error {
	if err := s.store.InsertDeal(ctx, tenantID, d); err != nil {
		return err
	}
	s.deals.forget(tenantID, d.ProductID)
	if !d.StartsAt.After(s.clock()) {
		if _, err := s.NotifyDeals(ctx, tenantID); err != nil {
			s.log.Warn("notify a group deal's voters", "tenant", tenantID, "deal", d.ID, "err", err)
		}
	}
	return nil
}

// Deal returns one deal of the shop.
func (s *Service) Deal(ctx context.Context, tenantID, id string) (Deal, error) {
	if !engine.ValidID(id) {
		return Deal{}, fault.NotFound("group deal")
	}
	return s.store.Deal(ctx, tenantID, id)
}

// Deals returns the shop's latest deals, the newest first.
func (s *Service) Deals(ctx context.Context, tenantID string) ([]Deal, error) {
	return s.store.Deals(ctx, tenantID, recentRounds)
}

// LiveDeal is the product's deal now (started, not ended), if any.
func (s *Service) LiveDeal(ctx context.Context, tenantID, productID string) (Deal, bool, error) {
	return s.liveDeal(ctx, tenantID, productID, s.clock())
}

// liveDeal is the product's deal at now.
func (s *Service) liveDeal(ctx context.Context, tenantID, productID string, now time.Time) (Deal, bool, error) {
	list, err := s.store.ProductDeals(ctx, tenantID, productID, now)
	if err != nil {
		return Deal{}, false, err
	}
	for _, d := range list {
		if !now.Before(d.StartsAt) && now.Before(d.EndsAt) {
			return d, true, nil
		}
	}
	return Deal{}, false, nil
}

// ProductDeal is what the product page shows of a group deal: the
// product's deal now or next (nil for none) and a version for the cached
// page (the deal, its state and what is left: a page shows the right
// price, countdown and quantity once any of them changes).
func (s *Service) ProductDeal(ctx context.Context, tenantID, productID string) (string, *Deal, error) {
	now := s.clock()
	list, err := s.deals.get(ctx, s.store, tenantID, productID, now)
	if err != nil || len(list) == 0 {
		return "", nil, err
	}
	d := list[0]
	for _, x := range list {
		if !now.Before(x.StartsAt) { // a live deal before an upcoming one
			d = x
			break
		}
	}
	return d.ID + "|" + d.State(now) + "|" + strconv.FormatInt(d.Left(), 10), &d, nil
}

// DealState is the deal's state now, by the service's clock.
func (s *Service) DealState(d Deal) string { return d.State(s.clock()) }

// DealPrice is order.DealPricer: the group price of the product for the
// fan now, if a deal is live and the fan may buy (a voter from its start,
// anyone from its public start) and it has qty left; "" otherwise (the
// line keeps its price).
func (s *Service) DealPrice(ctx context.Context, tenantID, fanID, productID string, qty int64, now time.Time) (string, int64, error) {
	d, ok, err := s.liveDeal(ctx, tenantID, productID, now)
	if err != nil || !ok || d.Left() < qty {
		return "", 0, err
	}
	if now.Before(d.PublicAt) {
		voted, err := s.store.Voted(ctx, tenantID, d.RoundID, productID, fanID)
		if err != nil || !voted {
			return "", 0, err
		}
	}
	return d.ID, d.Price, nil
}

// ClaimDeal is order.DealPricer: it takes qty of the deal's quantity for
// the order, once (a replay is a no-op); 409 deal_sold_out when less is left.
func (s *Service) ClaimDeal(ctx context.Context, tenantID, dealID, orderID string, qty int64) error {
	d, err := s.store.Deal(ctx, tenantID, dealID)
	if err != nil {
		return err
	}
	defer s.deals.forget(tenantID, d.ProductID)
	return s.store.Claim(ctx, tenantID, d, orderID, qty)
}

// OrderEvent implements order.Subscriber: a cancelled (or rejected) order
// gives back the deal quantity it claimed, once.
func (s *Service) OrderEvent(ctx context.Context, tenantID string, o order.Order, ev order.Event) error {
	if ev.Type != order.EventCancelled {
		return nil
	}
	_, err := s.store.Release(ctx, tenantID, o.ID)
	for _, l := range o.Lines {
		s.deals.forget(tenantID, l.ProductID)
	}
	return err
}

// notifyPage is how many voters a notify pass tells at a time.
const notifyPage = 200

// NotifyDeals tells the voters of every deal that has opened and whose
// voters were not all told, and reports how many it told. A pass pages
// through a deal's voters by fan id, each notice keyed by deal and fan (a
// repeat is not sent), and moves the deal's cursor after each page by a
// write conditional on the cursor it read, so racing passes and a crash
// tell each voter once.
func (s *Service) NotifyDeals(ctx context.Context, tenantID string) (int, error) {
	list, err := s.store.ToNotify(ctx, tenantID, s.clock(), 20)
	if err != nil {
		return 0, err
	}
	told := 0
	for _, d := range list {
		after := d.NotifiedAfter
		for {
			fans, err := s.store.Voters(ctx, tenantID, d.RoundID, d.ProductID, after, notifyPage)
			if err != nil {
				return told, err
			}
			for _, f := range fans {
				if s.notifier != nil {
					if err := s.notifier.DealOpened(ctx, tenantID, f, "group-deal:"+d.ID+":"+f, d); err != nil {
						return told, err
					}
				}
				told++
			}
			next, done := after, len(fans) < notifyPage
			if len(fans) > 0 {
				next = fans[len(fans)-1]
			}
			ok, err := s.store.AdvanceNotify(ctx, tenantID, d.ID, after, next, done)
			if err != nil || !ok || done { // !ok: another pass moved it; it goes on
				if err != nil {
					return told, err
				}
				break
			}
			after = next
		}
	}
	return told, nil
}
