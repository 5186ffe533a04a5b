package fault

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// chunked is a body of unknown length: the request is sent chunked.
type chunked struct{ io.Reader }

// TestDecodeJSONOverLimit: a body over the limit is a 413 whether its
// length was announced or not, whichever reader enforces the limit.
func TestDecodeJSONOverLimit(t *testing.T) {
	big := `{"name":"` + strings.Repeat("x", 4<<10) + `"}`
	tests := []struct {
		name   string
		limit  echo.MiddlewareFunc
		body   io.Reader
		expect int
	}{
		{"echo limit, chunked", middleware.BodyLimit("1K"), chunked{strings.NewReader(big)}, http.StatusRequestEntityTooLarge},
		{"echo limit, announced", middleware.BodyLimit("1K"), strings.NewReader(big), http.StatusRequestEntityTooLarge},
		{"max bytes reader, chunked", maxBytes(1 << 10), chunked{strings.NewReader(big)}, http.StatusRequestEntityTooLarge},
		{"under the limit", middleware.BodyLimit("1K"), chunked{strings.NewReader(`{"name":"x"}`)}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			e.HTTPErrorHandler = Handler(slog.New(slog.DiscardHandler))
			e.Use(tt.limit)
			e.POST("/api/x", func(c echo.Context) error {
				var v struct{ Name string }
				if err := DecodeJSON(c, &v); err != nil {
					return err
				}
				return c.NoContent(http.StatusOK)
			})
			srv := httptest.NewServer(e)
			defer srv.Close()
			resp, err := http.Post(srv.URL+"/api/x", "application/json", tt.body)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct{ Error Error }
			_ = json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != tt.expect || (tt.expect != http.StatusOK && out.Error.Code != "too_large") {
				t.Errorf("status %d %+v, want %d", resp.StatusCode, out.Error, tt.expect)
			}
		})
	}
}

func maxBytes(n int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, n)
			return next(c)
		}
	}
}
