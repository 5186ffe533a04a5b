package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"microshop/tenants/engine"
)

// Config is every setting of the server, from flags and the environment
// (flags win). It is parsed once, validated and passed down.
type Config struct {
	Addr          string
	DataDir       string
	MongoURI      string
	MongoDB       string
	Demo          bool
	BaseURL       string
	Hosts         []string // host names answered for, any port (empty: see allowedHosts)
	Secret        string
	SecretKey     string // seals stored secrets (tenants/secret); empty: the key file
	SecureCookies bool
	TrustProxy    bool
	BodyLimit     int64
	AccessLog     bool
	Placement     engine.Placement // MongoDB: where new shops go
	LogFormat     string
	DevTemplates  string
	ShelfRefresh  time.Duration
	WeChat        string // sandbox or live
	// MetricsToken is the bearer token GET /metrics asks for; empty: no
	// /metrics.
	MetricsToken string
	// OpenShops bounds the shops' SQLite files open at once (0: the
	// engine's default).
	OpenShops int
	// SecretKeyPrevious are the keys before SecretKey (comma-separated
	// base64) while rotating it: they open what they sealed, never seal.
	SecretKeyPrevious string
}

// parseConfig reads flags from args and defaults from getenv.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet("microshop", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, "usage:\n  microshop [flags]                  serve\n"+
			"  microshop jobs [run NAME] [flags]  list the scheduled jobs, or run one once (see microshop jobs --help)\n"+
			"  microshop operator create EMAIL [--reset] [flags]  create a platform operator (prints a one-time password and an operator API key)\n"+
			"  microshop secret reseal [--dry-run] [flags]  seal every stored secret with the current --secret-key (after rotating it; see microshop secret --help)\n\nflags:\n")
		fs.PrintDefaults()
	}
	config := bindConfig(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q; see --help", fs.Arg(0))
	}
	return config()
}

// bindConfig defines the settings' flags on fs, with defaults from getenv;
// once fs is parsed, the returned function gives the validated Config. The
// server and the jobs command share it, so both open the same engine.
func bindConfig(fs *flag.FlagSet, getenv func(string) string) func() (Config, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	addr := ":8080"
	if p := getenv("PORT"); p != "" {
		addr = ":" + p
	}
	c := new(Config)
	fs.StringVar(&c.Addr, "addr", env("MICROSHOP_ADDR", addr), "listen address (env MICROSHOP_ADDR, or PORT for \":$PORT\")")
	fs.StringVar(&c.DataDir, "data", env("MICROSHOP_DATA", "./data"), "SQLite data directory: platform.db plus one file per shop (env MICROSHOP_DATA)")
	fs.StringVar(&c.MongoURI, "mongodb-uri", env("MONGODB_URI", ""), "use MongoDB at this URI instead of SQLite (env MONGODB_URI)")
	fs.StringVar(&c.MongoDB, "mongodb-db", env("MICROSHOP_MONGODB_DB", "microshop"), "MongoDB platform database; shops get <name>_t_<id> (env MICROSHOP_MONGODB_DB)")
	fs.BoolVar(&c.Demo, "demo", envBool(getenv("MICROSHOP_DEMO"), true), "open the demo shop /s/demo/ on a fresh data store (env MICROSHOP_DEMO)")
	fs.StringVar(&c.BaseURL, "base-url", env("MICROSHOP_BASE_URL", ""), "public address for links and QR codes, e.g. https://shop.example.com; required with --wechat=live (env MICROSHOP_BASE_URL; default: the request's host, if --hosts allows it)")
	hosts := fs.String("hosts", env("MICROSHOP_HOSTS", ""), "comma-separated host names the server answers for, any port; other Host headers get a 421 (env MICROSHOP_HOSTS; default without --base-url: localhost, 127.0.0.1, [::1] and the --addr host; with --base-url: any)")
	fs.StringVar(&c.Secret, "secret", env("MICROSHOP_SECRET", ""), "session signing secret, at least 32 characters (env MICROSHOP_SECRET; default: generated once and kept in the platform database)")
	fs.StringVar(&c.SecretKey, "secret-key", env("MICROSHOP_SECRET_KEY", ""), "key sealing stored secrets (WeChat refresh tokens, AppSecrets, message keys): base64 of 32 random bytes (env MICROSHOP_SECRET_KEY; default: secret.key generated once beside platform.db; replicas must share it)")
	fs.StringVar(&c.SecretKeyPrevious, "secret-key-previous", env("MICROSHOP_SECRET_KEY_PREVIOUS", ""), "while rotating --secret-key: the keys before it, comma-separated base64; they open what they sealed, never seal (env MICROSHOP_SECRET_KEY_PREVIOUS; see microshop secret reseal)")
	fs.BoolVar(&c.SecureCookies, "secure-cookies", envBool(getenv("MICROSHOP_SECURE_COOKIES"), false), "mark cookies Secure; set when served over HTTPS (env MICROSHOP_SECURE_COOKIES)")
	fs.BoolVar(&c.TrustProxy, "trust-proxy", envBool(getenv("MICROSHOP_TRUST_PROXY"), false), "take the client address from X-Forwarded-For and the scheme from X-Forwarded-Proto; only behind your own proxy (env MICROSHOP_TRUST_PROXY)")
	limit := fs.String("body-limit", env("MICROSHOP_BODY_LIMIT", "1MB"), "largest request body accepted, e.g. 512KB, 1MB (env MICROSHOP_BODY_LIMIT)")
	fs.BoolVar(&c.AccessLog, "access-log", envBool(getenv("MICROSHOP_ACCESS_LOG"), true), "log every request (env MICROSHOP_ACCESS_LOG)")
	fs.StringVar(&c.LogFormat, "log-format", env("MICROSHOP_LOG_FORMAT", "text"), "log format: text or json (env MICROSHOP_LOG_FORMAT)")
	fs.StringVar(&c.DevTemplates, "dev-templates", env("MICROSHOP_DEV_TEMPLATES", ""), "reload templates from this directory on every request (development)")
	fs.StringVar(&c.WeChat, "wechat", env("MICROSHOP_WECHAT", "sandbox"), "WeChat official accounts: sandbox (an in-process WeChat simulator) or live (api.weixin.qq.com) (env MICROSHOP_WECHAT)")
	fs.StringVar(&c.MetricsToken, "metrics-token", env("MICROSHOP_METRICS_TOKEN", ""), "serve Prometheus metrics at /metrics on the main address to a scraper sending Authorization: Bearer <token>, at least 16 characters (env MICROSHOP_METRICS_TOKEN; default: no /metrics)")
	fs.IntVar(&c.OpenShops, "open-shops", envInt(getenv("MICROSHOP_OPEN_SHOPS"), engine.DefaultOpenShops), "SQLite: how many shops' files stay open at once; the least recently used idle one is closed beyond it (env MICROSHOP_OPEN_SHOPS)")
	fs.DurationVar(&c.ShelfRefresh, "shelf-refresh", envDuration(getenv("MICROSHOP_SHELF_REFRESH"), 2*time.Second), "how often a replica checks for catalog changes made elsewhere (env MICROSHOP_SHELF_REFRESH)")
	placement := bindPlacement(fs, getenv)
	return func() (Config, error) {
		p, err := placement()
		if err != nil {
			return *c, err
		}
		c.Placement = p
		n, err := parseSize(*limit)
		if err != nil {
			return *c, fmt.Errorf("--body-limit: %w", err)
		}
		c.BodyLimit = n
		c.BaseURL = strings.TrimRight(c.BaseURL, "/")
		c.Hosts = splitList(*hosts)
		return *c, c.validate()
	}
}

