package order

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/i18n"
)

// idempotencyWindow is how long an Idempotency-Key replays its answer.
const idempotencyWindow = 24 * time.Hour

// PlaceAnswer is what placing an order answered: the HTTP status and the
// JSON body, kept under the request's Idempotency-Key so that a retry gets
// the same answer. Replayed marks an answer to such a retry.
type PlaceAnswer struct {
	Status   int
	Body     []byte
	Replayed bool
}

func placeAnswer(status int, v any) PlaceAnswer {
	b, _ := json.Marshal(v) // orders and fault errors always marshal
	return PlaceAnswer{Status: status, Body: b}
}

// PlaceIdempotent places an order once per Idempotency-Key (key, "" for
// none) of the fan: a retry with the same key and request body replays the
// first answer for 24 hours, and the same key with another body is a 409.
// The order's id is reserved with the key, so a retry racing the first
// request never places a second order. body is the request as sent, req
// the same decoded.
func (s *Service) PlaceIdempotent(ctx context.Context, tenantID, fanID, key string, body []byte, req PlaceRequest) (PlaceAnswer, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		o, err := s.Place(ctx, tenantID, fanID, "", req)
		if err != nil {
			return PlaceAnswer{}, err
		}
		return placeAnswer(http.StatusCreated, o), nil
	}
	if len(key) > 128 {
		return PlaceAnswer{}, fault.Invalid("Idempotency-Key", "must be at most 128 characters")
	}
	sum := sha256.Sum256(body)
	now := s.clock()
	claim := IdemKey{Scope: fanID, Key: key, Hash: hex.EncodeToString(sum[:]), OrderID: engine.NewID(), At: now}
	rec, claimed, err := s.store.ClaimKey(ctx, tenantID, claim, now.Add(-idempotencyWindow))
	if err != nil {
		return PlaceAnswer{}, err
	}
	if !claimed {
		a, err := s.replay(ctx, tenantID, claim, rec)
		a.Replayed = true
		return a, err
	}
	o, finished, err := s.place(ctx, tenantID, fanID, rec.OrderID, req, &rec)
	var a PlaceAnswer
	var fe *fault.Error
	switch {
	case err == nil:
		a = placeAnswer(http.StatusCreated, o)
		if finished { // stored with the order (Store.Placed)
			return a, nil
		}
	case errors.As(err, &fe) && fe.Status < 500:
		// In the shopper's language, as the error handler would answer it
		// (the answer is kept as sent: a retry gets the same words).
		a = placeAnswer(fe.Status, map[string]*fault.Error{"error": fe.Localized(i18n.FromContext(ctx))})
	default:
		// Our failure, not the request's: forget the key so a retry runs
		// again instead of waiting out the window.
		if rerr := s.store.ReleaseKey(context.WithoutCancel(ctx), tenantID, rec); rerr != nil {
			return PlaceAnswer{}, errors.Join(err, rerr)
		}
		return PlaceAnswer{}, err
	}
	rec.Status, rec.Body = a.Status, a.Body
	if err := s.store.FinishKey(ctx, tenantID, rec); err != nil {
		return PlaceAnswer{}, err
	}
	return a, nil
}

// replay answers a request whose key was claimed before (rec) by the first
// request's answer.
func (s *Service) replay(ctx context.Context, tenantID string, claim, rec IdemKey) (PlaceAnswer, error) {
	switch {
	case rec.Hash != claim.Hash:
		return PlaceAnswer{}, fault.Conflict("this Idempotency-Key was used for a different request")
	case rec.Status != 0:
		return PlaceAnswer{Status: rec.Status, Body: rec.Body}, nil
	}
	// The first request is still running, or died before recording its
	// answer: answer with the order if it got that far.
	o, err := s.store.Get(ctx, tenantID, rec.OrderID)
	if err == nil && visible(o.Status) {
		return placeAnswer(http.StatusCreated, o), nil
	}
	return PlaceAnswer{}, fault.Conflict("a request with this Idempotency-Key is still in progress; retry in a moment")
}
