package vote

import (
	"context"
	"net/http"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// A shop's rounds: opening one, extending it, and finding the open one.

// CreateRound opens a round of the shop. Rounds of a shop never overlap.
func (s *Service) CreateRound(ctx context.Context, tenantID string, in RoundInput) (Round, error) {
	now := s.clock()
	r := Round{ID: engine.NewID(), CreatedAt: now}
	switch {
	case in.StartNow:
		if in.StartsAt != nil {
			return Round{}, fault.Invalid("starts_at", "give starts_at or start_now, not both")
		}
		r.StartsAt, r.AtOnce = now, true
	case in.StartsAt != nil:
		r.StartsAt = in.StartsAt.UTC().Truncate(time.Second)
		if r.StartsAt.Before(now.Add(-time.Minute)) {
			return Round{}, fault.Invalid("starts_at", "must not be in the past")
		}
		if r.StartsAt.After(now.AddDate(0, 3, 0)) {
			return Round{}, fault.Invalid("starts_at", "must be within 3 months")
		}
	default:
		if in.EndsAt != nil {
			return Round{}, fault.Invalid("ends_at", "give starts_at with ends_at")
		}
		r.StartsAt, _ = Window(now)
	}
	r.EndsAt = nextOpen(r.StartsAt)
	if r.EndsAt.Sub(r.StartsAt) < MinRound {
		// Started in the hour before a window opens (07:30 on a weekday):
		// the round runs through that window rather than being refused as
		// too short.
		r.EndsAt = nextOpen(r.EndsAt)
	}
	if in.EndsAt != nil {
		r.EndsAt = in.EndsAt.UTC().Truncate(time.Second)
	}
	if err := checkLength("ends_at", r.StartsAt, r.EndsAt); err != nil {
		return Round{}, err
	}
	if b, barred, err := s.Barred(ctx, tenantID); err != nil {
		return Round{}, err
	} else if barred {
		return Round{}, errBarred(b)
	}
	recent, err := s.store.Rounds(ctx, tenantID, recentRounds)
	if err != nil {
		return Round{}, err
	}
	for _, o := range recent {
		if o.StartsAt.Before(r.EndsAt) && r.StartsAt.Before(o.EndsAt) {
			return Round{}, fault.New(http.StatusConflict, "round_overlaps", "the round would overlap round %s", o.ID)
		}
	}
	if err := s.store.InsertRound(ctx, tenantID, r); engine.IsUniqueViolation(err) {
		// Made meanwhile by another request or replica (the check above
		// is not atomic; the unique start is).
		return Round{}, fault.New(http.StatusConflict, "round_overlaps", "another round starts at the same time")
	} else if err != nil {
		return Round{}, err
	}
	return r, nil
}

// checkLength checks a round's window.
func checkLength(field string, start, end time.Time) error {
	if d := end.Sub(start); d < MinRound || d > MaxRound {
		return fault.Invalid(field, "a round runs from 1 hour to 7 days")
	}
	return nil
}

// Extend moves an open or scheduled round's end (a holiday), up to
// MaxRound after its start.
func (s *Service) Extend(ctx context.Context, tenantID, id string, end time.Time) (Round, error) {
	r, err := s.Round(ctx, tenantID, id)
	if err != nil {
		return r, err
	}
	end = end.UTC().Truncate(time.Second)
	if r.State(s.clock()) == Ended {
		return r, fault.New(http.StatusConflict, "round_ended", "the round has ended")
	}
	if !end.After(r.EndsAt) {
		return r, fault.Invalid("ends_at", "must be after the round's end")
	}
	if err := checkLength("ends_at", r.StartsAt, end); err != nil {
		return r, err
	}
	recent, err := s.store.Rounds(ctx, tenantID, recentRounds)
	if err != nil {
		return r, err
	}
	for _, o := range recent {
		if o.ID != r.ID && o.StartsAt.Before(end) && r.StartsAt.Before(o.EndsAt) {
			return r, fault.New(http.StatusConflict, "round_overlaps", "the round would overlap round %s", o.ID)
		}
	}
	ok, err := s.store.ExtendRound(ctx, tenantID, id, r.EndsAt, end)
	if err != nil {
		return r, err
	}
	if !ok {
		return r, fault.Conflict("the round was changed meanwhile; try again")
	}
	r.EndsAt = end
	return r, nil
}

// Round returns one round of the shop.
func (s *Service) Round(ctx context.Context, tenantID, id string) (Round, error) {
	if !engine.ValidID(id) {
		return Round{}, fault.NotFound("vote round")
	}
	return s.store.Round(ctx, tenantID, id)
}

// Rounds returns the shop's latest rounds, the latest start first.
func (s *Service) Rounds(ctx context.Context, tenantID string) ([]Round, error) {
	return s.store.Rounds(ctx, tenantID, recentRounds)
}

// Current is the shop's open round; not found if none is open.
func (s *Service) Current(ctx context.Context, tenantID string) (Round, error) {
	list, err := s.store.Rounds(ctx, tenantID, recentRounds)
	if err != nil {
		return Round{}, err
	}
	now := s.clock()
	for _, r := range list {
		if r.State(now) == Open {
			return r, nil
		}
	}
	return Round{}, errClosed
}
