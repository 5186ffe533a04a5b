package vote

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// A shop found brushing votes is barred from holding votes for 1 to 6
// months: the operator decides within that range and writes the reason,
// which the merchant is shown. The bar is the platform's record (the
// platform database's vote_bars, one per shop, a new bar replacing the
// last), read when the shop opens a round.

// The range of a bar, in months.
const (
	MinBarMonths = 1
	MaxBarMonths = 6
)

// Bar is a shop's bar from voting.
type Bar struct {
	TenantID string    `json:"tenant_id"`
	Months   int       `json:"months"`
	Reason   string    `json:"reason"`
	Operator string    `json:"operator"`
	At       time.Time `json:"at"`
	Until    time.Time `json:"until"`
}

// Bars keeps the shops' bars in the platform database.
type Bars interface {
	// Bar is the shop's latest bar (false: never barred).
	Bar(ctx context.Context, tenantID string) (Bar, bool, error)
	// SetBar records b as the shop's bar, replacing any earlier.
	SetBar(ctx context.Context, b Bar) error
}

// barsPlatform is the bars' table and collection in the platform database.
var barsPlatform = engine.Platform{
	SQLite: []string{`CREATE TABLE IF NOT EXISTS vote_bars (
		tenant_id TEXT PRIMARY KEY,
		months INTEGER NOT NULL,
		reason TEXT NOT NULL,
		operator TEXT NOT NULL,
		at TEXT NOT NULL,
		until TEXT NOT NULL)`},
	Mongo: []engine.MongoCollection{engine.Coll("vote_bars")},
}

// NewBars adds the bars' records to the platform database and returns
// their store on e's engine.
func NewBars(ctx context.Context, e *engine.Engine) (Bars, error) {
	if err := e.ExtendPlatform(ctx, barsPlatform); err != nil {
		return nil, err
	}
	if e.Kind() == engine.Mongo {
		return mongoBars{c: e.PlatformMongo().Collection("vote_bars")}, nil
	}
	return sqliteBars{db: e.PlatformSQL()}, nil
}

type sqliteBars struct{ db *sql.DB }

func (s sqliteBars) Bar(ctx context.Context, tenantID string) (Bar, bool, error) {
	b := Bar{TenantID: tenantID}
	var at, until string
	err := s.db.QueryRowContext(ctx, `SELECT months, reason, operator, at, until FROM vote_bars WHERE tenant_id = ?`, tenantID).
		Scan(&b.Months, &b.Reason, &b.Operator, &at, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return Bar{}, false, nil
	}
	if err != nil {
		return Bar{}, false, fmt.Errorf("read the vote bar of shop %s: %w", tenantID, err)
	}
	b.At, b.Until = engine.ParseTimeText(at), engine.ParseTimeText(until)
	return b, true, nil
}

