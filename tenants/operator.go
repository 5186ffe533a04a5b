package tenants

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Platform operators: people above every shop (the ops console at /ops,
// the operator API at /api/ops/v1). An operator is created from the
// command line (`microshop operator create EMAIL`), which prints a
// one-time password (the console asks for a new one at the first sign-in)
// and an operator API key (mso_…). Operators are not merchant users: their
// records, keys and sessions are kept apart from the merchants' (other
// tables, another cookie signed under another name, a kind in the session
// record), so neither kind of credential ever stands for the other.

const (
	// operatorKeyPrefix marks operator keys, as msk_ marks merchant keys.
	operatorKeyPrefix = "mso_"
	// OperatorCookie is the ops console's session cookie (path /ops).
	OperatorCookie = "ms_ops"
	// operatorSessionLife is shorter than a merchant's: operators reach
	// every shop.
	operatorSessionLife = 12 * time.Hour
	// oneTimePasswordLen characters of the id alphabet: 100 random bits.
	oneTimePasswordLen = 20
)

// NewOperator is what `microshop operator create` prints, once: the
// operator, its one-time password and its API key.
type NewOperator struct {
	Operator Operator
	Password string
	APIKey   string
}

// normalizeOperatorEmail trims and lower-cases email and checks it.
func normalizeOperatorEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if len(email) > 254 {
		return "", fault.Invalid("email", "must be at most 254 characters")
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return "", fault.Invalid("email", "is not a valid email address")
	}
	return email, nil
}

// CreateOperator records a new operator with a one-time password and a
// first API key. An email another operator has is a conflict (reset that
// operator's credentials with ResetOperator instead).
func (s *Service) CreateOperator(ctx context.Context, email string) (NewOperator, error) {
	email, err := normalizeOperatorEmail(email)
	if err != nil {
		return NewOperator{}, err
	}
	password, hash, err := oneTimePassword()
	if err != nil {
		return NewOperator{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	rec := OperatorRecord{ID: engine.NewID(), Email: email, PasswordHash: hash, MustChange: true, CreatedAt: now}
	if err := s.store.CreateOperator(ctx, rec); err != nil {
		return NewOperator{}, err
	}
	key, err := s.newOperatorKey(ctx, rec.ID, now)
	if err != nil {
		return NewOperator{}, fmt.Errorf("operator %s created, but not its API key (run the command again with --reset): %w", email, err)
	}
	s.log.Info("operator created", "operator", rec.ID, "email", email)
	return NewOperator{Operator: rec.Operator(), Password: password, APIKey: key}, nil
}

// ResetOperator gives the operator with email a new one-time password and
// a new API key, revoking every earlier key and ending every session: for
// an operator whose credentials are lost or leaked.
func (s *Service) ResetOperator(ctx context.Context, email string) (NewOperator, error) {
	email, err := normalizeOperatorEmail(email)
	if err != nil {
		return NewOperator{}, err
	}
	rec, err := s.store.OperatorByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		return NewOperator{}, fault.NotFound("operator")
	}
	if err != nil {
		return NewOperator{}, err
	}
	password, hash, err := oneTimePassword()
	if err != nil {
		return NewOperator{}, err
	}
	if err := s.store.DeleteOperatorKeys(ctx, rec.ID); err != nil {
		return NewOperator{}, err
	}
	if err := s.store.SetOperatorPassword(ctx, rec.ID, hash, true); err != nil {
		return NewOperator{}, err
	}
	if err := s.store.DeleteOperatorSessions(ctx, rec.ID, ""); err != nil {
		return NewOperator{}, err
	}
	key, err := s.newOperatorKey(ctx, rec.ID, s.now().UTC().Truncate(time.Millisecond))
	if err != nil {
		return NewOperator{}, err
	}
	s.log.Info("operator reset", "operator", rec.ID, "email", email)
	return NewOperator{Operator: rec.Operator(), Password: password, APIKey: key}, nil
}

// oneTimePassword is a new operator password, shown once, and its hash.
func oneTimePassword() (password, hash string, err error) {
	password = engine.NewSecret(oneTimePasswordLen)
	if hash, err = HashPassword(password); err != nil {
		return "", "", fmt.Errorf("hash password: %w", err)
	}
	return password, hash, nil
}

// newOperatorKey stores a fresh key of the operator and returns it (the
// key itself is never stored).
func (s *Service) newOperatorKey(ctx context.Context, operatorID string, now time.Time) (string, error) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	key := operatorKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	rec := OperatorKey{ID: engine.NewID(), OperatorID: operatorID, Hash: HashAPIKey(key),
		Prefix: key[:len(operatorKeyPrefix)+6], CreatedAt: now}
	if err := s.store.CreateOperatorKey(ctx, rec); err != nil {
		return "", err
	}
	return key, nil
}

// OperatorByKey resolves an operator API key. Anything but a live mso_
// key (a merchant's msk_ key among them) is errBadOperator; other errors
// are outages.
func (s *Service) OperatorByKey(ctx context.Context, key string) (OperatorRecord, error) {
	if !strings.HasPrefix(key, operatorKeyPrefix) {
		return OperatorRecord{}, errBadOperator
	}
	k, err := s.store.OperatorKeyByHash(ctx, HashAPIKey(key))
	if err != nil {
		return OperatorRecord{}, badOperator(err)
	}
	rec, err := s.store.OperatorByID(ctx, k.OperatorID)
	if err != nil {
		return OperatorRecord{}, badOperator(err)
	}
	return rec, nil
}

