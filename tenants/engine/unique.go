package engine

import (
	"errors"
	"strings"

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
