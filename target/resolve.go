package target

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/gownscan/gown"
)

// Resolver maps host names to addresses: first the user's overrides
// (--resolve host=addr, which never touch DNS), then the system resolver with
// a bounded cache.
type Resolver struct {
	override map[string]netip.Addr
	// NoDNS makes names without an override fail instead of going to DNS.
	NoDNS bool
	// dns asks the system resolver; tests replace it to prove what never
	// reaches it.
	dns func(ctx context.Context, host string) ([]netip.Addr, error)

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	addrs []netip.Addr
	err   error
}

const cacheCap = 10000

// NewResolver builds a resolver with no overrides.
func NewResolver() *Resolver {
	return &Resolver{override: map[string]netip.Addr{}, cache: map[string]cached{}, dns: systemDNS}
}

func systemDNS(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// Override maps a name to an address; spec is "host=addr".
func (r *Resolver) Override(spec string) error {
	host, addr, ok := strings.Cut(spec, "=")
	if !ok {
		return fmt.Errorf("%w: --resolve %q: want host=addr", gown.ErrBadTarget, spec)
	}
	a, err := netip.ParseAddr(strings.Trim(strings.TrimSpace(addr), "[]"))
	if err != nil {
		return fmt.Errorf("%w: --resolve %q: %v", gown.ErrBadTarget, spec, err)
	}
	host = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	if err := CheckName(host); err != nil {
		return fmt.Errorf("--resolve %q: %w", spec, err)
	}
	r.override[host] = a
	return nil
}

// Lookup resolves a name. Address literals resolve to themselves; what
// cannot be a host name (CheckName) is refused with ErrBadTarget before
// any override or DNS, whichever path it came by (a typed spec, an app's
// endpoint).
func (r *Resolver) Lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	if err := CheckName(host); err != nil {
		return nil, err
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if a, ok := r.override[host]; ok {
		return []netip.Addr{a}, nil
	}
	if r.NoDNS {
		return nil, fmt.Errorf("%w: %s has no --resolve mapping and DNS is off", gown.ErrBadTarget, host)
	}
	r.mu.Lock()
	c, ok := r.cache[host]
	r.mu.Unlock()
	if ok {
		return c.addrs, c.err
	}
	dns := r.dns
	if dns == nil {
		dns = systemDNS
	}
	addrs, err := dns(ctx, host)
	if err != nil {
		err = fmt.Errorf("resolve %s: %w", host, err)
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	r.mu.Lock()
	if len(r.cache) >= cacheCap {
		clear(r.cache) // a crude bound; names rarely repeat far apart in a scan
	}
	r.cache[host] = cached{addrs, err}
	r.mu.Unlock()
	return addrs, err
}
