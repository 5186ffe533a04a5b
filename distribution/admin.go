package distribution

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/distribution/guide"
	"microshop/distribution/ledger"
	"microshop/distribution/tree"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// AdminRoutes mounts the console pages on g (/admin, signed in,
// CSRF-protected).
func (h *Handlers) AdminRoutes(g *echo.Group) {
	g.GET("/guides", h.adminGuides)
	g.GET("/guides/report.csv", h.reportCSV)
	g.POST("/stores", h.adminCreateStore)
	g.POST("/stores/:id", h.adminUpdateStore)
	g.POST("/guides", h.adminCreateGuide)
	g.POST("/guides/:id", h.adminUpdateGuide)
	g.POST("/guides/:id/handover", h.adminHandover)
	g.GET("/guides/:id/qr.png", h.guideQR)
	g.GET("/guides/:id/card", h.adminGuideCard)
	g.GET("/distribution", h.adminDistribution)
	g.POST("/distribution/settings", h.adminSaveSettings)
	g.GET("/distribution/distributors/:id", h.adminDistributor)
	g.POST("/distribution/distributors/:id/move", h.adminMove)
	g.POST("/distribution/distributors/:id/approve", h.adminApplication(true))
	g.POST("/distribution/distributors/:id/reject", h.adminApplication(false))
	g.GET("/distribution/ledger", h.adminLedger)
	g.POST("/distribution/withdrawals/:id/approve", h.adminDecide(ledger.Approve))
	g.POST("/distribution/withdrawals/:id/reject", h.adminDecide(ledger.Reject))
	g.POST("/distribution/withdrawals/:id/pay", h.adminDecide(ledger.Pay))
}

// AdminPage is what the console's distribution templates receive. Shop is
// what the console layout reads.
type AdminPage struct {
	Shop   tenants.Tenant
	Notice string
	Error  string

	// Guides page.
	Stores    []guide.Location
	Guides    []GuideJSON
	StoreName map[string]string
	Report    Report
	Query     ReportQuery
	CSVURL    string

	// Guide card.
	Guide     GuideJSON
	GuideShop string

	// Distribution page.
	Settings     Settings
	SettingsForm SettingsForm
	Warning      string
	TopSales     []tree.View
	TopSize      []tree.View
	Roots        []tree.View
	Applications []tree.Distributor
	OrderQuery   string
	OrderPath    *OrderPath

	// Distributor page.
	Distributor *DistributorJSON
	Ancestors   []tree.Distributor
	Children    []tree.View
	History     []ledger.Entry

	// Ledger page.
	Filter      ledger.Filter
	Entries     []ledger.Entry
	Withdrawals []Withdrawal
	WStatus     string
}

func notice(done string) string {
	return map[string]string{
		"store": "Store saved.", "guide": "Guide saved.", "handover": "Customers handed over.",
		"settings": "Distribution settings saved.", "moved": "Distributor moved.", "approved": "Application approved.",
		"rejected": "Application rejected.", "approve": "Withdrawal approved.", "reject": "Withdrawal rejected; the money is back in the balance.",
		"pay": "Withdrawal marked paid.",
	}[done]
}

// formError shows the page again with the problem, for client errors; a
// not-found or a server error goes to the error handler.
func (h *Handlers) formError(err error, again func(status int, p *AdminPage) error) error {
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Status == http.StatusNotFound || fe.Status >= 500 {
		return err
	}
	return again(fe.Status, &AdminPage{Error: fe.Message})
}

func (h *Handlers) adminGuides(c echo.Context) error {
	return h.renderGuides(c, http.StatusOK, &AdminPage{})
}

