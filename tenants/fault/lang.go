package fault

import (
	"context"
	"errors"
	"fmt"

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
		msg = i18n.SprintfLang(lang, format, e.args...)
	}
	if e.Field == "" {
		return msg
	}
	label := i18n.Phrase(lang, "field "+e.Field)
	if label == "field "+e.Field {
		label = e.Field
	}
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
