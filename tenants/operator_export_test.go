package tenants

import (
	"context"
	"time"
)

// What the external tests reach of the operator's sessions.

// StartOperatorSession starts a session of the operator and returns its
// cookie's value.
func (s *Service) StartOperatorSession(ctx context.Context, codec *SessionCodec, rec OperatorRecord) (string, time.Time, error) {
	return s.startOperatorSession(ctx, codec, rec)
}

// OperatorFromCookie checks an ops console cookie's value.
func (s *Service) OperatorFromCookie(ctx context.Context, codec *SessionCodec, value string) (string, OperatorRecord, error) {
	return s.operatorFromCookie(ctx, codec, value)
}
