package tenants

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/tenants/fault"
)

// StaffHandlers serve the shop's staff: the owner's Staff page and the
// /api/v1/staff calls (the owner only: server/roles.go), and the page an
// invited member sets a password on (/staff/join/:token, public).
type StaffHandlers struct {
	svc     *Service
	web     *Web // starts the session of a member who joined
	baseURL string
}

// NewStaffHandlers returns the staff handlers; baseURL is the public
// address invitation links start with (empty: the request's).
func NewStaffHandlers(svc *Service, codec *SessionCodec, secureCookie bool, baseURL string) *StaffHandlers {
	return &StaffHandlers{svc: svc, web: NewWeb(svc, codec, secureCookie), baseURL: strings.TrimSuffix(baseURL, "/")}
}

// APIRoutes mounts the staff calls on g (/api/v1 behind APIKeyAuth).
func (h *StaffHandlers) APIRoutes(g *echo.Group) {
	g.GET("/staff", h.apiList)
	g.POST("/staff", h.apiInvite)
	g.GET("/staff/:id", h.apiGet)
	g.PATCH("/staff/:id", h.apiChangeRole)
	g.DELETE("/staff/:id", h.apiRemove)
	g.POST("/staff/:id/invitation", h.apiReinvite)
}

// AdminRoutes mounts the Staff page and its forms on g (/admin behind
// SessionAuth and CSRF).
func (h *StaffHandlers) AdminRoutes(g *echo.Group) {
	g.GET("/staff", h.page)
	g.POST("/staff", h.inviteForm)
	g.POST("/staff/:id/role", h.roleForm)
	g.POST("/staff/:id/invitation", h.reinviteForm)
	g.POST("/staff/:id/remove", h.removeForm)
}

// JoinRoutes mounts the invitation page on g (the site's root, with CSRF).
func (h *StaffHandlers) JoinRoutes(g *echo.Group) {
	g.GET("/staff/join/:token", h.joinPage)
	g.POST("/staff/join/:token", h.join)
}

// StaffJSON is a member as the API shows them.
type StaffJSON struct {
	ID        string     `json:"id"`
	Email     string     `json:"email"`
	Role      Role       `json:"role"`
	GuideID   string     `json:"guide_id"`
	InvitedBy string     `json:"invited_by"`
	CreatedAt time.Time  `json:"created_at"`
	JoinedAt  *time.Time `json:"joined_at"` // null: invited, not joined yet
}

func staffJSON(r StaffRecord) StaffJSON {
	j := StaffJSON{ID: r.ID, Email: r.Email, Role: r.Role, GuideID: r.GuideID, InvitedBy: r.InvitedBy, CreatedAt: r.CreatedAt.UTC()}
	if !r.JoinedAt.IsZero() {
		at := r.JoinedAt.UTC()
		j.JoinedAt = &at
	}
	return j
}

