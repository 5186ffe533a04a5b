package fault

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
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

// DecodeJSONOnto decodes the request body onto *v, the current value of a
// document (a struct): each top-level field the body sends replaces v's
// field whole, and a field left out keeps its value. Decoding straight
// onto the current value is not that: encoding/json decodes a sent list
// onto the old list's elements, so a commission rule sent without "fixed"
// would keep the fixed amounts of whatever rule stood at its index before,
// and a sent map would be merged into the old one. Errors are
// DecodeJSON's.
func DecodeJSONOnto(c echo.Context, v any) error {
	var raw json.RawMessage
	if err := DecodeJSON(c, &raw); err != nil {
		return err
	}
	var sent map[string]json.RawMessage
	if err := json.Unmarshal(raw, &sent); err != nil {
		return jsonError(err) // not an object
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.Elem().Kind() == reflect.Struct {
		clearSent(rv.Elem(), sent)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	return nil
}

// clearSent zeroes the fields of the struct v that sent names (by their
// JSON names, matched as encoding/json matches them: case aside), looking
// into embedded structs as encoding/json does.
func clearSent(v reflect.Value, sent map[string]json.RawMessage) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			clearSent(v.Field(i), sent)
			continue
		}
		if name == "" {
			name = f.Name
		}
		for k := range sent {
			if strings.EqualFold(k, name) {
				v.Field(i).SetZero()
				break
			}
		}
	}
}
