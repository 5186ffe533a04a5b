package market

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

type mongoStore struct{ db *mongo.Database }

func (s *mongoStore) SaveShop(ctx context.Context, sh Shop) error {
	_, err := s.db.Collection("market_shops").ReplaceOne(ctx, bson.D{{Key: "_id", Value: sh.TenantID}}, sh,
		options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("save market listing: %w", err)
	}
	return nil
}

func (s *mongoStore) Shop(ctx context.Context, tenantID string) (Shop, bool, error) {
	var sh Shop
	err := s.db.Collection("market_shops").FindOne(ctx, bson.D{{Key: "_id", Value: tenantID}}).Decode(&sh)
	if engine.IsNoDocuments(err) {
		return Shop{}, false, nil
	}
	if err != nil {
		return Shop{}, false, fmt.Errorf("read market listing: %w", err)
	}
	return sh, true, nil
}

func (s *mongoStore) ShopsSince(ctx context.Context, since time.Time) ([]Shop, error) {
	cur, err := s.db.Collection("market_shops").Find(ctx, bson.D{{Key: "updated_at", Value: bson.D{{Key: "$gte", Value: since}}}})
	if err != nil {
		return nil, fmt.Errorf("read market listings: %w", err)
	}
	var out []Shop
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("read market listings: %w", err)
	}
	return out, nil
}

func (s *mongoStore) find(ctx context.Context, filter bson.D) ([]Item, error) {
	cur, err := s.db.Collection("market_items").Find(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("read market items: %w", err)
	}
	var out []Item
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("read market items: %w", err)
	}
	return out, nil
}

func (s *mongoStore) Items(ctx context.Context, tenantID string) ([]Item, error) {
	return s.find(ctx, bson.D{{Key: "tenant_id", Value: tenantID}})
}

func (s *mongoStore) ItemsSince(ctx context.Context, since time.Time) ([]Item, error) {
	return s.find(ctx, bson.D{{Key: "updated_at", Value: bson.D{{Key: "$gte", Value: since}}}})
}

func (s *mongoStore) PutItems(ctx context.Context, items []Item) error {
	if len(items) == 0 {
		return nil
	}
	models := make([]mongo.WriteModel, 0, len(items))
	for _, it := range items {
		set := bson.D{{Key: "tenant_id", Value: it.TenantID}, {Key: "product_id", Value: it.ProductID},
			{Key: "title", Value: it.Title}, {Key: "category", Value: it.Category}, {Key: "price", Value: it.Price},
			{Key: "image", Value: it.Image}, {Key: "rating", Value: it.Rating}, {Key: "reviews", Value: it.Reviews},
			{Key: "created_at", Value: it.CreatedAt}, {Key: "hash", Value: it.Hash}, {Key: "deleted", Value: it.Deleted},
			{Key: "updated_at", Value: it.Updated}}
		models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.D{{Key: "_id", Value: it.ID}}).
			SetUpdate(bson.D{{Key: "$set", Value: set}, {Key: "$setOnInsert", Value: bson.D{{Key: "delisted", Value: ""}}}}).
			SetUpsert(true))
	}
	if _, err := s.db.Collection("market_items").BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
		return fmt.Errorf("save market items: %w", err)
	}
	return nil
}

func (s *mongoStore) Delist(ctx context.Context, id, reason string, at time.Time) (bool, error) {
	res, err := s.db.Collection("market_items").UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "delisted", Value: reason}, {Key: "updated_at", Value: at}}}})
	if err != nil {
		return false, fmt.Errorf("delist market item: %w", err)
	}
	return res.MatchedCount == 1, nil
}

func (s *mongoStore) AddReport(ctx context.Context, r Report) error {
	if _, err := s.db.Collection("market_reports").InsertOne(ctx, r); err != nil {
		return fmt.Errorf("save market report: %w", err)
	}
	return nil
}

func (s *mongoStore) Reports(ctx context.Context, status string, limit int) ([]Report, error) {
	cur, err := s.db.Collection("market_reports").Find(ctx, bson.D{{Key: "status", Value: status}},
		options.Find().SetSort(bson.D{{Key: "status", Value: 1}, {Key: "created_at", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("read market reports: %w", err)
	}
	var out []Report
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("read market reports: %w", err)
	}
	return out, nil
}

func (s *mongoStore) Report(ctx context.Context, id string) (Report, error) {
	var r Report
	err := s.db.Collection("market_reports").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&r)
	if engine.IsNoDocuments(err) {
		return Report{}, fault.NotFound("report")
	}
	if err != nil {
		return Report{}, fmt.Errorf("read market report: %w", err)
	}
	return r, nil
}

func (s *mongoStore) DecideReport(ctx context.Context, id, status, note, operator string, at time.Time) (bool, error) {
	res, err := s.db.Collection("market_reports").UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "status", Value: "open"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: status}, {Key: "note", Value: note},
			{Key: "operator", Value: operator}, {Key: "decided_at", Value: at}}}})
	if err != nil {
		return false, fmt.Errorf("decide market report: %w", err)
	}
	return res.ModifiedCount == 1, nil
}

// personBSON is a person as stored.
type personBSON struct {
	ID       string   `bson:"_id"`
	Share    bool     `bson:"share"`
	Nickname string   `bson:"nickname"`
	Views    []Seen   `bson:"views"`
	Favs     []Seen   `bson:"favs"`
	Friends  []string `bson:"friends"`
	Rev      int64    `bson:"rev"`
}

func (s *mongoStore) Person(ctx context.Context, id string) (Person, error) {
	var d personBSON
	err := s.db.Collection("market_people").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return Person{ID: id}, nil
	}
	if err != nil {
		return Person{}, fmt.Errorf("read market person: %w", err)
	}
	return Person{ID: d.ID, Share: d.Share, Nickname: d.Nickname, Views: d.Views, Favs: d.Favs, Friends: d.Friends, Rev: d.Rev}, nil
}

func (s *mongoStore) PutPerson(ctx context.Context, p Person) (bool, error) {
	d := personBSON{ID: p.ID, Share: p.Share, Nickname: p.Nickname, Views: p.Views, Favs: p.Favs, Friends: p.Friends, Rev: p.Rev + 1}
	coll := s.db.Collection("market_people")
	if p.Rev == 0 {
		_, err := coll.InsertOne(ctx, d)
		if engine.IsUniqueViolation(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("save market person: %w", err)
		}
		return true, nil
	}
	res, err := coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: p.ID}, {Key: "rev", Value: p.Rev}}, d)
	if err != nil {
		return false, fmt.Errorf("save market person: %w", err)
	}
	return res.MatchedCount == 1, nil
}

type inviteBSON struct {
	Hash string    `bson:"_id"`
	From string    `bson:"from"`
	At   time.Time `bson:"created_at"`
}

func (s *mongoStore) AddInvite(ctx context.Context, hash, from string, at time.Time) error {
	if _, err := s.db.Collection("market_invites").InsertOne(ctx, inviteBSON{Hash: hash, From: from, At: at}); err != nil {
		return fmt.Errorf("save market invitation: %w", err)
	}
	return nil
}

func (s *mongoStore) TakeInvite(ctx context.Context, hash string) (string, time.Time, error) {
	var d inviteBSON
	err := s.db.Collection("market_invites").FindOneAndDelete(ctx, bson.D{{Key: "_id", Value: hash}}).Decode(&d)
	if engine.IsNoDocuments(err) {
		return "", time.Time{}, fault.NotFound("invitation")
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("take market invitation: %w", err)
	}
	return d.From, d.At, nil
}
