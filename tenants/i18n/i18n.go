// Package i18n is microshop's translation layer: the message catalogs (one
// TOML file per language under locales/, embedded, edited by translators),
// plural rules (github.com/nicksnyder/go-i18n/v2), the languages the product
// speaks, the request's language on its context, and the Echo middleware
// that chooses it.
//
// Simplified Chinese (zh-CN) is the default everywhere; English (en) is
// complete. A message is named by a dotted id ("cart.title"); its text may
// hold placeholders ({{.Count}}, {{.Amount}}) filled from key/value pairs:
//
//	i18n.T(ctx, "cart.checkout_n", "Count", 2)  →  去结算 (2)
//
// "Count" also picks the plural form (English: one/other; Chinese has
// only other). Money stays ¥39.00 in every language; dates are 2026年12月5日
// in Chinese and ISO (2026-12-05) in English (FormatDate).
//
// The package sits under tenants so that every package may import it; it
// imports nothing of microshop's.
package i18n

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// The languages microshop speaks.
const (
	ZhCN = "zh-CN" // Simplified Chinese, the default
	En   = "en"    // English
	// Default is the language of a request that expresses no preference.
	Default = ZhCN
)

// Langs lists the supported languages, the default first.
var Langs = []string{ZhCN, En}

// Name is a language's name in that language, as a language switch shows it.
func Name(lang string) string {
	switch lang {
	case ZhCN:
		return "中文"
	case En:
		return "English"
	}
	return lang
}

// Supported returns the supported language s names ("zh-CN", "zh", "en",
// any case), and whether it names one.
func Supported(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "zh-cn", "zh", "zh-hans", "zh-hans-cn":
		return ZhCN, true
	case "en":
		return En, true
	}
	return "", false
}

var matcher = language.NewMatcher([]language.Tag{language.MustParse(ZhCN), language.English})

// Match picks the supported language an Accept-Language header prefers:
// any Chinese is zh-CN, any English en; no header, or no language we speak
// in it, is the default.
func Match(acceptLanguage string) string {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return Default
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return Default
	}
	return Langs[i]
}

type ctxKey struct{}

// WithLang returns ctx carrying lang as the language to speak.
func WithLang(ctx context.Context, lang string) context.Context {
	return context.WithValue(ctx, ctxKey{}, lang)
}

// FromContext returns the language ctx carries (set by the middleware), or
// the default.
func FromContext(ctx context.Context) string {
	if lang, ok := ctx.Value(ctxKey{}).(string); ok && lang != "" {
		return lang
	}
	return Default
}

//go:embed locales/*.toml locales/errors/*.toml
var locales embed.FS

// Catalog holds every language's messages.
type Catalog struct {
	bundle *goi18n.Bundle
	locs   map[string]*goi18n.Localizer
	msgs   map[string]map[string]*goi18n.Message // language → id → message
	errs   map[string]map[string]string          // language → English error format → its translation
}

// Load reads the catalogs in fsys. A language's messages may be split by
// area, so that each part of the product has a file a translator can take
// on its own: <language>.toml and <area>.<language>.toml at the root
// ("zh-CN.toml", "console.zh-CN.toml"); an id must not stand in two files
// of one language. Error messages are in errors/<language>.toml (see
// Sprintf). Every supported language must have at least one file.
func Load(fsys fs.FS) (*Catalog, error) {
	c := &Catalog{bundle: goi18n.NewBundle(language.MustParse(Default)),
		locs: map[string]*goi18n.Localizer{}, msgs: map[string]map[string]*goi18n.Message{},
		errs: map[string]map[string]string{}}
	c.bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	names, err := fs.Glob(fsys, "*.toml")
	if err != nil {
		return nil, err
	}
	for _, lang := range Langs {
		c.msgs[lang] = map[string]*goi18n.Message{}
		files := 0
		for _, name := range names {
			if name != lang+".toml" && !strings.HasSuffix(name, "."+lang+".toml") {
				continue
			}
			files++
			buf, err := fs.ReadFile(fsys, name)
			if err != nil {
				return nil, fmt.Errorf("catalog %s: %w", name, err)
			}
			// go-i18n names a file's language by its last dotted part
			// before .toml, so console.zh-CN.toml is zh-CN.
			f, err := c.bundle.ParseMessageFileBytes(buf, name)
			if err != nil {
				return nil, fmt.Errorf("catalog %s: %w", name, err)
			}
			for _, m := range f.Messages {
				if _, dup := c.msgs[lang][m.ID]; dup {
					return nil, fmt.Errorf("catalog %s: %s is defined twice for %s", name, m.ID, lang)
				}
				c.msgs[lang][m.ID] = m
			}
		}
		if files == 0 {
			return nil, fmt.Errorf("catalog %s: no %s.toml", lang, lang)
		}
		c.locs[lang] = goi18n.NewLocalizer(c.bundle, lang)
		errs, err := loadErrors(fsys, lang)
		if err != nil {
			return nil, err
		}
		c.errs[lang] = errs
	}
	return c, nil
}

