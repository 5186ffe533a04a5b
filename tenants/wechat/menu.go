package wechat

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/util"

	"microshop/tenants/fault"
)

// The official account's custom menu, in WeChat's own JSON
// ({"button":[…]}): up to 3 buttons, each a click button (a key the push
// carries back), a view button (a web page) or a submenu of up to 5 such
// buttons. What is published is read back from WeChat, so the console and
// GET /api/v1/wechat/menu show the menu fans see. And the template
// library: the industry, and templates added by their library short id.

// Menu is WeChat's menu JSON.
type Menu struct {
	Buttons []MenuButton `json:"button"`
}

// MenuButton is one button: click (key), view (url), or a submenu
// (sub_button, no type).
type MenuButton struct {
	Type       string       `json:"type,omitempty"`
	Name       string       `json:"name"`
	Key        string       `json:"key,omitempty"`
	URL        string       `json:"url,omitempty"`
	SubButtons []MenuButton `json:"sub_button,omitempty"`
}

// WeChat's limits on menus.
const (
	MaxMenuButtons = 3
	MaxSubButtons  = 5
	maxTopName     = 16 // bytes
	maxSubName     = 60 // bytes
	maxMenuKey     = 128
	maxMenuURL     = 1024
)

// Validate checks m against WeChat's rules, saying which button is wrong.
func (m Menu) Validate() error {
	if len(m.Buttons) == 0 || len(m.Buttons) > MaxMenuButtons {
		return fault.Invalid("button", "must hold 1 to %d buttons", MaxMenuButtons)
	}
	for i, b := range m.Buttons {
		if err := b.validate(i, -1); err != nil {
			return err
		}
	}
	return nil
}

