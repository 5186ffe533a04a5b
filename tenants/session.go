package tenants

import (
	"context"
	"fmt"
	"time"

	"microshop/tenants/engine"
)

// A console session is a record in the platform store; the signed cookie
// carries its id (Session.ID). Every request reads the record, on whichever
// replica serves it, so signing out, changing the password and "sign out
// everywhere" end sessions at once on every replica. There is no in-process
// cache of sessions: the read is one lookup by primary key.

// SessionRecord is one console session as the platform store keeps it.
type SessionRecord struct {
	ID        string    `bson:"_id"`
	UserID    string    `bson:"user_id"`
	TenantID  string    `bson:"tenant_id"`
	CreatedAt time.Time `bson:"created_at"`
	ExpiresAt time.Time `bson:"expires_at"`
}

// sessionStore is implemented by both platform stores.
type sessionStore interface {
	CreateSession(ctx context.Context, r SessionRecord) error
	// SessionByID returns the session; none is fault.NotFound.
	SessionByID(ctx context.Context, id string) (SessionRecord, error)
	// DeleteSession ends one session (none is not an error).
	DeleteSession(ctx context.Context, id string) error
	// DeleteUserSessions ends every session of the user but keepID ("" keeps none).
	DeleteUserSessions(ctx context.Context, userID, keepID string) error
	// DeleteExpiredSessions removes the user's sessions expired at now.
	DeleteExpiredSessions(ctx context.Context, userID string, now time.Time) error
}

// StartSession records a new session of u and returns what its cookie
// carries. The user's expired sessions are removed on the way, so records
// do not pile up.
func (s *Service) StartSession(ctx context.Context, u User) (Session, error) {
	now := s.now().UTC().Truncate(time.Millisecond)
	if err := s.store.DeleteExpiredSessions(ctx, u.ID, now); err != nil {
		s.log.Warn("remove expired sessions", "user", u.ID, "err", err)
	}
	r := SessionRecord{ID: engine.NewID(), UserID: u.ID, TenantID: u.TenantID, CreatedAt: now, ExpiresAt: now.Add(sessionLife)}
	if err := s.store.CreateSession(ctx, r); err != nil {
		return Session{}, fmt.Errorf("start session: %w", err)
	}
	return Session{ID: r.ID, UserID: u.ID, TenantID: u.TenantID, Expires: r.ExpiresAt.Unix()}, nil
}

// EndSession ends one session (signing out).
func (s *Service) EndSession(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	return s.store.DeleteSession(ctx, id)
}

// EndUserSessions ends every session of the user but keepID ("" ends them
// all: "sign out everywhere").
func (s *Service) EndUserSessions(ctx context.Context, userID, keepID string) error {
	return s.store.DeleteUserSessions(ctx, userID, keepID)
}

// liveSession checks the cookie's session against its record: it must
// exist, be the cookie's user's, and not have expired. Any reason to sign
// in again is errBadSession; other errors are outages.
func (s *Service) liveSession(ctx context.Context, sess Session) error {
	if sess.ID == "" {
		return errBadSession // a cookie from before sessions were recorded
	}
	r, err := s.store.SessionByID(ctx, sess.ID)
	if err != nil {
		return badSession(err)
	}
	if r.UserID != sess.UserID || r.TenantID != sess.TenantID || !s.now().Before(r.ExpiresAt) {
		return errBadSession
	}
	return nil
}
