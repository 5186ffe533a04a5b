package i18n

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"

	"github.com/BurntSushi/toml"
)

// Error messages are written in English in the code, as fmt formats
// (fault.Invalid("price", "must be at least %d fen", min)), because the
// English text is also what the logs say. Their translations are a
// gettext-style catalog: errors/<language>.toml maps each English format to
// the language's format, with the same verbs (reordered with %[2]s where
// the language puts them elsewhere):
//
//	"must be at least %d fen" = "不能少于 %d 分"
//
// A format the catalog does not know is shown in English. English needs no
// file: the code is its catalog.

// loadErrors reads errors/<lang>.toml and the areas' errors/<area>.<lang>.toml,
// if there are any. A format may stand in one file of a language only.
func loadErrors(fsys fs.FS, lang string) (map[string]string, error) {
	out := map[string]string{}
	names, err := fs.Glob(fsys, "errors/*."+lang+".toml")
	if err != nil {
		return nil, err
	}
	names = append([]string{"errors/" + lang + ".toml"}, names...)
	for _, name := range names {
		buf, err := fs.ReadFile(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("error catalog %s: %w", lang, err)
		}
		part := map[string]string{}
		if err := toml.Unmarshal(buf, &part); err != nil {
			return nil, fmt.Errorf("error catalog %s: %w", name, err)
		}
		for k, v := range part {
			if _, dup := out[k]; dup {
				return nil, fmt.Errorf("error catalog %s: %q is already translated in another file", name, k)
			}
			out[k] = v
		}
	}
	return out, nil
}

// Sprintf formats an error message in lang: format's translation if the
// catalog has one, else format itself, filled with args as fmt does.
// Without args the text is taken as is (it may hold a literal %).
func (c *Catalog) Sprintf(lang, format string, args ...any) string {
	if tr, ok := c.errs[lang][format]; ok && tr != "" {
		format = tr
	}
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// Sprintf is Catalog.Sprintf with the embedded catalogs, in the language
// ctx carries.
func Sprintf(ctx context.Context, format string, args ...any) string {
	return SprintfLang(FromContext(ctx), format, args...)
}

// SprintfLang is Catalog.Sprintf with the embedded catalogs.
func SprintfLang(lang, format string, args ...any) string {
	c, err := Embedded()
	if err != nil {
		if len(args) == 0 {
			return format
		}
		return fmt.Sprintf(format, args...)
	}
	return c.Sprintf(lang, format, args...)
}

// ErrorFormats lists the English formats lang's error catalog translates,
// each with its translation.
func (c *Catalog) ErrorFormats(lang string) map[string]string { return c.errs[lang] }

var verb = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

// Verbs lists the fmt verbs of format as the arguments they take, in
// argument order ("%[2]s" is the second argument's): an error catalog's
// translation must take the same arguments as its English format.
func Verbs(format string) []string {
	var out []string
	next := 1
	byArg := map[int]string{}
	for _, m := range verb.FindAllStringSubmatch(format, -1) {
		v := m[0]
		if v == "%%" {
			continue
		}
		n := next
		if m[1] != "" {
			fmt.Sscanf(m[1], "[%d]", &n)
		}
		byArg[n] = v[len(v)-1:]
		next = n + 1
	}
	for i := 1; i <= len(byArg); i++ {
		out = append(out, byArg[i])
	}
	return out
}

// Phrase translates a fixed error text (no verbs to fill) into lang by the
// error catalog, or returns it as is.
func Phrase(lang, text string) string {
	c, err := Embedded()
	if err != nil {
		return text
	}
	if tr, ok := c.errs[lang][text]; ok && tr != "" {
		return tr
	}
	return text
}
