package review

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"microshop/shop/order"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// errReviewed is a second review of one order line.
var errReviewed = fault.New(http.StatusConflict, "already_reviewed", "this order line has a review already")

// Orders is what reviews read of orders: the fan's own order (anyone
// else's is not found). *order.Service is one.
type Orders interface {
	GetForFan(ctx context.Context, tenantID, fanID, id string) (order.Order, error)
}

// Service runs reviews: who may write one and when, the merchant's reply,
// the products' ratings.
type Service struct {
	store  Store
	orders Orders
	images ImageChecker
	log    *slog.Logger
	now    func() time.Time
}

// NewService returns the review service over store, reading orders.
func NewService(store Store, orders Orders, log *slog.Logger) *Service {
	return &Service{store: store, orders: orders, log: log, now: time.Now}
}

// SetImages plugs in the check of photos' image ids (wired by server; a
// nil checker leaves reviews without photos).
func (s *Service) SetImages(c ImageChecker) { s.images = c }

// SetClock replaces the service's clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// Create records the fan's review of one line of their order orderID. Only
// the order's own buyer may write it (anyone else's order is not found),
// only once the order is received (completed), one per line: a second is a
// 409.
func (s *Service) Create(ctx context.Context, tenantID, fanID, orderID string, in Input) (Review, error) {
	if err := engine.CheckID("product_id", "product", in.ProductID); err != nil {
		return Review{}, err
	}
	if in.SKUID != "" {
		if err := engine.CheckID("sku_id", "SKU", in.SKUID); err != nil {
			return Review{}, err
		}
	}
	if !engine.ValidID(orderID) {
		return Review{}, fault.NotFound("order")
	}
	o, err := s.orders.GetForFan(ctx, tenantID, fanID, orderID)
	if err != nil {
		return Review{}, err
	}
	if o.Status != order.Completed {
		return Review{}, fault.New(http.StatusConflict, "not_received", "an order can be reviewed once it is received (completed); it is %s",
			fault.Word(strings.ReplaceAll(o.Status, "_", " ")))
	}
	found := false
	for _, l := range o.Lines {
		if l.ProductID == in.ProductID && l.SKUID == in.SKUID {
			found = true
			break
		}
	}
	if !found {
		return Review{}, fault.Invalid("product_id", "the order has no line of product %s with that SKU", in.ProductID)
	}
	text, images, err := s.checkBody(ctx, tenantID, in.Rating, in.Text, in.Images)
	if err != nil {
		return Review{}, err
	}
	now := s.clock()
	r := Review{ID: engine.NewID(), OrderID: o.ID, FanID: fanID, ProductID: in.ProductID, SKUID: in.SKUID, Rating: in.Rating,
		Text: text, Images: images, CreatedAt: now, UpdatedAt: now}
	if err := s.store.Insert(ctx, tenantID, r); err != nil {
		return Review{}, err
	}
	return r, nil
}

// Update changes the fan's own review within EditWindow of writing it.
func (s *Service) Update(ctx context.Context, tenantID, fanID, id string, e Edit) (Review, error) {
	if !engine.ValidID(id) {
		return Review{}, fault.NotFound("review")
	}
	text, images, err := s.checkBody(ctx, tenantID, e.Rating, e.Text, e.Images)
	if err != nil {
		return Review{}, err
	}
	e.Text, e.Images = text, images
	for range 10 { // another edit between the read and the write: read again
		r, err := s.store.Get(ctx, tenantID, id)
		if err != nil {
			return Review{}, err
		}
		if r.FanID != fanID {
			return Review{}, fault.NotFound("review")
		}
		now := s.clock()
		if !now.Before(r.EditableUntil()) {
			return Review{}, fault.New(http.StatusConflict, "edit_closed", "a review can be edited for %d days after it is written", int(EditWindow.Hours()/24))
		}
		ok, err := s.store.Update(ctx, tenantID, id, fanID, now.Add(-EditWindow), r.Rating, e, now)
		if err != nil {
			return Review{}, err
		}
		if ok {
			r.Rating, r.Text, r.Images, r.UpdatedAt = e.Rating, e.Text, e.Images, now
			return r, nil
		}
	}
	return Review{}, fault.Conflict("the review is being edited elsewhere; try again")
}

