package tenants

import (
	"errors"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// IsUniqueViolation reports whether err is a unique-constraint violation on
// either engine. On FerretDB a violation caused by an update comes back as
// an InternalError mentioning the duplicate, so the message is checked too.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	if mongo.IsDuplicateKeyError(err) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "duplicate key")
}

// IsNoDocuments reports whether err says a Mongo query found nothing.
func IsNoDocuments(err error) bool { return errors.Is(err, mongo.ErrNoDocuments) }

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
