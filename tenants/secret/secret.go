// Package secret seals the secrets the platform keeps at rest (WeChat
// refresh tokens, the third-party platform's AppSecret and message keys)
// with AES-256-GCM under one platform key, so a copy of the database
// alone does not give them away.
//
// A sealed value is text: Prefix, then the base64 of a random 12-byte
// nonce and the ciphertext with its tag. A value without the prefix is
// read as it is (rows written before sealing began) and sealed on its next
// write. A value sealed under another key is ErrWrongKey, never garbage.
//
// The key comes from MICROSHOP_SECRET_KEY (base64 of 32 bytes) or, when
// that is unset, from a key file generated once (mode 0600) beside the
// platform database: see Load.
//
// Rotating the key: a Box may carry previous keys (WithPrevious), a
// keyring where the current key seals and every key opens. The sealed
// format names no key (sealed:v1: stays what it was, so a process that
// knows only the old format reads every value); AES-GCM's tag tells which
// key a value opens with. Stale and Reseal tell and rewrite what a
// previous key sealed, so a pass over the records moves them all to the
// current key, after which the previous keys can be dropped.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Prefix marks a sealed value and its format's version.
const Prefix = "sealed:v1:"

// KeySize is the key's length in bytes (AES-256).
const KeySize = 32

// ErrWrongKey: a sealed value does not open with the platform's key (the
// key changed or was lost, or the value was altered).
var ErrWrongKey = errors.New("a stored secret does not open with the platform's secret key (MICROSHOP_SECRET_KEY or the key file changed or was lost): " +
	"restore the key, or enter the secrets again")

// Box seals and opens values under one key, and opens what its previous
// keys sealed (WithPrevious). A Box is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
	id   string
	// prev are the keys before this one: they open, never seal.
	prev []*Box
}

// New is a Box over a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key: %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	sum := sha256.Sum256(key)
	return &Box{aead: aead, id: hex.EncodeToString(sum[:4])}, nil
}

// Parse is a Box over a base64 key (standard or URL alphabet, padded or
// not), as MICROSHOP_SECRET_KEY holds it.
func Parse(text string) (*Box, error) {
	text = strings.TrimSpace(text)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(text); err == nil {
			return New(key)
		}
	}
	return nil, errors.New("secret key: not base64 (generate one with: head -c 32 /dev/urandom | base64)")
}

