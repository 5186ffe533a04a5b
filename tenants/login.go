package tenants

import (
	"context"
	"errors"
	"strings"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/fault"
)

// Limits on signing in and signing up. Wrong passwords are counted per
// account and address, so that someone guessing the owner's password from
// elsewhere slows down only themselves and never locks the owner out; a
// coarse count per address stops one address from trying many accounts.
const (
	// loginFreeFails wrong passwords per (account, address) cost nothing;
	// each one after that doubles the wait before the next try, from
	// loginBackoff up to loginMaxWait.
	loginFreeFails = 5
	loginBackoff   = time.Second
	loginMaxWait   = 15 * time.Minute
	// loginForget: an (account, address) without a failure for this long
	// starts over.
	loginForget = time.Hour
	// loginFailsPerIP wrong passwords from one address, on any accounts,
	// within loginIPWindow refuse that address for the rest of the window.
	loginFailsPerIP = 50
	loginIPWindow   = 15 * time.Minute
	// signUpsPerIP shops may be opened from one address per signUpWindow.
	signUpsPerIP = 5
	signUpWindow = time.Hour
)

// limits are the service's limiters: the windows by address are shared by
// every replica, the per-account backoff is each process's (ratelimit.go).
type limits struct {
	login   *backoff       // by account and address
	loginIP *WindowCounter // failures by address
	signUp  *WindowCounter // shops opened by address
}

func newLimits(counters Counters) limits {
	return limits{
		login:   newBackoff(loginFreeFails, loginBackoff, loginMaxWait, loginForget),
		loginIP: counters.Window("login-fails", loginIPWindow),
		signUp:  counters.Window("signups", signUpWindow),
	}
}

// passwordGate checks passwords of one account from one address against
// the limits: check before comparing, then fail or pass.
type passwordGate struct {
	s        *Service
	acct, ip string
	now      time.Time
}

func (s *Service) passwordGate(email, ip string) passwordGate {
	return passwordGate{s: s, acct: "acct:" + email + "|ip:" + ip, ip: "ip:" + ip, now: s.now()}
}

// check refuses the try while the address or the account at this address
// must wait.
func (g passwordGate) check() error {
	l := g.s.limits
	if l.loginIP.Reached(g.ip, loginFailsPerIP, g.now) {
		return fault.TooManyRequests("too many failed sign-ins from your address; wait 15 minutes and try again")
	}
	if wait := l.login.Wait(g.acct, g.now); wait > 0 {
		n, minutes := waitIn(wait)
		switch {
		case minutes && n == 1:
			return fault.TooManyRequests("too many wrong passwords for this account from your address; try again in a minute")
		case minutes:
			return fault.TooManyRequests("too many wrong passwords for this account from your address; try again in %d minutes", n)
		case n == 1:
			return fault.TooManyRequests("too many wrong passwords for this account from your address; try again in a second")
		default:
			return fault.TooManyRequests("too many wrong passwords for this account from your address; try again in %d seconds", n)
		}
	}
	return nil
}

func (g passwordGate) fail() {
	g.s.limits.login.Fail(g.acct, g.now)
	g.s.limits.loginIP.Add(g.ip, g.now)
}

func (g passwordGate) pass() { g.s.limits.login.Reset(g.acct) }

// waitIn is a wait in whole seconds, or whole minutes when over one.
func waitIn(d time.Duration) (n int, minutes bool) {
	if d > time.Minute {
		return int((d + time.Minute - 1) / time.Minute), true
	}
	return int((d + time.Second - 1) / time.Second), false
}

// Authenticate checks an email and password from the client address ip,
// refusing while that account at that address, or that address, has failed
// too often.
func (s *Service) Authenticate(ctx context.Context, email, password, ip string) (User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	gate := s.passwordGate(email, ip)
	if err := gate.check(); err != nil {
		return User{}, err
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
		gate.fail()
		return User{}, fault.Unauthorized("wrong email or password")
	}
	gate.pass()
	return u, nil
}

// dummyHash is a bcrypt hash of a random string at PasswordCost.
var dummyHash = func() string {
	h, _ := HashPassword(engine.NewSecret(engine.IDLen))
	return h
}()

// SignUpFrom is SignUp for a visitor at address ip: at most signUpsPerIP
// shops per address and hour (on every replica together). A sign-up that fails does not
// count.
func (s *Service) SignUpFrom(ctx context.Context, in SignUp, ip string) (Tenant, User, string, error) {
	addr := "ip:" + ip
	if ok, _ := s.limits.signUp.Take(addr, signUpsPerIP, s.now()); !ok {
		return Tenant{}, User{}, "", fault.TooManyRequests(
			"too many shops opened from your address (at most %d an hour); try again later", signUpsPerIP)
	}
	t, u, key, err := s.SignUp(ctx, in)
	if err != nil {
		s.limits.signUp.Give(addr)
	}
	return t, u, key, err
}
