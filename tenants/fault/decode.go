package fault

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// DecodeJSON decodes the request body into v strictly: malformed JSON, wrong
// types, unknown fields and trailing data are all a 400 naming the problem,
// and a body over the server's limit is a 413.
func DecodeJSON(c echo.Context, v any) error {
	body := c.Request().Body
	if body == nil {
		return Invalid("", "request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return Invalid("", "request body has data after the JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return Invalid("", "request body has data after the JSON object")
		}
		return jsonError(err)
	}
	return nil
}

func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return Invalid("", "request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Invalid("", "request body is truncated JSON")
	case errors.As(err, &syntax):
		return Invalid("", "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return Invalid("", "expected a JSON %s, got %s", typeName(typ.Type.Kind().String()), typ.Value)
		}
		return Invalid(field, "must be %s, got %s", typeName(typ.Type.Kind().String()), typ.Value)
	case errors.As(err, &tooBig):
		return TooLarge(tooBig.Limit)
	case isTooLarge(err):
		return TooLarge(0)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return Invalid(name, "unknown field")
	}
	return Invalid("", "invalid JSON: %v", err)
}

func typeName(kind string) Word {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return Word("a " + kind)
}

// isTooLarge reports whether err is a reader's refusal to read past a body
// limit: net/http's MaxBytesReader, or Echo's BodyLimit middleware, whose
// reader returns its own 413 error.
func isTooLarge(err error) bool {
	var tooBig *http.MaxBytesError
	var he *echo.HTTPError
	return errors.As(err, &tooBig) || (errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge)
}
