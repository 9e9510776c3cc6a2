// Package target turns what a user types (host, host:port, URL, CIDR, lists
// in files or on stdin) into a stream of gown.Target values, applying the
// port list, the exclusion scope and the resolver override. It streams: a
// CIDR or a file of a million lines is expanded lazily, so memory does not
// grow with the number of targets.
package target

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
)

// Spec is one parsed target specification.
type Spec struct {
	Raw    string
	Host   string       // a name or an address literal; empty for a CIDR
	Prefix netip.Prefix // set for a CIDR
	Port   int          // 0: use the port list
	Hint   string       // store named by a URL's scheme or host
	TLS    bool         // a TLS scheme (rediss, https)
}

// Parse reads one target specification. A URL's scheme and host are looked
// up in c, the one table of schemes (gown.Catalog.URL): they give the hint,
// the default port and TLS. An unknown scheme is accepted with none of them.
func Parse(s string, c *gown.Catalog) (Spec, error) {
	s = strings.TrimSpace(s)
	sp := Spec{Raw: s}
	if s == "" {
		return sp, fmt.Errorf("%w: empty target", gown.ErrBadTarget)
	}
	if strings.Contains(s, "://") {
		return parseURL(s, c)
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return sp, fmt.Errorf("%w: %q is neither a URL nor a CIDR: %v", gown.ErrBadTarget, s, err)
		}
		sp.Prefix = p.Masked()
		return sp, nil
	}
	if a, err := netip.ParseAddr(s); err == nil { // bare address, IPv6 included
		sp.Host = a.String()
		return sp, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil { // a bare name
		return sp, checkHost(&sp, s)
	}
	if sp.Port, err = parsePort(port); err != nil {
		return sp, err
	}
	return sp, checkHost(&sp, host)
}

func parseURL(s string, c *gown.Catalog) (Spec, error) {
	sp := Spec{Raw: s}
	u, err := url.Parse(s)
	if err != nil {
		return sp, fmt.Errorf("%w: %v", gown.ErrBadTarget, err)
	}
	store, sc, _ := c.URL(u.Scheme, u.Hostname())
	sp.Hint, sp.TLS, sp.Port = store, sc.TLS, sc.Port
	if p := u.Port(); p != "" {
		if sp.Port, err = parsePort(p); err != nil {
			return sp, err
		}
	}
	return sp, checkHost(&sp, u.Hostname())
}

func checkHost(sp *Spec, host string) error {
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if host == "" {
		return fmt.Errorf("%w: %q has no host", gown.ErrBadTarget, sp.Raw)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		sp.Host = a.String()
		return nil
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || strings.ContainsFunc(label, func(r rune) bool {
			return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		}) {
			return fmt.Errorf("%w: %q is not a host name", gown.ErrBadTarget, host)
		}
	}
	sp.Host = strings.ToLower(host)
	return nil
}

// String gives the spec back in a canonical form.
func (sp Spec) String() string {
	if sp.Prefix.IsValid() {
		return sp.Prefix.String()
	}
	if sp.Port != 0 {
		return net.JoinHostPort(sp.Host, strconv.Itoa(sp.Port))
	}
	return sp.Host
}