func (c Config) validate() error {
	if c.Secret != "" && len(c.Secret) < 32 {
		return errors.New("--secret must be at least 32 characters")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return errors.New("--log-format must be text or json")
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--base-url %q must be an absolute http(s) URL", c.BaseURL)
		}
	}
	if c.WeChat != "sandbox" && c.WeChat != "live" {
		return errors.New("--wechat must be sandbox or live")
	}
	if c.WeChat == "live" && c.BaseURL == "" {
		// WeChat redirects fans and sends payment notices to addresses made
		// from it; a request's Host header must never decide them.
		return errors.New("--wechat=live needs --base-url, the public https address WeChat sends fans and payment notices to")
	}
	for _, h := range c.Hosts {
		if !validHost(h) {
			return fmt.Errorf("--hosts: %q is not a host name or IP address (write shop.example.com, not a URL)", h)
		}
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		return errors.New("--metrics-token must be at least 16 characters")
	}
	if c.OpenShops < 0 {
		return errors.New("--open-shops must be positive")
	}
	if c.ShelfRefresh <= 0 {
		return errors.New("--shelf-refresh must be positive")
	}
	return nil
}

// String prints the configuration with secrets masked, for the start-up log.
func (c Config) String() string {
	mongo := c.MongoURI
	if u, err := url.Parse(mongo); err == nil && u.User != nil {
		u.User = url.User(u.User.Username())
		mongo = u.String()
	}
	secret := "generated"
	if c.Secret != "" {
		secret = "set (masked)"
	}
	metrics := "off"
	if c.MetricsToken != "" {
		metrics = "token (masked)"
	}
	hosts := "any"
	if allowed := c.allowedHosts(); allowed != nil {
		hosts = strings.Join(allowed, ",")
	}
	return fmt.Sprintf("addr=%s data=%s mongodb=%q demo=%t base_url=%q hosts=%s secret=%s secure_cookies=%t trust_proxy=%t body_limit=%d wechat=%s metrics=%s",
		c.Addr, c.DataDir, mongo, c.Demo, c.BaseURL, hosts, secret, c.SecureCookies, c.TrustProxy, c.BodyLimit, c.WeChat, metrics)
}

// splitList is a comma-separated list, items trimmed, empty ones dropped.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func envBool(v string, def bool) bool {
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	return def
}

func envInt(v string, def int) int {
	if n, err := strconv.Atoi(v); err == nil {
		return n
	}
	return def
}

func envDuration(v string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(v); err == nil {
		return d
	}
	return def
}

func parseSize(s string) (int64, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for suffix, m := range map[string]int64{"KB": 1 << 10, "MB": 1 << 20, "K": 1 << 10, "M": 1 << 20} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSuffix(s, suffix), m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a size like 1MB", s)
	}
	return n * mult, nil
}
