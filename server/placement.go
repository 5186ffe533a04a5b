package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Placement on MongoDB (tenants/engine/placement*.go): new shops in a
// pooled database or each in its own, the operator's call that moves a
// pooled shop to a database of its own, and the job that does the moves.

// bindPlacement defines the placement flags on fs (defaults from getenv);
// once fs is parsed, the returned function gives the placement.
func bindPlacement(fs *flag.FlagSet, getenv func(string) string) func() (engine.Placement, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	mode := fs.String("mongodb-placement", env("MICROSHOP_MONGODB_PLACEMENT", "pooled"),
		"MongoDB: where new shops go: pooled (a database shared by many shops, <db>_p_<pool><n>) or own (a database each, <db>_t_<id>) (env MICROSHOP_MONGODB_PLACEMENT)")
	pool := fs.String("mongodb-pool", env("MICROSHOP_MONGODB_POOL", engine.DefaultPool),
		"MongoDB: the pooled databases' name, <db>_p_<name><n> (env MICROSHOP_MONGODB_POOL)")
	perPool := fs.Int("mongodb-pool-size", envInt(getenv("MICROSHOP_MONGODB_POOL_SIZE"), engine.DefaultPerPool),
		"MongoDB: shops per pooled database before the next is opened (env MICROSHOP_MONGODB_POOL_SIZE)")
	return func() (engine.Placement, error) {
		p := engine.Placement{Pool: *pool, PerPool: *perPool}
		switch *mode {
		case "pooled":
			p.Pooled = true
		case "own":
		default:
			return p, fmt.Errorf("--mongodb-placement must be pooled or own, not %q", *mode)
		}
		if *perPool < 1 {
			return p, errors.New("--mongodb-pool-size must be positive")
		}
		if *pool == "" || strings.Trim(*pool, "abcdefghijklmnopqrstuvwxyz0123456789") != "" || len(*pool) > 20 {
			return p, fmt.Errorf("--mongodb-pool %q: at most 20 lower-case letters and digits", *pool)
		}
		return p, nil
	}
}

// mountPlacement mounts the operator's placement calls on /api/ops/v1.
func (a *app) mountPlacement(opsAPI *echo.Group) {
	opsAPI.GET("/tenants/:id/placement", a.shopPlacement)
	opsAPI.POST("/tenants/:id/placement/move", a.moveShop)
}

// shopPlacement answers where the shop's data is.
func (a *app) shopPlacement(c echo.Context) error {
	ctx := c.Request().Context()
	t, err := a.tenants.TenantByID(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	p, err := a.engine.PlacementOf(ctx, t.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// moveShop asks for the pooled shop to be moved to a database of its own
// and starts the move in the background (202); the placement job finishes
// a move this process could not. The shop is read-only for the final copy
// only (writes answer 503 shop_moving meanwhile).
func (a *app) moveShop(c echo.Context) error {
	ctx := c.Request().Context()
	t, err := a.tenants.TenantByID(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	p, err := a.engine.RequestMove(ctx, t.ID)
	if err != nil {
		return err
	}
	go a.moveInBackground(t.ID)
	return c.JSON(http.StatusAccepted, p)
}

// moveInBackground moves the shop, until the engine closes.
func (a *app) moveInBackground(tenantID string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-a.engine.Closed():
			cancel()
		case <-ctx.Done():
		}
	}()
	rep, err := a.engine.MoveToOwn(ctx, tenantID)
	if err != nil {
		a.log.Warn("move shop to its own database (the placement job tries again)", "shop", tenantID, "err", err)
		return
	}
	a.log.Info("shop moved to its own database", "shop", tenantID, "from", rep.From, "to", rep.To,
		"documents", rep.Documents, "frozen", rep.Frozen)
}

// placementPass finishes the shop's move to a database of its own when
// one was asked for (POST /api/ops/v1/tenants/{id}/placement/move) or
// stopped half way; other shops are left where they are.
func (a *app) placementPass(ctx context.Context, tenantID string) (any, error) {
	pending, err := a.engine.PendingMoves(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range pending {
		if id == tenantID {
			return a.engine.MoveToOwn(ctx, tenantID)
		}
	}
	return engine.MoveReport{}, nil
}

// placementTick runs the moves pending, one shop after another.
func (a *app) placementTick(ctx context.Context) error {
	pending, err := a.engine.PendingMoves(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range pending {
		rep, err := a.engine.MoveToOwn(ctx, id)
		if errors.Is(err, fault.ErrConflict) {
			continue // moved by another runner right now (an operator's call)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("shop %s: %w", id, err))
			continue
		}
		if rep.Moved {
			a.log.Info("shop moved to its own database", "shop", id, "from", rep.From, "to", rep.To,
				"documents", rep.Documents, "frozen", rep.Frozen)
		}
	}
	return errors.Join(errs...)
}
