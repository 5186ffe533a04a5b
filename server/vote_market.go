package main

import (
	"context"
	"fmt"

	"github.com/labstack/echo/v4"

	"microshop/market"
	"microshop/shop/vote"
)

// The market's vote rounds (shop/vote's market scope): built over the same
// rules as a shop's, their records in the platform database; ballots from
// each linked shop's spending (voteSpending, summed); the operator's
// approval and deals at /ops/vote; shoppers at /m/vote with the market's
// visitor cookie.

// setUpVoteMarket builds the market's vote service (the operator's bars
// apply to registrations as to a shop's rounds).
func (a *app) setUpVoteMarket(ctx context.Context, bars vote.Bars) error {
	m, err := vote.NewMarket(ctx, a.engine, voteSpending{a.orders}, a.catalog, a.log)
	if err != nil {
		return fmt.Errorf("market vote: %w", err)
	}
	m.SetBars(bars)
	a.voteMarket = m
	return nil
}

// mountVoteMarket mounts the merchant's registrations (/api/v1), the link
// from a storefront, the market's page and votes (/m/vote, /m/api/votes)
// and the operator's pages and calls.
func (a *app) mountVoteMarket(e *echo.Echo, csrf echo.MiddlewareFunc, api, storefront, opsPages, opsAPI *echo.Group) {
	secure := a.cfg.SecureCookies
	visitor := func(c echo.Context, create bool) string { return market.Visitor(c, create, secure) }
	credit := func(ctx context.Context, tenantID string) (string, int) {
		cr, err := a.credit.Credit(ctx, tenantID)
		if err != nil {
			return "", 0
		}
		return cr.Level, cr.Score
	}
	h := vote.NewMarketHandlers(a.voteMarket, a.vote, a.tenants, visitor, credit)
	h.APIRoutes(api)
	h.StorefrontRoutes(storefront)
	h.MarketRoutes(e.Group("/m", csrf))
	h.MarketAPIRoutes(e.Group("/m/api"))
	h.OpsRoutes(opsPages)
	h.OpsAPIRoutes(opsAPI)
}

// voteMarketTick runs the brushing checks on the market's rounds (the
// vote-market job, one replica per due time): a flagged product leaves its
// round without anyone opening a page.
func (a *app) voteMarketTick(ctx context.Context) error {
	_, err := a.voteMarketPass(ctx, "")
	return err
}

// voteMarketPass is the job run for one shop (an operator's run): the
// market's rounds are no shop's, so it runs the market's checks.
func (a *app) voteMarketPass(ctx context.Context, _ string) (any, error) {
	var r struct{ Repaired, Flags int }
	var err error
	if r.Repaired, err = a.voteMarket.RepairVotes(ctx, vote.MarketKey); err != nil {
		return r, err
	}
	r.Flags, err = a.voteMarket.CheckRounds(ctx, vote.MarketKey)
	return r, err
}
