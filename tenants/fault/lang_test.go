package fault

import (
	"context"
	"errors"
	"testing"

	"microshop/tenants/i18n"
)

func TestErrorIn(t *testing.T) {
	long := Invalid("title", "must be at most %d characters, got %d", 5, 7)
	for _, tc := range []struct {
		err        *Error
		lang, want string
	}{
		{long, i18n.En, "title: must be at most 5 characters, got 7"},
		{long, i18n.ZhCN, "title：最多 5 个字，现在是 7 个"},
		{TooLarge(1024), i18n.ZhCN, "请求内容超过 1024 字节的上限"},
		{Conflict("nobody translated %s", "this"), i18n.ZhCN, "nobody translated this"},
		{NotFound("something odd"), i18n.En, "something odd not found"},
	} {
		if got := tc.err.In(tc.lang); got != tc.want {
			t.Errorf("%q in %s = %q, want %q", tc.err.Message, tc.lang, got, tc.want)
		}
	}
	if long.Message != "title: must be at most 5 characters, got 7" || long.Localized(i18n.ZhCN).Code != "invalid" {
		t.Errorf("the English message or the code changed: %+v", long)
	}
	ctx := i18n.WithLang(context.Background(), i18n.ZhCN)
	if got := Message(ctx, Wrap(long, "saving")); got != "title：最多 5 个字，现在是 7 个" && got != long.In(i18n.ZhCN) {
		t.Errorf("Message(wrapped) = %q", got)
	}
	if got := Message(ctx, errors.New("plain")); got != "plain" {
		t.Errorf("Message(plain) = %q", got)
	}
}
