package sandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"unicode/utf8"
)

// The custom menu (create, get, delete), the industry and the template
// library (set industry, add a template from the library by its short id,
// delete one): each account's own, reached with its access token.

// appExtra is what an account keeps of them.
type appExtra struct {
	menu      json.RawMessage // the menu as created; nil: none
	industry  [2]string
	templates []Template // added from the library
	// jsapiTicket is the account's JS-SDK ticket (jsapi.go).
	jsapiTicket  string
	jsapiFetches int
}

// template is the account's template id: one it added, or a shared sandbox
// one.
func (a *app) template(id string) (Template, bool) {
	for _, t := range a.ext.templates {
		if t.ID == id {
			return t, true
		}
	}
	return templateByID(id)
}

// LibraryTemplate is a template of WeChat's library, added to an account
// by its short id.
type LibraryTemplate struct {
	ShortID string
	Title   string
	Content string
}

// Library is the sandbox's template library: the service notices a shop
// sends (order paid, shipped, refund, commission, points, check-in, group deal), with
// the fields the shop fills.
var Library = []LibraryTemplate{
	{ShortID: "OPENTM_SBX_ORDER_PAID", Title: "订单支付成功",
		Content: "{{first.DATA}}\n订单号：{{keyword1.DATA}}\n支付金额：{{keyword2.DATA}}\n支付时间：{{keyword3.DATA}}\n{{remark.DATA}}"},
	{ShortID: "OPENTM_SBX_ORDER_SHIPPED", Title: "订单发货提醒",
		Content: "{{first.DATA}}\n订单号：{{keyword1.DATA}}\n快递公司：{{keyword2.DATA}}\n快递单号：{{keyword3.DATA}}\n{{remark.DATA}}"},
	{ShortID: "OPENTM_SBX_REFUND", Title: "退款通知",
		Content: "{{first.DATA}}\n订单号：{{keyword1.DATA}}\n退款金额：{{keyword2.DATA}}\n{{remark.DATA}}"},
	{ShortID: "OPENTM_SBX_COMMISSION", Title: "佣金变动提醒",
		Content: "{{first.DATA}}\n佣金金额：{{keyword1.DATA}}\n订单号：{{keyword2.DATA}}\n{{remark.DATA}}"},
	{ShortID: "OPENTM_SBX_POINTS", Title: "积分变动提醒",
		Content: "{{first.DATA}}\n积分变动：{{keyword1.DATA}}\n积分余额：{{keyword2.DATA}}\n{{remark.DATA}}"},
	{ShortID: "OPENTM_SBX_CHECKIN", Title: "签到提醒",
		Content: "{{first.DATA}}\n签到内容：{{keyword1.DATA}}\n日期：{{keyword2.DATA}}\n{{remark.DATA}}"},
	{ShortID: "OPENTM_SBX_GROUP_DEAL", Title: "团购开团提醒",
		Content: "{{first.DATA}}\n商品：{{keyword1.DATA}}\n团购价：{{keyword2.DATA}}\n截止时间：{{keyword3.DATA}}\n{{remark.DATA}}"},
}

// MaxPrivateTemplates is how many templates an account may hold.
const MaxPrivateTemplates = 25

// menuAPI answers the menu and template-library paths; false: not one of
// them.
func (s *Simulator) menuAPI(w http.ResponseWriter, r *http.Request) bool {
	var fn func(a *app, r *http.Request, body []byte) any
	switch r.URL.Path {
	case "/cgi-bin/menu/create":
		fn = s.menuCreate
	case "/cgi-bin/menu/get":
		fn = func(a *app, _ *http.Request, _ []byte) any {
			if a.ext.menu == nil {
				return apiErr(46003, "menu no exist")
			}
			return map[string]any{"menu": a.ext.menu}
		}
	case "/cgi-bin/menu/delete":
		fn = func(a *app, _ *http.Request, _ []byte) any {
			a.ext.menu = nil
			return ok
		}
	case "/cgi-bin/template/api_set_industry":
		fn = s.setIndustry
	case "/cgi-bin/template/get_industry":
		fn = func(a *app, _ *http.Request, _ []byte) any {
			if a.ext.industry[0] == "" {
				return apiErr(46001, "industry not set")
			}
			return map[string]any{"primary_industry": map[string]string{"first_class": "IT科技", "second_class": industryName(a.ext.industry[0])},
				"secondary_industry": map[string]string{"first_class": "IT科技", "second_class": industryName(a.ext.industry[1])}}
		}
	case "/cgi-bin/template/api_add_template":
		fn = s.addTemplate
	case "/cgi-bin/template/del_private_template":
		fn = func(a *app, _ *http.Request, body []byte) any {
			var req struct {
				ID string `json:"template_id"`
			}
			if json.Unmarshal(body, &req) != nil {
				return apiErr(47001, "data format error")
			}
			i := slices.IndexFunc(a.ext.templates, func(t Template) bool { return t.ID == req.ID })
			if i < 0 {
				return apiErr(40037, "invalid template_id")
			}
			a.ext.templates = slices.Delete(a.ext.templates, i, i+1)
			return ok
		}
	default:
		return false
	}
	s.withApp(w, r, fn)
	return true
}

