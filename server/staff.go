package main

import (
	"context"

	"github.com/labstack/echo/v4"

	"microshop/distribution"
	"microshop/distribution/guide"
	"microshop/tenants"
)

// Staff, roles and the audit log: the staff pages and calls
// (tenants.StaffHandlers), the audit log (tenants.Auditor), and the page
// guide staff open on their phones (distribution's GuideMeRoutes).

// staffGuides are the shop's guides as staff management sees them.
type staffGuides struct{ guides *guide.Guides }

func (g staffGuides) Guide(ctx context.Context, tenantID, id string) (tenants.GuideOption, error) {
	gd, err := g.guides.Guide(ctx, tenantID, id)
	return tenants.GuideOption{ID: gd.ID, Name: gd.Name}, err
}

func (g staffGuides) Guides(ctx context.Context, tenantID string) ([]tenants.GuideOption, error) {
	gs, err := g.guides.List(ctx, tenantID, "", 1000, 0)
	out := make([]tenants.GuideOption, 0, len(gs))
	for _, gd := range gs {
		if gd.Active {
			out = append(out, tenants.GuideOption{ID: gd.ID, Name: gd.Name})
		}
	}
	return out, err
}

// mountStaff mounts the staff pages and calls, the audit log and the
// guide's own page; root is the site's root group with CSRF (the
// invitation page).
func (a *app) mountStaff(root, api, admin *echo.Group, codec *tenants.SessionCodec) {
	staff := tenants.NewStaffHandlers(a.tenants, codec, a.cfg.SecureCookies, a.cfg.BaseURL)
	staff.APIRoutes(api)
	staff.AdminRoutes(admin)
	staff.JoinRoutes(root)
	a.audit.APIRoutes(api)
	a.audit.AdminRoutes(admin)
	distribution.NewHandlers(a.dist).GuideMeRoutes(admin)
}
