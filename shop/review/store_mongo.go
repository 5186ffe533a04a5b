package review

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// mongoStore keeps each review in a document of "reviews" and each
// product's rating in a document of "review_stats" (_id the product id).
// A review is inserted uncounted, its stars then $inc'd into the rating,
// then the review marked counted (see the package comment).
type mongoStore struct{ e *engine.Engine }

type reviewDoc struct {
	ID        string     `bson:"_id"`
	OrderID   string     `bson:"order_id"`
	FanID     string     `bson:"fan_id"`
	ProductID string     `bson:"product_id"`
	SKUID     string     `bson:"sku_id"`
	Rating    int        `bson:"rating"`
	Text      string     `bson:"text"`
	Images    []string   `bson:"images"`
	Reply     string     `bson:"reply"`
	RepliedAt *time.Time `bson:"replied_at"`
	CreatedAt time.Time  `bson:"created_at"`
	UpdatedAt time.Time  `bson:"updated_at"`
	Counted   bool       `bson:"counted"`
}

func (d reviewDoc) review() Review {
	r := Review{ID: d.ID, OrderID: d.OrderID, FanID: d.FanID, ProductID: d.ProductID, SKUID: d.SKUID, Rating: d.Rating,
		Text: d.Text, Images: d.Images, Reply: d.Reply, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
	if d.RepliedAt != nil {
		t := d.RepliedAt.UTC()
		r.RepliedAt = &t
	}
	if r.Images == nil {
		r.Images = []string{}
	}
	return r
}

func (s *mongoStore) reviews(tenantID string) *engine.Collection {
	return s.e.Mongo(tenantID).C("reviews")
}
func (s *mongoStore) stats(tenantID string) *engine.Collection {
	return s.e.Mongo(tenantID).C("review_stats")
}

// bump moves the product's rating by count and sum (rev + 1).
func (s *mongoStore) bump(ctx context.Context, tenantID, productID string, count, sum int) error {
	_, err := s.stats(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: productID}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "count", Value: count}, {Key: "sum", Value: sum}, {Key: "rev", Value: 1}}}},
		options.UpdateOne().SetUpsert(true))
	return err
}

func (s *mongoStore) Insert(ctx context.Context, tenantID string, r Review) error {
	d := reviewDoc{ID: r.ID, OrderID: r.OrderID, FanID: r.FanID, ProductID: r.ProductID, SKUID: r.SKUID, Rating: r.Rating,
		Text: r.Text, Images: r.Images, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	err := s.reviews(tenantID).InsertOne(ctx, d)
	if engine.IsUniqueViolation(err) {
		return errReviewed
	}
	if err != nil {
		return fmt.Errorf("insert review of order %s: %w", r.OrderID, err)
	}
	for _, p := range []string{r.ProductID, allProducts} {
		if err := s.bump(ctx, tenantID, p, 1, r.Rating); err != nil {
			return fmt.Errorf("count review %s: %w", r.ID, err)
		}
	}
	_, err = s.reviews(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: r.ID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "counted", Value: true}}}})
	return fault.Wrap(err, "mark review %s counted", r.ID)
}

func (s *mongoStore) Get(ctx context.Context, tenantID, id string) (Review, error) {
	var d reviewDoc
	err := s.reviews(tenantID).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Review{}, fault.NotFound("review")
	}
	if err != nil {
		return Review{}, fmt.Errorf("get review %s: %w", id, err)
	}
	return d.review(), nil
}

func (s *mongoStore) Update(ctx context.Context, tenantID, id, fanID string, createdAfter time.Time, old int, e Edit, at time.Time) (bool, error) {
	var d reviewDoc
	err := s.reviews(tenantID).FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}, {Key: "fan_id", Value: fanID},
		{Key: "created_at", Value: bson.D{{Key: "$gt", Value: createdAfter}}}, {Key: "rating", Value: old}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "rating", Value: e.Rating}, {Key: "text", Value: e.Text},
			{Key: "images", Value: e.Images}, {Key: "updated_at", Value: at}}}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("update review %s: %w", id, err)
	}
	for _, p := range []string{d.ProductID, allProducts} {
		if err := s.bump(ctx, tenantID, p, 0, e.Rating-old); err != nil {
			return true, fmt.Errorf("count the edit of review %s: %w", id, err)
		}
	}
	return true, nil
}

func (s *mongoStore) Reply(ctx context.Context, tenantID, id, text string, at time.Time) (bool, error) {
	var d reviewDoc
	err := s.reviews(tenantID).FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}, {Key: "reply", Value: ""}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "reply", Value: text}, {Key: "replied_at", Value: at}}}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reply to review %s: %w", id, err)
	}
	return true, fault.Wrap(s.bump(ctx, tenantID, d.ProductID, 0, 0), "version the reviews of product %s", d.ProductID)
}

