package distribution

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/distribution/tree"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// renderDistribution draws the settings, the leading teams, the top level,
// the applications and, for ?order=, an order's recommendation path.
func (h *Handlers) renderDistribution(c echo.Context, status int, p *AdminPage) error {
	ctx := c.Request().Context()
	p.start(c)
	t := p.Shop
	st, err := h.svc.Settings(ctx, t.ID)
	if err != nil {
		return err
	}
	p.Settings = st
	if st.Warning() != "" {
		p.Warning = i18n.T(ctx, "distribution.third_level_warning")
	}
	if p.SettingsForm == (SettingsForm{}) {
		p.SettingsForm = formOf(st)
	}
	if p.TopSales, err = h.svc.tree.Top(ctx, t.ID, "sales", 10); err != nil {
		return err
	}
	if p.TopSize, err = h.svc.tree.Top(ctx, t.ID, "size", 10); err != nil {
		return err
	}
	if p.Roots, err = h.svc.tree.Children(ctx, t.ID, "", 50, 0); err != nil {
		return err
	}
	if p.Applications, err = h.svc.tree.List(ctx, t.ID, tree.Pending, 50, 0); err != nil {
		return err
	}
	if q := strings.TrimSpace(c.QueryParam("order")); q != "" {
		p.OrderQuery = q
		op, err := h.svc.OrderPath(ctx, t.ID, q)
		switch {
		case err == nil:
			p.OrderPath = &op
		case errors.Is(err, fault.ErrNotFound):
			p.Error = i18n.T(ctx, "distribution.no_such_order", "Order", q)
		default:
			return err
		}
	}
	return c.Render(status, "admin_distribution.html", p)
}

func (h *Handlers) adminSaveSettings(c echo.Context) error {
	f := settingsForm(c)
	stale := false
	again := func(c echo.Context, status int, p *AdminPage) error {
		p.SettingsForm = f
		if stale {
			p.Error = i18n.T(c.Request().Context(), "settings.stale_kept")
		}
		return h.renderDistribution(c, status, p)
	}
	return h.submit(c, "/admin/distribution?done=settings", again, func(ctx context.Context, tenantID string) error {
		st, err := h.svc.Settings(ctx, tenantID)
		if err == nil {
			if err = f.apply(&st); err == nil {
				err = h.svc.SaveSettings(ctx, tenantID, st)
			}
		}
		if fault.HasCode(err, fault.CodeSettingsChanged) { // the typed values, now at the stored revision: a second save applies them
			if cur, e := h.svc.Settings(ctx, tenantID); e == nil {
				f.Rev, stale = strconv.FormatInt(cur.Rev, 10), true
			}
		}
		return err
	})
}

// renderDistributor draws one distributor: counters, balance, the path up,
// the children and the ledger.
func (h *Handlers) renderDistributor(c echo.Context, status int, p *AdminPage) error {
	ctx := c.Request().Context()
	d, err := byID(c, h.svc.Distributor)
	if err != nil {
		return err
	}
	p.start(c)
	p.Distributor = &d
	if p.Ancestors, err = h.svc.tree.Ancestors(ctx, p.Shop.ID, d.Path); err != nil {
		return err
	}
	if p.Children, err = h.svc.tree.Children(ctx, p.Shop.ID, d.ID, 200, 0); err != nil {
		return err
	}
	if p.History, err = h.svc.ledger.History(ctx, p.Shop.ID, d.ID, 50); err != nil {
		return err
	}
	return c.Render(status, "admin_distribution_tree.html", p)
}

func (h *Handlers) adminMove(c echo.Context) error {
	if _, err := byID(c, h.svc.Distributor); err != nil {
		return err
	}
	to := "/admin/distribution/distributors/" + c.Param("id") + "?done=moved"
	return h.submit(c, to, h.renderDistributor, func(ctx context.Context, tenantID string) error {
		_, err := h.svc.Move(ctx, tenantID, c.Param("id"), strings.TrimSpace(c.FormValue("parent_id")))
		return err
	})
}

func (h *Handlers) adminApplication(approve bool) echo.HandlerFunc {
	done := "rejected"
	if approve {
		done = "approved"
	}
	return func(c echo.Context) error {
		if _, err := byID(c, h.svc.Distributor); err != nil {
			return err
		}
		return h.submit(c, "/admin/distribution?done="+done, h.renderDistribution, func(ctx context.Context, tenantID string) error {
			_, err := h.svc.tree.Decide(ctx, tenantID, c.Param("id"), approve)
			return err
		})
	}
}