func (h *Handlers) renderGuides(c echo.Context, status int, p *AdminPage) error {
	ctx := c.Request().Context()
	t := tenantOf(c)
	p.Shop = t
	if p.Notice == "" {
		p.Notice = notice(c.QueryParam("done"))
	}
	var err error
	if p.Stores, err = h.svc.guides.Store().Locations(ctx, t.ID, 1000); err != nil {
		return err
	}
	p.StoreName = map[string]string{}
	for _, l := range p.Stores {
		p.StoreName[l.ID] = l.Name
	}
	gs, err := h.svc.guides.Store().Guides(ctx, t.ID, "", 1000, 0)
	if err != nil {
		return err
	}
	for _, g := range gs {
		p.Guides = append(p.Guides, h.guideJSON(c, g))
	}
	q, err := h.reportQuery(c)
	if err != nil {
		if p.Error == "" {
			p.Error = err.Error()
		}
		c.Request().URL.RawQuery = ""
		q, _ = h.reportQuery(c)
	}
	p.Query = q
	if p.Report, err = h.report(ctx, t.ID, q); err != nil {
		return err
	}
	v := url.Values{"group": {q.Group}, "period": {q.Period}, "from": {q.From}, "to": {q.To}}
	p.CSVURL = "/admin/guides/report.csv?" + v.Encode()
	return c.Render(status, "admin_guides.html", p)
}

func formPtr(c echo.Context, name string) *string {
	if _, ok := c.Request().PostForm[name]; !ok {
		return nil
	}
	v := c.FormValue(name)
	return &v
}

func formBool(c echo.Context, name string) *bool {
	v := c.FormValue(name) == "on" || c.FormValue(name) == "true"
	return &v
}

func (h *Handlers) adminCreateStore(c echo.Context) error {
	_ = c.Request().ParseForm()
	_, err := h.svc.guides.CreateLocation(c.Request().Context(), tenantOf(c).ID,
		guide.LocationInput{Name: formPtr(c, "name"), Address: formPtr(c, "address")})
	if err != nil {
		return h.formError(err, func(status int, p *AdminPage) error { return h.renderGuides(c, status, p) })
	}
	return c.Redirect(http.StatusSeeOther, "/admin/guides?done=store")
}

func (h *Handlers) adminUpdateStore(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := h.svc.guides.Location(ctx, tenantOf(c).ID, c.Param("id")); err != nil {
		return err
	}
	_ = c.Request().ParseForm()
	_, err := h.svc.guides.UpdateLocation(ctx, tenantOf(c).ID, c.Param("id"),
		guide.LocationInput{Name: formPtr(c, "name"), Address: formPtr(c, "address"), Active: formBool(c, "active")})
	if err != nil {
		return h.formError(err, func(status int, p *AdminPage) error { return h.renderGuides(c, status, p) })
	}
	return c.Redirect(http.StatusSeeOther, "/admin/guides?done=store")
}

func (h *Handlers) adminCreateGuide(c echo.Context) error {
	_ = c.Request().ParseForm()
	_, err := h.svc.guides.CreateGuide(c.Request().Context(), tenantOf(c).ID,
		guide.GuideInput{Name: formPtr(c, "name"), Phone: formPtr(c, "phone"), StoreID: formPtr(c, "store_id")})
	if err != nil {
		return h.formError(err, func(status int, p *AdminPage) error { return h.renderGuides(c, status, p) })
	}
	return c.Redirect(http.StatusSeeOther, "/admin/guides?done=guide")
}

func (h *Handlers) adminUpdateGuide(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := h.svc.guides.Guide(ctx, tenantOf(c).ID, c.Param("id")); err != nil {
		return err
	}
	_ = c.Request().ParseForm()
	_, err := h.svc.guides.UpdateGuide(ctx, tenantOf(c).ID, c.Param("id"),
		guide.GuideInput{Name: formPtr(c, "name"), Phone: formPtr(c, "phone"), StoreID: formPtr(c, "store_id"), Active: formBool(c, "active")})
	if err != nil {
		return h.formError(err, func(status int, p *AdminPage) error { return h.renderGuides(c, status, p) })
	}
	return c.Redirect(http.StatusSeeOther, "/admin/guides?done=guide")
}

