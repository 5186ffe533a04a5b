package wechat

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/officialaccount/message"
)

// Fitting a notice's fields to its template. The shop fills keyword1,
// keyword2, … (and first and remark) in the order its notice kinds define
// (shop/message); set-up adds each kind's template with its keywords in
// that order (keyword_name_list). An industry template's fields are
// keyword1, keyword2, … as sent; a category template's are named by type
// and number (character_string1, amount2, time3, thing4, …) and have no
// first or remark. So before a template message leaves, fields the
// template does not have are fitted: keywordN goes to the template's N-th
// field (first and remark aside), values clipped to the field type's
// length, and fields it has no place for are left out. Data that already
// names the template's fields (a campaign the merchant wrote for it) is
// sent as it is.
//
// The templates' fields come from get_all_private_template, kept per
// account for templateFieldsLife and read again when a template id is not
// among them (at most once per templateFieldsRetry).

const (
	templateFieldsLife  = 10 * time.Minute
	templateFieldsRetry = time.Minute
)

// templateFieldCache keeps accounts' templates' fields, by tenant and AppID.
type templateFieldCache struct {
	mu sync.Mutex
	m  map[string]templateFieldEntry
}

type templateFieldEntry struct {
	at     time.Time
	fields map[string][]string // template id -> its fields, in order
}

var dataField = regexp.MustCompile(`\{\{(\w+)\.DATA\}\}`)

// TemplateFields lists the data fields a template's content asks for, in
// order.
func TemplateFields(content string) []string {
	var out []string
	for _, m := range dataField.FindAllStringSubmatch(content, -1) {
		out = append(out, m[1])
	}
	return out
}

// templateFields is the fields of the account's template id; false when
// they cannot be known (the list failed, or the id is not the account's).
func (a *Account) templateFields(ctx context.Context, id string) ([]string, bool) {
	c := &a.accounts.fields
	key := a.TenantID + ":" + a.Settings.AppID
	cached := func() ([]string, bool, bool) { // fields, known, settled
		now := a.accounts.now()
		c.mu.Lock()
		e, ok := c.m[key]
		c.mu.Unlock()
		if !ok || now.Sub(e.at) >= templateFieldsLife {
			return nil, false, false
		}
		f, ok := e.fields[id]
		return f, ok, ok || now.Sub(e.at) < templateFieldsRetry
	}
	if f, ok, settled := cached(); settled {
		return f, ok
	}
	// One list at a time per account: sends waiting meanwhile use it.
	mu := a.accounts.lock("template-fields:" + key)
	mu.Lock()
	defer mu.Unlock()
	if f, ok, settled := cached(); settled {
		return f, ok
	}
	now := a.accounts.now()
	// A failed list is kept empty: the data goes as it is, and the list is
	// asked again after templateFieldsRetry.
	list, _ := a.Templates(ctx)
	e := templateFieldEntry{at: now, fields: map[string][]string{}}
	for _, t := range list {
		e.fields[t.ID] = TemplateFields(t.Content)
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]templateFieldEntry{}
	}
	c.m[key] = e
	c.mu.Unlock()
	f, ok := e.fields[id]
	return f, ok
}

// fieldSources maps each of a template's fields to the data key that
// fills it (keywordN: its N-th field, first and remark aside); false when
// data already names only the template's fields (sent as it is).
func fieldSources(data map[string]string, fields []string) (map[string]string, bool) {
	has := make(map[string]bool, len(fields))
	for _, f := range fields {
		has[f] = true
	}
	fits := true
	for k := range data {
		if !has[k] {
			fits = false
			break
		}
	}
	if fits || len(fields) == 0 {
		return nil, false
	}
	from := map[string]string{}
	n := 0
	for _, f := range fields {
		if f == "first" || f == "remark" {
			if _, ok := data[f]; ok {
				from[f] = f
			}
			continue
		}
		n++
		if _, ok := data[f]; ok {
			from[f] = f
		} else if k := fmt.Sprintf("keyword%d", n); hasKey(data, k) {
			from[f] = k
		}
	}
	return from, true
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// fieldLimits are the lengths WeChat allows a category template's typed
// fields (characters).
var fieldLimits = map[string]int{"thing": 20, "character_string": 32, "phrase": 5, "number": 32, "letter": 32, "symbol": 5,
	"car_number": 8, "name": 10, "phone_number": 17, "amount": 32, "time": 32, "date": 32}

// clipField clips v to the length field's type allows.
func clipField(field, v string) string {
	typ := strings.TrimRight(field, "0123456789")
	max, ok := fieldLimits[typ]
	if !ok || utf8.RuneCountInString(v) <= max {
		return v
	}
	r := []rune(v)
	if max > 1 {
		return string(r[:max-1]) + "…"
	}
	return string(r[:max])
}

// fitTemplateMessage fits msg's data to fields (a colour given for
// keywordN goes with it to the field).
func fitTemplateMessage(msg *message.TemplateMessage, fields []string) {
	data := make(map[string]string, len(msg.Data))
	for k, v := range msg.Data {
		if v != nil {
			data[k] = v.Value
		}
	}
	from, ok := fieldSources(data, fields)
	if !ok {
		return
	}
	out := make(map[string]*message.TemplateDataItem, len(from))
	for f, k := range from {
		out[f] = &message.TemplateDataItem{Value: clipField(f, msg.Data[k].Value), Color: msg.Data[k].Color}
	}
	msg.Data = out
}
