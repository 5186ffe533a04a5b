package vote

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// The group deals on MongoDB: each deal's document carries the orders that
// claimed it (claims), so a claim is one conditional update (sold low
// enough, the order not in claims: $inc sold, $push the order); a claim
// record (_id order:deal) says which deals an order claimed, written
// first, so a cancelled order finds what to give back.

type dealDoc struct {
	ID            string    `bson:"_id"`
	RoundID       string    `bson:"round_id"`
	ProductID     string    `bson:"product_id"`
	Title         string    `bson:"title"`
	Price         int64     `bson:"price"`
	RegularPrice  int64     `bson:"regular_price"`
	Quantity      int64     `bson:"quantity"`
	Sold          int64     `bson:"sold"`
	Votes         int64     `bson:"votes"`
	StartsAt      time.Time `bson:"starts_at"`
	PublicAt      time.Time `bson:"public_at"`
	EndsAt        time.Time `bson:"ends_at"`
	CreatedAt     time.Time `bson:"created_at"`
	Notified      bool      `bson:"notified"`
	NotifiedAfter string    `bson:"notified_after"`
	Claims        []string  `bson:"claims"`
}

func (d dealDoc) deal() Deal {
	return Deal{ID: d.ID, RoundID: d.RoundID, ProductID: d.ProductID, Title: d.Title, Price: d.Price, RegularPrice: d.RegularPrice,
		Quantity: d.Quantity, Sold: d.Sold, Votes: d.Votes, StartsAt: d.StartsAt.UTC(), PublicAt: d.PublicAt.UTC(),
		EndsAt: d.EndsAt.UTC(), CreatedAt: d.CreatedAt.UTC(), Notified: d.Notified, NotifiedAfter: d.NotifiedAfter}
}

// dealFields leaves the claims out of what a read returns.
var dealFields = options.Find().SetProjection(bson.D{{Key: "claims", Value: 0}})

func (s *mongoStore) Voted(ctx context.Context, tenantID, roundID, productID, fanID string) (bool, error) {
	n, err := s.c(tenantID, "vote_votes").CountDocuments(ctx, bson.D{{Key: "_id", Value: roundID + ":" + productID + ":" + fanID}})
	return n > 0, fault.Wrap(err, "vote of fan %s", fanID)
}

func (s *mongoStore) InsertDeal(ctx context.Context, tenantID string, d Deal) error {
	err := s.c(tenantID, "vote_deals").InsertOne(ctx, dealDoc{ID: d.ID, RoundID: d.RoundID, ProductID: d.ProductID, Title: d.Title,
		Price: d.Price, RegularPrice: d.RegularPrice, Quantity: d.Quantity, Votes: d.Votes, StartsAt: d.StartsAt, PublicAt: d.PublicAt,
		EndsAt: d.EndsAt, CreatedAt: d.CreatedAt, Claims: []string{}})
	if engine.IsUniqueViolation(err) {
		return errDealExists
	}
	return fault.Wrap(err, "insert group deal")
}

func (s *mongoStore) Deal(ctx context.Context, tenantID, id string) (Deal, error) {
	var d dealDoc
	err := s.c(tenantID, "vote_deals").FindOne(ctx, bson.D{{Key: "_id", Value: id}},
		options.FindOne().SetProjection(bson.D{{Key: "claims", Value: 0}})).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Deal{}, fault.NotFound("group deal")
	}
	return d.deal(), fault.Wrap(err, "get group deal %s", id)
}

func (s *mongoStore) Deals(ctx context.Context, tenantID string, limit int) ([]Deal, error) {
	list, err := engine.FindAll(ctx, s.c(tenantID, "vote_deals"), bson.D{}, dealDoc.deal, dealFields,
		options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit)))
	return list, fault.Wrap(err, "list group deals")
}