func (b MenuButton) validate(i, j int) error {
	limit := maxTopName
	if j >= 0 {
		limit = maxSubName
	}
	if _, err := fault.Text("button", b.Name, 60); err != nil {
		return err
	}
	if strings.TrimSpace(b.Name) == "" || len(b.Name) > limit || !utf8.ValidString(b.Name) {
		return fault.Invalid("button", "button %d: the name must be 1 to %d bytes (%d Chinese characters)", i+1, limit, limit/4)
	}
	if len(b.SubButtons) > 0 {
		if j >= 0 {
			return fault.Invalid("button", "button %d: a submenu's button cannot hold a submenu", i+1)
		}
		if len(b.SubButtons) > MaxSubButtons {
			return fault.Invalid("button", "button %d: a submenu holds at most %d buttons", i+1, MaxSubButtons)
		}
		if b.Type != "" || b.Key != "" || b.URL != "" {
			return fault.Invalid("button", "button %d: a button with a submenu has no type, key or url", i+1)
		}
		for k, sb := range b.SubButtons {
			if err := sb.validate(i, k); err != nil {
				return err
			}
		}
		return nil
	}
	switch b.Type {
	case "click":
		if b.Key == "" || len(b.Key) > maxMenuKey || b.URL != "" {
			return fault.Invalid("button", "button %d: a click button needs a key of 1 to %d characters and no url", i+1, maxMenuKey)
		}
	case "view":
		u, err := url.Parse(b.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(b.URL) > maxMenuURL || b.Key != "" {
			return fault.Invalid("button", "button %d: a view button needs an http or https url and no key", i+1)
		}
	default:
		return fault.Invalid("button", "button %d: the type must be click or view", i+1)
	}
	return nil
}

// menuAPI is WeChat's menu endpoints.
const (
	menuCreateURL = "https://api.weixin.qq.com/cgi-bin/menu/create?access_token="
	menuGetURL    = "https://api.weixin.qq.com/cgi-bin/menu/get?access_token="
	menuDeleteURL = "https://api.weixin.qq.com/cgi-bin/menu/delete?access_token="
	// CodeMenuNone: the account has no menu.
	CodeMenuNone = 46003
)

// token is the account's current access token, for a call made inside
// Account.call (which refreshed it if needed).
func (a *Account) token(ctx context.Context) (string, error) {
	return a.tokens.GetAccessTokenContext(ctx)
}

// Menu reads the account's menu from WeChat; none is an empty menu.
func (a *Account) Menu(ctx context.Context) (Menu, error) {
	var m Menu
	err := a.call(ctx, "read the menu", func() error {
		tok, err := a.token(ctx)
		if err != nil {
			return err
		}
		var res struct {
			util.CommonError
			Menu Menu `json:"menu"`
		}
		err = getJSON(ctx, menuGetURL+url.QueryEscape(tok), &res)
		m = res.Menu
		return err
	})
	if ErrCode(err) == CodeMenuNone {
		return Menu{Buttons: []MenuButton{}}, nil
	}
	if m.Buttons == nil {
		m.Buttons = []MenuButton{}
	}
	return m, err
}

// SetMenu checks and publishes m, then reads it back from WeChat.
func (a *Account) SetMenu(ctx context.Context, m Menu) (Menu, error) {
	if err := m.Validate(); err != nil {
		return Menu{}, err
	}
	err := a.call(ctx, "publish the menu", func() error {
		tok, err := a.token(ctx)
		if err != nil {
			return err
		}
		var res struct{ util.CommonError }
		return postJSON(ctx, menuCreateURL+url.QueryEscape(tok), m, &res)
	})
	if err != nil {
		return Menu{}, err
	}
	return a.Menu(ctx)
}

// DeleteMenu removes the account's menu.
func (a *Account) DeleteMenu(ctx context.Context) error {
	return a.call(ctx, "delete the menu", func() error {
		tok, err := a.token(ctx)
		if err != nil {
			return err
		}
		var res struct{ util.CommonError }
		return getJSON(ctx, menuDeleteURL+url.QueryEscape(tok), &res)
	})
}

// The template library.
const (
	setIndustryURL  = "https://api.weixin.qq.com/cgi-bin/template/api_set_industry?access_token="
	addTemplateURL  = "https://api.weixin.qq.com/cgi-bin/template/api_add_template?access_token="
	listTemplateURL = "https://api.weixin.qq.com/cgi-bin/template/get_all_private_template?access_token="
	getIndustryURL  = "https://api.weixin.qq.com/cgi-bin/template/get_industry?access_token="
	// CodeIndustryNotSet: the account has no industry yet.
	CodeIndustryNotSet = 46001
	// CodeIndustryTooOften: the industry may change once a month.
	CodeIndustryTooOften = 43100
)

// SetIndustry sets the account's industries (WeChat's ids); changing them
// again within a month is not an error.
func (a *Account) SetIndustry(ctx context.Context, primary, secondary string) error {
	err := a.call(ctx, "set the industry", func() error {
		tok, err := a.token(ctx)
		if err != nil {
			return err
		}
		var res struct{ util.CommonError }
		return postJSON(ctx, setIndustryURL+url.QueryEscape(tok), map[string]string{"industry_id1": primary, "industry_id2": secondary}, &res)
	})
	if ErrCode(err) == CodeIndustryTooOften {
		return nil
	}
	return err
}

// HasIndustry reports whether the account has its industries set
// (get_industry).
func (a *Account) HasIndustry(ctx context.Context) (bool, error) {
	var set bool
	err := a.call(ctx, "read the industry", func() error {
		tok, err := a.token(ctx)
		if err != nil {
			return err
		}
		var res struct {
			util.CommonError
			Primary struct {
				First string `json:"first_class"`
			} `json:"primary_industry"`
		}
		err = getJSON(ctx, getIndustryURL+url.QueryEscape(tok), &res)
		set = res.Primary.First != ""
		return err
	})
	if ErrCode(err) == CodeIndustryNotSet {
		return false, nil
	}
	return set, err
}

// AddTemplate adds the library's template shortID to the account with
// keywords (keyword_name_list: the library template's keywords to use, in
// order; WeChat asks for them for a category template) and returns its
// template id.
func (a *Account) AddTemplate(ctx context.Context, shortID string, keywords []string) (string, error) {
	var id string
	err := a.call(ctx, "add the template", func() error {
		tok, err := a.token(ctx)
		if err != nil {
			return err
		}
		var res struct {
			util.CommonError
			ID string `json:"template_id"`
		}
		if keywords == nil {
			keywords = []string{}
		}
		err = postJSON(ctx, addTemplateURL+url.QueryEscape(tok), map[string]any{"template_id_short": shortID, "keyword_name_list": keywords}, &res)
		id = res.ID
		return err
	})
	if err == nil && id == "" {
		err = wechatError("add the template", errors.New("WeChat answered without a template_id"))
	}
	return id, err
}

// PrivateTemplate is one of the account's templates.
type PrivateTemplate struct {
	ID      string `json:"template_id"`
	Title   string `json:"title"`
	Content string `json:"content"`
}

// Templates lists the account's templates.
func (a *Account) Templates(ctx context.Context) ([]PrivateTemplate, error) {
	var list []PrivateTemplate
	err := a.call(ctx, "list the templates", func() error {
		tok, err := a.token(ctx)
		if err != nil {
			return err
		}
		var res struct {
			util.CommonError
			List []PrivateTemplate `json:"template_list"`
		}
		err = getJSON(ctx, listTemplateURL+url.QueryEscape(tok), &res)
		list = res.List
		return err
	})
	return list, err
}
