package vote

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// marketPlatform is the market rounds' records in the platform database:
// the tables of a shop's rounds, votes, ballots and hours (schema.sql's,
// without the deals, which live in the product's shop), and the links of
// market voters to shops' fans with their one-use tokens.
func marketPlatform() engine.Platform {
	p := engine.Platform{}
	for _, stmt := range Schema.SQLite {
		if !strings.Contains(stmt, "vote_deals") && !strings.Contains(stmt, "vote_claims") {
			p.SQLite = append(p.SQLite, stmt)
		}
	}
	p.SQLite = append(p.SQLite, `CREATE TABLE IF NOT EXISTS vote_market_links (
		shop_id TEXT NOT NULL,
		fan_id TEXT NOT NULL,
		visitor TEXT NOT NULL,
		at TEXT NOT NULL,
		PRIMARY KEY (shop_id, fan_id))`,
		`CREATE INDEX IF NOT EXISTS vote_market_links_visitor ON vote_market_links (visitor)`,
		`CREATE TABLE IF NOT EXISTS vote_market_tokens (
		hash TEXT PRIMARY KEY,
		shop_id TEXT NOT NULL,
		fan_id TEXT NOT NULL,
		at TEXT NOT NULL)`)
	for _, c := range Schema.Mongo {
		if c.Name != "vote_deals" && c.Name != "vote_claims" {
			p.Mongo = append(p.Mongo, c)
		}
	}
	p.Mongo = append(p.Mongo, engine.Coll("vote_market_links", engine.Index("visitor")), engine.Coll("vote_market_tokens"))
	return p
}

// inviteHash is what is kept of a link token.
func inviteHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// linkStore keeps the market voters' links to shops' fans.
type linkStore interface {
	AddToken(ctx context.Context, hash, shopID, fanID string, at time.Time) error
	// TakeToken removes a token and returns what it names; not found when
	// there is none (used, or never made).
	TakeToken(ctx context.Context, hash string) (shopID, fanID string, at time.Time, err error)
	// AddLink records l unless the fan is linked already, and returns the
	// fan's link as it stands (another visitor's, if so).
	AddLink(ctx context.Context, l Link) (Link, error)
	// Links lists up to limit of the visitor's links.
	Links(ctx context.Context, visitor string, limit int) ([]Link, error)
}

func newLinkStore(e *engine.Engine) linkStore {
	if e.Kind() == engine.Mongo {
		return mongoLinks{db: e.PlatformMongo()}
	}
	return sqliteLinks{db: e.PlatformSQL()}
}

type sqliteLinks struct{ db *sql.DB }

func (s sqliteLinks) AddToken(ctx context.Context, hash, shopID, fanID string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO vote_market_tokens (hash, shop_id, fan_id, at) VALUES (?, ?, ?, ?)`,
		hash, shopID, fanID, engine.TimeText(at))
	return fault.Wrap(err, "add a market link token")
}

func (s sqliteLinks) TakeToken(ctx context.Context, hash string) (string, string, time.Time, error) {
	var shopID, fanID, at string
	err := s.db.QueryRowContext(ctx, `DELETE FROM vote_market_tokens WHERE hash = ? RETURNING shop_id, fan_id, at`, hash).
		Scan(&shopID, &fanID, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", time.Time{}, fault.NotFound("link")
	}
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("take a market link token: %w", err)
	}
	return shopID, fanID, engine.ParseTimeText(at), nil
}

func (s sqliteLinks) AddLink(ctx context.Context, l Link) (Link, error) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO vote_market_links (shop_id, fan_id, visitor, at) VALUES (?, ?, ?, ?)
		ON CONFLICT (shop_id, fan_id) DO NOTHING`, l.ShopID, l.FanID, l.Visitor, engine.TimeText(l.At)); err != nil {
		return Link{}, fmt.Errorf("link a market voter: %w", err)
	}
	got := Link{ShopID: l.ShopID, FanID: l.FanID}
	var at string
	err := s.db.QueryRowContext(ctx, `SELECT visitor, at FROM vote_market_links WHERE shop_id = ? AND fan_id = ?`, l.ShopID, l.FanID).
		Scan(&got.Visitor, &at)
	got.At = engine.ParseTimeText(at)
	return got, fault.Wrap(err, "read a market voter's link")
}

