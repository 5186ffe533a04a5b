package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/shop/aftersale"
	"microshop/shop/catalog"
	"microshop/shop/credit"
	"microshop/shop/review"
	"microshop/shop/vote"
	"microshop/tenants"
)

// Reviews and merchant credit (shop/review, shop/credit): building the
// services, plugging them into orders, withdrawals and the storefront's
// pages, and mounting their routes.

// setUpCredit builds the review and credit services: credit reads the
// orders' shipping, the after-sale requests (afterSaleFacts) and the
// reviews; orders ask credit before placing, withdrawals before paying
// out.
func (a *app) setUpCredit(ctx context.Context) error {
	a.reviews = review.NewService(review.NewStore(a.engine), a.orders, a.log)
	if a.images != nil {
		a.reviews.SetImages(a.images) // photos must be the shop's own uploads
	}
	var err error
	a.credit, err = credit.New(ctx, a.engine, credit.Sources{Orders: a.orders, Reviews: a.reviews, AfterSales: afterSaleFacts{a}},
		a.tenants, a.log)
	if err != nil {
		return fmt.Errorf("credit: %w", err)
	}
	a.orders.SetGate(a.credit)        // "no new orders" penalties
	a.dist.Ledger().SetHold(a.credit) // "withdrawal hold" penalties
	return nil
}

// mountCredit mounts reviews' and credit's routes and adds the rating and
// the credit badge to the catalog's storefront pages.
func (a *app) mountCredit(api, admin, storefront, opsPages, opsAPI *echo.Group, products *catalog.Handlers) {
	rv := review.NewHandlers(a.reviews)
	rv.APIRoutes(api)
	rv.AdminRoutes(admin)
	rv.StorefrontAPIRoutes(storefront)
	cr := credit.NewHandlers(a.credit)
	cr.APIRoutes(api)
	cr.AdminRoutes(admin)
	cr.OpsRoutes(opsPages)
	cr.OpsAPIRoutes(opsAPI)
	products.SetExtras(storefrontExtras{reviews: a.reviews, credit: a.credit, deals: a.vote, sharing: a.dist.Sharing, log: a.log})
}

// creditPass computes the shop's credit and gives the penalties its rules
// call for, after recounting ratings a crash left short.
func (a *app) creditPass(ctx context.Context, tenantID string) (any, error) {
	var r struct {
		Score            int
		Level            string
		Penalties        int
		RatingsRecounted int
	}
	n, err := a.reviews.Repair(ctx, tenantID)
	r.RatingsRecounted = n
	if err != nil {
		return r, fmt.Errorf("recount ratings: %w", err)
	}
	rep, err := a.credit.Compute(ctx, tenantID)
	r.Score, r.Level, r.Penalties = rep.Score, rep.Level, rep.Issued
	return r, err
}

// storefrontExtras is catalog.Extras: the shop's credit level on its pages,
// a product's rating and latest reviews on the product page.
type storefrontExtras struct {
	reviews *review.Service
	credit  *credit.Service
	deals   *vote.Service // the product's group deal, if any
	// sharing is whether the shop runs distribution: the layout's footer
	// invites to share and earn then, so a cached page's version says it.
	sharing func(ctx context.Context, tenantID string) bool
	log     *slog.Logger
}

// sharingMark is the part of a cached page's version the footer's
// invitation to share and earn decides.
func (x storefrontExtras) sharingMark(ctx context.Context, tenantID string) string {
	if x.sharing != nil && x.sharing(ctx, tenantID) {
		return "|share"
	}
	return ""
}

// sharing is whether the request's shop runs distribution (View.Sharing:
// the storefront layout's invitation to share and earn); false outside a
// shop.
func (a *app) sharing(c echo.Context) bool {
	t := tenants.FromContext(c)
	return t.ID != "" && a.dist.Sharing(c.Request().Context(), t.ID)
}

// StorefrontExtra is what partial_rating*.html receive (ShopPage.Extra).
type StorefrontExtra struct {
	// Level is the shop's credit level.
	Level string
	// Rating is the product's rating and latest reviews (nil on the home page).
	Rating *review.Block
	// Deal is the product's live or coming group deal (nil: none).
	Deal *ProductDeal
}

// ProductDeal is a group deal as the product page shows it: the deal and
// its state when the page was made (the page's version changes with it).
type ProductDeal struct {
	vote.Deal
	State string
}

func (x storefrontExtras) ShopExtras(ctx context.Context, tenantID string) (string, func() any, error) {
	st, err := x.credit.Standing(ctx, tenantID)
	if err != nil {
		return "", nil, err
	}
	return st.Level + x.sharingMark(ctx, tenantID), func() any { return StorefrontExtra{Level: st.Level} }, nil
}

func (x storefrontExtras) ProductExtras(ctx context.Context, tenantID, productID string) (string, func() any, error) {
	st, err := x.credit.Standing(ctx, tenantID)
	if err != nil {
		return "", nil, err
	}
	v, block, err := x.reviews.ProductBlock(ctx, tenantID, productID)
	if err != nil {
		return "", nil, err
	}
	var deal *ProductDeal
	if x.deals != nil {
		dv, d, err := x.deals.ProductDeal(ctx, tenantID, productID)
		if err != nil {
			return "", nil, err
		}
		if d != nil {
			v += "|" + dv
			deal = &ProductDeal{Deal: *d, State: x.deals.DealState(*d)}
		}
	}
	return st.Level + "|" + v + x.sharingMark(ctx, tenantID), func() any {
		b, err := block()
		if err != nil { // the page shows no reviews rather than failing
			x.log.Error("read a product's latest reviews", "tenant", tenantID, "product", productID, "err", err)
			return StorefrontExtra{Level: st.Level, Deal: deal}
		}
		return StorefrontExtra{Level: st.Level, Rating: &b, Deal: deal}
	}, nil
}

// afterSaleFacts is credit.AfterSales over shop/aftersale: it pages
// through the shop's requests, newest first, down to the period's start
// (once a day, by the credit job). Read at call time, so the after-sale
// service may be built after credit; without one there are no requests.
type afterSaleFacts struct{ a *app }

// deadlineHours is the answer time of a request the merchant never
// answered and the deadline approved: the longest a shop may take.
const deadlineHours = 48

func (x afterSaleFacts) AfterSaleFacts(ctx context.Context, tenantID string, from, to time.Time) (credit.AfterSaleFacts, error) {
	var f credit.AfterSaleFacts
	svc := x.a.aftersale
	if svc == nil {
		return f, nil
	}
	const page = 100
	for offset := 0; offset <= 1_000_000-page; offset += page {
		list, _, err := svc.List(ctx, tenantID, "", page, offset)
		if err != nil {
			return f, err
		}
		for _, r := range list {
			if r.CreatedAt.Before(from) {
				return f, nil
			}
			if !r.CreatedAt.Before(to) {
				continue
			}
			f.Requests++
			if r.EscalatedAt != nil {
				f.Escalated++
			}
			if r.Decision != nil && r.Decision.Outcome == aftersale.OutcomeRefund {
				f.Lost++ // the platform decided for the shopper
			}
			switch {
			case r.AnsweredAt != nil:
				f.Answered++
				f.AnswerHours += r.AnsweredAt.Sub(r.CreatedAt).Hours()
			case r.ApprovedBy == aftersale.ByDeadline:
				f.Answered++
				f.AnswerHours += deadlineHours
			}
		}
		if len(list) < page {
			return f, nil
		}
	}
	return f, nil
}
