package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
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
// by its short id with the keywords chosen from it.
type LibraryTemplate struct {
	ShortID string
	Title   string
	// Keywords are the template's keywords, in the library's order.
	Keywords []string
	// Types are a category template's keywords' types (thing,
	// character_string, amount, time, phrase, …): its fields are named by
	// type and the keyword's number, e.g. character_string1.
	Types []string
}

// Category reports whether t is a category template (a numeric short id):
// adding one takes keyword_name_list.
func (t LibraryTemplate) Category() bool {
	for _, r := range t.ShortID {
		if r < '0' || r > '9' {
			return false
		}
	}
	return t.ShortID != ""
}

// content is the template's content with keywords, in that order: an
// industry template's fields are keyword1, keyword2, … between first and
// remark; a category template's are named by type and the keyword's
// number in the library, without first and remark.
func (t LibraryTemplate) content(keywords []string) string {
	var b strings.Builder
	if t.Category() {
		for _, k := range keywords {
			j := slices.Index(t.Keywords, k)
			fmt.Fprintf(&b, "%s{{%s%d.DATA}}\n", k, t.Types[j], j+1)
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
	b.WriteString("{{first.DATA}}\n")
	for i, k := range keywords {
		fmt.Fprintf(&b, "%s：{{keyword%d.DATA}}\n", k, i+1)
	}
	b.WriteString("{{remark.DATA}}")
	return b.String()
}

// Library is the sandbox's template library: the service notices a shop
// sends, under the short ids public code uses for WeChat's industry
// library (IT科技 / 互联网|电子商务) where there is one, else sandbox ids
// (OPENTM_SBX_*), and a category template (numeric id) for tests of
// keyword_name_list.
var Library = []LibraryTemplate{
	{ShortID: "OPENTM201752540", Title: "订单支付成功通知", Keywords: []string{"订单商品", "订单编号", "支付金额", "支付时间"}},
	{ShortID: "OPENTM200565259", Title: "订单发货提醒", Keywords: []string{"订单编号", "物流公司", "物流单号", "收货信息"}},
	{ShortID: "TM00004", Title: "退款通知", Keywords: []string{"退款原因", "退款金额"}},
	{ShortID: "OPENTM207112032", Title: "佣金提醒", Keywords: []string{"佣金金额", "订单编号", "时间"}},
	{ShortID: "OPENTM_SBX_POINTS", Title: "积分到期提醒", Keywords: []string{"积分变动", "到期积分", "到期时间"}},
	{ShortID: "OPENTM_SBX_CHECKIN", Title: "签到提醒", Keywords: []string{"签到内容", "日期"}},
	{ShortID: "OPENTM_SBX_GROUP_DEAL", Title: "团购开团提醒", Keywords: []string{"商品名称", "团购价", "截止时间"}},
	{ShortID: "47123", Title: "订单状态通知", Keywords: []string{"订单编号", "订单状态", "时间", "金额"},
		Types: []string{"character_string", "phrase", "time", "amount"}},
}

// CodeBadKeywords: keyword_name_list is empty for a category template, or
// names a keyword the template does not have.
const CodeBadKeywords = 40246

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
		ShortID  string   `json:"template_id_short"`
		Keywords []string `json:"keyword_name_list"`
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
	lib := Library[i]
	kw := req.Keywords
	if len(kw) == 0 {
		if lib.Category() {
			return apiErr(CodeBadKeywords, "keyword_name_list is empty")
		}
		kw = lib.Keywords // an industry template: all its keywords
	}
	seen := map[string]bool{}
	for _, k := range kw {
		if !slices.Contains(lib.Keywords, k) || seen[k] {
			return apiErr(CodeBadKeywords, "keyword_name_list: "+k+" is not a keyword of "+lib.ShortID)
		}
		seen[k] = true
	}
	if len(a.ext.templates) >= MaxPrivateTemplates {
		return apiErr(45026, "template num exceeds limit")
	}
	t := Template{ID: randomToken()[:43], Title: lib.Title, Content: lib.content(kw)}
	a.ext.templates = append(a.ext.templates, t)
	return map[string]any{"errcode": 0, "errmsg": "ok", "template_id": t.ID}
}

// Industry is the account's industry ids as set (empty: none).
func (s *Simulator) Industry(appID string) [2]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[appID]; a != nil {
		return a.ext.industry
	}
	return [2]string{}
}
