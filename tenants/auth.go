package tenants

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"microshop/tenants/engine"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// PasswordCost is bcrypt's cost for merchant passwords (REFERENCE.md: 10 or more).
const PasswordCost = 11

// HashPassword hashes a password with bcrypt.
func HashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), PasswordCost)
	return string(h), err
}

// CheckPassword reports whether pw matches hash.
func CheckPassword(hash, pw string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// apiKeyPrefix marks microshop keys so they are recognisable in logs and
// secret scanners.
const apiKeyPrefix = "msk_"

// NewAPIKey returns a fresh key (shown once) and its record (stored).
func NewAPIKey(tenantID string, now time.Time) (string, APIKey) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	key := apiKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return key, APIKey{ID: engine.NewID(), TenantID: tenantID, Hash: HashAPIKey(key), Prefix: key[:len(apiKeyPrefix)+6], CreatedAt: now}
}

// HashAPIKey is how keys are stored and looked up: a key has 256 random bits,
// so a fast hash is enough (no password stretching needed).
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Session is what the signed session cookie carries: the id of its record
// in the platform store (SessionRecord), whose user and shop it is, and when
// it expires.
type Session struct {
	ID       string `json:"s"`
	UserID   string `json:"u"`
	TenantID string `json:"t"`
	Expires  int64  `json:"e"`
}

// SessionCodec signs and verifies session cookies with the platform secret,
// so a forged or altered cookie is refused before the store is asked about
// its session.
type SessionCodec struct{ key []byte }

// NewSessionCodec returns a codec keyed by secret.
func NewSessionCodec(secret []byte) *SessionCodec { return &SessionCodec{key: secret} }

func (c *SessionCodec) mac(payload string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("session:" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Encode signs s into a cookie value.
func (c *SessionCodec) Encode(s Session) string {
	b, _ := json.Marshal(s)
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + c.mac(p)
}

// errBadSession covers every way a cookie can fail: the caller only needs
// to know it is not a valid session.
var errBadSession = errors.New("invalid session")

// Decode verifies a cookie value and returns its session if unexpired.
func (c *SessionCodec) Decode(v string, now time.Time) (Session, error) {
	p, sig, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(c.mac(p))) {
		return Session{}, errBadSession
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return Session{}, errBadSession
	}
	var s Session
	if err := json.Unmarshal(b, &s); err != nil || now.Unix() >= s.Expires {
		return Session{}, errBadSession
	}
	return s, nil
}
