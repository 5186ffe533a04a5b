package aftersale

import (
	"context"
	"time"
)

// The after-sale window is the shop's one number for "how long after an
// order completed may the shopper still ask for after-sale": the shopper's
// requests (Create) and the settlement of commission (distribution's
// ledger asks WindowEnd when an order completes) both follow it. The
// merchant sets it with the other deadlines (/admin/after-sales, PUT
// /api/v1/after-sale-settings).
//
// It used to be two: commission waited the distribution setting
// after_sale_days. A shop that never saved after-sale settings adopts
// that old value as its window the first time its settings are read
// (clamped to 1..MaxWindowDays; LegacyWindow, plugged by server), saved
// with an insert that never overwrites settings the merchant saved
// meanwhile. From then on the distribution setting decides nothing.

// LegacyWindow gives the shop's old commission window in days (the
// distribution setting after_sale_days); ok false when there is none.
type LegacyWindow func(ctx context.Context, tenantID string) (days int, ok bool, err error)

// SetLegacyWindow plugs in where a shop's old window is read from.
func (s *Service) SetLegacyWindow(f LegacyWindow) { s.legacy = f }

// settings are the shop's window and deadlines; a shop that never saved
// them adopts its old commission window first (once).
func (s *Service) settings(ctx context.Context, tenantID string) (Settings, error) {
	st, found, err := s.store.StoredSettings(ctx, tenantID)
	if err != nil || found || s.legacy == nil {
		return st, err
	}
	n, ok, err := s.legacy(ctx, tenantID)
	if err != nil || !ok {
		return st, err
	}
	st.WindowDays = min(max(n, 1), MaxWindowDays)
	if err := s.store.AdoptSettings(ctx, tenantID, st); err != nil {
		return Settings{}, err
	}
	return s.store.Settings(ctx, tenantID) // the merchant's, if they saved first
}

// WindowEnd is when the after-sale window of order orderID closes: its
// completion plus the shop's window. ok is false for an order not
// completed. Distribution's ledger makes it the date the order's
// commission settles (unless a request is still open then).
func (s *Service) WindowEnd(ctx context.Context, tenantID, orderID string) (time.Time, bool, error) {
	o, err := s.orders.Get(ctx, tenantID, orderID)
	if err != nil || o.CompletedAt == nil {
		return time.Time{}, false, err
	}
	st, err := s.settings(ctx, tenantID)
	if err != nil {
		return time.Time{}, false, err
	}
	return o.CompletedAt.Add(days(st.WindowDays)), true, nil
}
