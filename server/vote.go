package main

import (
	"context"
	"fmt"

	"github.com/labstack/echo/v4"

	"microshop/shop/catalog"
	"microshop/shop/message"
	"microshop/shop/order"
	"microshop/shop/vote"
	"microshop/tenants"
	"microshop/tenants/i18n"
)

// "I want a group deal" (shop/vote): building the vote service over the
// orders (ballots come from spending) and the catalog, plugging group
// deals' prices into placing orders, telling voters through the message
// service, and mounting the routes.

// setUpVote builds the vote service: orders price lines at group deals
// (order.DealPricer) and tell it of cancelled orders (their deal units
// come back); voters hear of deals through notices; the operator's bars
// live in the platform database.
func (a *app) setUpVote(ctx context.Context) error {
	a.vote = vote.NewService(vote.NewStore(a.engine), voteSpending{a.orders}, a.catalog, a.log)
	a.orders.SetDealPricer(a.vote)
	a.orders.Subscribe(a.vote)
	a.vote.SetNotifier(voteNotices{msgs: a.msgs, tenants: a.tenants})
	bars, err := vote.NewBars(ctx, a.engine) // the operator's bars of brushing shops (platform database)
	if err != nil {
		return fmt.Errorf("vote bars: %w", err)
	}
	a.vote.SetBars(bars)
	return a.setUpVoteMarket(ctx, bars)
}

// mountVote mounts the vote's merchant API, console pages, storefront page,
// the shoppers' vote call and the operator's bars.
func (a *app) mountVote(api, admin, storefront, opsAPI *echo.Group) {
	h := vote.NewHandlers(a.vote)
	h.SetMarket(a.voteMarket) // the console's vote page registers products for the market's rounds
	h.OpsAPIRoutes(opsAPI, a.tenants)
	h.APIRoutes(api)
	h.AdminRoutes(admin)
	h.StorefrontRoutes(storefront)
	h.StorefrontAPIRoutes(storefront)
}

// votePass tells the voters of group deals that opened and removes the
// products the brushing checks flag from the shop's rounds (the vote job).
func (a *app) votePass(ctx context.Context, tenantID string) (any, error) {
	var r struct{ Repaired, VotersTold, Flags int }
	var err error
	if r.Repaired, err = a.vote.RepairVotes(ctx, tenantID); err != nil {
		return r, err
	}
	n, err := a.vote.NotifyDeals(ctx, tenantID)
	r.VotersTold = n
	if err != nil {
		return r, err
	}
	r.Flags, err = a.vote.CheckRounds(ctx, tenantID)
	return r, err
}

// voteSpending is vote.Spending over shop/order: what the fan paid in the
// shop less what was refunded, over their orders (the orders_fan index,
// newest first), leaving out orders paid in a shop's test mode (no money
// moved); when the first was paid, and the latest order's address.
type voteSpending struct{ orders *order.Service }

// spendingPage is how many of a fan's orders are read at a time.
const spendingPage = 100

func (s voteSpending) Spent(ctx context.Context, tenantID, fanID string) (vote.Spend, error) {
	var sp vote.Spend
	for offset := 0; ; offset += spendingPage {
		list, _, err := s.orders.List(ctx, tenantID, order.Filter{FanID: fanID, Limit: spendingPage, Offset: offset})
		if err != nil {
			return vote.Spend{}, err
		}
		for _, o := range list { // newest first
			if sp.Address == "" && offset == 0 {
				a := o.Address
				sp.Address = a.Phone + " " + a.Province + a.City + a.District + a.Detail
			}
			if o.Test || o.Paid == 0 {
				continue
			}
			sp.Paid += max(0, o.Paid-o.Refunded)
			if o.PaidAt != nil && (sp.FirstPaidAt.IsZero() || o.PaidAt.Before(sp.FirstPaidAt)) {
				sp.FirstPaidAt = *o.PaidAt
			}
		}
		if len(list) < spendingPage {
			return sp, nil
		}
	}
}

// voteNotices is vote.Notifier over shop/message: a notice per voter, keyed
// by deal and fan (sent once), in the shop's language: a WeChat template
// message when the shop set one for the kind and the fan follows, else
// the inbox.
type voteNotices struct {
	msgs    *message.Service
	tenants *tenants.Service
}

func (n voteNotices) DealOpened(ctx context.Context, tenantID, fanID, key string, d vote.Deal) error {
	t, err := n.tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("load shop %s: %w", tenantID, err)
	}
	lang := t.Language()
	lctx := i18n.WithLang(context.Background(), lang)
	price := "¥" + catalog.FormatYuan(d.Price)
	ends := i18n.FormatDateTime(lang, d.EndsAt, t.Location())
	return n.msgs.Notify(ctx, tenantID, message.Notice{Key: key, FanID: fanID, Kind: message.NoticeGroupDeal,
		Title:  i18n.T(lctx, "vote.notice.title"),
		Body:   i18n.T(lctx, "vote.notice.body", "Title", d.Title, "Price", price, "Ends", ends),
		URL:    "/s/" + t.Slug + "/p/" + d.ProductID,
		Fields: map[string]string{"keyword1": d.Title, "keyword2": price, "keyword3": ends}})
}