func (h *Handlers) adminHandover(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := h.svc.guides.Guide(ctx, tenantOf(c).ID, c.Param("id")); err != nil {
		return err
	}
	by := ""
	if u, ok := tenants.UserFromContext(c); ok {
		by = u.Email
	}
	if _, err := h.svc.Handover(ctx, tenantOf(c).ID, c.Param("id"), c.FormValue("to_guide_id"), by); err != nil {
		return h.formError(err, func(status int, p *AdminPage) error { return h.renderGuides(c, status, p) })
	}
	return c.Redirect(http.StatusSeeOther, "/admin/guides?done=handover")
}

func (h *Handlers) adminGuideCard(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenantOf(c)
	g, err := h.svc.guides.Guide(ctx, t.ID, c.Param("id"))
	if err != nil {
		return err
	}
	p := &AdminPage{Shop: t, Guide: h.guideJSON(c, g)}
	if l, err := h.svc.guides.Location(ctx, t.ID, g.StoreID); err == nil {
		p.GuideShop = l.Name
	}
	return c.Render(http.StatusOK, "admin_guides_card.html", p)
}

// SettingsForm is the settings form as typed (rates in percent).
type SettingsForm struct {
	Enabled, ThirdLevel, SelfPurchase               bool
	Levels, Recruit, Binding                        string
	BindingDays, ProtectionDays, AfterSaleDays, Cap string
	MinWithdrawal, WithdrawalFee                    string
}

func percent(bps int64) string {
	s := strconv.FormatInt(bps/100, 10)
	if r := bps % 100; r != 0 {
		s += "." + strings.TrimRight(strconv.FormatInt(100+r, 10)[1:], "0")
	}
	return s
}

// parsePercent reads "10" or "7.5" (percent, at most two decimals) as
// basis points.
func parsePercent(field, s string) (int64, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "%")
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		return 0, fault.Invalid(field, "%q: at most two decimals", s)
	}
	frac += strings.Repeat("0", 2-len(frac))
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || w < 0 || w > 100 {
		return 0, fault.Invalid(field, "%q is not a percentage between 0 and 100", s)
	}
	return w*100 + f, nil
}

func formOf(st Settings) SettingsForm {
	var lv []string
	for _, r := range st.Levels {
		lv = append(lv, percent(r))
	}
	return SettingsForm{Enabled: st.Enabled, ThirdLevel: st.ThirdLevel, SelfPurchase: st.SelfPurchase, Levels: strings.Join(lv, ", "),
		Recruit: st.Recruit, Binding: st.Binding, BindingDays: strconv.Itoa(st.BindingDays), ProtectionDays: strconv.Itoa(st.ProtectionDays),
		AfterSaleDays: strconv.Itoa(st.AfterSaleDays), Cap: percent(st.CapBps), MinWithdrawal: Yuan(st.MinWithdrawal),
		WithdrawalFee: percent(st.WithdrawalFeeBps)}
}

// settings applies the form to st.
func (f SettingsForm) apply(st *Settings) error {
	st.Enabled, st.ThirdLevel, st.SelfPurchase = f.Enabled, f.ThirdLevel, f.SelfPurchase
	st.Recruit, st.Binding = f.Recruit, f.Binding
	st.Levels = nil
	for _, p := range strings.Split(f.Levels, ",") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		bps, err := parsePercent("levels", p)
		if err != nil {
			return err
		}
		st.Levels = append(st.Levels, bps)
	}
	ints := []struct {
		field string
		v     string
		dst   *int
	}{{"binding_days", f.BindingDays, &st.BindingDays}, {"protection_days", f.ProtectionDays, &st.ProtectionDays},
		{"after_sale_days", f.AfterSaleDays, &st.AfterSaleDays}}
	for _, x := range ints {
		n, err := strconv.Atoi(strings.TrimSpace(x.v))
		if err != nil {
			return fault.Invalid(x.field, "must be a whole number of days")
		}
		*x.dst = n
	}
	var err error
	if st.CapBps, err = parsePercent("cap", f.Cap); err != nil {
		return err
	}
	if st.WithdrawalFeeBps, err = parsePercent("withdrawal_fee", f.WithdrawalFee); err != nil {
		return err
	}
	if st.MinWithdrawal, err = parseYuan("min_withdrawal", f.MinWithdrawal); err != nil {
		return err
	}
	return nil
}

