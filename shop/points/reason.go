package points

import (
	"context"
	"regexp"

	"microshop/tenants/i18n"
)

// The reasons the system writes on ledger entries are English with numbers
// in them ("day 3 of the streak", "¥5.00 off"): they stay so in the
// database and the API, and pages show them in the reader's language by
// their pattern. A merchant's adjustment reason is shown as typed.
var systemReasons = []struct {
	pattern *regexp.Regexp
	id      string
	keys    []string // the message's placeholders, one per group
}{
	{regexp.MustCompile(`^day (\d+) of the streak$`), "points.reason.streak_day", []string{"Day"}},
	{regexp.MustCompile(`^(\d+) check-in days$`), "points.reason.checkin_days", []string{"Count"}},
	{regexp.MustCompile(`^¥(\d+\.\d\d) off$`), "points.reason.redeemed", []string{"Amount"}},
	{regexp.MustCompile(`^(\d+) points per yuan on ¥(\d+\.\d\d)$`), "points.reason.earned", []string{"Rate", "Amount"}},
	{regexp.MustCompile(`^refund of ¥(\d+\.\d\d)$`), "points.reason.refund", []string{"Amount"}},
	{regexp.MustCompile(`^order refunded$`), "points.reason.order_refunded", nil},
	{regexp.MustCompile(`^order cancelled$`), "points.reason.order_cancelled", nil},
}

// ReasonIn is the entry's reason as a reader of lang sees it: a reason the
// system wrote in lang's words, a merchant's adjustment reason (or one no
// pattern knows) as it is.
func (e Entry) ReasonIn(lang string) string {
	if e.Kind == KindAdjust {
		return e.Reason
	}
	for _, r := range systemReasons {
		m := r.pattern.FindStringSubmatch(e.Reason)
		if m == nil {
			continue
		}
		pairs := make([]any, 0, 2*len(r.keys))
		for i, k := range r.keys {
			pairs = append(pairs, k, m[i+1])
		}
		return i18n.T(i18n.WithLang(context.Background(), lang), r.id, pairs...)
	}
	return e.Reason
}
