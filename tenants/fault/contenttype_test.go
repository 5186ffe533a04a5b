package fault

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestRequireJSON: a state-changing call must say it sends JSON, even with
// no body at all; reads and skipped routes pass.
func TestRequireJSON(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		expect      int
	}{
		{"JSON body", http.MethodPost, "/api/x", "application/json", `{}`, http.StatusOK},
		{"JSON with charset", http.MethodPost, "/api/x", "application/json; charset=utf-8", `{}`, http.StatusOK},
		{"JSON in capitals", http.MethodPut, "/api/x", "Application/JSON", `{}`, http.StatusOK},
		{"JSON, empty body", http.MethodPost, "/api/x", "application/json", "", http.StatusOK},
		{"empty body, no type", http.MethodPost, "/api/x", "", "", http.StatusUnsupportedMediaType},
		{"empty body, form type", http.MethodPost, "/api/x", "application/x-www-form-urlencoded", "", http.StatusUnsupportedMediaType},
		{"text/plain JSON-looking body", http.MethodPost, "/api/x", "text/plain", `{"a":"="}`, http.StatusUnsupportedMediaType},
		{"a look-alike type", http.MethodPatch, "/api/x", "application/jsonp", `{}`, http.StatusUnsupportedMediaType},
		{"a malformed type", http.MethodPost, "/api/x", "application/json; ;", `{}`, http.StatusUnsupportedMediaType},
		{"GET needs nothing", http.MethodGet, "/api/x", "", "", http.StatusOK},
		{"DELETE needs nothing", http.MethodDelete, "/api/x", "", "", http.StatusOK},
		{"a skipped route", http.MethodPost, "/upload", "text/csv", "a,b", http.StatusOK},
	}
	e := echo.New()
	e.HTTPErrorHandler = Handler(slog.New(slog.DiscardHandler))
	e.Use(RequireJSONWithConfig(RequireJSONConfig{Skipper: func(c echo.Context) bool { return c.Path() == "/upload" }}))
	ok := func(c echo.Context) error { return c.NoContent(http.StatusOK) }
	e.Any("/api/x", ok)
	e.POST("/upload", ok)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			b, _ := io.ReadAll(rec.Body)
			if rec.Code != tt.expect || (tt.expect == http.StatusUnsupportedMediaType && !strings.Contains(string(b), "application/json")) {
				t.Errorf("%s %s (%q): %d %s, want %d", tt.method, tt.path, tt.contentType, rec.Code, b, tt.expect)
			}
		})
	}
}
