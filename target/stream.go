package target

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/big"
	"net/netip"
	"strings"

	"github.com/gownscan/gown"
)

// Config sets how specs expand into targets.
type Config struct {
	// Ports apply to specs that name no port.
	Ports []int
	// MaxCIDR caps the addresses one CIDR may expand to.
	MaxCIDR uint64
	Scope   *Scope
	Resolve *Resolver
	Origin  string
	// OnError receives specs that cannot be used (bad syntax, no address, out
	// of scope); the stream goes on.
	OnError func(spec string, err error)
}

// Validate checks the config and fills in defaults.
func (c *Config) Validate() error {
	if len(c.Ports) == 0 {
		return fmt.Errorf("target: no ports to scan")
	}
	if c.MaxCIDR == 0 {
		c.MaxCIDR = 1 << 16
	}
	if c.Scope == nil {
		c.Scope = &Scope{}
	}
	if c.Resolve == nil {
		c.Resolve = NewResolver()
	}
	if c.OnError == nil {
		c.OnError = func(string, error) {}
	}
	if c.Origin == "" {
		c.Origin = "cli"
	}
	return nil
}

// Lines yields the non-empty, non-comment lines of r, one at a time.
func Lines(r io.Reader, yield func(string) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !yield(line) {
			return nil
		}
	}
	return sc.Err()
}

// Expand turns one spec into targets, sending each on out. It returns early,
// with ctx's error, when ctx ends.
func Expand(ctx context.Context, cfg *Config, raw string, out chan<- gown.Target) error {
	sp, err := Parse(raw)
	if err != nil {
		cfg.OnError(raw, err)
		return nil
	}
	ports := cfg.Ports
	if sp.Port != 0 {
		ports = []int{sp.Port}
	}
	if sp.Prefix.IsValid() {
		return expandPrefix(ctx, cfg, sp, ports, out)
	}
	if cfg.Scope.Excluded(sp.Host, netip.Addr{}) {
		cfg.OnError(raw, fmt.Errorf("%w: %s is excluded", gown.ErrBadTarget, sp.Host))
		return nil
	}
	addrs, err := cfg.Resolve.Lookup(ctx, sp.Host)
	if err != nil || len(addrs) == 0 {
		cfg.OnError(raw, fmt.Errorf("%w: %v", gown.ErrBadTarget, err))
		return nil
	}
	a := addrs[0] // one address per name: probing every A record is the user's call, via the list
	if cfg.Scope.Excluded(sp.Host, a) {
		cfg.OnError(raw, fmt.Errorf("%w: %s (%s) is excluded", gown.ErrBadTarget, sp.Host, a))
		return nil
	}
	for _, p := range ports {
		t := gown.Target{Host: sp.Host, Addr: a, Port: p, Hint: sp.Hint, TLS: sp.TLS, Origin: cfg.Origin}
		if err := send(ctx, out, t); err != nil {
			return err
		}
	}
	return nil
}

func expandPrefix(ctx context.Context, cfg *Config, sp Spec, ports []int, out chan<- gown.Target) error {
	p := sp.Prefix
	size := new(big.Int).Lsh(big.NewInt(1), uint(p.Addr().BitLen()-p.Bits()))
	if size.Cmp(new(big.Int).SetUint64(cfg.MaxCIDR)) > 0 {
		cfg.OnError(sp.Raw, fmt.Errorf("%w: %s has %s addresses, above the cap of %d (raise --max-cidr)", gown.ErrBadTarget, p, size, cfg.MaxCIDR))
		return nil
	}
	if cfg.Scope.covers(p) {
		cfg.OnError(sp.Raw, fmt.Errorf("%w: %s is excluded", gown.ErrBadTarget, p))
		return nil
	}
	// Host-major order: all ports of one address, then the next address. The
	// engine's per-host limit keeps one host from taking every worker.
	for a := p.Addr(); a.IsValid() && p.Contains(a); a = a.Next() {
		if cfg.Scope.Excluded("", a) {
			continue
		}
		for _, port := range ports {
			t := gown.Target{Host: a.String(), Addr: a, Port: port, Origin: cfg.Origin}
			if err := send(ctx, out, t); err != nil {
				return err
			}
		}
	}
	return nil
}

func send(ctx context.Context, out chan<- gown.Target, t gown.Target) error {
	select {
	case out <- t:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