// StaffInvitationJSON is an invitation as POST /api/v1/staff answers it:
// the member and the link to hand them, shown once.
type StaffInvitationJSON struct {
	Staff     StaffJSON `json:"staff"`
	InviteURL string    `json:"invite_url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// inviteURL is the link of an invitation token.
func (h *StaffHandlers) inviteURL(c echo.Context, token string) string {
	base := h.baseURL
	if base == "" {
		base = c.Scheme() + "://" + c.Request().Host
	}
	return base + "/staff/join/" + token
}

func (h *StaffHandlers) invitationJSON(c echo.Context, r StaffRecord, token string) StaffInvitationJSON {
	return StaffInvitationJSON{Staff: staffJSON(r), InviteURL: h.inviteURL(c, token),
		ExpiresAt: h.svc.now().UTC().Add(staffInviteLife).Truncate(time.Second)}
}

// actorOf is who is acting, as records name them (the owner's email).
func actorOf(c echo.Context) string {
	if p, ok := PrincipalFromContext(c); ok {
		return p.Actor
	}
	return ""
}

func (h *StaffHandlers) apiList(c echo.Context) error {
	staff, err := h.svc.Staff(c.Request().Context(), FromContext(c).ID)
	if err != nil {
		return err
	}
	items := make([]StaffJSON, len(staff))
	for i, r := range staff {
		items[i] = staffJSON(r)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

func (h *StaffHandlers) apiGet(c echo.Context) error {
	r, err := h.svc.StaffMember(c.Request().Context(), FromContext(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, staffJSON(r))
}

func (h *StaffHandlers) apiInvite(c echo.Context) error {
	var in StaffInput
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	r, token, err := h.svc.InviteStaff(c.Request().Context(), FromContext(c).ID, actorOf(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, h.invitationJSON(c, r, token))
}

func (h *StaffHandlers) apiReinvite(c echo.Context) error {
	r, token, err := h.svc.ReinviteStaff(c.Request().Context(), FromContext(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, h.invitationJSON(c, r, token))
}

func (h *StaffHandlers) apiChangeRole(c echo.Context) error {
	if _, err := h.svc.StaffMember(c.Request().Context(), FromContext(c).ID, c.Param("id")); err != nil {
		return err // another shop's member is a 404 whatever the body
	}
	var in RoleChange
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	r, err := h.svc.ChangeStaffRole(c.Request().Context(), FromContext(c).ID, c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, staffJSON(r))
}

func (h *StaffHandlers) apiRemove(c echo.Context) error {
	if err := h.svc.RemoveStaff(c.Request().Context(), FromContext(c).ID, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// StaffPage is what admin_staff.html receives.
type StaffPage struct {
	Staff  []StaffRecord
	Roles  []Role
	Guides []GuideOption
	// GuideName names each guide by id.
	GuideName map[string]string
	// Invited is the member just invited (or given a new link) and the
	// link, shown once.
	Invited   StaffRecord
	InviteURL string
	Form      StaffInput
	Notice    string // a message id
	Error     string
}

var staffNotices = map[string]string{"role": "staff.done_role", "removed": "staff.done_removed"}

func (h *StaffHandlers) render(c echo.Context, status int, p StaffPage) error {
	ctx := c.Request().Context()
	t := FromContext(c)
	var err error
	if p.Staff, err = h.svc.Staff(ctx, t.ID); err != nil {
		return err
	}
	if p.Guides, err = h.svc.StaffGuideOptions(ctx, t.ID); err != nil {
		return err
	}
	p.GuideName = map[string]string{}
	for _, g := range p.Guides {
		p.GuideName[g.ID] = g.Name
	}
	p.Roles = StaffRoles
	return c.Render(status, "admin_staff.html", p)
}

func (h *StaffHandlers) page(c echo.Context) error {
	p := StaffPage{}
	if id, ok := staffNotices[c.QueryParam("done")]; ok {
		p.Notice = id
	}
	return h.render(c, http.StatusOK, p)
}

// formError renders the page with err's message when it is one a person
// may see, and returns err otherwise.
func (h *StaffHandlers) formError(c echo.Context, p StaffPage, err error) error {
	var fe *fault.Error
	if errors.As(err, &fe) {
		p.Error = fault.Message(c.Request().Context(), fe)
		return h.render(c, fe.Status, p)
	}
	return err
}

// guideField is the guide id a form sends: only for the guide role.
func guideField(c echo.Context, role Role) string {
	if role != RoleGuide {
		return ""
	}
	return strings.TrimSpace(c.FormValue("guide_id"))
}

func (h *StaffHandlers) inviteForm(c echo.Context) error {
	role := Role(c.FormValue("role"))
	in := StaffInput{Email: c.FormValue("email"), Role: role, GuideID: guideField(c, role)}
	r, token, err := h.svc.InviteStaff(c.Request().Context(), FromContext(c).ID, actorOf(c), in)
	if err != nil {
		return h.formError(c, StaffPage{Form: in}, err)
	}
	return h.render(c, http.StatusCreated, StaffPage{Invited: r, InviteURL: h.inviteURL(c, token)})
}

func (h *StaffHandlers) reinviteForm(c echo.Context) error {
	r, token, err := h.svc.ReinviteStaff(c.Request().Context(), FromContext(c).ID, c.Param("id"))
	if err != nil {
		return h.formError(c, StaffPage{}, err)
	}
	return h.render(c, http.StatusCreated, StaffPage{Invited: r, InviteURL: h.inviteURL(c, token)})
}

func (h *StaffHandlers) roleForm(c echo.Context) error {
	role := Role(c.FormValue("role"))
	_, err := h.svc.ChangeStaffRole(c.Request().Context(), FromContext(c).ID, c.Param("id"), RoleChange{Role: role, GuideID: guideField(c, role)})
	if err != nil {
		return h.formError(c, StaffPage{}, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/staff?done=role")
}

func (h *StaffHandlers) removeForm(c echo.Context) error {
	if err := h.svc.RemoveStaff(c.Request().Context(), FromContext(c).ID, c.Param("id")); err != nil {
		return h.formError(c, StaffPage{}, err)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/staff?done=removed")
}

// StaffJoinPage is what staff_join.html receives.
type StaffJoinPage struct {
	Shop   Tenant
	Member StaffRecord
	Token  string
	Error  string
}

func (h *StaffHandlers) joinPage(c echo.Context) error {
	r, t, err := h.svc.StaffInvitation(c.Request().Context(), c.Param("token"))
	if err != nil {
		return h.joinError(c, err)
	}
	return c.Render(http.StatusOK, "staff_join.html", StaffJoinPage{Shop: t, Member: r, Token: c.Param("token")})
}

// joinError renders the invitation page with err's message when it is one
// a person may see.
func (h *StaffHandlers) joinError(c echo.Context, err error) error {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		return err
	}
	p := StaffJoinPage{Error: fault.Message(c.Request().Context(), fe)}
	if r, t, ierr := h.svc.StaffInvitation(c.Request().Context(), c.Param("token")); ierr == nil {
		p.Shop, p.Member, p.Token = t, r, c.Param("token")
	}
	return c.Render(fe.Status, "staff_join.html", p)
}

// join sets the member's password, signs them in and opens the console.
func (h *StaffHandlers) join(c echo.Context) error {
	u, err := h.svc.AcceptStaff(c.Request().Context(), c.Param("token"), c.FormValue("password"))
	if err != nil {
		return h.joinError(c, err)
	}
	if err := h.web.startSession(c, u); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin")
}