func (s *mongoStore) List(ctx context.Context, tenantID, productID string, limit, offset int) ([]Review, error) {
	f := bson.D{}
	if productID != "" {
		f = bson.D{{Key: "product_id", Value: productID}}
	}
	opts := options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).
		SetLimit(int64(limit)).SetSkip(int64(offset))
	list, err := engine.FindAll(ctx, s.reviews(tenantID), f, reviewDoc.review, opts)
	return list, fault.Wrap(err, "list reviews")
}

func (s *mongoStore) OfOrder(ctx context.Context, tenantID, orderID string) ([]Review, error) {
	list, err := engine.FindAll(ctx, s.reviews(tenantID), bson.D{{Key: "order_id", Value: orderID}}, reviewDoc.review)
	return list, fault.Wrap(err, "reviews of order %s", orderID)
}

func (s *mongoStore) Stats(ctx context.Context, tenantID, productID string) (Stats, error) {
	var d struct {
		Count int64 `bson:"count"`
		Sum   int64 `bson:"sum"`
		Rev   int64 `bson:"rev"`
	}
	err := s.stats(tenantID).FindOne(ctx, bson.D{{Key: "_id", Value: productID}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Stats{ProductID: productID}, nil
	}
	if err != nil {
		return Stats{}, fmt.Errorf("rating of product %s: %w", productID, err)
	}
	return Stats{ProductID: productID, Count: d.Count, Sum: d.Sum, Rev: d.Rev}, nil
}

func (s *mongoStore) Since(ctx context.Context, tenantID string, from time.Time) (int64, int64, error) {
	n, sum, err := s.countBy(ctx, tenantID, bson.D{{Key: "created_at", Value: bson.D{{Key: "$gte", Value: from}}}})
	return n, sum, fault.Wrap(err, "count reviews since %s", from.Format(time.DateOnly))
}

// countBy counts the reviews matching match and sums their stars (grouped
// by rating: $sum of a field is not what FerretDB 1.24 computes).
func (s *mongoStore) countBy(ctx context.Context, tenantID string, match bson.D) (n, sum int64, err error) {
	by, err := engine.MongoSumBy[int](ctx, s.reviews(tenantID), "$rating", 1, bson.D{{Key: "$match", Value: match}})
	if err != nil {
		return 0, 0, err
	}
	for rating, c := range by {
		n += c
		sum += int64(rating) * c
	}
	return n, sum, nil
}

func (s *mongoStore) Uncounted(ctx context.Context, tenantID string, before time.Time, limit int) ([]string, error) {
	list, err := engine.FindAll(ctx, s.reviews(tenantID), bson.D{{Key: "counted", Value: false},
		{Key: "created_at", Value: bson.D{{Key: "$lt", Value: before}}}}, func(d reviewDoc) string { return d.ProductID },
		options.Find().SetLimit(int64(limit)))
	return list, fault.Wrap(err, "list uncounted reviews")
}

// Recount sets the product's rating to what its reviews say, then marks
// them counted. A review arriving in between is counted twice or not at
// all until the next recount: the repair pass runs it only for a product a
// crash left uncounted.
func (s *mongoStore) Recount(ctx context.Context, tenantID, productID string) error {
	n, sum, err := s.countBy(ctx, tenantID, bson.D{{Key: "product_id", Value: productID}})
	if err != nil {
		return fmt.Errorf("recount rating of product %s: %w", productID, err)
	}
	old, err := s.Stats(ctx, tenantID, productID)
	if err != nil {
		return err
	}
	if _, err := s.stats(tenantID).UpdateOne(ctx, bson.D{{Key: "_id", Value: productID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "count", Value: n}, {Key: "sum", Value: sum}}},
			{Key: "$inc", Value: bson.D{{Key: "rev", Value: 1}}}}, options.UpdateOne().SetUpsert(true)); err != nil {
		return fmt.Errorf("write rating of product %s: %w", productID, err)
	}
	if err := s.bump(ctx, tenantID, allProducts, int(n-old.Count), int(sum-old.Sum)); err != nil {
		return fmt.Errorf("write the shop's rating: %w", err)
	}
	_, err = s.reviews(tenantID).UpdateMany(ctx, bson.D{{Key: "product_id", Value: productID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "counted", Value: true}}}})
	return fault.Wrap(err, "mark reviews of product %s counted", productID)
}
