package distribution

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/distribution/ledger"
	"microshop/distribution/tree"
	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/fault"
)

// Touches is the storefront middleware that records a touch when a page is
// opened with ?g=<guide code>, ?d=<distributor code> or ?ch=<channel>
// (a guide's QR, a distributor's shared link, a tagged link). It runs after
// the shop and the fan are resolved. A code it does not know is ignored and
// the page shows as usual; a failure to record is logged, never shown.
func (h *Handlers) Touches() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Method != http.MethodGet {
				return next(c)
			}
			q := c.QueryParams()
			g, d, ch := q.Get("g"), q.Get("d"), q.Get("ch")
			if g == "" && d == "" && ch == "" {
				return next(c)
			}
			in := Touch{GuideCode: code(g), DistributorCode: code(d), Channel: channel(ch), Via: "link"}
			if in.GuideCode != "" || in.DistributorCode != "" || in.Channel != "" {
				t := tenants.FromContext(c)
				if err := h.svc.Record(c.Request().Context(), t, fan.FromContext(c), in); err != nil {
					h.svc.log.Warn("record touch", "tenant", t.ID, "err", err)
				}
			}
			return next(c)
		}
	}
}

// code keeps a code only if it has the shape of one.
func code(s string) string {
	if tree.ValidCode(s) {
		return s
	}
	return ""
}

// channel keeps a ?ch= tag of 1-32 lower-case letters, digits and "_".
func channel(s string) string {
	if len(s) == 0 || len(s) > 32 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return ""
		}
	}
	return s
}

// StorefrontRoutes mounts the distributor centre on g (/s/:slug, shop and
// fan resolved): the page, its QR code and its JSON calls.
func (h *Handlers) StorefrontRoutes(g *echo.Group) {
	g.GET("/distributor", h.centrePage)
	g.GET("/distributor/qr.png", h.centreQR)
	api := g.Group("/api", jsonOnly)
	api.GET("/distributor", h.centreJSON)
	api.POST("/distributor", h.join)
	api.POST("/distributor/withdrawals", h.withdraw)
}

// jsonOnly refuses state-changing calls not sent as JSON: a cross-site
// form cannot send application/json without a CORS preflight.
func jsonOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method != http.MethodGet && c.Request().Method != http.MethodHead &&
			!strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
			return &fault.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
				Message: "send JSON with Content-Type: application/json"}
		}
		return next(c)
	}
}

// Centre is the distributor centre of one fan.
type Centre struct {
	Distributor *DistributorJSON `json:"distributor"`
	Link        string           `json:"link,omitempty"`
	QRURL       string           `json:"qr_url,omitempty"`
	Team        []tree.View      `json:"team"`
	Customers   []Binding        `json:"customers"`
	Orders      []Sale           `json:"orders"`
	Ledger      []ledger.Entry   `json:"ledger"`
	Withdrawals []Withdrawal     `json:"withdrawals"`
	// Joinable says whether the fan may become a distributor now, and
	// JoinRule how (open, first_purchase, approval).
	Joinable bool   `json:"joinable"`
	JoinRule string `json:"join_rule"`
	Enabled  bool   `json:"enabled"`
}

func (h *Handlers) centre(ctx context.Context, c echo.Context) (Centre, Settings, error) {
	t := tenantOf(c)
	fanID := fan.FromContext(c)
	st, err := h.svc.settings(ctx, t.ID)
	if err != nil {
		return Centre{}, st, err
	}
	out := Centre{Team: []tree.View{}, Customers: []Binding{}, Orders: []Sale{}, Ledger: []ledger.Entry{}, Withdrawals: []Withdrawal{},
		JoinRule: st.Recruit, Enabled: st.Enabled}
	d, err := h.svc.tree.Store().ByFan(ctx, t.ID, fanID)
	if errors.Is(err, fault.ErrNotFound) {
		out.Joinable = st.Enabled
		if st.Recruit == RecruitFirstPurchase {
			b, err := h.svc.store.Binding(ctx, t.ID, fanID)
			out.Joinable = st.Enabled && err == nil && b.PaidOrders > 0
		}
		return out, st, nil
	}
	if err != nil {
		return out, st, err
	}
	dj, err := h.svc.Distributor(ctx, t.ID, d.ID)
	if err != nil {
		return out, st, err
	}
	out.Distributor = &dj
	if d.Status != tree.Active {
		return out, st, nil
	}
	out.Link = h.base(c) + "/s/" + t.Slug + "/?d=" + d.Code
	out.QRURL = "/s/" + t.Slug + "/distributor/qr.png"
	if out.Team, err = h.svc.tree.Children(ctx, t.ID, d.ID, 50, 0); err != nil {
		return out, st, err
	}
	if out.Customers, err = h.svc.store.BoundTo(ctx, t.ID, "distributor", d.ID, 50, 0); err != nil {
		return out, st, err
	}
	if out.Orders, err = h.svc.store.Sales(ctx, t.ID, d.ID, 50, 0); err != nil {
		return out, st, err
	}
	if out.Ledger, err = h.svc.ledger.History(ctx, t.ID, d.ID, 50); err != nil {
		return out, st, err
	}
	ws, err := h.svc.ledger.List(ctx, t.ID, ledger.Filter{Class: ledger.ClassWithdrawal, Beneficiary: d.ID, Limit: 20})
	if err != nil {
		return out, st, err
	}
	for _, w := range ws {
		out.Withdrawals = append(out.Withdrawals, withdrawal(w))
	}
	if out.Team == nil {
		out.Team = []tree.View{}
	}
	if out.Customers == nil {
		out.Customers = []Binding{}
	}
	if out.Orders == nil {
		out.Orders = []Sale{}
	}
	if out.Ledger == nil {
		out.Ledger = []ledger.Entry{}
	}
	return out, st, nil
}

