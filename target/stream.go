package target

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/redact"
)

// Config sets how specs expand into targets.
type Config struct {
	// Catalog is the table of URL schemes and store host names that specs
	// are read with (all.Catalog() in gown).
	Catalog *gown.Catalog
	// Ports apply to specs that name no port.
	Ports []int
	// MaxCIDR caps the addresses one CIDR may expand to.
	MaxCIDR uint64
	Scope   *Scope
	Resolve *Resolver
	Origin  string
	// OnError receives specs that cannot be used (bad syntax, no address, out
	// of scope); the stream goes on. A URL spec comes cut to its scheme,
	// host and port (redact.Arg), in the spec and in the error: they are
	// printed, and must not carry the credentials a user put in a URL.
	OnError func(spec string, err error)
}

// Validate checks the config and fills in defaults.
func (c *Config) Validate() error {
	if c.Catalog == nil {
		return fmt.Errorf("target: no catalog of schemes")
	}
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

// MaxLine caps the length of a line of a target list. A spec is a host,
// URL or CIDR: no real one comes near it, so a longer line is a file that
// is not a target list, and reading on would hold it all in memory.
const MaxLine = 64 << 10

// ErrLineTooLong is a line of a target list longer than MaxLine.
var ErrLineTooLong = fmt.Errorf("longer than the %d KiB a target list's line may hold", MaxLine>>10)

// LineError is a line of r that Lines could not read: Line counts from 1,
// blank and comment lines included, as an editor does.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Lines yields the non-empty, non-comment lines of r, one at a time. A
// line longer than MaxLine stops it with a *LineError wrapping
// ErrLineTooLong.
func Lines(r io.Reader, yield func(string) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !yield(line) {
			return nil
		}
	}
	switch err := sc.Err(); {
	case errors.Is(err, bufio.ErrTooLong):
		return &LineError{Line: n + 1, Err: ErrLineTooLong}
	case err != nil:
		return &LineError{Line: n + 1, Err: err}
	}
	return nil
}

// Expand turns one spec into targets, sending each on out. It returns early,
// with ctx's error, when ctx ends.
func Expand(ctx context.Context, cfg *Config, raw string, out chan<- gown.Target) error {
	sp, err := Parse(raw, cfg.Catalog)
	if err != nil {
		reject(cfg, raw, err)
		return nil
	}
	ports := cfg.Ports
	if sp.Port != 0 {
		ports = []int{sp.Port}
	}
	if sp.Prefix.IsValid() {
		return expandPrefix(ctx, cfg, sp, ports, out)
	}
	// A name is placed once for all its ports: one lookup, one error.
	a, err := place(ctx, cfg, sp.Host, netip.Addr{})
	if err != nil {
		reject(cfg, raw, err)
		return nil
	}
	for _, p := range ports {
		t := gown.Target{Host: sp.Host, Addr: a, Port: p, Hint: sp.Hint, TLS: sp.TLS, Origin: cfg.Origin, Path: sp.Path}
		if err := send(ctx, out, t); err != nil {
			return err
		}
	}
	return nil
}

// reject hands a spec that cannot be used to cfg.OnError, with a URL in it
// cut to what a target is made of (redact.Arg).
func reject(cfg *Config, raw string, err error) {
	safe := redact.Arg(raw)
	if safe != raw {
		err = cutError{raw: raw, safe: safe, err: err}
	}
	cfg.OnError(safe, err)
}

// cutError is the error of a spec whose URL was cut: its message names the
// cut spec. A URL that did not parse gets the parser's reason only when it
// quotes nothing, as "invalid port \":s3\" after host" quotes a password.
type cutError struct {
	raw, safe string
	err       error
}

func (e cutError) Error() string {
	if _, err := url.Parse(e.raw); err != nil {
		reason := err.Error()
		if ue, ok := err.(*url.Error); ok {
			reason = ue.Err.Error()
		}
		if strings.ContainsAny(reason, "\"'`") || strings.Contains(reason, e.raw) {
			reason = "not a URL gown can read"
		}
		return fmt.Sprintf("%v: %s: %s", gown.ErrBadTarget, e.safe, reason)
	}
	return strings.ReplaceAll(e.err.Error(), e.raw, e.safe)
}

func (e cutError) Unwrap() error { return e.err }

// ExpandTarget places one typed target, as an app's endpoint gives it
// (gown.Endpoint.Targets), and sends it on out: the same path as a typed
// host spec. An unresolved target (zero Addr) is resolved through
// cfg.Resolve (the overrides, then DNS unless NoDNS); the scope is checked on
// the name before resolving and on the address after; an empty Origin takes
// cfg's. A target that cannot be used goes to cfg.OnError as host:port, and
// the stream goes on. It returns ctx's error when ctx ends first.
func ExpandTarget(ctx context.Context, cfg *Config, t gown.Target, out chan<- gown.Target) error {
	if t.Host == "" && t.Addr.IsValid() {
		t.Host = t.Addr.String()
	}
	spec := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	if t.Host == "" || t.Port < 1 || t.Port > 65535 {
		cfg.OnError(spec, fmt.Errorf("%w: %q needs a host and a port in 1-65535", gown.ErrBadTarget, spec))
		return nil
	}
	a, err := place(ctx, cfg, t.Host, t.Addr)
	if err != nil {
		cfg.OnError(spec, err)
		return nil
	}
	t.Addr = a
	if t.Origin == "" {
		t.Origin = cfg.Origin
	}
	return send(ctx, out, t)
}

// place decides where a host is dialled: its name must be in scope, then the
// address it has (or resolves to: the first, since probing every A record is
// the user's call, via the list) must be in scope too.
func place(ctx context.Context, cfg *Config, host string, a netip.Addr) (netip.Addr, error) {
	if cfg.Scope.Excluded(host, netip.Addr{}) {
		return a, fmt.Errorf("%w: %s is excluded", gown.ErrBadTarget, host)
	}
	if !a.IsValid() {
		addrs, err := cfg.Resolve.Lookup(ctx, host)
		switch {
		case errors.Is(err, gown.ErrBadTarget):
			return a, err // the resolver said why (no mapping under --no-dns)
		case err != nil:
			return a, fmt.Errorf("%w: %w", gown.ErrBadTarget, err) // the *net.DNSError says whether DNS failed
		case len(addrs) == 0:
			return a, fmt.Errorf("%w: %s has no address", gown.ErrBadTarget, host)
		}
		a = addrs[0]
	}
	if cfg.Scope.Excluded(host, a) {
		return a, fmt.Errorf("%w: %s (%s) is excluded", gown.ErrBadTarget, host, a)
	}
	return a, nil
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
