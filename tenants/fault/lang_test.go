package fault

import (
	"context"
	"errors"
	"testing"

	"microshop/tenants/i18n"
)

func TestErrorIn(t *testing.T) {
	long := Invalid("title", "must be at most %d characters, got %d", 5, 7)
	// The Chinese texts are the error catalog's (tenants/i18n/locales/errors).
	zhLong := i18n.SprintfLang(i18n.ZhCN, "must be at most %d characters, got %d", 5, 7)
	zhTitle := i18n.Phrase(i18n.ZhCN, "field title")
	if zhLong == "must be at most 5 characters, got 7" || zhTitle == "field title" {
		t.Fatalf("the error catalog does not translate the test's message (%q) or field (%q)", zhLong, zhTitle)
	}
	for _, tc := range []struct {
		err        *Error
		lang, want string
	}{
		{long, i18n.En, "title: must be at most 5 characters, got 7"},
		{long, i18n.ZhCN, zhTitle + "：" + zhLong},
		{TooLarge(1024), i18n.ZhCN, i18n.SprintfLang(i18n.ZhCN, "request body is larger than %d bytes", 1024)},
		{Conflict("nobody translated %s", "this"), i18n.ZhCN, "nobody translated this"},
		{NotFound("something odd"), i18n.En, "something odd not found"},
		{TooManyRequests("wait %d seconds", 3), i18n.En, "wait 3 seconds"},
	} {
		if got := tc.err.In(tc.lang); got != tc.want {
			t.Errorf("%q in %s = %q, want %q", tc.err.Message, tc.lang, got, tc.want)
		}
	}
	if long.Message != "title: must be at most 5 characters, got 7" || long.Localized(i18n.ZhCN).Code != "invalid" {
		t.Errorf("the English message or the code changed: %+v", long)
	}
	ctx := i18n.WithLang(context.Background(), i18n.ZhCN)
	if got := Message(ctx, Wrap(long, "saving")); got != long.In(i18n.ZhCN) {
		t.Errorf("Message(wrapped) = %q", got)
	}
	if got := Message(ctx, errors.New("plain")); got != "plain" {
		t.Errorf("Message(plain) = %q", got)
	}
}

// TestWordsAndListFields: arguments that are words (fault.Word) and the
// place of a field in a list are translated too.
func TestWordsAndListFields(t *testing.T) {
	_, err := Text("skus[1].name", "a\u202eb", 10)
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("Text: %v", err)
	}
	zh := fe.In(i18n.ZhCN)
	if zh != "第 2 个规格的名称：不能包含双向控制字符 U+202E（第 2 个字符）" {
		t.Errorf("in Chinese: %q", zh)
	}
	if en := fe.In(i18n.En); en != fe.Message {
		t.Errorf("in English: %q, want %q", en, fe.Message)
	}
	if got := Conflict("cannot %s an order that is %s", Word("ship"), Word("pending payment")).In(i18n.En); got != "cannot ship an order that is pending payment" {
		t.Errorf("words in English: %q", got)
	}
}
