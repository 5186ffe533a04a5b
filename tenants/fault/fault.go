// Package fault is the error vocabulary shared by every domain package:
// errors that carry the HTTP status they map to, the one Echo error handler
// that renders them (JSON for API calls, an HTML page otherwise), and strict
// JSON decoding that turns bad input into a 400 saying what is wrong.
//
// It lives under tenants because every domain package already depends on
// tenants; it holds no domain rules.
package fault

import (
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"
)

// Error is an error a client may see: its status, a stable machine code, a
// human message, and the offending field for invalid input.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`

	// format and args make Message; In translates them (tenants/i18n's
	// error catalog) into the reader's language.
	format string
	args   []any
}

func (e *Error) Error() string { return e.Message }

// Is matches errors of the same status and code, so errors.Is(err,
// fault.ErrNotFound) holds for any not-found error.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Status == e.Status && t.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrNotFound = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}
	ErrConflict = &Error{Status: http.StatusConflict, Code: "conflict", Message: "conflict"}
	ErrInvalid  = &Error{Status: http.StatusBadRequest, Code: "invalid", Message: "invalid input"}
)

// NotFound says the named thing does not exist (or belongs to another tenant:
// the two are indistinguishable on purpose).
func NotFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: what + " not found", format: what + " not found"}
}

// Invalid says a field's value is wrong and why.
func Invalid(field, format string, args ...any) *Error {
	msg := sprintf(format, args)
	if field != "" {
		msg = field + ": " + msg
	}
	return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: msg, Field: field, format: format, args: args}
}

// Conflict says the request clashes with the current state (a taken slug, an
// invalid transition).
func Conflict(format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Code: "conflict", Message: sprintf(format, args), format: format, args: args}
}

// Unauthorized says the credentials are missing or wrong.
func Unauthorized(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: msg, format: msg}
}

// Forbidden says the caller may not do this, and why.
func Forbidden(format string, args ...any) *Error {
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: sprintf(format, args), format: format, args: args}
}

// TooManyRequests says the caller must slow down, and when to try again.
func TooManyRequests(format string, args ...any) *Error {
	return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: sprintf(format, args), format: format, args: args}
}

// New is an error of any status with its own machine code
// ("out_of_stock"), its message a format as Conflict's.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: sprintf(format, args), format: format, args: args}
}

// WithField returns a copy of e about field: its message says so first,
// as Invalid's does.
func (e *Error) WithField(field string) *Error {
	out := *e
	out.Field = field
	out.Message = field + ": " + e.Message
	return &out
}

// WithCode returns a copy of e with another machine code (a conflict a
// client tells apart: "too_many_unpaid").
func (e *Error) WithCode(code string) *Error {
	out := *e
	out.Code = code
	return &out
}

// CodeSettingsChanged is the code of a settings save refused because the
// settings it was read at were saved over meanwhile (engine.SaveDocAt): a
// console form shows the merchant's values again to be saved knowingly.
const CodeSettingsChanged = "settings_changed"

// HasCode reports whether err is (or wraps) a fault.Error with code.
func HasCode(err error, code string) bool {
	var fe *Error
	return errors.As(err, &fe) && fe.Code == code
}

// Clip shortens s to at most n characters (runes), marking the cut with "…",
// so that an error message can quote what the caller sent without echoing
// all of it.
func Clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// TooLarge says the request body is over the server's limit of limit bytes
// (0: the limit is not known here).
func TooLarge(limit int64) *Error {
	if limit > 0 {
		const format = "request body is larger than %d bytes"
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
			Message: fmt.Sprintf(format, limit), format: format, args: []any{limit}}
	}
	const msg = "request body is too large"
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: msg, format: msg}
}