func (s *mongoStore) ProductDeals(ctx context.Context, tenantID, productID string, now time.Time) ([]Deal, error) {
	list, err := engine.FindAll(ctx, s.c(tenantID, "vote_deals"), bson.D{{Key: "product_id", Value: productID},
		{Key: "ends_at", Value: bson.D{{Key: "$gt", Value: now}}}}, dealDoc.deal, dealFields,
		options.Find().SetSort(bson.D{{Key: "ends_at", Value: 1}}))
	return list, fault.Wrap(err, "group deals of product %s", productID)
}

func (s *mongoStore) Claim(ctx context.Context, tenantID string, d Deal, orderID string, qty int64) error {
	err := s.c(tenantID, "vote_claims").InsertOne(ctx, bson.D{{Key: "_id", Value: orderID + ":" + d.ID},
		{Key: "order_id", Value: orderID}, {Key: "deal_id", Value: d.ID}, {Key: "qty", Value: qty}})
	if err != nil && !engine.IsUniqueViolation(err) {
		return fmt.Errorf("record the claim of order %s: %w", orderID, err)
	}
	deals := s.c(tenantID, "vote_deals")
	res, err := deals.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "sold", Value: bson.D{{Key: "$lte", Value: d.Quantity - qty}}},
		{Key: "claims", Value: bson.D{{Key: "$nin", Value: bson.A{orderID}}}}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "sold", Value: qty}}}, {Key: "$push", Value: bson.D{{Key: "claims", Value: orderID}}}})
	if err != nil {
		return fmt.Errorf("claim group deal %s for order %s: %w", d.ID, orderID, err)
	}
	if res.MatchedCount == 1 {
		return nil
	}
	var cur dealDoc
	if err := deals.FindOne(ctx, bson.D{{Key: "_id", Value: d.ID}}).Decode(&cur); err != nil {
		return fmt.Errorf("read group deal %s: %w", d.ID, err)
	}
	if slices.Contains(cur.Claims, orderID) {
		return nil // claimed before: a replay
	}
	return errSoldOut
}

func (s *mongoStore) Release(ctx context.Context, tenantID, orderID string) (bool, error) {
	type claimDoc struct {
		DealID string `bson:"deal_id"`
		Qty    int64  `bson:"qty"`
	}
	claims, err := engine.FindAll(ctx, s.c(tenantID, "vote_claims"), bson.D{{Key: "order_id", Value: orderID}},
		func(d claimDoc) claimDoc { return d })
	if err != nil {
		return false, fmt.Errorf("group deals of order %s: %w", orderID, err)
	}
	released := false
	for _, c := range claims {
		res, err := s.c(tenantID, "vote_deals").UpdateOne(ctx, bson.D{{Key: "_id", Value: c.DealID}, {Key: "claims", Value: orderID}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "sold", Value: -c.Qty}}}, {Key: "$pull", Value: bson.D{{Key: "claims", Value: orderID}}}})
		if err != nil {
			return released, fmt.Errorf("release group deal %s of order %s: %w", c.DealID, orderID, err)
		}
		released = released || res.MatchedCount == 1
	}
	return released, nil
}

func (s *mongoStore) ToNotify(ctx context.Context, tenantID string, now time.Time, limit int) ([]Deal, error) {
	list, err := engine.FindAll(ctx, s.c(tenantID, "vote_deals"), bson.D{{Key: "notified", Value: false},
		{Key: "starts_at", Value: bson.D{{Key: "$lte", Value: now}}}}, dealDoc.deal, dealFields,
		options.Find().SetSort(bson.D{{Key: "starts_at", Value: 1}}).SetLimit(int64(limit)))
	return list, fault.Wrap(err, "group deals to notify")
}

func (s *mongoStore) AdvanceNotify(ctx context.Context, tenantID, id, from, to string, done bool) (bool, error) {
	res, err := s.c(tenantID, "vote_deals").UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "notified", Value: false},
		{Key: "notified_after", Value: from}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "notified_after", Value: to}, {Key: "notified", Value: done}}}})
	if err != nil {
		return false, fmt.Errorf("move the notices of group deal %s: %w", id, err)
	}
	return res.MatchedCount == 1, nil
}
