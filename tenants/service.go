package tenants

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"microshop/tenants/engine"
)

// resolveTTL is how long a slug or API key stays resolved in memory; a
// change made on another replica shows within it.
const resolveTTL = 5 * time.Second

// Service opens shops, signs merchants in and resolves requests to tenants.
type Service struct {
	engine *engine.Engine
	store  Store
	log    *slog.Logger
	now    func() time.Time
	limits limits

	mu     sync.Mutex
	bySlug map[string]cached
	byID   map[string]cached
	byKey  map[string]cached // by the key's hash
	// revoked counts revocations: a resolve that started before one does
	// not cache what it read (it may be the revoked key).
	revoked uint64
	// keyUsed is when this process last recorded each key's use.
	keyUsed map[string]time.Time
	// guides are the shops' guides, for guide staff (staff.go).
	guides StaffGuides
}

type cached struct {
	t       Tenant
	keyID   string // the API key's id, when resolved by key
	key     APIKey // the API key, when resolved by key (its role)
	err     error
	expires time.Time
}

// NewService returns a tenant service over the engine and platform store.
func NewService(engine *engine.Engine, store Store, log *slog.Logger) *Service {
	return &Service{engine: engine, store: store, log: log, now: time.Now, limits: newLimits(NewCounters(store)),
		bySlug: map[string]cached{}, byID: map[string]cached{}, byKey: map[string]cached{}, keyUsed: map[string]time.Time{}}
}

// SetClock replaces the service's clock (tests move time forward).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Store returns the platform store.
func (s *Service) Store() Store { return s.store }

// SignUp opens a shop: tenant record, its database with every schema, the
// owner's account and a first API key (returned once, stored hashed).
func (s *Service) SignUp(ctx context.Context, in SignUp) (Tenant, User, string, error) {
	in.Normalize()
	if err := in.Validate(); err != nil {
		return Tenant{}, User{}, "", err
	}
	if err := s.emailFree(ctx, in.Email); err != nil {
		return Tenant{}, User{}, "", err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return Tenant{}, User{}, "", fmt.Errorf("hash password: %w", err)
	}
	now := s.now().UTC().Truncate(time.Millisecond) // what MongoDB keeps
	t := Tenant{ID: engine.NewID(), Slug: in.Slug, Name: in.Name, TimeZone: DefaultTimeZone, CreatedAt: now}
	u := User{ID: engine.NewID(), TenantID: t.ID, Email: in.Email, PasswordHash: hash, CreatedAt: now}
	key, rec := NewAPIKey(t.ID, now)
	if err := s.openShop(ctx, t, u, "sign-up", func() error { return s.store.CreateAPIKey(ctx, rec) }); err != nil {
		return Tenant{}, User{}, "", err
	}
	s.log.Info("shop opened", "tenant", t.ID, "slug", t.Slug)
	return t, u, key, nil
}

