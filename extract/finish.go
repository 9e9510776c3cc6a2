package extract

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gownscan/gown"
)

// finish assembles the app: endpoints and credentials in first-seen order,
// then the clear-text join.
func (s *appScan) finish() *gown.App {
	s.app.Endpoints, s.app.Credentials = s.col.results()
	if s.col.dropped > 0 {
		s.fail(fmt.Errorf("%d more endpoints past the cap of %d were not kept", s.col.dropped, s.cfg.MaxEndpoints))
	}
	s.app.Cleartext = s.cleartext()
	return s.app
}

// cleartext joins the platform's transport policy with the app's first-party
// http:// and ws:// endpoints: one finding per policy clause that lets some
// of them through, naming the clause and the endpoints.
func (s *appScan) cleartext() []gown.Cleartext {
	var out []gown.Cleartext
	at := map[string]int{}
	for _, e := range s.app.Endpoints {
		if e.Kind != gown.KindURL || (e.Scheme != "http" && e.Scheme != "ws") || !e.FirstParty {
			continue
		}
		ok, why := s.policy(e.Host)
		if !ok {
			continue
		}
		i, seen := at[why]
		if !seen {
			i = len(out)
			at[why] = i
			out = append(out, gown.Cleartext{Policy: why})
		}
		if !slices.Contains(out[i].Endpoints, e.Value) {
			out[i].Endpoints = append(out[i].Endpoints, e.Value)
		}
	}
	return out
}

// policy says whether the app may speak clear text to host, and why.
func (s *appScan) policy(host string) (bool, string) {
	if s.app.Platform == gown.PlatformIOS {
		return s.iosPolicy(host)
	}
	return s.androidPolicy(host)
}

// iosPolicy applies App Transport Security: clear text is blocked unless
// NSAllowsArbitraryLoads is set or an exception domain allows insecure loads
// (an exception's own setting wins over the global one).
func (s *appScan) iosPolicy(host string) (bool, string) {
	a := s.ats
	if a == nil {
		return false, "ATS default (no NSAppTransportSecurity): clear text blocked"
	}
	for _, d := range a.Domains {
		if host == d.Domain || d.Subdomains && strings.HasSuffix(host, "."+d.Domain) {
			return d.Insecure, fmt.Sprintf("Info.plist ATS: NSExceptionDomains %s NSExceptionAllowsInsecureHTTPLoads=%t", d.Domain, d.Insecure)
		}
	}
	if a.ArbitraryLoads {
		return true, "Info.plist ATS: NSAllowsArbitraryLoads=true"
	}
	return false, "Info.plist ATS: clear text blocked"
}
