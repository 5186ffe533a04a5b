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
	"strings"
)

// Prefix marks a sealed value and its format's version.
const Prefix = "sealed:v1:"

// KeySize is the key's length in bytes (AES-256).
const KeySize = 32

// ErrWrongKey: a sealed value does not open with the platform's key (the
// key changed or was lost, or the value was altered).
var ErrWrongKey = errors.New("a stored secret does not open with the platform's secret key (MICROSHOP_SECRET_KEY or the key file changed or was lost): " +
	"restore the key, or enter the secrets again")

// Box seals and opens values under one key. A Box is safe for concurrent
// use.
type Box struct {
	aead cipher.AEAD
	id   string
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

// Open returns the plain text of v: a sealed value opened with the key, or
// v itself when it was stored before sealing began. A sealed value the key
// does not open is ErrWrongKey.
func (b *Box) Open(v string) (string, error) {
	if !Sealed(v) {
		return v, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(v[len(Prefix):])
	n := b.aead.NonceSize()
	if err != nil || len(raw) < n+b.aead.Overhead() {
		return "", ErrWrongKey
	}
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(Prefix))
	if err != nil {
		return "", ErrWrongKey
	}
	return string(plain), nil
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