// parseYuan reads "12" or "12.5" yuan as fen.
func parseYuan(field, s string) (int64, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "¥"))
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		return 0, fault.Invalid(field, "%q: at most two decimals", s)
	}
	frac += strings.Repeat("0", 2-len(frac))
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || w < 0 || w > 10_000_000 {
		return 0, fault.Invalid(field, "%q is not an amount in yuan", s)
	}
	return w*100 + f, nil
}

func (h *Handlers) adminDistribution(c echo.Context) error {
	return h.renderDistribution(c, http.StatusOK, &AdminPage{})
}

func (h *Handlers) renderDistribution(c echo.Context, status int, p *AdminPage) error {
	ctx := c.Request().Context()
	t := tenantOf(c)
	p.Shop = t
	if p.Notice == "" {
		p.Notice = notice(c.QueryParam("done"))
	}
	st, err := h.svc.settings(ctx, t.ID)
	if err != nil {
		return err
	}
	p.Settings, p.Warning = st, st.Warning()
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
	if p.Applications, err = h.svc.tree.Store().List(ctx, t.ID, tree.Pending, 50, 0); err != nil {
		return err
	}
	if q := strings.TrimSpace(c.QueryParam("order")); q != "" {
		p.OrderQuery = q
		op, err := h.svc.OrderPath(ctx, t.ID, q)
		switch {
		case err == nil:
			p.OrderPath = &op
		case errors.Is(err, fault.ErrNotFound):
			p.Error = "No order " + q + " in this shop."
		default:
			return err
		}
	}
	return c.Render(status, "admin_distribution.html", p)
}

func (h *Handlers) adminSaveSettings(c echo.Context) error {
	ctx := c.Request().Context()
	t := tenantOf(c)
	f := SettingsForm{Enabled: c.FormValue("enabled") == "on", ThirdLevel: c.FormValue("third_level") == "on",
		SelfPurchase: c.FormValue("self_purchase") == "on", Levels: c.FormValue("levels"), Recruit: c.FormValue("recruit"),
		Binding: c.FormValue("binding"), BindingDays: c.FormValue("binding_days"), ProtectionDays: c.FormValue("protection_days"),
		AfterSaleDays: c.FormValue("after_sale_days"), Cap: c.FormValue("cap"), MinWithdrawal: c.FormValue("min_withdrawal"),
		WithdrawalFee: c.FormValue("withdrawal_fee")}
	st, err := h.svc.settings(ctx, t.ID)
	if err == nil {
		if err = f.apply(&st); err == nil {
			err = h.svc.SaveSettings(ctx, t.ID, st)
		}
	}
	if err != nil {
		return h.formError(err, func(status int, p *AdminPage) error {
			p.SettingsForm = f
			return h.renderDistribution(c, status, p)
		})
	}
	return c.Redirect(http.StatusSeeOther, "/admin/distribution?done=settings")
}

func (h *Handlers) adminDistributor(c echo.Context) error {
	return h.renderDistributor(c, http.StatusOK, &AdminPage{})
}

func (h *Handlers) renderDistributor(c echo.Context, status int, p *AdminPage) error {
	ctx := c.Request().Context()
	t := tenantOf(c)
	d, err := h.svc.Distributor(ctx, t.ID, c.Param("id"))
	if err != nil {
		return err
	}
	p.Shop, p.Distributor = t, &d
	if p.Notice == "" {
		p.Notice = notice(c.QueryParam("done"))
	}
	anc, err := h.svc.tree.Store().Many(ctx, t.ID, d.Path)
	if err != nil {
		return err
	}
	for _, id := range d.Path {
		if a, ok := anc[id]; ok {
			p.Ancestors = append(p.Ancestors, a)
		} else {
			p.Ancestors = append(p.Ancestors, tree.Distributor{ID: id})
		}
	}
	if p.Children, err = h.svc.tree.Children(ctx, t.ID, d.ID, 200, 0); err != nil {
		return err
	}
	if p.History, err = h.svc.ledger.History(ctx, t.ID, d.ID, 50); err != nil {
		return err
	}
	return c.Render(status, "admin_distribution_tree.html", p)
}

