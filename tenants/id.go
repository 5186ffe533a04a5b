package tenants

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

// idEncoding is lower-case base32 without padding: ids are safe in URLs,
// file names and MongoDB database names.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// IDLen is the length of every id NewID returns.
const IDLen = 16

// NewID returns a random 80-bit id of IDLen lower-case base32 characters.
func NewID() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return idEncoding.EncodeToString(b[:])
}

// ValidID reports whether s has the shape NewID produces, so malformed ids
// can be refused with a 400 before any query.
func ValidID(s string) bool {
	if len(s) != IDLen {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz234567") == ""
}