// Embedded returns the catalogs built into the binary (locales/), parsed
// once. The server calls it at start-up, so a broken catalog fails the boot.
var Embedded = sync.OnceValues(func() (*Catalog, error) {
	sub, err := fs.Sub(locales, "locales")
	if err != nil {
		return nil, err
	}
	return Load(sub)
})

// T translates the message id into the language ctx carries, with the
// key/value pairs that follow as its placeholders (see Catalog.T). It uses
// the embedded catalogs; should they fail to load, it returns the id.
func T(ctx context.Context, id string, pairs ...any) string {
	c, err := Embedded()
	if err != nil {
		return id
	}
	return c.T(FromContext(ctx), id, pairs...)
}

// T translates the message id into lang, filling its placeholders from the
// key/value pairs that follow ("Count", 3, "Amount", "39.00"). A "Count"
// pair also picks the plural form. An unknown id comes back as is (the
// catalog tests and the page tests look for ids left in pages); an unknown
// language is the default.
func (c *Catalog) T(lang, id string, pairs ...any) string {
	loc, ok := c.locs[lang]
	if !ok {
		loc = c.locs[Default]
	}
	cfg := &goi18n.LocalizeConfig{MessageID: id}
	if len(pairs) > 0 {
		data := make(map[string]any, len(pairs)/2)
		for i := 0; i+1 < len(pairs); i += 2 {
			k := fmt.Sprint(pairs[i])
			data[k] = pairs[i+1]
			if k == "Count" {
				cfg.PluralCount = pluralCount(pairs[i+1])
			}
		}
		cfg.TemplateData = data
	}
	s, err := loc.Localize(cfg)
	if err != nil && s == "" {
		return id
	}
	return s
}

// pluralCount makes n a count go-i18n takes (an integer or a decimal string).
func pluralCount(n any) any {
	switch v := n.(type) {
	case int, int8, int16, int32, int64, string:
		return v
	case uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(v)
	case float32, float64:
		return fmt.Sprint(v)
	}
	return fmt.Sprint(n)
}

// Has reports whether lang's catalog holds the message id.
func (c *Catalog) Has(lang, id string) bool {
	_, ok := c.msgs[lang][id]
	return ok
}

// IDs lists lang's message ids, sorted.
func (c *Catalog) IDs(lang string) []string {
	ids := make([]string, 0, len(c.msgs[lang]))
	for id := range c.msgs[lang] {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Forms returns the texts of lang's message id by plural form ("one",
// "other"…), the forms it does not have left out.
func (c *Catalog) Forms(lang, id string) map[string]string {
	m := c.msgs[lang][id]
	if m == nil {
		return nil
	}
	out := map[string]string{}
	for form, s := range map[string]string{"zero": m.Zero, "one": m.One, "two": m.Two, "few": m.Few, "many": m.Many, "other": m.Other} {
		if s != "" {
			out[form] = s
		}
	}
	return out
}

var placeholder = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

// Placeholders lists the names of the placeholders in every form of lang's
// message id, sorted, each once.
func (c *Catalog) Placeholders(lang, id string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range c.Forms(lang, id) {
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				out = append(out, m[1])
			}
		}
	}
	sort.Strings(out)
	return out
}

// JS is the part of lang's catalog the storefront's scripts use: the
// messages under prefix ("js."), keyed by id without the prefix. A plural
// message is an object of its forms ({"one": …, "other": …}), any other a
// string; placeholders stay as {{.Name}} for the script to fill.
func (c *Catalog) JS(lang, prefix string) map[string]any {
	out := map[string]any{}
	for id := range c.msgs[lang] {
		key, ok := strings.CutPrefix(id, prefix)
		if !ok {
			continue
		}
		forms := c.Forms(lang, id)
		if len(forms) == 1 && forms["other"] != "" {
			out[key] = forms["other"]
			continue
		}
		m := map[string]string{}
		for f, s := range forms {
			m[f] = s
		}
		out[key] = m
	}
	return out
}

// Date layouts by language: Chinese writes 2026年12月5日, English ISO 8601.
var (
	dateLayout     = map[string]string{ZhCN: "2006年1月2日", En: "2006-01-02"}
	dateTimeLayout = map[string]string{ZhCN: "2006年1月2日 15:04", En: "2006-01-02 15:04"}
	monthLayout    = map[string]string{ZhCN: "2006年1月", En: "2006-01"}
)

// FormatDate writes t's date in loc (the shop's zone; nil: UTC) the way
// lang writes dates; a zero time is "".
func FormatDate(lang string, t time.Time, loc *time.Location) string {
	return format(dateLayout, lang, t, loc)
}

// FormatDateTime writes t's date and time (to the minute) in loc the way
// lang does; a zero time is "".
func FormatDateTime(lang string, t time.Time, loc *time.Location) string {
	return format(dateTimeLayout, lang, t, loc)
}

// FormatMonth writes t's month (2026年12月, 2026-12) in loc.
func FormatMonth(lang string, t time.Time, loc *time.Location) string {
	return format(monthLayout, lang, t, loc)
}

func format(layouts map[string]string, lang string, t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	layout, ok := layouts[lang]
	if !ok {
		layout = layouts[Default]
	}
	return t.In(loc).Format(layout)
}