// errBadOperator: the credential does not name a live operator.
var errBadOperator = errors.New("not an operator")

// badOperator is errBadOperator for a missing record, err for an outage.
func badOperator(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) {
		return errBadOperator
	}
	return err
}

// AuthenticateOperator checks an operator's email and password from the
// client address ip, under the same limits as merchants' sign-ins (counted
// apart from a merchant account with the same email).
func (s *Service) AuthenticateOperator(ctx context.Context, email, password, ip string) (OperatorRecord, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	gate := s.passwordGate("operator:"+email, ip)
	if err := gate.check(); err != nil {
		return OperatorRecord{}, err
	}
	rec, err := s.store.OperatorByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return OperatorRecord{}, err
	}
	hash := rec.PasswordHash
	if hash == "" {
		hash = dummyHash // unknown emails take as long as known ones
	}
	if !CheckPassword(hash, password) || rec.ID == "" {
		gate.fail()
		return OperatorRecord{}, fault.Unauthorized("wrong email or password")
	}
	gate.pass()
	return rec, nil
}

// ChangeOperatorPassword sets the operator's password to in.New if
// in.Current is the password now (the one-time password too), and ends
// every other session of the operator.
func (s *Service) ChangeOperatorPassword(ctx context.Context, rec OperatorRecord, in PasswordChange, ip, keepSession string) error {
	hash, err := s.newPasswordHash("operator:"+rec.Email, ip, rec.PasswordHash, in)
	if err != nil {
		return err
	}
	if err := s.store.SetOperatorPassword(ctx, rec.ID, hash, false); err != nil {
		return err
	}
	if err := s.store.DeleteOperatorSessions(ctx, rec.ID, keepSession); err != nil {
		return fmt.Errorf("password changed, but ending the other sessions failed: %w", err)
	}
	s.log.Info("operator password changed", "operator", rec.ID)
	return nil
}

// operatorSession is what the ops console's signed cookie carries: its
// record's id, whose it is, its kind and when it expires.
type operatorSession struct {
	ID         string `json:"s"`
	OperatorID string `json:"o"`
	Kind       string `json:"k"`
	Expires    int64  `json:"e"`
}

// operatorMAC signs an operator cookie's payload under a name of its own,
// so that no merchant cookie verifies as an operator's nor the reverse.
func (c *SessionCodec) operatorMAC(payload string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("operator-session:" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (c *SessionCodec) encodeOperator(s operatorSession) string {
	b, _ := json.Marshal(s)
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + c.operatorMAC(p)
}

func (c *SessionCodec) decodeOperator(v string, now time.Time) (operatorSession, error) {
	p, sig, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(c.operatorMAC(p))) {
		return operatorSession{}, errBadOperator
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return operatorSession{}, errBadOperator
	}
	var s operatorSession
	if err := json.Unmarshal(b, &s); err != nil || s.Kind != operatorKind || s.ID == "" || now.Unix() >= s.Expires {
		return operatorSession{}, errBadOperator
	}
	return s, nil
}

// startOperatorSession records a session of the operator and returns its
// cookie's value and expiry.
func (s *Service) startOperatorSession(ctx context.Context, codec *SessionCodec, rec OperatorRecord) (string, time.Time, error) {
	now := s.now().UTC().Truncate(time.Millisecond)
	if err := s.store.DeleteExpiredOperatorSessions(ctx, rec.ID, now); err != nil {
		s.log.Warn("remove expired operator sessions", "operator", rec.ID, "err", err)
	}
	r := OperatorSessionRecord{ID: engine.NewID(), OperatorID: rec.ID, Kind: operatorKind, CreatedAt: now,
		ExpiresAt: now.Add(operatorSessionLife)}
	if err := s.store.CreateOperatorSession(ctx, r); err != nil {
		return "", time.Time{}, fmt.Errorf("start operator session: %w", err)
	}
	v := codec.encodeOperator(operatorSession{ID: r.ID, OperatorID: rec.ID, Kind: operatorKind, Expires: r.ExpiresAt.Unix()})
	return v, r.ExpiresAt, nil
}

// EndOperatorSession ends one ops console session (signing out).
func (s *Service) EndOperatorSession(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	return s.store.DeleteOperatorSession(ctx, id)
}

// operatorFromCookie checks an ops console cookie against its session
// record and returns the session's id and operator. Any reason to sign in
// again is errBadOperator; other errors are outages.
func (s *Service) operatorFromCookie(ctx context.Context, codec *SessionCodec, value string) (string, OperatorRecord, error) {
	sess, err := codec.decodeOperator(value, s.now())
	if err != nil {
		return "", OperatorRecord{}, err
	}
	r, err := s.store.OperatorSessionByID(ctx, sess.ID)
	if err != nil {
		return "", OperatorRecord{}, badOperator(err)
	}
	if r.Kind != operatorKind || r.OperatorID != sess.OperatorID || !s.now().Before(r.ExpiresAt) {
		return "", OperatorRecord{}, errBadOperator
	}
	rec, err := s.store.OperatorByID(ctx, r.OperatorID)
	if err != nil {
		return "", OperatorRecord{}, badOperator(err)
	}
	return r.ID, rec, nil
}
