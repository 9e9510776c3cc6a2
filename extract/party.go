package extract

import (
	_ "embed"
	"net/netip"
	"strings"

	"github.com/gownscan/gown"
	"golang.org/x/net/publicsuffix"
)

// The lists are data, not code: adding an SDK domain is adding a line.
var (
	//go:embed data/cloud_suffixes.txt
	cloudSuffixesText string
	//go:embed data/thirdparty.txt
	thirdPartyText string
)

// Parties decides whether a host is an app's own back end.
type Parties struct {
	cloud map[string]bool   // multi-tenant suffixes
	third map[string]string // domain → category
}

// NewParties builds the classifier from the embedded lists.
func NewParties() *Parties {
	p := &Parties{cloud: map[string]bool{}, third: map[string]string{}}
	for _, f := range dataLines(cloudSuffixesText) {
		p.cloud[f[0]] = true
	}
	for _, f := range dataLines(thirdPartyText) {
		if len(f) == 2 {
			p.third[f[0]] = f[1]
		}
	}
	return p
}

func dataLines(text string) [][]string {
	var out [][]string
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Fields(strings.ToLower(line)))
	}
	return out
}

// Category returns the third-party category of a host ("sdk", "noise"...)
// or "" for a host that is no one's but the app's, as far as the lists know.
func (p *Parties) Category(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for h := host; h != ""; {
		if c, ok := p.third[h]; ok {
			return c
		}
		_, rest, ok := strings.Cut(h, ".")
		if !ok {
			break
		}
		h = rest
	}
	return ""
}

// Party is host's party when no app's identity is known: a development
// or internal host as such (gown.DevHost, gown.InternalHost), a host on
// the third-party list third, any other unknown. Nothing is first party
// here: only an app's identity makes a host its own (App.PartyOf).
func (p *Parties) Party(host string) gown.Party {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if np := gown.NetworkParty(host); np != "" {
		return np
	}
	if p.Category(host) != "" {
		return gown.PartyThird
	}
	return gown.PartyUnknown
}

// Site returns the unit of ownership of a host: the tenant under a
// multi-tenant cloud suffix (app-1.firebaseio.com), else the registrable
// domain (api.shop.co.uk → shop.co.uk), else the host itself.
func (p *Parties) Site(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if _, err := netip.ParseAddr(host); err == nil {
		return host
	}
	labels := strings.Split(host, ".")
	for i := 1; i < len(labels); i++ {
		suffix := strings.Join(labels[i:], ".")
		if p.cloud[suffix] {
			if suffix == "firebasedatabase.app" && i >= 2 {
				// NAME.REGION.firebasedatabase.app: the tenant is NAME, not the region.
				return strings.Join(labels[i-2:], ".")
			}
			return strings.Join(labels[i-1:], ".")
		}
	}
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}

// ValidHost reports whether a name could be an Internet host: an address
// literal, or a name under a suffix the public suffix list knows. It keeps
// Java names (android.os.Build), file names (index.html) and version
// strings out of the endpoints.
func ValidHost(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	if host == "localhost" {
		return true
	}
	if !strings.Contains(host, ".") || strings.HasPrefix(host, ".") || strings.HasSuffix(host, ".") {
		return false
	}
	suffix, icann := publicsuffix.PublicSuffix(host)
	return (icann || strings.Contains(suffix, ".")) && suffix != host
}
