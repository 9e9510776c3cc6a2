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
	Path   string       // what a URL's path names, for stores whose data it names (StoreKind.DataPath)
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
	if k, ok := c.Kind(store); ok {
		sp.Path = k.DataPath(u.EscapedPath())
	}
	if p := u.Port(); p != "" {
		if sp.Port, err = parsePort(p); err != nil {
			return sp, err
		}
	}
	return sp, checkHost(&sp, u.Hostname())
}

// checkHost sets sp.Host to host, an address literal (IPv6 in brackets
// or not) or a host name, and refuses anything else before it can reach a
// resolver.
func checkHost(sp *Spec, host string) error {
	if inner, ok := strings.CutPrefix(host, "["); ok {
		inner, ok = strings.CutSuffix(inner, "]")
		a, err := netip.ParseAddr(inner)
		if !ok || err != nil {
			return fmt.Errorf("%w: %q: brackets must enclose an IPv6 address, [::1]", gown.ErrBadTarget, sp.Raw)
		}
		sp.Host = a.String()
		return nil
	}
	if strings.ContainsAny(host, "[]") {
		return fmt.Errorf("%w: %q: brackets must enclose an IPv6 address, [::1]", gown.ErrBadTarget, sp.Raw)
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return fmt.Errorf("%w: %q has no host", gown.ErrBadTarget, sp.Raw)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		sp.Host = a.String()
		return nil
	}
	if err := CheckName(host); err != nil {
		return err
	}
	sp.Host = strings.ToLower(host)
	return nil
}

// CheckName refuses what cannot be a host name, so that it never reaches
// a resolver: a system resolver takes "256.1.1.1" or "12345" for a name
// (or, as inet_aton, for an address) and asks DNS about it. A host name is
// at most 253 characters (one trailing dot aside) of labels of 1 to 63
// letters, digits, '-' and '_' (SRV and DKIM names use it); a label does
// not begin or end with '-' (RFC 952, RFC 1123 2.1: "-l", "db-.example"),
// and the last one is not all digits: no top-level domain is (RFC 3696 2),
// and a dotted number that netip did not read as an address is a
// mistyped address ("256.1.1.1", "10.1.2.999"), not a name.
func CheckName(host string) error {
	name := strings.TrimSuffix(host, ".")
	bad := func(why string, args ...any) error {
		return fmt.Errorf("%w: %q is not a host name: %s", gown.ErrBadTarget, host, fmt.Sprintf(why, args...))
	}
	if name == "" {
		return bad("empty")
	}
	if len(name) > 253 {
		return bad("longer than 253 characters")
	}
	labels := strings.Split(name, ".")
	for _, label := range labels {
		switch {
		case label == "":
			return bad("an empty label")
		case len(label) > 63:
			return bad("a label longer than 63 characters")
		case label[0] == '-' || label[len(label)-1] == '-':
			return bad("label %q begins or ends with '-'", label)
		}
		for _, r := range label {
			if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return bad("character %q", r)
			}
		}
	}
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" {
		if len(labels) == 4 {
			return bad("nor an IPv4 address, whose four parts are 0 to 255")
		}
		return bad("its last label %q is all digits, which no top-level domain is", last)
	}
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
