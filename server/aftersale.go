package main

import (
	"context"
	"fmt"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/shop/aftersale"
	"microshop/shop/credit"
)

// After-sale (shop/aftersale): building the service over orders, images,
// shops and the platform's dispute queue, keeping commission waiting for
// open requests, the deadlines' job pass, and mounting the routes.

// setUpAfterSale builds the after-sale service; distribution's ledger asks
// it before settling commission.
func (a *app) setUpAfterSale(ctx context.Context) error {
	disputes, err := aftersale.NewDisputes(ctx, a.engine)
	if err != nil {
		return fmt.Errorf("after-sale: %w", err)
	}
	a.aftersale = aftersale.NewService(aftersale.Options{Store: aftersale.NewStore(a.engine), Orders: a.orders,
		Disputes: disputes, Shops: a.tenants, Leaser: a.leaser, BaseURL: a.cfg.BaseURL, Log: a.log})
	if a.images != nil {
		a.aftersale.SetImages(a.images) // photos must be the shop's own uploads
	}
	a.aftersale.SetRestocker(a.catalog) // a return's units go back on sale once
	// One after-sale window: commission settles when the shop's closes
	// (the ledger asks WindowEnd); a shop that never saved after-sale
	// settings adopts the old distribution after_sale_days as its window.
	a.aftersale.SetLegacyWindow(func(ctx context.Context, tenantID string) (int, bool, error) {
		st, err := a.dist.Settings(ctx, tenantID)
		return st.AfterSaleDays, err == nil, err
	})
	a.dist.Ledger().SetAfterSale(a.aftersale) // commission waits while a request is open
	if a.credit != nil {
		a.credit.SetAfterSales(creditAfterSales{a.aftersale}) // credit's after-sale factors
	}
	return nil
}

// creditAfterSales is credit.AfterSales over the after-sale service.
type creditAfterSales struct{ s *aftersale.Service }

func (c creditAfterSales) AfterSaleFacts(ctx context.Context, tenantID string, from, to time.Time) (credit.AfterSaleFacts, error) {
	f, err := c.s.Facts(ctx, tenantID, from, to)
	return credit.AfterSaleFacts{Requests: f.Requests, Escalated: f.Escalated, Lost: f.Lost, Answered: f.Answered,
		AnswerHours: f.AnswerHours}, err
}

// mountAfterSale mounts the shopper's, the merchant's and the operator's
// after-sale routes.
func (a *app) mountAfterSale(api, admin, storefront, opsPages, opsAPI *echo.Group) {
	h := aftersale.NewHandlers(a.aftersale)
	h.StorefrontAPIRoutes(storefront)
	h.StorefrontRoutes(storefront)
	h.APIRoutes(api)
	h.AdminRoutes(admin)
	h.OpsAPIRoutes(opsAPI)
	h.OpsRoutes(opsPages)
}

// afterSalePass acts on the shop's after-sale deadlines (under the shop's
// lease; each deadline once).
func (a *app) afterSalePass(ctx context.Context, tenantID string) (any, error) {
	return a.aftersale.RunJobs(ctx, tenantID)
}