func (h *Handlers) adminMove(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := h.svc.Distributor(ctx, tenantOf(c).ID, c.Param("id")); err != nil {
		return err
	}
	parent := strings.TrimSpace(c.FormValue("parent_id"))
	var err error
	if parent != "" && !engine.ValidID(parent) {
		err = fault.Invalid("parent_id", "%q is not a distributor id", truncate(parent))
	} else {
		_, err = h.svc.tree.Move(ctx, tenantOf(c).ID, c.Param("id"), parent)
	}
	if err != nil {
		return h.formError(err, func(status int, p *AdminPage) error { return h.renderDistributor(c, status, p) })
	}
	return c.Redirect(http.StatusSeeOther, "/admin/distribution/distributors/"+c.Param("id")+"?done=moved")
}

func (h *Handlers) adminApplication(approve bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		if _, err := h.svc.Distributor(ctx, tenantOf(c).ID, c.Param("id")); err != nil {
			return err
		}
		if _, err := h.svc.tree.Decide(ctx, tenantOf(c).ID, c.Param("id"), approve); err != nil {
			return h.formError(err, func(status int, p *AdminPage) error { return h.renderDistribution(c, status, p) })
		}
		done := "rejected"
		if approve {
			done = "approved"
		}
		return c.Redirect(http.StatusSeeOther, "/admin/distribution?done="+done)
	}
}

func (h *Handlers) adminLedger(c echo.Context) error {
	return h.renderLedger(c, http.StatusOK, &AdminPage{})
}

func (h *Handlers) renderLedger(c echo.Context, status int, p *AdminPage) error {
	ctx := c.Request().Context()
	t := tenantOf(c)
	p.Shop = t
	if p.Notice == "" {
		p.Notice = notice(c.QueryParam("done"))
	}
	f, err := h.ledgerFilter(c, ledger.ClassCommission)
	if err != nil {
		p.Error = err.Error()
		f = ledger.Filter{Class: ledger.ClassCommission, Limit: 50}
	}
	p.Filter = f
	if p.Entries, err = h.svc.ledger.List(ctx, t.ID, f); err != nil {
		return err
	}
	p.WStatus = c.QueryParam("withdrawals")
	if p.WStatus == "" {
		p.WStatus = ledger.Requested
	}
	if !contains([]string{ledger.Requested, ledger.Approved, ledger.Paid, ledger.Rejected}, p.WStatus) {
		p.WStatus = ledger.Requested
	}
	ws, err := h.svc.ledger.List(ctx, t.ID, ledger.Filter{Class: ledger.ClassWithdrawal, Status: p.WStatus, Limit: 100})
	if err != nil {
		return err
	}
	for _, w := range ws {
		p.Withdrawals = append(p.Withdrawals, withdrawal(w))
	}
	return c.Render(status, "admin_distribution_ledger.html", p)
}

func (h *Handlers) adminDecide(decision string) echo.HandlerFunc {
	return func(c echo.Context) error {
		w, err := h.withdrawalOf(c)
		if err != nil {
			return err
		}
		if _, err := h.svc.ledger.Decide(c.Request().Context(), tenantOf(c).ID, w.ID, decision, strings.TrimSpace(c.FormValue("transfer_ref"))); err != nil {
			return h.formError(err, func(status int, p *AdminPage) error { return h.renderLedger(c, status, p) })
		}
		return c.Redirect(http.StatusSeeOther, "/admin/distribution/ledger?done="+decision+"&withdrawals="+url.QueryEscape(c.FormValue("back")))
	}
}
