package tenants

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Login limits: failures allowed per window before sign-in is refused.
const (
	loginWindow       = 15 * time.Minute
	loginFailsPerUser = 10
	loginFailsPerIP   = 50
)

// resolveTTL is how long a slug or API key stays resolved in memory; a
// change made on another replica shows within it.
const resolveTTL = 5 * time.Second

// Service opens shops, signs merchants in and resolves requests to tenants.
type Service struct {
	engine  *engine.Engine
	store   Store
	log     *slog.Logger
	now     func() time.Time
	limiter *failureLimiter

	mu     sync.Mutex
	bySlug map[string]cached
	byKey  map[string]cached
}

type cached struct {
	t       Tenant
	err     error
	expires time.Time
}

// NewService returns a tenant service over the engine and platform store.
func NewService(engine *engine.Engine, store Store, log *slog.Logger) *Service {
	return &Service{engine: engine, store: store, log: log, now: time.Now,
		limiter: newFailureLimiter(loginWindow), bySlug: map[string]cached{}, byKey: map[string]cached{}}
}

// Store returns the platform store.
func (s *Service) Store() Store { return s.store }

// SignUp opens a shop: tenant record, its database with every schema, the
// owner's account and a first API key (returned once, stored hashed).
func (s *Service) SignUp(ctx context.Context, in SignUp) (Tenant, User, string, error) {
	in.Normalize()
	if err := in.Validate(); err != nil {
		return Tenant{}, User{}, "", err
	}
	if _, err := s.store.UserByEmail(ctx, in.Email); err == nil {
		return Tenant{}, User{}, "", errEmailTaken(in.Email)
	} else if !errors.Is(err, ErrNotFound) {
		return Tenant{}, User{}, "", err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return Tenant{}, User{}, "", fmt.Errorf("hash password: %w", err)
	}
	now := s.now().UTC().Truncate(time.Millisecond) // what MongoDB keeps
	t := Tenant{ID: engine.NewID(), Slug: in.Slug, Name: in.Name, TimeZone: DefaultTimeZone, CreatedAt: now}
	// No multi-record transactions: the slug's unique index decides who gets
	// it, and a later failure removes the tenant record again.
	if err := s.store.CreateTenant(ctx, t); err != nil {
		return Tenant{}, User{}, "", err
	}
	u := User{ID: engine.NewID(), TenantID: t.ID, Email: in.Email, PasswordHash: hash, CreatedAt: now}
	key, rec := NewAPIKey(t.ID, now)
	err = s.engine.Provision(ctx, t.ID)
	if err != nil {
		err = fmt.Errorf("provision shop %s: %w", t.ID, err)
	}
	userCreated := false
	if err == nil {
		err = s.store.CreateUser(ctx, u)
		userCreated = err == nil
	}
	if err == nil {
		err = s.store.CreateAPIKey(ctx, rec)
	}
	if err != nil {
		// Undo in reverse order; an empty tenant database left behind is
		// harmless (it is provisioned again if the id ever came back).
		undo := context.WithoutCancel(ctx)
		if userCreated {
			if derr := s.store.DeleteUser(undo, u.ID); derr != nil {
				s.log.Error("undo sign-up: user", "tenant", t.ID, "err", derr)
			}
		}
		if derr := s.store.DeleteTenant(undo, t.ID); derr != nil {
			s.log.Error("undo sign-up: tenant", "tenant", t.ID, "err", derr)
		}
		return Tenant{}, User{}, "", err
	}
	s.log.Info("shop opened", "tenant", t.ID, "slug", t.Slug)
	return t, u, key, nil
}

// Authenticate checks an email and password, refusing after too many
// failures for the account or the client address.
func (s *Service) Authenticate(ctx context.Context, email, password, ip string) (User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	now := s.now()
	acct, addr := "acct:"+email, "ip:"+ip
	if s.limiter.Blocked(acct, loginFailsPerUser, now) || s.limiter.Blocked(addr, loginFailsPerIP, now) {
		return User{}, fault.TooManyRequests("too many failed sign-ins; wait 15 minutes and try again")
	}
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	// Compare against a dummy hash for unknown emails so timing does not
	// reveal which emails have accounts.
	hash := u.PasswordHash
	if hash == "" {
		hash = dummyHash
	}
	if !CheckPassword(hash, password) || u.ID == "" {
		s.limiter.Fail(acct, now)
		s.limiter.Fail(addr, now)
		return User{}, fault.Unauthorized("wrong email or password")
	}
	s.limiter.Reset(acct)
	return u, nil
}

// dummyHash is a bcrypt hash of a random string at PasswordCost.
var dummyHash = func() string {
	h, _ := HashPassword(engine.NewSecret(engine.IDLen))
	return h
}()

// TenantBySlug resolves a shop slug, from memory when recently resolved.
func (s *Service) TenantBySlug(ctx context.Context, slug string) (Tenant, error) {
	return s.resolve(ctx, s.bySlug, slug, func() (Tenant, error) { return s.store.TenantBySlug(ctx, slug) })
}

// TenantByID resolves a tenant id (uncached: used off the hot path).
func (s *Service) TenantByID(ctx context.Context, id string) (Tenant, error) {
	return s.store.TenantByID(ctx, id)
}

// TenantByAPIKey resolves an API key to its tenant.
func (s *Service) TenantByAPIKey(ctx context.Context, key string) (Tenant, error) {
	hash := HashAPIKey(key)
	return s.resolve(ctx, s.byKey, hash, func() (Tenant, error) {
		k, err := s.store.APIKeyByHash(ctx, hash)
		if err != nil {
			return Tenant{}, err
		}
		return s.store.TenantByID(ctx, k.TenantID)
	})
}

func (s *Service) resolve(ctx context.Context, m map[string]cached, key string, load func() (Tenant, error)) (Tenant, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := m[key]
	s.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.t, c.err
	}
	t, err := load()
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Tenant{}, err // do not cache outages
	}
	s.mu.Lock()
	if len(m) > 50_000 {
		clear(m)
	}
	ttl := resolveTTL
	if err != nil {
		ttl = time.Second // a shop opened a moment later must not stay "not found" for long
	}
	m[key] = cached{t: t, err: err, expires: now.Add(ttl)}
	s.mu.Unlock()
	return t, err
}

// TenantIDs lists every shop's id, for jobs that run over every shop.
func (s *Service) TenantIDs(ctx context.Context) ([]string, error) {
	return s.store.TenantIDs(ctx)
}

// EnsureSchemas applies every schema to every tenant, for start-up after an
// upgrade added tables or indexes.
func (s *Service) EnsureSchemas(ctx context.Context) (int, error) {
	ids, err := s.store.TenantIDs(ctx)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := s.engine.Provision(ctx, id); err != nil {
			return 0, fmt.Errorf("apply schemas to shop %s: %w", id, err)
		}
	}
	return len(ids), nil
}
