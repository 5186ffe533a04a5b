package message

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/fault"
)

// InboxPage is what the inbox template receives (as the View's Data);
// Shop gives the items' times their zone.
type InboxPage struct {
	Shop     tenants.Tenant
	Items    []InboxItem
	OptedOut bool
	More     string // ?before= of the next page
}

// When formats an item's time in the shop's zone.
func (p InboxPage) When(it InboxItem) string {
	return it.CreatedAt.In(zone(p.Shop)).Format("2006-01-02 15:04")
}

// Notice reports whether an item is a service notice (not marketing).
func (InboxPage) Notice(it InboxItem) bool { return it.Kind != "marketing" }

// inboxBefore reads ?before= (an RFC 3339 time from the last page).
func inboxBefore(c echo.Context) (time.Time, error) {
	v := c.QueryParam("before")
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fault.Invalid("before", "must be the created_at of the last item of the previous page")
	}
	return t, nil
}

// inboxPageSize is how many items a page of the storefront inbox shows.
const inboxPageSize = 30

func (h *Handlers) inbox(c echo.Context) (InboxPage, error) {
	t, fanID := tenants.FromContext(c), fan.FromContext(c)
	before, err := inboxBefore(c)
	if err != nil {
		return InboxPage{}, err
	}
	p := InboxPage{Shop: t}
	if p.Items, p.OptedOut, err = h.svc.FanInbox(c.Request().Context(), t.ID, fanID, before, inboxPageSize); err != nil {
		return p, err
	}
	if len(p.Items) == inboxPageSize {
		p.More = p.Items[inboxPageSize-1].CreatedAt.Format(time.RFC3339Nano)
	}
	return p, nil
}

func (h *Handlers) inboxPage(c echo.Context) error {
	p, err := h.inbox(c)
	if err != nil {
		return err
	}
	noStore(c)
	return c.Render(http.StatusOK, "shop_inbox.html", p)
}

func (h *Handlers) myInbox(c echo.Context) error {
	p, err := h.inbox(c)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"items": p.Items, "marketing": !p.OptedOut, "before": p.More})
}

func (h *Handlers) setPreferences(c echo.Context) error {
	var in struct {
		Marketing *bool `json:"marketing"`
	}
	if err := fault.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.Marketing == nil {
		return fault.Invalid("marketing", "is required: true to receive offers, false to opt out")
	}
	err := h.svc.SetOptOut(c.Request().Context(), tenants.FromContext(c).ID, fan.FromContext(c), !*in.Marketing)
	return respond(c, http.StatusOK, map[string]bool{"marketing": *in.Marketing}, err)
}
