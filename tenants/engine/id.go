package engine

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"microshop/tenants/fault"
	"strings"
	"time"
)

// idAlphabet is lower-case base32 in ASCII order, so ids are safe in URLs,
// file names and MongoDB database names, and sort as their bytes do.
const idAlphabet = "234567abcdefghijklmnopqrstuvwxyz"

var idEncoding = base32.NewEncoding(idAlphabet).WithPadding(base32.NoPadding)

// IDLen is the length of every id NewID returns.
const IDLen = 16

// idEpoch starts NewID's clock; 40 bits of milliseconds from it last until
// 2054.
var idEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// NewID returns an 80-bit id of IDLen characters: 40 bits of milliseconds,
// then 40 random bits. Ids made close in time sort close together, so a
// table's new rows land on the same few B-tree pages (one page written per
// commit instead of one per row) — on SQLite and in MongoDB's indexes. The
// clock part is no secret: for anything that must not be guessed use
// NewSecret.
func NewID() string {
	var b [10]byte
	ms := uint64(time.Since(idEpoch).Milliseconds())
	binary.BigEndian.PutUint64(b[:8], ms<<24) // the low 40 bits of ms, in b[0:5]
	_, _ = rand.Read(b[5:])                   // crypto/rand.Read never fails on supported platforms
	return idEncoding.EncodeToString(b[:])
}

// NewSecret returns n random characters of the id alphabet (5 bits each):
// codes, passwords and keys that must not be guessed.
func NewSecret(n int) string {
	b := make([]byte, (n*5+7)/8)
	_, _ = rand.Read(b)
	return idEncoding.EncodeToString(b)[:n]
}

// ValidID reports whether s has the shape NewID produces, so malformed ids
// can be refused with a 400 before any query.
func ValidID(s string) bool {
	if len(s) != IDLen {
		return false
	}
	return strings.Trim(s, idAlphabet) == ""
}

// CheckID is nil when id has the shape of an id, and otherwise the 400 that
// says so: `field: "…" is not a product id` for what "product".
func CheckID(field, what, id string) error {
	if ValidID(id) {
		return nil
	}
	article := "a"
	if strings.ContainsRune("aeiou", rune(what[0])) {
		article = "an"
	}
	return fault.Invalid(field, "%q is not %s %s id", fault.Clip(id, 40), article, what)
}
