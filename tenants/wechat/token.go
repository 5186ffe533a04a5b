package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/credential"

	"microshop/tenants/fault"
)

// Access tokens.
//
// WeChat gives an app one valid access token at a time (a new fetch leaves
// the old one valid for about 5 more minutes), 7,200 s long, 2,000 fetches a
// day. Replicas that each fetched their own would invalidate each other's
// (errcode 40001), so the token lives in the platform database's shared
// cache (tenants.Store's Cache* methods), keyed by shop and app, and is
// refreshed:
//
//   - before it expires: an entry records when it becomes due (a quarter
//     of its life, at most 10 minutes, before expiry); until it expires the
//     old token is still handed out while one replica refreshes;
//   - by one replica at a time: the refresher holds a lease named after
//     the entry (and, inside a process, a mutex); a replica that finds the
//     lease taken keeps using the still-valid token, or waits for the new
//     one when there is none;
//   - once more when WeChat rejects a token as stale (40001, 42001, 40014):
//     the caller drops exactly that token (a conditional delete, so a fresh
//     one stored meanwhile by another replica survives) and retries the call
//     once (Account.call).

const (
	// refreshLease is how long a refresher may hold the lease.
	refreshLease = 30 * time.Second
	// waitForRefresh is how long a replica without any valid token waits
	// for another replica's refresh.
	waitForRefresh  = 5 * time.Second
	maxRefreshEarly = 10 * time.Minute
)

// tokenURL is WeChat's access-token endpoint (the server's URI modifier
// points it at the simulator in sandbox mode).
const tokenURL = "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=%s&secret=%s"

// tokenSource is one account's access-token handle for the SDK
// (credential.AccessTokenContextHandle).
type tokenSource struct {
	a        *Accounts
	key      string // cache key and lease name
	appID    string
	secret   string
	fetchURL string
	// fetch, if set, gets a new token instead of fetchURL (the component
	// token, authorisers' tokens, JS-API tickets: component.go, jssdk.go).
	fetch func(ctx context.Context) (credential.ResAccessToken, error)
}

func newTokenSource(a *Accounts, tenantID string, s Settings) *tokenSource {
	return &tokenSource{a: a, key: "wechat:token:" + tenantID + ":" + s.AppID, appID: s.AppID, secret: s.AppSecret,
		fetchURL: fmt.Sprintf(tokenURL, url.QueryEscape(s.AppID), url.QueryEscape(s.AppSecret))}
}

// GetAccessToken implements credential.AccessTokenHandle; the SDK calls it
// without a context, so it bounds itself.
func (t *tokenSource) GetAccessToken() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), t.a.opts.Timeout)
	defer cancel()
	return t.GetAccessTokenContext(ctx)
}

// cached is a token read from the shared cache.
type cached struct {
	token   string
	due     time.Time // refresh from then on
	value   string    // the raw cache value, for a conditional delete
	expires time.Time
}

func (t *tokenSource) read(ctx context.Context, now time.Time) (cached, bool, error) {
	v, exp, err := t.a.platform.CacheGet(ctx, t.key, now)
	if errors.Is(err, fault.ErrNotFound) {
		return cached{}, false, nil
	}
	if err != nil {
		return cached{}, false, err
	}
	tok, dueMS, ok := strings.Cut(v, " ")
	ms, perr := strconv.ParseInt(dueMS, 10, 64)
	if !ok || perr != nil || tok == "" {
		return cached{}, false, nil // not ours: treat as absent
	}
	return cached{token: tok, due: time.UnixMilli(ms), value: v, expires: exp}, true, nil
}

// GetAccessTokenContext returns a valid token, refreshing it if due.
func (t *tokenSource) GetAccessTokenContext(ctx context.Context) (string, error) {
	now := t.a.now()
	c, ok, err := t.read(ctx, now)
	if err != nil {
		return "", fmt.Errorf("read access token: %w", err)
	}
	if ok && now.Before(c.due) {
		return c.token, nil
	}
	mu := t.a.lock(t.key)
	mu.Lock()
	defer mu.Unlock()
	if c2, ok2, err := t.read(ctx, now); err == nil && ok2 && now.Before(c2.due) {
		return c2.token, nil // refreshed by another goroutine meanwhile
	}
	won, err := t.a.leaser.Try(ctx, t.key, refreshLease)
	if err != nil {
		if ok {
			return c.token, nil
		}
		return "", fmt.Errorf("access token lease: %w", err)
	}
	if !won {
		if ok {
			return c.token, nil // still valid; another replica is refreshing it
		}
		return t.await(ctx)
	}
	defer func() { _ = t.a.leaser.Release(context.WithoutCancel(ctx), t.key) }()
	// The previous holder may have stored a fresh token after our read.
	if c2, ok2, err := t.read(ctx, t.a.now()); err == nil && ok2 && t.a.now().Before(c2.due) {
		return c2.token, nil
	}
	res, err := t.fetchToken(ctx)
	if err != nil {
		if ok && t.a.now().Before(c.expires) {
			t.a.log.Warn("wechat access token refresh failed; using the current one", "app_id", t.appID, "err", err)
			return c.token, nil
		}
		return "", wechatError("fetch the access token", err)
	}
	now = t.a.now()
	life := time.Duration(res.ExpiresIn) * time.Second
	if life <= 0 {
		life = 7200 * time.Second
	}
	due := now.Add(life - min(maxRefreshEarly, life/4))
	value := res.AccessToken + " " + strconv.FormatInt(due.UnixMilli(), 10)
	if err := t.a.platform.CachePut(ctx, t.key, value, now.Add(life)); err != nil {
		return "", fmt.Errorf("store access token: %w", err)
	}
	t.a.fetches.Add(1)
	return res.AccessToken, nil
}

// await waits for another replica's refresh to land in the cache.
func (t *tokenSource) await(ctx context.Context) (string, error) {
	deadline := time.NewTimer(waitForRefresh)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-deadline.C:
			return "", &fault.Error{Status: 503, Code: "wechat_unavailable",
				Message: "the WeChat access token is being refreshed by another server; try again in a moment"}
		case <-tick.C:
			if c, ok, err := t.read(ctx, t.a.now()); err == nil && ok {
				return c.token, nil
			}
		}
	}
}

// invalidate drops token from the cache if it is still the cached one.
func (t *tokenSource) invalidate(ctx context.Context, token string) error {
	c, ok, err := t.read(ctx, t.a.now())
	if err != nil || !ok || c.token != token {
		return err
	}
	_, err = t.a.platform.CacheDeleteValue(ctx, t.key, c.value)
	return err
}

// keyedLocks hands out one mutex per key.
type keyedLocks struct{ m sync.Map }

func (k *keyedLocks) lock(key string) *sync.Mutex {
	v, _ := k.m.LoadOrStore(key, &sync.Mutex{})
	return v.(*sync.Mutex)
}
