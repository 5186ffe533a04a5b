package engine

import (
	"encoding/json"
	"strings"
	"time"
)

// The stores of both engines share these encodings: SQLite keeps times as
// text and nested values as JSON text; Mongo keeps optional times as absent
// fields, which the domain types express as nil pointers.

// TimeText formats t the way SQLite columns store times: UTC, RFC 3339 with
// fixed-width nanoseconds so text order is time order.
func TimeText(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// ParseTimeText reads a time written by TimeText.
func ParseTimeText(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// OptTimeText is TimeText for an optional time: the zero time is "".
func OptTimeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return TimeText(t)
}

// ParseOptTimeText reads OptTimeText: "" is the zero time.
func ParseOptTimeText(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	return ParseTimeText(s)
}

// ParseOptTime reads an optional time column written by OptTimeText: "" is
// nil.
func ParseOptTime(s string) *time.Time {
	if s == "" {
		return nil
	}
	t := ParseTimeText(s)
	return &t
}

// OptTime is the Mongo twin of OptTimeText: the zero time is nil (an absent
// field), any other time is kept in UTC.
func OptTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// JSONText is v as JSON text, for a SQLite column holding a nested value.
// The values stored are the domain's own types, which always marshal.
func JSONText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Placeholders is "?, ?, ?" for n values of an SQL IN list.
func Placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }
