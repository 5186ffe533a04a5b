package sandbox

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"microshop/tenants/fault"
)

// TestPhoneTextInput: what the phone's fan writes is one line of text: a
// NUL, a right-to-left override or a line break is a 400 naming text.
func TestPhoneTextInput(t *testing.T) {
	for _, tc := range []struct {
		given, text, want string
		ok                bool
	}{
		{"a message", "  Do you deliver to Pudong? ", "Do you deliver to Pudong?", true},
		{"nothing", "   ", "", false},
		{"601 characters", strings.Repeat("好", 601), "", false},
		{"a NUL", "hello\x00there", "", false},
		{"a right-to-left override", "hello \u202Eereht", "", false},
		{"a line break", "hello\nthere", "", false},
	} {
		t.Run(tc.given, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/admin/wechat/phone/text", strings.NewReader(url.Values{"text": {tc.text}}.Encode()))
			req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
			got, err := textInput(echo.New().NewContext(req, httptest.NewRecorder()))
			if tc.ok {
				if err != nil || got != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Status != 400 || fe.Field != "text" {
				t.Fatalf("got %q, %v; want a 400 naming text", got, err)
			}
		})
	}
}
