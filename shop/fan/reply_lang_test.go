package fan

import (
	"strings"
	"testing"
	"time"

	"microshop/tenants/i18n"
)

// TestReplyWindowInLanguages: the reason a closed reply window gives reads
// in English exactly as ReplyWindow's (fan.go) and in Chinese as the error
// catalog has it, with the dates written the language's way; an open
// window has no reason in either.
func TestReplyWindowInLanguages(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	for _, tc := range []struct {
		name string
		fan  Fan
		zh   string // a part of the Chinese reason ("" for an open window)
	}{
		{"given no openid", Fan{}, "没有关注"},
		{"given a fan who unfollowed", Fan{OpenID: "o1", UnsubscribedAt: now.Add(-time.Hour)}, "2026年12月5日 19:00 取消关注"},
		{"given a fan who never wrote", Fan{OpenID: "o1", Subscribed: true}, "还没有给公众号发过消息"},
		{"given the replies used up", Fan{OpenID: "o1", Subscribed: true, LastMessageAt: now.Add(-time.Hour),
			RepliesSinceMessage: MessageReplies}, "5 条回复已经用完"},
		{"given a window closed", Fan{OpenID: "o1", Subscribed: true, LastMessageAt: now.Add(-50 * time.Hour)},
			"窗口已于 2026年12月5日 18:00 关闭"},
		{"given an open window", Fan{OpenID: "o1", Subscribed: true, LastMessageAt: now.Add(-time.Hour)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.fan.ReplyWindow(now, loc)
			if en := replyWindowIn(i18n.En, tc.fan, now, loc); en != want {
				t.Errorf("en: %+v, want ReplyWindow's %+v", en, want)
			}
			zh := replyWindowIn(i18n.ZhCN, tc.fan, now, loc)
			switch {
			case tc.zh == "" && (zh.Reason != "" || closedWindow(i18n.ZhCN, tc.fan, now, loc) != nil):
				t.Errorf("an open window has a reason: %q", zh.Reason)
			case tc.zh != "" && !strings.Contains(zh.Reason, tc.zh):
				t.Errorf("zh-CN: %q, want it to hold %q", zh.Reason, tc.zh)
			case tc.zh != "" && closedWindow(i18n.ZhCN, tc.fan, now, loc).Error() == zh.Reason:
				t.Errorf("the error's own message (for logs) is not English: %q", zh.Reason)
			}
		})
	}
}