// Reply records the merchant's one reply to review id; a second is a 409.
func (s *Service) Reply(ctx context.Context, tenantID, id, text string) (Review, error) {
	if !engine.ValidID(id) {
		return Review{}, fault.NotFound("review")
	}
	// Another shop's review is a 404 whatever the text (never a 400 that
	// tells it exists).
	r, err := s.store.Get(ctx, tenantID, id)
	if err != nil {
		return Review{}, err
	}
	text, err = fault.MultilineText("text", text, MaxReply)
	if err != nil {
		return Review{}, err
	}
	if text == "" {
		return Review{}, fault.Invalid("text", "must not be empty")
	}
	now := s.clock()
	ok, err := s.store.Reply(ctx, tenantID, id, text, now)
	if err != nil {
		return Review{}, err
	}
	if !ok {
		return Review{}, fault.New(http.StatusConflict, "already_replied", "this review has a reply already")
	}
	r.Reply, r.RepliedAt = text, &now
	return r, nil
}

// Get returns one review of the shop.
func (s *Service) Get(ctx context.Context, tenantID, id string) (Review, error) {
	if !engine.ValidID(id) {
		return Review{}, fault.NotFound("review")
	}
	return s.store.Get(ctx, tenantID, id)
}

// List returns a page of the shop's reviews, newest first, of one product
// ("" for every product), and how many there are.
func (s *Service) List(ctx context.Context, tenantID, productID string, limit, offset int) ([]Review, int64, error) {
	if productID != "" {
		if err := engine.CheckID("product_id", "product", productID); err != nil {
			return nil, 0, err
		}
	}
	if err := engine.CheckPage(&limit, offset); err != nil {
		return nil, 0, err
	}
	list, err := s.store.List(ctx, tenantID, productID, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	// The count is the product's rating record (allProducts, "", for the
	// whole shop's), not a scan.
	st, err := s.store.Stats(ctx, tenantID, productID)
	return list, st.Count, fault.Wrap(err, "count reviews")
}

// OfOrder returns the reviews of the fan's own order.
func (s *Service) OfOrder(ctx context.Context, tenantID, fanID, orderID string) ([]Review, error) {
	if !engine.ValidID(orderID) {
		return nil, fault.NotFound("order")
	}
	if _, err := s.orders.GetForFan(ctx, tenantID, fanID, orderID); err != nil {
		return nil, err
	}
	return s.store.OfOrder(ctx, tenantID, orderID)
}

// Stats returns a product's rating.
func (s *Service) Stats(ctx context.Context, tenantID, productID string) (Stats, error) {
	return s.store.Stats(ctx, tenantID, productID)
}

// Block is what a product page shows: the rating and the latest reviews.
type Block struct {
	Stats  Stats
	Latest []Review
}

// ProductBlock is the product page's block (catalog.Extras): its version
// is the product's rating revision, read on every view (one record); the
// latest reviews are read only to render the page again.
func (s *Service) ProductBlock(ctx context.Context, tenantID, productID string) (string, func() (Block, error), error) {
	st, err := s.store.Stats(ctx, tenantID, productID)
	if err != nil {
		return "", nil, err
	}
	return fmt.Sprint("r", st.Rev), func() (Block, error) {
		b := Block{Stats: st, Latest: []Review{}}
		if st.Count == 0 {
			return b, nil
		}
		list, err := s.store.List(ctx, tenantID, productID, Latest, 0)
		b.Latest = list
		return b, err
	}, nil
}

// RatingSince counts the shop's reviews written since from and sums their
// stars (shop/credit's review factor).
func (s *Service) RatingSince(ctx context.Context, tenantID string, from time.Time) (count, sum int64, err error) {
	return s.store.Since(ctx, tenantID, from)
}

// Repair recounts the rating of products whose review a crash left
// uncounted (MongoDB), and reports how many it recounted.
func (s *Service) Repair(ctx context.Context, tenantID string) (int, error) {
	ids, err := s.store.Uncounted(ctx, tenantID, s.clock().Add(-time.Minute), 100)
	if err != nil {
		return 0, err
	}
	done := map[string]bool{}
	for _, id := range ids {
		if done[id] {
			continue
		}
		if err := s.store.Recount(ctx, tenantID, id); err != nil {
			return len(done), err
		}
		done[id] = true
	}
	return len(done), nil
}
