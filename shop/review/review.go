// Package review owns a shop's product reviews: one per order line, written
// by the order's own buyer once the order is received (completed), 1 to 5
// stars with text and photos, editable by the buyer for EditWindow and never
// deleted; the merchant may reply once. Each product's rating (count and sum
// of stars) is kept beside the reviews and moved in the same write as the
// review that changes it, so a product page reads one record, never a scan.
//
// Exactly once without multi-record transactions: a review's unique key is
// (order, product, SKU), so a second review of a line is a 409 however many
// arrive at once; a reply is a conditional update of a review without one.
// On SQLite the review and its product's rating are written in one
// transaction; on MongoDB the review is inserted (the unique key decides),
// then the rating is incremented and the review marked counted, and the
// repair pass (Repair) recounts a product whose review a crash left
// uncounted.
package review

import (
	"context"
	"math"
	"time"

	"microshop/tenants/fault"
)

// Limits of what a review holds.
const (
	MaxText    = 500 // characters of a review's text
	MaxReply   = 500 // characters of the merchant's reply
	MaxImages  = 9   // photos of one review
	EditWindow = 30 * 24 * time.Hour
	// Latest is how many reviews a product page shows.
	Latest = 5
)

// Review is one buyer's review of one order line.
type Review struct {
	ID        string     `json:"id"`
	OrderID   string     `json:"order_id"`
	FanID     string     `json:"-"`
	ProductID string     `json:"product_id"`
	SKUID     string     `json:"sku_id"`
	Rating    int        `json:"rating"`
	Text      string     `json:"text"`
	Images    []string   `json:"images"`
	Reply     string     `json:"reply,omitempty"`
	RepliedAt *time.Time `json:"replied_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Stars writes the rating as five stars, filled and empty (★★★★☆).
func (r Review) Stars() string { return stars(r.Rating) }

// EditableUntil is when the buyer's last edit may be made.
func (r Review) EditableUntil() time.Time { return r.CreatedAt.Add(EditWindow) }

// Stats is a product's rating: how many reviews and the sum of their stars.
// Rev grows with every change of the product's reviews (a new one, an
// edit, a reply): it versions the cached product page.
type Stats struct {
	ProductID string `json:"product_id"`
	Count     int64  `json:"count"`
	Sum       int64  `json:"sum"`
	Rev       int64  `json:"-"`
}

// Average is the mean rating rounded to one decimal (0 without reviews).
func (s Stats) Average() float64 {
	if s.Count == 0 {
		return 0
	}
	return math.Round(float64(s.Sum)*10/float64(s.Count)) / 10
}

// Input is what a buyer writes: the line (product and SKU), the stars, the
// text and the photos' image ids.
type Input struct {
	ProductID string   `json:"product_id"`
	SKUID     string   `json:"sku_id"`
	Rating    int      `json:"rating"`
	Text      string   `json:"text"`
	Images    []string `json:"images"`
}

// Edit is what a buyer changes within EditWindow.
type Edit struct {
	Rating int      `json:"rating"`
	Text   string   `json:"text"`
	Images []string `json:"images"`
}

// ImageChecker says whether image ids name the shop's own stored images
// (shop/image): server plugs it in. Without one, reviews carry no photos.
type ImageChecker interface {
	Exists(ctx context.Context, tenantID string, ids ...string) error
}

// checkBody validates the stars, text and photos of a review.
func (s *Service) checkBody(ctx context.Context, tenantID string, rating int, text string, images []string) (string, []string, error) {
	if rating < 1 || rating > 5 {
		return "", nil, fault.Invalid("rating", "must be a whole number of stars from 1 to 5")
	}
	text, err := fault.MultilineText("text", text, MaxText)
	if err != nil {
		return "", nil, err
	}
	if len(images) > MaxImages {
		return "", nil, fault.Invalid("images", "at most %d photos", MaxImages)
	}
	if images == nil {
		images = []string{}
	}
	seen := map[string]bool{}
	for i, id := range images {
		if id == "" || len(id) > 64 {
			return "", nil, fault.Invalid("images", "photo %d is not an image id", i+1)
		}
		if seen[id] {
			return "", nil, fault.Invalid("images", "photo %d is listed twice", i+1)
		}
		seen[id] = true
	}
	if len(images) > 0 {
		if s.images == nil {
			return "", nil, fault.Invalid("images", "this shop does not take photos yet")
		}
		if err := s.images.Exists(ctx, tenantID, images...); err != nil {
			return "", nil, err
		}
	}
	return text, images, nil
}
