package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// WeChat's numbers the simulator enforces.
const (
	TokenLife          = 7200 * time.Second
	TokenOverlap       = 5 * time.Minute
	TokenFetchesPerDay = 2000
	MessageWindow      = 48 * time.Hour
	MessageReplies     = 5
	EventWindow        = time.Minute
	EventReplies       = 3
	MaxPermanentQR     = 100_000
	MaxTempQRSeconds   = 30 * 24 * 3600
	MassPerFanMonth    = 4
	MassPerMinute      = 60
	TemplatesPerDay    = 100_000
	outboxKeep         = 500
	chatKeep           = 200
)

// Options tune the simulator (tests move its clock).
type Options struct {
	Now func() time.Time
	Log *slog.Logger
}

// Simulator is the in-process WeChat.
type Simulator struct {
	now func() time.Time
	log *slog.Logger
	key []byte // derives openids from (app, device)

	mu      sync.Mutex
	apps    map[string]*app
	tokens  map[string]string // access token -> app id
	tickets map[string]*ticket
	codes   map[string]*oauthCode
	msgID   int64
	comp    componentState // the third-party platform (component.go)

	ln   net.Listener
	srv  *http.Server
	base string
}

// china is Beijing time, when WeChat's daily and monthly quotas start over
// (China keeps no daylight saving).
var china = time.FixedZone("CST", 8*60*60)

// app is one official account as WeChat keeps it: its tokens, its fans,
// its outbox and the counters behind its quotas.
type app struct {
	id, secret       string
	token, prevToken string
	tokenExpires     time.Time
	prevUntil        time.Time
	fetchDay         string
	fetches          int // the day's, for the quota
	issued           int // since the simulator started
	fans             map[string]*fan
	outbox           []Sent
	permanentQR      int
	templateDay      string
	templatesSent    int
	massRequests     []time.Time
	massClientIDs    map[string]int64
	lastCreate       map[string]int64
	ext              appExtra // menu, industry, templates added from the library (menu.go)
}

// New returns a simulator; Start serves its API.
func New(opts Options) *Simulator {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &Simulator{now: opts.Now, log: opts.Log, key: key, apps: map[string]*app{}, tokens: map[string]string{},
		tickets: map[string]*ticket{}, codes: map[string]*oauthCode{}, msgID: time.Now().UnixNano() / 1000}
}

// Start serves the API on a loopback port until Close.
func (s *Simulator) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("sandbox wechat: %w", err)
	}
	s.ln, s.base = ln, "http://"+ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("sandbox wechat stopped", "err", err)
		}
	}()
	return nil
}

// Close stops the API server.
func (s *Simulator) Close() error {
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// BaseURL is where the API listens (after Start).
func (s *Simulator) BaseURL() string { return s.base }

// wechatHosts are the hosts Rewrite sends to the simulator.
var wechatHosts = map[string]bool{"api.weixin.qq.com": true, "mp.weixin.qq.com": true, "open.weixin.qq.com": true,
	"api.wechat.com": true, "sh.api.weixin.qq.com": true}

// Rewrite is the SDK's URI modifier: WeChat's addresses go to the
// simulator, anything else is left alone.
func (s *Simulator) Rewrite(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || !wechatHosts[u.Host] || s.base == "" {
		return uri
	}
	b, _ := url.Parse(s.base)
	u.Scheme, u.Host = b.Scheme, b.Host
	return u.String()
}

// appLocked returns the app with appID, adding it on first use; s.mu is
// held.
func (s *Simulator) appLocked(appID string) *app {
	a := s.apps[appID]
	if a == nil {
		a = &app{id: appID, fans: map[string]*fan{}, massClientIDs: map[string]int64{}, lastCreate: map[string]int64{}}
		s.apps[appID] = a
	}
	return a
}

// Forget drops everything the sandbox keeps for the app with appID: its
// secret, tokens, fans, outbox, QR codes and OAuth codes. The server calls
// it when a shop gives the AppID up, so the AppID's next owner starts with
// a new account and sees nothing of the last one's.
func (s *Simulator) Forget(appID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.apps, appID)
	for tok, id := range s.tokens {
		if id == appID {
			delete(s.tokens, tok)
		}
	}
	for tk, t := range s.tickets {
		if t.appID == appID {
			delete(s.tickets, tk)
		}
	}
	for c, oc := range s.codes {
		if oc.appID == appID {
			delete(s.codes, c)
		}
	}
}

// randomToken is 128 random URL-safe characters: tokens, tickets, codes
// and device ids are cut from it.
func randomToken() string {
	b := make([]byte, 96)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