func industryName(id string) string {
	switch id {
	case "1":
		return "互联网|电子商务"
	case "2":
		return "IT软件与服务"
	}
	return "其它"
}

// menuButton is WeChat's menu JSON, as checked.
type menuButton struct {
	Type      string       `json:"type,omitempty"`
	Name      string       `json:"name"`
	Key       string       `json:"key,omitempty"`
	URL       string       `json:"url,omitempty"`
	MediaID   string       `json:"media_id,omitempty"`
	AppID     string       `json:"appid,omitempty"`
	PagePath  string       `json:"pagepath,omitempty"`
	SubButton []menuButton `json:"sub_button,omitempty"`
}

// menuCreate is /cgi-bin/menu/create with WeChat's checks: 1 to 3
// buttons, up to 5 in each submenu, names within 16 (60 in a submenu)
// bytes, click buttons with a key, view buttons with an http(s) URL.
func (s *Simulator) menuCreate(a *app, _ *http.Request, body []byte) any {
	var m struct {
		Button []menuButton `json:"button"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return apiErr(47001, "data format error")
	}
	if len(m.Button) == 0 || len(m.Button) > 3 {
		return apiErr(40016, "invalid button size")
	}
	for _, b := range m.Button {
		if e := checkButton(b, 16, true); e.ErrCode != 0 {
			return e
		}
	}
	norm, _ := json.Marshal(map[string]any{"button": m.Button})
	var kept struct {
		Button json.RawMessage `json:"button"`
	}
	_ = json.Unmarshal(norm, &kept)
	a.ext.menu, _ = json.Marshal(map[string]json.RawMessage{"button": kept.Button})
	return ok
}

func checkButton(b menuButton, maxName int, top bool) errBody {
	if b.Name == "" || len(b.Name) > maxName || !utf8.ValidString(b.Name) {
		return apiErr(40018, "invalid button name size")
	}
	if len(b.SubButton) > 0 {
		if !top || len(b.SubButton) > 5 {
			return apiErr(40023, "invalid sub button size")
		}
		for _, sb := range b.SubButton {
			if e := checkButton(sb, 60, false); e.ErrCode != 0 {
				return e
			}
		}
		return ok
	}
	switch b.Type {
	case "click":
		if b.Key == "" || len(b.Key) > 128 {
			return apiErr(40019, "invalid button key size")
		}
	case "view":
		u, err := url.Parse(b.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(b.URL) > 1024 {
			return apiErr(40055, "invalid button url domain")
		}
	default:
		return apiErr(40017, "invalid button type")
	}
	return ok
}

func (s *Simulator) setIndustry(a *app, _ *http.Request, body []byte) any {
	var req struct {
		ID1 string `json:"industry_id1"`
		ID2 string `json:"industry_id2"`
	}
	if json.Unmarshal(body, &req) != nil || req.ID1 == "" || req.ID2 == "" {
		return apiErr(47001, "data format error")
	}
	a.ext.industry = [2]string{req.ID1, req.ID2}
	return ok
}

func (s *Simulator) addTemplate(a *app, _ *http.Request, body []byte) any {
	var req struct {
		ShortID string `json:"template_id_short"`
	}
	if json.Unmarshal(body, &req) != nil {
		return apiErr(47001, "data format error")
	}
	if a.ext.industry[0] == "" {
		return apiErr(40102, "invalid industry id: set the industry first")
	}
	i := slices.IndexFunc(Library, func(l LibraryTemplate) bool { return l.ShortID == req.ShortID })
	if i < 0 {
		return apiErr(40037, "invalid template_id_short")
	}
	if len(a.ext.templates) >= MaxPrivateTemplates {
		return apiErr(45026, "template num exceeds limit")
	}
	t := Template{ID: randomToken()[:43], Title: Library[i].Title, Content: Library[i].Content}
	a.ext.templates = append(a.ext.templates, t)
	return map[string]any{"errcode": 0, "errmsg": "ok", "template_id": t.ID}
}
