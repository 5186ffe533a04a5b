package fault

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestErrorsInJSONOnAPIPaths: every JSON surface (the merchant API, a
// shop's storefront calls, the market's calls) answers its errors in JSON
// whatever the caller accepts; pages do not.
func TestErrorsInJSONOnAPIPaths(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = Handler(slog.New(slog.DiscardHandler))
	fail := func(echo.Context) error { return Conflict("already voted") }
	for _, p := range []string{"/api/v1/x", "/s/tea/api/votes", "/m/api/votes", "/m/vote"} {
		e.GET(p, fail)
	}
	for _, tt := range []struct {
		path string
		json bool
	}{{"/api/v1/x", true}, {"/s/tea/api/votes", true}, {"/m/api/votes", true}, {"/m/vote", false}} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
		isJSON := strings.HasPrefix(rec.Header().Get(echo.HeaderContentType), echo.MIMEApplicationJSON)
		if isJSON != tt.json || (tt.json && (rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "already voted"))) {
			t.Errorf("%s: %d %q %s, want JSON %t", tt.path, rec.Code, rec.Header().Get(echo.HeaderContentType), rec.Body, tt.json)
		}
	}
}