// emailFree is a conflict when an account has the email already.
func (s *Service) emailFree(ctx context.Context, email string) error {
	if _, err := s.store.UserByEmail(ctx, email); err == nil {
		return errEmailTaken(email)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// openShop records the shop t, provisions its database, creates its owner
// u, then runs last (the first API key, an invitation). There are no
// multi-record transactions: the slug's unique index decides who gets it,
// and a later failure undoes what was made, in reverse order, logging the
// undo as what's; an empty tenant database left behind is harmless (it is
// provisioned again if the id ever came back).
func (s *Service) openShop(ctx context.Context, t Tenant, u User, what string, last func() error) error {
	if err := s.store.CreateTenant(ctx, t); err != nil {
		return err
	}
	err := s.engine.Provision(ctx, t.ID)
	if err != nil {
		err = fmt.Errorf("provision shop %s: %w", t.ID, err)
	}
	userCreated := false
	if err == nil {
		err = s.store.CreateUser(ctx, u)
		userCreated = err == nil
	}
	if err == nil {
		err = last()
	}
	if err != nil {
		undo := context.WithoutCancel(ctx)
		if userCreated {
			if derr := s.store.DeleteUser(undo, u.ID); derr != nil {
				s.log.Error("undo "+what+": user", "tenant", t.ID, "err", derr)
			}
		}
		if derr := s.store.DeleteTenant(undo, t.ID); derr != nil {
			s.log.Error("undo "+what+": tenant", "tenant", t.ID, "err", derr)
		}
	}
	return err
}

// TenantBySlug resolves a shop slug, from memory when recently resolved.
func (s *Service) TenantBySlug(ctx context.Context, slug string) (Tenant, error) {
	c, err := s.resolve(s.bySlug, slug, func() (cached, error) {
		t, err := s.store.TenantBySlug(ctx, slug)
		return cached{t: t}, err
	})
	return c.t, err
}

// TenantByID resolves a tenant id, from memory when recently resolved:
// order events' subscribers (points, messages, the dashboard,
// distribution) ask for the shop's zone and language on every paid order.
func (s *Service) TenantByID(ctx context.Context, id string) (Tenant, error) {
	c, err := s.resolve(s.byID, id, func() (cached, error) {
		t, err := s.store.TenantByID(ctx, id)
		return cached{t: t}, err
	})
	return c.t, err
}

// TenantByAPIKey resolves an API key to its tenant, from memory when
// recently resolved (resolveTTL): a key revoked on this replica is refused
// at once, one revoked on another replica within resolveTTL.
func (s *Service) TenantByAPIKey(ctx context.Context, key string) (Tenant, error) {
	t, _, err := s.resolveAPIKey(ctx, key)
	return t, err
}

// resolveAPIKey is TenantByAPIKey with the key's record (its name and role).
func (s *Service) resolveAPIKey(ctx context.Context, key string) (Tenant, APIKey, error) {
	hash := HashAPIKey(key)
	c, err := s.resolve(s.byKey, hash, func() (cached, error) {
		k, err := s.store.APIKeyByHash(ctx, hash)
		if err != nil {
			return cached{}, err
		}
		t, err := s.store.TenantByID(ctx, k.TenantID)
		return cached{t: t, keyID: k.ID, key: k}, err
	})
	if err == nil {
		s.keyUsedNow(ctx, c.keyID)
	}
	return c.t, c.key, err
}

func (s *Service) resolve(m map[string]cached, key string, load func() (cached, error)) (cached, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := m[key]
	revoked := s.revoked
	s.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c, c.err
	}
	c, err := load()
	if err != nil && !errors.Is(err, ErrNotFound) {
		return cached{}, err // do not cache outages
	}
	c.err = err
	c.expires = now.Add(resolveTTL)
	if err != nil {
		c.expires = now.Add(time.Second) // a shop opened a moment later must not stay "not found" for long
	}
	s.mu.Lock()
	if s.revoked == revoked { // else what load read may be a key revoked meanwhile
		if len(m) > 50_000 {
			clear(m)
		}
		m[key] = c
	}
	s.mu.Unlock()
	return c, err
}

// TenantIDs lists every shop's id, for jobs that run over every shop.
func (s *Service) TenantIDs(ctx context.Context) ([]string, error) {
	return s.store.TenantIDs(ctx)
}

// EnsureSchemas brings every shop's schema up to date after an upgrade
// added tables or indexes, without walking every shop's database at
// start-up: on MongoDB only the shops whose recorded schema version
// differs get their indexes ensured (engine.Upgrade); on SQLite a file is
// migrated when it is opened, and a background pass opens the outdated
// ones (two at a time) so they need not wait for their first visitor. It
// returns how many shops there are.
func (s *Service) EnsureSchemas(ctx context.Context) (int, error) {
	ids, err := s.store.TenantIDs(ctx)
	if err != nil {
		return 0, err
	}
	if s.engine.Kind() == engine.SQLite {
		s.engine.UpgradeInBackground(ids, 2, func(n int, err error) {
			if err != nil {
				s.log.Error("upgrade shops' schemas", "err", err)
			} else if n > 0 {
				s.log.Info("shops' schemas upgraded", "shops", n)
			}
		})
		return len(ids), nil
	}
	if _, err := s.engine.Upgrade(ctx, ids, 4); err != nil {
		return 0, fmt.Errorf("apply schemas: %w", err)
	}
	return len(ids), nil
}
