package message

import (
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"microshop/tenants/fault"
)

// requiredText refuses an empty s or one longer than max characters.
func requiredText(field, s string, max int) error {
	if s == "" || utf8.RuneCountInString(s) > max {
		return fault.Invalid(field, "is required, at most %d characters", max)
	}
	return nil
}

// maxText refuses an s longer than max characters.
func maxText(field, s string, max int) error {
	if utf8.RuneCountInString(s) > max {
		return fault.Invalid(field, "must be at most %d characters", max)
	}
	return nil
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
