package points

import (
	"testing"

	"microshop/tenants/i18n"
)

// TestReasonIn: the reasons the system writes read in the page's language;
// a merchant's adjustment reason and a reason no pattern knows as written.
func TestReasonIn(t *testing.T) {
	for _, tc := range []struct {
		e      Entry
		zh, en string
	}{
		{Entry{Kind: KindCheckin, Reason: "day 3 of the streak"}, "连续签到第 3 天", "day 3 of the streak"},
		{Entry{Kind: KindCheckin, Reason: "7 check-in days"}, "本期累计签到 7 天", "7 check-in days"},
		{Entry{Kind: KindRedeem, Reason: "¥5.00 off"}, "抵扣 ¥5.00", "¥5.00 off"},
		{Entry{Kind: KindOrder, Reason: "1 points per yuan on ¥39.00"}, "每元得 1 积分，实付 ¥39.00", "1 points per yuan on ¥39.00"},
		{Entry{Kind: KindAdjust, Reason: "day 3 of the streak"}, "day 3 of the streak", "day 3 of the streak"},
		{Entry{Kind: KindCheckin, Reason: "something else"}, "something else", "something else"},
	} {
		if got := tc.e.ReasonIn(i18n.ZhCN); got != tc.zh {
			t.Errorf("%q in Chinese = %q, want %q", tc.e.Reason, got, tc.zh)
		}
		if got := tc.e.ReasonIn(i18n.En); got != tc.en {
			t.Errorf("%q in English = %q, want %q", tc.e.Reason, got, tc.en)
		}
	}
}
