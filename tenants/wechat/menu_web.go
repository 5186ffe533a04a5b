package wechat

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// The menu in the merchant API (GET/PUT /api/v1/wechat/menu, WeChat's menu
// JSON) and the console's two-level editor (/admin/wechat/menu).

// MenuHandlers serve the menu.
type MenuHandlers struct{ accounts *Accounts }

// NewMenuHandlers returns the menu's handlers.
func NewMenuHandlers(accounts *Accounts) *MenuHandlers { return &MenuHandlers{accounts: accounts} }

// APIRoutes mounts the menu on g (/api/v1).
func (h *MenuHandlers) APIRoutes(g *echo.Group) {
	g.GET("/wechat/menu", h.apiGet)
	g.PUT("/wechat/menu", h.apiPut)
}

// AdminRoutes mounts the editor on g (/admin).
func (h *MenuHandlers) AdminRoutes(g *echo.Group) {
	g.GET("/wechat/menu", h.page)
	g.POST("/wechat/menu", h.save)
}

func (h *MenuHandlers) account(c echo.Context) (*Account, error) {
	acct, err := h.accounts.Account(c.Request().Context(), tenants.FromContext(c).ID)
	if errors.Is(err, fault.ErrNotFound) || errors.Is(err, fault.ErrConflict) {
		return nil, errNoAccount()
	}
	return acct, err
}

func (h *MenuHandlers) apiGet(c echo.Context) error {
	acct, err := h.account(c)
	if err != nil {
		return err
	}
	m, err := acct.Menu(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}

func (h *MenuHandlers) apiPut(c echo.Context) error {
	var m Menu
	if err := fault.DecodeJSON(c, &m); err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return err
	}
	acct, err := h.account(c)
	if err != nil {
		return err
	}
	got, err := acct.SetMenu(c.Request().Context(), m)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, got)
}

// MenuFormButton is one button of the editor: type "click" (value is the
// key), "view" (value is the address) or "sub" (the submenu below).
type MenuFormButton struct {
	Name, Type, Value string
	Subs              []MenuFormButton
}

// MenuPage is what admin_wechat_menu.html receives.
type MenuPage struct {
	Shop      tenants.Tenant
	Connected bool
	Buttons   []MenuFormButton
	Notice    string
	Error     string
}

// formOf lays m out on the editor's grid: 3 buttons of 5 sub-buttons.
func formOf(m Menu) []MenuFormButton {
	out := make([]MenuFormButton, MaxMenuButtons)
	for i := range out {
		out[i].Subs = make([]MenuFormButton, MaxSubButtons)
		out[i].Type = "click"
		for j := range out[i].Subs {
			out[i].Subs[j].Type = "click"
		}
		if i >= len(m.Buttons) {
			continue
		}
		b := m.Buttons[i]
		out[i].Name, out[i].Type, out[i].Value = b.Name, b.Type, b.Key+b.URL
		if len(b.SubButtons) > 0 {
			out[i].Type = "sub"
		}
		for j, sb := range b.SubButtons {
			if j < MaxSubButtons {
				out[i].Subs[j] = MenuFormButton{Name: sb.Name, Type: sb.Type, Value: sb.Key + sb.URL}
			}
		}
	}
	return out
}

// menuOf reads the editor's grid: rows without a name are left out.
func menuOf(c echo.Context) ([]MenuFormButton, Menu) {
	form := make([]MenuFormButton, MaxMenuButtons)
	var m Menu
	button := func(f MenuFormButton) MenuButton {
		b := MenuButton{Type: f.Type, Name: f.Name}
		if f.Type == "view" {
			b.URL = f.Value
		} else {
			b.Key = f.Value
		}
		return b
	}
	for i := range form {
		p := fmt.Sprintf("b%d.", i)
		f := MenuFormButton{Name: strings.TrimSpace(c.FormValue(p + "name")), Type: c.FormValue(p + "type"),
			Value: strings.TrimSpace(c.FormValue(p + "value")), Subs: make([]MenuFormButton, MaxSubButtons)}
		var subs []MenuButton
		for j := range f.Subs {
			sp := fmt.Sprintf("%ss%d.", p, j)
			s := MenuFormButton{Name: strings.TrimSpace(c.FormValue(sp + "name")), Type: c.FormValue(sp + "type"),
				Value: strings.TrimSpace(c.FormValue(sp + "value"))}
			f.Subs[j] = s
			if s.Name != "" {
				subs = append(subs, button(s))
			}
		}
		form[i] = f
		if f.Name == "" {
			continue
		}
		if f.Type == "sub" {
			m.Buttons = append(m.Buttons, MenuButton{Name: f.Name, SubButtons: subs})
		} else {
			m.Buttons = append(m.Buttons, button(f))
		}
	}
	return form, m
}

func (h *MenuHandlers) page(c echo.Context) error {
	notice := ""
	if c.QueryParam("done") == "saved" {
		notice = i18n.T(c.Request().Context(), "wxconnect.menu.saved")
	}
	return h.render(c, http.StatusOK, nil, notice, "")
}

func (h *MenuHandlers) render(c echo.Context, status int, form []MenuFormButton, notice, errMsg string) error {
	p := MenuPage{Shop: tenants.FromContext(c), Notice: notice, Error: errMsg, Buttons: form}
	acct, err := h.account(c)
	switch {
	case err == nil:
		p.Connected = true
		if form == nil {
			m, err := acct.Menu(c.Request().Context())
			var fe *fault.Error
			if errors.As(err, &fe) {
				p.Error = fault.Message(c.Request().Context(), err)
			} else if err != nil {
				return err
			}
			p.Buttons = formOf(m)
		}
	case errors.Is(err, fault.ErrConflict):
		p.Buttons = formOf(Menu{})
	default:
		return err
	}
	return c.Render(status, "admin_wechat_menu.html", p)
}

func (h *MenuHandlers) save(c echo.Context) error {
	form, m := menuOf(c)
	acct, err := h.account(c)
	if err == nil {
		_, err = acct.SetMenu(c.Request().Context(), m)
	}
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Status < 500 {
		return h.render(c, fe.Status, form, "", fault.Message(c.Request().Context(), err))
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/wechat/menu?done=saved")
}
