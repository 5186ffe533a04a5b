package message

import (
	"net/url"
	"regexp"
	"strings"

	"microshop/tenants/fault"
)

// requiredText is fault.Text (one line: trimmed, no control, bidi or
// line-separator characters, at most max characters) that also refuses an
// empty text.
func requiredText(field, s string, max int) (string, error) {
	return nonEmpty(fault.Text, field, s, max)
}

// requiredLines is requiredText for text that may span lines
// (fault.MultilineText).
func requiredLines(field, s string, max int) (string, error) {
	return nonEmpty(fault.MultilineText, field, s, max)
}

// nonEmpty is check (fault.Text or fault.MultilineText) refusing an empty
// text too.
func nonEmpty(check func(field, s string, max int) (string, error), field, s string, max int) (string, error) {
	s, err := check(field, s, max)
	if err == nil && s == "" {
		err = fault.Invalid(field, "is required, at most %d characters", max)
	}
	return s, err
}

// validURL checks a link of a message: an http(s) address or a path of
// the shop; "" when not required.
func validURL(field, s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return "", fault.Invalid(field, "is required")
		}
		return "", nil
	}
	u, err := url.Parse(s)
	if len(s) > 500 || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		if err == nil && u.Scheme == "" && strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") && len(s) <= 500 {
			return s, nil // a page of the shop
		}
		return "", fault.Invalid(field, "must be an http(s) address or a path of the shop, like /s/my-shop/")
	}
	return s, nil
}

// templateField is a template message's field name.
var templateField = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
