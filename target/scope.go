package target

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gownscan/gown"
)

// Scope holds what must not be probed: networks and domains (a domain
// excludes its subdomains too).
type Scope struct {
	nets    []netip.Prefix
	domains []string
}

// Exclude adds a network (CIDR or address) or a domain to the scope.
func (s *Scope) Exclude(item string) error {
	item = strings.TrimSpace(item)
	if p, err := netip.ParsePrefix(item); err == nil {
		s.nets = append(s.nets, p.Masked())
		return nil
	}
	if a, err := netip.ParseAddr(item); err == nil {
		s.nets = append(s.nets, netip.PrefixFrom(a, a.BitLen()))
		return nil
	}
	sp := Spec{Raw: item}
	if err := checkHost(&sp, item); err != nil {
		return fmt.Errorf("%w: exclude %q is neither a network nor a domain", gown.ErrBadTarget, item)
	}
	s.domains = append(s.domains, sp.Host)
	return nil
}

// Excluded reports whether an address or a host name is out of scope.
func (s *Scope) Excluded(host string, a netip.Addr) bool {
	if a.IsValid() {
		a = a.Unmap()
		for _, p := range s.nets {
			if p.Contains(a) {
				return true
			}
		}
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, d := range s.domains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// Overlaps reports whether a prefix lies wholly inside an excluded network.
func (s *Scope) covers(p netip.Prefix) bool {
	for _, n := range s.nets {
		if n.Bits() <= p.Bits() && n.Contains(p.Addr()) {
			return true
		}
	}
	return false
}
