package fault

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	tests := []struct {
		name      string
		given     string
		max       int
		multiline bool
		expect    string
		expectErr string // part of the message; "" for no error
	}{
		{name: "plain name", given: "Tea House", max: 64, expect: "Tea House"},
		{name: "trimmed", given: "  Tea House \t", max: 64, expect: "Tea House"},
		{name: "empty is for the caller to refuse", given: "   ", max: 64, expect: ""},
		{name: "CJK counts characters, not bytes", given: "西湖龙井茶叶店", max: 7, expect: "西湖龙井茶叶店"},
		{name: "emoji with joiners", given: "👨‍👩‍👧 shop", max: 64, expect: "👨‍👩‍👧 shop"},
		{name: "too long", given: "西湖龙井茶叶店", max: 6, expectErr: "at most 6 characters"},
		{name: "NUL", given: "Tea\x00House", max: 64, expectErr: "U+0000"},
		{name: "escape", given: "Tea\x1b[31mHouse", max: 64, expectErr: "U+001B"},
		{name: "newline in a name", given: "Tea\nHouse", max: 64, expectErr: "U+000A"},
		{name: "carriage return", given: "Tea\rHouse", max: 64, expectErr: "U+000D"},
		{name: "tab inside a name", given: "Tea\tHouse", max: 64, expectErr: "U+0009"},
		{name: "DEL", given: "Tea\x7fHouse", max: 64, expectErr: "U+007F"},
		{name: "C1 control", given: "Tea\u0085House", max: 64, expectErr: "U+0085"},
		{name: "C1 end", given: "Tea\u009fHouse", max: 64, expectErr: "U+009F"},
		{name: "left-to-right mark", given: "Tea\u200eHouse", max: 64, expectErr: "U+200E"},
		{name: "right-to-left mark", given: "Tea\u200fHouse", max: 64, expectErr: "U+200F"},
		{name: "right-to-left override", given: "exe.\u202egpj", max: 64, expectErr: "U+202E"},
		{name: "left-to-right embedding", given: "a\u202ab", max: 64, expectErr: "U+202A"},
		{name: "isolate", given: "a\u2066b", max: 64, expectErr: "U+2066"},
		{name: "pop isolate", given: "a\u2069b", max: 64, expectErr: "U+2069"},
		{name: "arabic letter mark", given: "a\u061cb", max: 64, expectErr: "U+061C"},
		{name: "line separator", given: "a\u2028b", max: 64, expectErr: "U+2028"},
		{name: "invalid UTF-8", given: "a\xffb", max: 64, expectErr: "UTF-8"},
		{name: "multi-line keeps newlines and tabs", given: " line 1\n\tline 2 ", max: 64, multiline: true, expect: "line 1\n\tline 2"},
		{name: "multi-line turns CRLF into LF", given: "line 1\r\nline 2", max: 64, multiline: true, expect: "line 1\nline 2"},
		{name: "multi-line refuses a lone CR", given: "line 1\rline 2", max: 64, multiline: true, expectErr: "U+000D"},
		{name: "multi-line refuses NUL", given: "a\x00", max: 64, multiline: true, expectErr: "U+0000"},
		{name: "multi-line refuses bidi", given: "a\u202eb", max: 64, multiline: true, expectErr: "U+202E"},
		{name: "multi-line refuses a line separator", given: "a\u2029b", max: 64, multiline: true, expectErr: "U+2029"},
		{name: "multi-line length after CRLF", given: "ab\r\ncd", max: 5, multiline: true, expect: "ab\ncd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := Text
			if tt.multiline {
				text = MultilineText
			}
			got, err := text("name", tt.given, tt.max)
			if tt.expectErr == "" {
				if err != nil || got != tt.expect {
					t.Fatalf("got %q, %v; want %q", got, err, tt.expect)
				}
				return
			}
			var fe *Error
			if !errors.As(err, &fe) || fe.Status != http.StatusBadRequest || fe.Field != "name" ||
				!strings.Contains(fe.Message, tt.expectErr) || !strings.HasPrefix(fe.Message, "name: ") {
				t.Fatalf("got %q, %#v; want a 400 on name saying %q", got, err, tt.expectErr)
			}
		})
	}
}