func (s sqliteBars) SetBar(ctx context.Context, b Bar) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO vote_bars (tenant_id, months, reason, operator, at, until) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET months = excluded.months, reason = excluded.reason, operator = excluded.operator,
		at = excluded.at, until = excluded.until`,
		b.TenantID, b.Months, b.Reason, b.Operator, engine.TimeText(b.At), engine.TimeText(b.Until))
	return fault.Wrap(err, "bar shop %s from votes", b.TenantID)
}

type mongoBars struct{ c *mongo.Collection }

type barDoc struct {
	TenantID string    `bson:"_id"`
	Months   int       `bson:"months"`
	Reason   string    `bson:"reason"`
	Operator string    `bson:"operator"`
	At       time.Time `bson:"at"`
	Until    time.Time `bson:"until"`
}

func (s mongoBars) Bar(ctx context.Context, tenantID string) (Bar, bool, error) {
	var d barDoc
	err := s.c.FindOne(ctx, bson.D{{Key: "_id", Value: tenantID}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Bar{}, false, nil
	}
	if err != nil {
		return Bar{}, false, fmt.Errorf("read the vote bar of shop %s: %w", tenantID, err)
	}
	return Bar{TenantID: d.TenantID, Months: d.Months, Reason: d.Reason, Operator: d.Operator, At: d.At.UTC(), Until: d.Until.UTC()}, true, nil
}

func (s mongoBars) SetBar(ctx context.Context, b Bar) error {
	_, err := s.c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: b.TenantID}}, barDoc{TenantID: b.TenantID, Months: b.Months,
		Reason: b.Reason, Operator: b.Operator, At: b.At, Until: b.Until}, options.Replace().SetUpsert(true))
	return fault.Wrap(err, "bar shop %s from votes", b.TenantID)
}

// SetBars plugs in the platform's bars (wired by server; nil: none).
func (s *Service) SetBars(b Bars) { s.bars = b }

// Barred is the shop's bar in force now (false: none).
func (s *Service) Barred(ctx context.Context, tenantID string) (Bar, bool, error) {
	if s.bars == nil {
		return Bar{}, false, nil
	}
	b, ok, err := s.bars.Bar(ctx, tenantID)
	if err != nil || !ok || !s.clock().Before(b.Until) {
		return Bar{}, false, err
	}
	return b, true, nil
}

// BarInput is the operator's bar of a shop.
type BarInput struct {
	TenantID string `json:"tenant_id"`
	Months   int    `json:"months"`
	Reason   string `json:"reason"`
}

// BarShop bars a shop from votes for in.Months (1 to 6) from now, with the
// reason the merchant is shown.
func (s *Service) BarShop(ctx context.Context, in BarInput, operator string) (Bar, error) {
	if s.bars == nil {
		return Bar{}, fault.Conflict("bars are not kept here")
	}
	if in.Months < MinBarMonths || in.Months > MaxBarMonths {
		return Bar{}, fault.Invalid("months", "must be from %d to %d", MinBarMonths, MaxBarMonths)
	}
	reason, err := fault.MultilineText("reason", in.Reason, 500)
	if err != nil {
		return Bar{}, err
	}
	if reason == "" {
		return Bar{}, fault.Invalid("reason", "must not be empty")
	}
	now := s.clock()
	b := Bar{TenantID: in.TenantID, Months: in.Months, Reason: reason, Operator: operator, At: now, Until: now.AddDate(0, in.Months, 0)}
	return b, s.bars.SetBar(ctx, b)
}

// errBarred is a barred shop opening a round.
func errBarred(b Bar) error {
	return fault.New(http.StatusForbidden, "vote_barred", "the shop may not hold votes until %s: %s", b.Until.In(China).Format(time.DateOnly), b.Reason)
}

// Shops finds a shop by id (the operator's bar names one). *tenants.Service is one.
type Shops interface {
	TenantByID(ctx context.Context, id string) (tenants.Tenant, error)
}

// OpsAPIRoutes mounts the operator's vote calls on g (/api/ops/v1,
// operator key): bar a shop from votes, read a shop's bar.
func (h *Handlers) OpsAPIRoutes(g *echo.Group, shops Shops) {
	g.POST("/vote-bars", func(c echo.Context) error {
		var in BarInput
		if err := fault.DecodeJSON(c, &in); err != nil {
			return err
		}
		ctx := c.Request().Context()
		if !engine.ValidID(in.TenantID) {
			return fault.Invalid("tenant_id", "no shop %s", in.TenantID)
		}
		if _, err := shops.TenantByID(ctx, in.TenantID); err != nil {
			return fault.Invalid("tenant_id", "no shop %s", in.TenantID)
		}
		op, _ := tenants.OperatorFromContext(c)
		b, err := h.svc.BarShop(ctx, in, op.Email)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, b)
	})
	g.GET("/vote-bars/:tenant", func(c echo.Context) error {
		b, ok, err := h.svc.Barred(c.Request().Context(), c.Param("tenant"))
		if err != nil {
			return err
		}
		if !ok {
			return fault.NotFound("vote bar")
		}
		return c.JSON(http.StatusOK, b)
	})
}
