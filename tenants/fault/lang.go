package fault

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"microshop/tenants/i18n"
)

// In returns the error's message in lang: its format translated by the
// error catalog (tenants/i18n, errors/<lang>.toml), the field it names
// translated too ("field price"), English where the catalog has no
// translation. Code and Field never change: they are for programs.
func (e *Error) In(lang string) string {
	format := e.format
	if format == "" {
		format = e.Message
	}
	msg := i18n.Phrase(lang, format)
	if len(e.args) > 0 {
		args := make([]any, len(e.args))
		for i, a := range e.args {
			if w, ok := a.(Word); ok {
				a = i18n.Phrase(lang, string(w))
			}
			args[i] = a
		}
		msg = i18n.SprintfLang(lang, format, args...)
	}
	if e.Field == "" {
		return msg
	}
	label := fieldLabel(lang, e.Field)
	if lang == i18n.ZhCN {
		return label + "：" + msg
	}
	return label + ": " + msg
}

// Localized returns a copy of e whose Message is in lang, for a response.
func (e *Error) Localized(lang string) *Error {
	out := *e
	out.Message = e.In(lang)
	return &out
}

// Message returns what err says to a person reading in ctx's language: a
// fault error's translated message, anything else's text. Pages use it to
// show an error next to a form.
func Message(ctx context.Context, err error) string {
	if err == nil {
		return ""
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe.In(i18n.FromContext(ctx))
	}
	return err.Error()
}

// sprintf is fmt.Sprintf, except that a format without args is taken as is
// (it may hold a literal %).
func sprintf(format string, args []any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// Word is an argument of an error message that is itself a word to
// translate (a kind of character, a JSON type, an action), not data the
// caller sent: In looks it up in the error catalog.
type Word string

var fieldIndex = regexp.MustCompile(`\[(\d+)\]`)

// fieldLabel names field in lang: the error catalog's "field price", or
// for a field in a list ("skus[2].name") its "field skus[].name", whose
// translation takes the item's place, from 1, as %d ("第 %d 个规格的名称");
// the field itself where the catalog has neither.
func fieldLabel(lang, field string) string {
	key := "field " + fieldIndex.ReplaceAllString(field, "[]")
	label := i18n.Phrase(lang, key)
	if label == key {
		return field
	}
	var places []any
	for _, m := range fieldIndex.FindAllStringSubmatch(field, -1) {
		n, _ := strconv.Atoi(m[1])
		places = append(places, n+1)
	}
	if len(places) == 0 || !strings.Contains(label, "%") {
		return label
	}
	return i18n.SprintfLang(lang, label, places...)
}
