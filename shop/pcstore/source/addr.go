package source

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// ErrNotPublic is why a connection was refused: the address dialled is not
// a public internet address (or is this machine's own).
var ErrNotPublic = errors.New("not a public internet address")

// notPublic are the IANA special-purpose ranges (RFC 6890 and its
// updates) that pass netip's IsGlobalUnicast; an IPv4-mapped IPv6 address
// is judged as the IPv4 it maps.
var notPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"10.0.0.0/8",      // private
		"100.64.0.0/10",   // shared address space (carrier NAT, cloud metadata)
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local (cloud metadata)
		"172.16.0.0/12",   // private
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // TEST-NET-1
		"192.88.99.0/24",  // 6to4 relay anycast
		"192.168.0.0/16",  // private
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // TEST-NET-2
		"203.0.113.0/24",  // TEST-NET-3
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, and 255.255.255.255
		"::/128",          // unspecified
		"::1/128",         // loopback
		"::ffff:0:0/96",   // IPv4-mapped (unmapped before the check)
		"64:ff9b::/96",    // NAT64
		"64:ff9b:1::/48",  // local NAT64
		"100::/64",        // discard-only
		"2001::/23",       // IETF protocol assignments (Teredo, ORCHID...)
		"2001:db8::/32",   // documentation
		"2002::/16",       // 6to4: embeds any IPv4
		"3fff::/20",       // documentation
		"fc00::/7",        // unique local
		"fe80::/10",       // link-local
		"ff00::/8",        // multicast
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// globalV6 is IANA's global unicast allocation: an IPv6 address outside it
// is reserved or special whatever the registries say next year.
var globalV6 = netip.MustParsePrefix("2000::/3")

// Public reports whether ip is a public internet address: global unicast,
// not private, loopback, link-local, multicast or unspecified, and in none
// of the special-purpose ranges. An IPv4-mapped address is judged as the
// IPv4 address it maps.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.Zone() != "" || !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() ||
		ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	if ip.Is6() && !globalV6.Contains(ip) {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// privateNet are the ranges an operator's own network uses, allowed by
// AllowPrivateNetworks.
var privateNet = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("fc00::/7"),
}

// checkAddress decides whether the client may connect to ip.
func (c *Client) checkAddress(ip netip.Addr) error {
	ip = ip.Unmap()
	if ip.IsLoopback() && (c.allowLoopback.Load() || c.allowPrivate.Load()) {
		return nil
	}
	if c.allowPrivate.Load() {
		for _, p := range privateNet {
			if p.Contains(ip) {
				return nil
			}
		}
	}
	if !Public(ip) {
		return fmt.Errorf("%s: %w", ip, ErrNotPublic)
	}
	if c.own.has(ip) {
		return fmt.Errorf("%s is this machine's own address: %w", ip, ErrNotPublic)
	}
	return nil
}

// control is the dialer's hook: it sees the address actually dialled,
// after name resolution, for every connection (redirects included).
func (c *Client) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s %q: %w", network, address, ErrNotPublic)
	}
	return c.checkAddress(ap.Addr())
}

// ownAddrs are this machine's interface addresses, re-read every minute
// (interfaces come and go).
type ownAddrs struct {
	list func() ([]net.Addr, error)

	mu    sync.Mutex
	addrs map[netip.Addr]bool
	read  time.Time
}

const ownAddrsTTL = time.Minute

func (o *ownAddrs) has(ip netip.Addr) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.addrs == nil || time.Since(o.read) > ownAddrsTTL {
		addrs, err := o.list()
		if err != nil {
			return o.addrs[ip] // the last good list (none: the public check alone), read again next time
		}
		o.addrs, o.read = map[netip.Addr]bool{}, time.Now()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				o.addrs[p.Addr().Unmap()] = true
			} else if a, err := netip.ParseAddr(a.String()); err == nil {
				o.addrs[a.Unmap()] = true
			}
		}
	}
	return o.addrs[ip]
}