// noStore marks a page or answer as one shopper's own.
func noStore(c echo.Context) { c.Response().Header().Set("Cache-Control", "private, no-store") }

// CentrePage is what shop_distributor.html receives. Shop and Query are
// what the storefront layout reads.
type CentrePage struct {
	Shop     tenants.Tenant
	Query    string
	Centre   Centre
	Settings Settings
	Now      time.Time
}

func (h *Handlers) centrePage(c echo.Context) error {
	noStore(c)
	cen, st, err := h.centre(c.Request().Context(), c)
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "shop_distributor.html", CentrePage{Shop: tenantOf(c), Centre: cen, Settings: st, Now: h.svc.clock()})
}

func (h *Handlers) centreJSON(c echo.Context) error {
	noStore(c)
	cen, _, err := h.centre(c.Request().Context(), c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cen)
}

// JoinAnswer is the answer to POST /s/{slug}/api/distributor.
type JoinAnswer struct {
	ID     string `json:"id"`
	Code   string `json:"code"`
	Status string `json:"status"`
	Link   string `json:"link,omitempty"`
}

func (h *Handlers) join(c echo.Context) error {
	noStore(c)
	var in struct{}
	if err := decodeOptional(c, &in); err != nil {
		return err
	}
	t := tenantOf(c)
	d, created, err := h.svc.Join(c.Request().Context(), t.ID, fan.FromContext(c))
	if err != nil {
		return err
	}
	a := JoinAnswer{ID: d.ID, Code: d.Code, Status: d.Status}
	if d.Status == tree.Active {
		a.Link = h.base(c) + "/s/" + t.Slug + "/?d=" + d.Code
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, a)
}

func (h *Handlers) withdraw(c echo.Context) error {
	noStore(c)
	ctx := c.Request().Context()
	t := tenantOf(c)
	var in struct {
		Amount int64  `json:"amount"`
		Note   string `json:"note"`
	}
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	if len([]rune(in.Note)) > 200 {
		return fault.Invalid("note", "must be at most 200 characters")
	}
	d, err := h.svc.tree.Store().ByFan(ctx, t.ID, fan.FromContext(c))
	if errors.Is(err, fault.ErrNotFound) || (err == nil && d.Status != tree.Active) {
		return fault.Forbidden("only active distributors can withdraw")
	}
	if err != nil {
		return err
	}
	st, err := h.svc.settings(ctx, t.ID)
	if err != nil {
		return err
	}
	w, err := h.svc.ledger.Withdraw(ctx, t.ID, d.ID, in.Amount,
		ledger.WithdrawRules{Min: st.MinWithdrawal, FeeBps: st.WithdrawalFeeBps}, strings.TrimSpace(in.Note))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, withdrawal(w))
}

// centreQR is the fan's own distributor code as a PNG.
func (h *Handlers) centreQR(c echo.Context) error {
	noStore(c)
	ctx := c.Request().Context()
	t := tenantOf(c)
	d, err := h.svc.tree.Store().ByFan(ctx, t.ID, fan.FromContext(c))
	if err != nil || d.Status != tree.Active {
		return fault.NotFound("distributor")
	}
	size, err := qrSize(c)
	if err != nil {
		return err
	}
	png, _, err := h.svc.QR(ctx, t.ID, "d:"+d.Code, h.base(c)+"/s/"+t.Slug+"/?d="+d.Code, false, size)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "image/png", png)
}
