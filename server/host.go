package main

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/tenants/fault"
)

// Without --base-url the public addresses the server hands out (widget.js,
// which is cached publicly, QR codes, the WeChat OAuth redirect_uri, the
// pay notify_url) are made from the request's Host header, which the
// client chooses. The server therefore answers only for the hosts it
// serves; a request naming any other host is refused before a handler runs.

// allowedHosts is the host names the server answers for, normalised (see
// hostName), or nil when it answers for any: --hosts if set (with the
// --base-url host); otherwise, without --base-url, localhost, 127.0.0.1,
// ::1 and the --addr host. With --base-url and no --hosts every address is
// made from the base URL, and any host is served.
func (c Config) allowedHosts() []string {
	var hosts []string
	switch {
	case len(c.Hosts) > 0:
		hosts = append(hosts, c.Hosts...)
		if u, err := url.Parse(c.BaseURL); err == nil && c.BaseURL != "" {
			hosts = append(hosts, u.Host)
		}
	case c.BaseURL != "":
		return nil
	default:
		hosts = []string{"localhost", "127.0.0.1", "::1"}
		if host, _, err := net.SplitHostPort(c.Addr); err == nil && host != "" {
			if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
				hosts = append(hosts, host)
			}
		}
	}
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		if h = hostName(h); h != "" && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// hostName is the host of a Host header or a --hosts entry without its
// port, brackets or trailing dot, in lower case: "[::1]:8080" is "::1",
// "Shop.Example.com.:443" is "shop.example.com".
func hostName(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if strings.HasPrefix(h, "[") {
		inner, _, ok := strings.Cut(h[1:], "]")
		if !ok {
			return ""
		}
		h = inner
	} else if strings.Count(h, ":") == 1 {
		h, _, _ = strings.Cut(h, ":")
	}
	return strings.TrimSuffix(h, ".")
}

// validHost: a --hosts entry is a host name or an IP address, with an
// optional port; not a URL.
func validHost(h string) bool {
	host := h
	if name, port, err := net.SplitHostPort(h); err == nil {
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return false
		}
		host = name
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")) != nil {
		return true
	}
	if host == "" {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// hostGuard refuses, with a 421, a request whose Host header is not one of
// allowed (nil: any host passes). The operations endpoints (health,
// readiness, metrics) answer any host: probes and scrapers call them by the
// pod's address, and they make no link.
func hostGuard(allowed []string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if allowed == nil {
			return next
		}
		return func(c echo.Context) error {
			r := c.Request()
			switch {
			case slices.Contains(allowed, hostName(r.Host)), r.URL.Path == "/healthz", r.URL.Path == "/readyz", r.URL.Path == "/metrics":
				return next(c)
			}
			return fault.New(http.StatusMisdirectedRequest, "misdirected_request",
				"this server does not serve the host %q; its operator can add it with --hosts or set --base-url", fault.Clip(r.Host, 80))
		}
	}
}
