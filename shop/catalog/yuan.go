package catalog

import (
	"strconv"
	"strings"

	"microshop/tenants/fault"
)

// ParseYuan reads a yuan amount as the console's forms take it ("19.9",
// "19.90", "¥1,299") into fen, exactly: no floating point anywhere.
func ParseYuan(field, s string) (int64, error) {
	s = strings.TrimSpace(strings.NewReplacer("¥", "", "￥", "", ",", "", " ", "").Replace(s))
	if s == "" {
		return 0, fault.Invalid(field, "is required")
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	if hasDot && (len(frac) == 0 || len(frac) > 2) {
		return 0, fault.Invalid(field, "%q: use at most two decimals, like 19.90", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	if strings.HasPrefix(whole, "-") {
		return 0, fault.Invalid(field, "must not be negative")
	}
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || strings.HasPrefix(whole, "+") || w > MaxPrice/100 {
		return 0, fault.Invalid(field, "%q is not an amount in yuan, like 19.90", s)
	}
	return w*100 + f, nil
}

// FormatYuan writes fen as a yuan amount with two decimals.
func FormatYuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return sign + strconv.FormatInt(fen/100, 10) + "." + strconv.FormatInt(100+fen%100, 10)[1:]
}
