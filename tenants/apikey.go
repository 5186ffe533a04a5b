package tenants

import (
	"context"
	"fmt"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// A shop's API keys: listed by their prefix, created (the key shown once,
// only its hash stored) and revoked. A revoked key is refused at once on
// the replica that revoked it (its cached resolution is dropped) and within
// resolveTTL on the others.

const (
	// maxAPIKeys is how many keys a shop may hold at once.
	maxAPIKeys = 20
	// keyUseEvery is how often a key's last use is written, at most, per
	// key and replica: a busy integration does not write on every call.
	keyUseEvery = time.Minute
)

// APIKeys lists the shop's keys, oldest first.
func (s *Service) APIKeys(ctx context.Context, tenantID string) ([]APIKey, error) {
	return s.store.APIKeysOf(ctx, tenantID)
}

// CreateAPIKey gives the shop a new key with the owner's full access: its
// record and the key itself, which is shown once and never stored.
func (s *Service) CreateAPIKey(ctx context.Context, tenantID string) (APIKey, string, error) {
	return s.CreateScopedAPIKey(ctx, tenantID, KeyInput{})
}

// CreateScopedAPIKey is CreateAPIKey for a key named in.Name whose calls
// act in in.Role (none: the owner's full access; see role.go).
func (s *Service) CreateScopedAPIKey(ctx context.Context, tenantID string, in KeyInput) (APIKey, string, error) {
	if err := in.check(); err != nil {
		return APIKey{}, "", err
	}
	keys, err := s.store.APIKeysOf(ctx, tenantID)
	if err != nil {
		return APIKey{}, "", err
	}
	if len(keys) >= maxAPIKeys {
		return APIKey{}, "", fault.Conflict("a shop can hold at most %d API keys; revoke one you no longer use first", maxAPIKeys)
	}
	key, rec := NewAPIKey(tenantID, s.now().UTC().Truncate(time.Millisecond))
	rec.Name, rec.Role = in.Name, in.Role
	if err := s.store.CreateAPIKey(ctx, rec); err != nil {
		return APIKey{}, "", err
	}
	return rec, key, nil
}

// RevokeAPIKey deletes the shop's key id; another shop's key, or none, is
// fault.NotFound. Revoking the key the call came with is allowed.
func (s *Service) RevokeAPIKey(ctx context.Context, tenantID, id string) error {
	if err := engine.CheckID("id", "API key", id); err != nil {
		return err
	}
	k, err := s.store.DeleteAPIKey(ctx, tenantID, id)
	if err != nil {
		return fmt.Errorf("revoke API key: %w", err)
	}
	s.mu.Lock()
	s.revoked++
	delete(s.byKey, k.Hash)
	delete(s.keyUsed, k.ID)
	s.mu.Unlock()
	s.log.Info("API key revoked", "tenant", tenantID, "key", k.Prefix)
	return nil
}

// keyUsedNow records that key id authenticated a call, at most once per
// keyUseEvery on this replica. A failure to record is logged, not returned:
// the call itself is fine.
func (s *Service) keyUsedNow(ctx context.Context, id string) {
	now := s.now().UTC().Truncate(time.Millisecond)
	s.mu.Lock()
	last, ok := s.keyUsed[id]
	fresh := ok && now.Sub(last) < keyUseEvery
	if !fresh {
		if len(s.keyUsed) > 50_000 {
			clear(s.keyUsed)
		}
		s.keyUsed[id] = now
	}
	s.mu.Unlock()
	if fresh {
		return
	}
	if err := s.store.TouchAPIKey(ctx, id, now); err != nil {
		s.log.Warn("record API key use", "key", id, "err", err)
	}
}
