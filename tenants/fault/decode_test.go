package fault

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
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

// TestDecodeJSONOnto: a field sent replaces the current one whole (a list
// is not merged element by element into the old one, a map not into the
// old map), a field left out keeps its value, and bad input is the 400
// DecodeJSON gives, naming the field.
func TestDecodeJSONOnto(t *testing.T) {
	type rule struct {
		Product string  `json:"product"`
		Levels  []int64 `json:"levels,omitempty"`
		Fixed   []int64 `json:"fixed,omitempty"`
	}
	type Base struct {
		Rev int64 `json:"rev"`
	}
	type doc struct {
		Base
		Rate   int               `json:"rate"`
		Rules  []rule            `json:"rules"`
		Names  map[string]string `json:"names"`
		Secret string            `json:"-"`
	}
	current := func() doc {
		return doc{Base: Base{Rev: 4}, Rate: 20, Rules: []rule{{Product: "a", Levels: []int64{500}, Fixed: []int64{100}}},
			Names: map[string]string{"x": "1", "y": "2"}, Secret: "kept"}
	}
	tests := []struct {
		name  string
		body  string
		want  func(d *doc)
		field string // of the 400, when the body is refused
	}{
		{"nothing sent", `{}`, func(*doc) {}, ""},
		{"one field", `{"rate":30}`, func(d *doc) { d.Rate = 30 }, ""},
		{"a list replaced whole", `{"rules":[{"product":"b","levels":[300]}]}`,
			func(d *doc) { d.Rules = []rule{{Product: "b", Levels: []int64{300}}} }, ""},
		{"a map replaced whole", `{"names":{"z":"3"}}`, func(d *doc) { d.Names = map[string]string{"z": "3"} }, ""},
		{"an embedded field", `{"rev":7}`, func(d *doc) { d.Rev = 7 }, ""},
		{"a name in other case", `{"Rate":40}`, func(d *doc) { d.Rate = 40 }, ""},
		{"a hidden field cannot be sent", `{"Secret":"x"}`, nil, "Secret"},
		{"unknown field", `{"rate":1,"colour":"red"}`, nil, "colour"},
		{"wrong type", `{"rate":"fast"}`, nil, "rate"},
		{"not an object", `[1]`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			req := httptest.NewRequest(http.MethodPut, "/", strings.NewReader(tt.body))
			c := e.NewContext(req, httptest.NewRecorder())
			got := current()
			err := DecodeJSONOnto(c, &got)
			if tt.want == nil {
				var f *Error
				if !errors.As(err, &f) || f.Status != http.StatusBadRequest || f.Field != tt.field {
					t.Fatalf("err = %#v, want a 400 on field %q", err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := current()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded %+v\nwant    %+v", got, want)
			}
		})
	}
}
