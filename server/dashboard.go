package main

import (
	"context"
	"errors"
	"fmt"
	"microshop/shop/aftersale"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/distribution"
	"microshop/shop/catalog"
	"microshop/shop/dashboard"
	"microshop/shop/points"
	"microshop/tenants/fault"
)

// setUpDashboard builds the dashboard (shop/dashboard) and connects what
// feeds it: order events, fans' WeChat events, check-ins (through the
// points audience), and the owners of its point-in-time figures.
func (a *app) setUpDashboard() {
	a.dash = dashboard.New(dashboard.Options{
		Store:       dashboard.NewStore(a.engine),
		Shops:       a.tenants,
		Points:      dashPoints{a.points.Store()},
		Commissions: dashCommissions{a.dist},
		Interaction: a.msgs,
		Namer:       dashNames{catalog: a.catalog, dist: a.dist},
		Log:         a.log,
	})
	a.orders.Subscribe(a.dash)
	a.wechat.fans.WithObserver(a.dash)
	a.wechat.fans.WithObserver(a.msgs)                             // a new follower is in the segments at once, not at the hourly sync
	a.points.SetAudience(dashAudience{next: a.msgs, dash: a.dash}) // check-ins are interactions
}

// mountDashboard mounts GET /api/v1/dashboard, the console home and its
// CSV, and counts storefront page views (on every route: e.Use).
func (a *app) mountDashboard(e *echo.Echo, api, admin *echo.Group) {
	h := dashboard.NewHandlers(a.dash, dashProducts{a.catalog}, a.cfg.BaseURL)
	h.APIRoutes(api)
	h.AdminRoutes(admin)
	e.Use(a.dash.Visits())
}

// dashPoints reads check-ins per day and points outstanding from the
// points store's counters.
type dashPoints struct{ store points.Store }

func (p dashPoints) Checkins(ctx context.Context, tenantID, from, to string) (map[string]int64, error) {
	days, err := p.store.Days(ctx, tenantID, from, to)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(days))
	for _, d := range days {
		out[d.Day] = d.Checkins
	}
	return out, nil
}

func (p dashPoints) Outstanding(ctx context.Context, tenantID string) (int64, error) {
	return p.store.Outstanding(ctx, tenantID)
}

// dashCommissions sums the distributors' ledger balances: pending, and
// payable (positive available balances). It reads one balance per
// distributor: the ledger keeps no shop-wide total yet.
type dashCommissions struct{ dist *distribution.Service }

func (c dashCommissions) CommissionTotals(ctx context.Context, tenantID string) (pending, payable int64, err error) {
	after := ""
	for {
		page, err := c.dist.Tree().Store().All(ctx, tenantID, after, 200)
		if err != nil {
			return 0, 0, fmt.Errorf("list distributors: %w", err)
		}
		for _, d := range page {
			b, err := c.dist.Ledger().Balance(ctx, tenantID, d.ID)
			if err != nil && !errors.Is(err, fault.ErrNotFound) {
				return 0, 0, fmt.Errorf("balance of %s: %w", d.ID, err)
			}
			pending += b.Pending
			payable += max(0, b.Available)
			after = d.ID
		}
		if len(page) < 200 {
			return pending, payable, nil
		}
	}
}

// dashNames names the top lists' products, guides and distributors.
type dashNames struct {
	catalog *catalog.Catalog
	dist    *distribution.Service
}

func (n dashNames) Names(ctx context.Context, tenantID, dim string, ids []string) (map[string]string, error) {
	out := map[string]string{}
	switch dim {
	case dashboard.DimProduct:
		for _, id := range ids {
			p, err := n.catalog.Get(ctx, tenantID, id)
			if errors.Is(err, fault.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out[id] = p.Title
		}
	case dashboard.DimGuide:
		for _, id := range ids {
			g, err := n.dist.Guides().Store().Guide(ctx, tenantID, id)
			if errors.Is(err, fault.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out[id] = g.Name
		}
	case dashboard.DimDistributor:
		ds, err := n.dist.Tree().Store().Many(ctx, tenantID, ids)
		if err != nil {
			return nil, err
		}
		for id, d := range ds {
			out[id] = d.Code
		}
	}
	return out, nil
}

// dashProducts counts the catalog for the console home.
type dashProducts struct{ catalog *catalog.Catalog }

func (p dashProducts) Counts(ctx context.Context, tenantID string) (total, onSale int64, err error) {
	if _, total, err = p.catalog.List(ctx, tenantID, catalog.Filter{Limit: 1}); err != nil {
		return 0, 0, err
	}
	_, onSale, err = p.catalog.List(ctx, tenantID, catalog.Filter{Limit: 1, Status: catalog.OnSale})
	return total, onSale, err
}

// dashAudience passes points figures on to the message audience and
// counts a check-in (active set) as the fan's interaction of the day.
type dashAudience struct {
	next points.Audience
	dash *dashboard.Service
}

func (d dashAudience) PointsChanged(ctx context.Context, tenantID, fanID string, balance int64, streak int, lastDay string, active time.Time) error {
	if err := d.next.PointsChanged(ctx, tenantID, fanID, balance, streak, lastDay, active); err != nil {
		return err
	}
	if active.IsZero() {
		return nil
	}
	return d.dash.Interacted(ctx, tenantID, fanID, active)
}

// dashAfterSales counts a shop's open after-sale requests: those waiting on
// the merchant, the shopper's return, or the platform.
type dashAfterSales struct{ aftersale *aftersale.Service }

func (d dashAfterSales) OpenAfterSales(ctx context.Context, tenantID string) (int64, error) {
	var n int64
	for _, status := range []string{"pending", "awaiting_return", "returned", "escalated"} {
		_, count, err := d.aftersale.List(ctx, tenantID, status, 1, 0)
		if err != nil {
			return 0, err
		}
		n += count
	}
	return n, nil
}