func (s sqliteLinks) Links(ctx context.Context, visitor string, limit int) ([]Link, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT shop_id, fan_id, at FROM vote_market_links WHERE visitor = ? LIMIT ?`, visitor, limit)
	if err != nil {
		return nil, fmt.Errorf("links of a market voter: %w", err)
	}
	defer rows.Close()
	out := []Link{}
	for rows.Next() {
		l := Link{Visitor: visitor}
		var at string
		if err := rows.Scan(&l.ShopID, &l.FanID, &at); err != nil {
			return nil, err
		}
		l.At = engine.ParseTimeText(at)
		out = append(out, l)
	}
	return out, rows.Err()
}

type mongoLinks struct{ db *mongo.Database }

type linkDoc struct {
	ID      string    `bson:"_id"` // shop:fan
	ShopID  string    `bson:"shop_id"`
	FanID   string    `bson:"fan_id"`
	Visitor string    `bson:"visitor"`
	At      time.Time `bson:"at"`
}

func (s mongoLinks) AddToken(ctx context.Context, hash, shopID, fanID string, at time.Time) error {
	_, err := s.db.Collection("vote_market_tokens").InsertOne(ctx, bson.D{{Key: "_id", Value: hash}, {Key: "shop_id", Value: shopID},
		{Key: "fan_id", Value: fanID}, {Key: "at", Value: at}})
	return fault.Wrap(err, "add a market link token")
}

func (s mongoLinks) TakeToken(ctx context.Context, hash string) (string, string, time.Time, error) {
	var d struct {
		ShopID string    `bson:"shop_id"`
		FanID  string    `bson:"fan_id"`
		At     time.Time `bson:"at"`
	}
	err := s.db.Collection("vote_market_tokens").FindOneAndDelete(ctx, bson.D{{Key: "_id", Value: hash}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", "", time.Time{}, fault.NotFound("link")
	}
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("take a market link token: %w", err)
	}
	return d.ShopID, d.FanID, d.At.UTC(), nil
}

func (s mongoLinks) AddLink(ctx context.Context, l Link) (Link, error) {
	c := s.db.Collection("vote_market_links")
	id := l.ShopID + ":" + l.FanID
	var d linkDoc
	err := c.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$setOnInsert", Value: bson.D{
		{Key: "shop_id", Value: l.ShopID}, {Key: "fan_id", Value: l.FanID}, {Key: "visitor", Value: l.Visitor}, {Key: "at", Value: l.At}}}},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&d)
	if engine.IsUniqueViolation(err) { // a racing upsert inserted it
		err = c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	}
	if err != nil {
		return Link{}, fmt.Errorf("link a market voter: %w", err)
	}
	return Link{Visitor: d.Visitor, ShopID: d.ShopID, FanID: d.FanID, At: d.At.UTC()}, nil
}

func (s mongoLinks) Links(ctx context.Context, visitor string, limit int) ([]Link, error) {
	cur, err := s.db.Collection("vote_market_links").Find(ctx, bson.D{{Key: "visitor", Value: visitor}}, options.Find().SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("links of a market voter: %w", err)
	}
	var docs []linkDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("links of a market voter: %w", err)
	}
	out := make([]Link, 0, len(docs))
	for _, d := range docs {
		out = append(out, Link{Visitor: visitor, ShopID: d.ShopID, FanID: d.FanID, At: d.At.UTC()})
	}
	return out, nil
}

// AddVoter (both stores) records fan as a voter of a product in a round
// without a ballot: a market voter in the product's shop. A replay is a no-op.

func (s *sqliteStore) AddVoter(ctx context.Context, tenantID string, v Vote) error {
	_, err := s.db.exec(ctx, tenantID, `INSERT INTO vote_votes (tenant_id, round_id, product_id, fan_id, day, at, addr, fresh)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, round_id, product_id, fan_id) DO NOTHING`,
		v.RoundID, v.ProductID, v.FanID, v.Day, engine.TimeText(v.At), v.Addr, v.Fresh)
	return fault.Wrap(err, "add voter %s", v.FanID)
}

func (s *mongoStore) AddVoter(ctx context.Context, tenantID string, v Vote) error {
	err := s.c(tenantID, "vote_votes").InsertOne(ctx, bson.D{{Key: "_id", Value: v.key() + ":" + v.FanID},
		{Key: "round_id", Value: v.RoundID}, {Key: "product_id", Value: v.ProductID}, {Key: "fan_id", Value: v.FanID},
		{Key: "day", Value: v.Day}, {Key: "at", Value: v.At}, {Key: "addr", Value: v.Addr}, {Key: "fresh", Value: v.Fresh}})
	if engine.IsUniqueViolation(err) {
		return nil
	}
	return fault.Wrap(err, "add voter %s", v.FanID)
}