// ParseList is the Boxes over a comma-separated list of base64 keys, as
// MICROSHOP_SECRET_KEY_PREVIOUS holds them; empty items are skipped.
func ParseList(text string) ([]*Box, error) {
	var out []*Box
	for i, item := range strings.Split(text, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		b, err := Parse(item)
		if err != nil {
			return nil, fmt.Errorf("key %d of the list: %w", i+1, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// WithPrevious is a Box sealing with b's key that also opens what the
// previous keys (and their own previous keys) sealed: the keyring of a key
// rotation. Keys are tried current first, then in the order given; one
// equal to a key already held is skipped. b itself is unchanged.
func (b *Box) WithPrevious(previous ...*Box) *Box {
	out := &Box{aead: b.aead, id: b.id, prev: slices.Clone(b.prev)}
	for _, p := range previous {
		if p == nil {
			continue
		}
		for _, k := range append([]*Box{p}, p.prev...) {
			if !out.Opens(k.id) {
				out.prev = append(out.prev, &Box{aead: k.aead, id: k.id})
			}
		}
	}
	return out
}

// PreviousIDs are the ids of the previous keys, in the order they are
// tried.
func (b *Box) PreviousIDs() []string {
	ids := make([]string, len(b.prev))
	for i, k := range b.prev {
		ids[i] = k.id
	}
	return ids
}

// Opens reports whether id names the current key or one of the previous
// ones: what a key with that id sealed, b opens.
func (b *Box) Opens(id string) bool {
	return id == b.id || slices.ContainsFunc(b.prev, func(k *Box) bool { return k.id == id })
}

// ID names the key without giving it away (the first bytes of its
// SHA-256), for logs: two replicas with different IDs cannot read each
// other's secrets.
func (b *Box) ID() string { return b.id }

// Sealed reports whether v is a sealed value.
func Sealed(v string) bool { return strings.HasPrefix(v, Prefix) }

// Seal returns plain sealed; the empty string stays empty (nothing to
// hide, and "not set" stays readable). A value already sealed is returned
// as it is.
func (b *Box) Seal(plain string) (string, error) {
	if plain == "" || Sealed(plain) {
		return plain, nil
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal a secret: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(plain), []byte(Prefix))
	return Prefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open returns the plain text of v: a sealed value opened with the
// current key or a previous one, or v itself when it was stored before
// sealing began. A sealed value no key opens is ErrWrongKey.
func (b *Box) Open(v string) (string, error) {
	plain, _, err := b.open(v)
	return plain, err
}

// open is Open, and the key that opened v (nil: v is not sealed).
func (b *Box) open(v string) (string, *Box, error) {
	if !Sealed(v) {
		return v, nil, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(v[len(Prefix):])
	if err != nil {
		return "", nil, ErrWrongKey
	}
	for i := -1; i < len(b.prev); i++ {
		k := b
		if i >= 0 {
			k = b.prev[i]
		}
		n := k.aead.NonceSize()
		if len(raw) < n+k.aead.Overhead() {
			return "", nil, ErrWrongKey // every key has the same sizes
		}
		if plain, err := k.aead.Open(nil, raw[:n], raw[n:], []byte(Prefix)); err == nil {
			return string(plain), k, nil
		}
	}
	return "", nil, ErrWrongKey
}

// SealedWith is the id of the key that opens the sealed value v (the
// current one's or a previous one's); "" for a value that is not sealed.
// A sealed value no key opens is ErrWrongKey.
func (b *Box) SealedWith(v string) (string, error) {
	_, k, err := b.open(v)
	if err != nil || k == nil {
		return "", err
	}
	return k.id, nil
}

// Stale reports whether v is to be written again to be sealed with the
// current key: a value sealed with a previous key, or one not sealed yet
// (the empty string is neither). A sealed value no key opens is
// ErrWrongKey.
func (b *Box) Stale(v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	id, err := b.SealedWith(v)
	if err != nil {
		return false, err
	}
	return id != b.id, nil
}

// Outcome is what resealing a record's secrets came to (Reseal).
type Outcome int

// What resealing came to.
const (
	// NoSecret: the record holds no secret (every value is empty).
	NoSecret Outcome = iota
	// Current: every secret is sealed with the current key already.
	Current
	// Resealed: some were sealed with a previous key or not sealed yet;
	// they are now sealed with the current key.
	Resealed
)

// Reseal seals in place, with the current key, the values sealed with a
// previous key and those not sealed yet; values sealed with the current
// key stay as they are. When one opens with no key, it changes none and
// is ErrWrongKey (the record is left for its owner to enter again, not
// emptied).
func (b *Box) Reseal(vs ...*string) (Outcome, error) {
	out := NoSecret
	plain := make([]string, len(vs))
	stale := make([]bool, len(vs))
	for i, v := range vs {
		if *v == "" {
			continue
		}
		p, k, err := b.open(*v)
		if err != nil {
			return NoSecret, err
		}
		plain[i], stale[i] = p, k != b
		if out == NoSecret {
			out = Current
		}
		if stale[i] {
			out = Resealed
		}
	}
	for i, v := range vs {
		if !stale[i] {
			continue
		}
		sealed, err := b.Seal(plain[i])
		if err != nil {
			return NoSecret, err
		}
		*v = sealed
	}
	return out, nil
}

// ResealRecord reseals one stored record's secrets (Reseal) and writes it
// back: read loads the record and gives its secret values (none: nothing
// to reseal) and how to write it. A write that lost to another writer
// (lost says which errors mean that) is done again from a fresh read, a
// few times, a moment later. With dryRun nothing is written.
func (b *Box) ResealRecord(dryRun bool, lost func(error) bool, read func() ([]*string, func() error, error)) (Outcome, error) {
	for try := 1; ; try++ {
		vs, write, err := read()
		if err != nil {
			return NoSecret, err
		}
		out, err := b.Reseal(vs...)
		if err != nil || out != Resealed || dryRun {
			return out, err
		}
		err = write()
		if err != nil && lost(err) && try < 10 {
			time.Sleep(time.Duration(try) * 5 * time.Millisecond)
			continue
		}
		return out, err
	}
}

// SealAll seals the values in place (Seal of each).
func (b *Box) SealAll(vs ...*string) error {
	for _, v := range vs {
		sealed, err := b.Seal(*v)
		if err != nil {
			return err
		}
		*v = sealed
	}
	return nil
}

// OpenAll opens the values in place. One the key does not open is emptied
// and, once the others are open, the result is ErrWrongKey: the caller
// has the record with those secrets missing (what entering them again
// needs); any other error stops at once.
func (b *Box) OpenAll(vs ...*string) error {
	var wrong error
	for _, v := range vs {
		plain, err := b.Open(*v)
		if errors.Is(err, ErrWrongKey) {
			*v, wrong = "", ErrWrongKey
			continue
		}
		if err != nil {
			return err
		}
		*v = plain
	}
	return wrong
}
