package source

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"time"
)

// NoBackoff makes c retry without waiting.
func NoBackoff(c *Client) { c.sleep = func(context.Context, time.Duration) error { return nil } }

// Fetch reads u through c as a page is read, with the given timeout.
func Fetch(ctx context.Context, c *Client, u string, timeout time.Duration) error {
	b, _, err := c.get(ctx, request{url: u, limit: 1 << 20, timeout: timeout})
	if err != nil {
		return err
	}
	defer b.Close()
	_, err = io.Copy(io.Discard, b)
	return err
}

// Refused says err is a connection refused by the address check.
func Refused(err error) bool { return errors.Is(err, ErrNotPublic) }

// SetOwnAddresses makes c see addrs as this machine's interface addresses.
func SetOwnAddresses(c *Client, addrs ...string) {
	c.own = &ownAddrs{list: func() ([]net.Addr, error) {
		var out []net.Addr
		for _, a := range addrs {
			out = append(out, &net.IPAddr{IP: net.IP(netip.MustParseAddr(a).AsSlice())})
		}
		return out, nil
	}}
}

// CheckAddress is c's decision on connecting to ip.
func CheckAddress(c *Client, ip netip.Addr) error { return c.checkAddress(ip) }
