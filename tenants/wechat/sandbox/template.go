package sandbox

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Template messages: the sandbox accounts' templates and sending one.

// Template is a sandbox template message: its id, title and the fields
// its content asks for.
type Template struct {
	ID      string
	Title   string
	Content string
}

// Fields lists the data keys the template's content uses.
func (t Template) Fields() []string {
	var out []string
	for _, m := range templateField.FindAllStringSubmatch(t.Content, -1) {
		out = append(out, m[1])
	}
	return out
}

var templateField = regexp.MustCompile(`\{\{(\w+)\.DATA\}\}`)

// Templates are every sandbox account's template messages.
var Templates = []Template{
	{ID: "sandbox_order_paid", Title: "订单支付成功 Order paid",
		Content: "{{first.DATA}}\n订单号 Order：{{keyword1.DATA}}\n金额 Amount：{{keyword2.DATA}}\n时间 Time：{{keyword3.DATA}}\n{{remark.DATA}}"},
	{ID: "sandbox_order_shipped", Title: "订单发货 Order shipped",
		Content: "{{first.DATA}}\n订单号 Order：{{keyword1.DATA}}\n快递 Carrier：{{keyword2.DATA}}\n单号 Tracking：{{keyword3.DATA}}\n{{remark.DATA}}"},
	{ID: "sandbox_points_changed", Title: "积分变动 Points changed",
		Content: "{{first.DATA}}\n变动 Change：{{keyword1.DATA}}\n余额 Balance：{{keyword2.DATA}}\n{{remark.DATA}}"},
	{ID: "sandbox_commission", Title: "佣金到账 Commission",
		Content: "{{first.DATA}}\n金额 Amount：{{keyword1.DATA}}\n订单 Order：{{keyword2.DATA}}\n{{remark.DATA}}"},
}

func templateByID(id string) (Template, bool) {
	for _, t := range Templates {
		if t.ID == id {
			return t, true
		}
	}
	return Template{}, false
}

func (s *Simulator) templateList(a *app, _ *http.Request, _ []byte) any {
	type item struct {
		TemplateID      string `json:"template_id"`
		Title           string `json:"title"`
		PrimaryIndustry string `json:"primary_industry"`
		DeputyIndustry  string `json:"deputy_industry"`
		Content         string `json:"content"`
		Example         string `json:"example"`
	}
	list := make([]item, len(Templates))
	for i, t := range Templates {
		list[i] = item{TemplateID: t.ID, Title: t.Title, PrimaryIndustry: "IT科技", DeputyIndustry: "互联网|电子商务", Content: t.Content}
	}
	for _, t := range a.ext.templates { // added from the library (menu.go)
		list = append(list, item{TemplateID: t.ID, Title: t.Title, PrimaryIndustry: "IT科技", DeputyIndustry: "互联网|电子商务", Content: t.Content})
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", "template_list": list}
}

func (s *Simulator) templateSend(a *app, _ *http.Request, body []byte) any {
	var req struct {
		ToUser     string `json:"touser"`
		TemplateID string `json:"template_id"`
		Data       map[string]*struct {
			Value string `json:"value"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return apiErr(47001, "data format error")
	}
	now := s.now()
	m := Sent{At: now, Kind: "template", To: req.ToUser, Template: req.TemplateID, Data: map[string]string{}}
	for k, v := range req.Data {
		if v != nil {
			m.Data[k] = v.Value
		}
	}
	res := s.checkTemplate(a, req.ToUser, req.TemplateID, m.Data, now)
	m.ErrCode, m.ErrMsg = res.ErrCode, res.ErrMsg
	a.record(m)
	if res.ErrCode != 0 {
		return res
	}
	a.templatesSent++
	s.msgID++
	if f := a.fans[req.ToUser]; f != nil {
		f.say(now, "shop", "[template "+req.TemplateID+"] "+m.Data["first"])
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", "msgid": s.msgID}
}

// typedFieldLimits are a category template's typed fields' lengths.
var typedFieldLimits = map[string]int{"thing": 20, "character_string": 32, "phrase": 5}

func (s *Simulator) checkTemplate(a *app, to, id string, data map[string]string, now time.Time) errBody {
	t, known := a.template(id) // the account's own, or a shared sandbox one (menu.go)
	if !known {
		return apiErr(40037, "invalid template_id")
	}
	f := a.fans[to]
	if f == nil {
		return apiErr(40003, "invalid openid")
	}
	if !f.subscribed {
		return apiErr(43004, "require subscribe")
	}
	fields := map[string]bool{}
	for _, k := range t.Fields() {
		fields[k] = true
		if strings.TrimSpace(data[k]) == "" && k != "remark" {
			return apiErr(47003, "argument invalid! data."+k+".value is empty")
		}
	}
	for k, v := range data {
		if !fields[k] {
			return apiErr(47003, "argument invalid! data."+k+" is not a field of "+id)
		}
		if utf8.RuneCountInString(v) > 200 {
			return apiErr(47003, "argument invalid! data."+k+".value exceeds 200 characters")
		}
		if n, ok := typedFieldLimits[strings.TrimRight(k, "0123456789")]; ok && utf8.RuneCountInString(v) > n {
			return apiErr(47003, "argument invalid! data."+k+".value is too long for its type")
		}
	}
	day := now.In(china).Format("2006-01-02")
	if a.templateDay != day {
		a.templateDay, a.templatesSent = day, 0
	}
	if a.templatesSent >= TemplatesPerDay {
		return apiErr(45009, "reach max api daily quota limit")
	}
	return ok
}
