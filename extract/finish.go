package extract

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/redact"
)

// finish assembles the app: endpoints and credentials in first-seen order,
// then the clear-text join, then the text pass.
func (s *appScan) finish() *gown.App {
	s.app.Endpoints, s.app.Credentials = s.col.results()
	if s.col.dropped > 0 {
		s.fail(fmt.Errorf("%d more endpoints past the cap of %d were not kept", s.col.dropped, s.cfg.MaxEndpoints))
	}
	s.decideParties()
	s.firestoreEndpoints()
	s.app.Cleartext = s.cleartext()
	textPass(s.app)
	return s.app
}

// firestoreHost is Cloud Firestore's REST API host.
const firestoreHost = "firestore.googleapis.com"

// firestoreEndpoints adds, for each Firebase project the app is configured
// with, its default Firestore database as an endpoint: the database the
// app's Firebase SDK reads, named by the project alone (the REST URL
// https://firestore.googleapis.com/v1/projects/P/databases/(default)), when
// the catalog has a store for that host. The project is the app's own
// configuration, so the endpoint is first-party. The collection names the
// app's code uses go with it (Names), for the prober to try first.
func (s *appScan) firestoreEndpoints() {
	store, sc, _ := s.cfg.Catalog.URL("https", firestoreHost)
	k, ok := s.cfg.Catalog.Kind(store)
	if store == "" || !ok || k.PathSegments == 0 {
		return
	}
	seen := map[string]bool{}
	for i, p := range s.projects {
		p = strings.ToLower(p)
		if !firebaseProject(p) || seen[p] {
			continue
		}
		seen[p] = true
		path := "/v1/projects/" + p + "/databases/(default)"
		s.app.Endpoints = append(s.app.Endpoints, gown.Endpoint{Kind: gown.KindURL, Value: "https://" + firestoreHost + path,
			Scheme: "https", Host: firestoreHost, Port: sc.Port, Store: store, TLS: sc.TLS, Path: path, Names: slices.Clone(s.collections),
			Party: gown.PartyFirst, FirstParty: true, Confidence: 0.7, Sources: []gown.Source{s.projectSrc[i]}})
	}
}

// firebaseProject reports whether p reads as a Firebase project id: 6 to
// 30 lowercase letters, digits and hyphens, starting with a letter.
func firebaseProject(p string) bool {
	if len(p) < 6 || len(p) > 30 || p[0] < 'a' || p[0] > 'z' {
		return false
	}
	return !strings.ContainsFunc(p, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') })
}

// Caps, in bytes, on an app's strings once the text pass is done: far
// above what a real app writes there, they bound what a crafted one makes
// gown store and print.
const (
	capName = 256  // package or bundle id, version
	capPath = 1024 // the app's file, an archive or entry name, a section (a plist key path)
	capText = 1024 // an error, a policy clause, a credential as shown
)

// textPass makes every string of a that the app chose safe, the way the
// probe engine's text pass treats what a server sends: zip entry names,
// manifest and Info.plist values, resource and key names, and the errors
// that quote them reach every output (the table, JSON, the store, reports)
// bounded, valid UTF-8 and unable to drive a terminal. Names (the file, the
// id and version, containers, entries, sections) go through redact.Name,
// which masks nothing, so that a location still names the entry a reader
// opens (assets/2024-01-01-12345.json stays that); the values that may hold
// a secret (errors, a credential as shown, a policy clause) go through
// redact.Text, which masks too. It runs once, at the end, because the readers need the raw
// names while they read (dispatch by entry name, the network security
// config's path, the container path asGiven maps back to the user's file).
//
// Endpoint values and hosts are not passed through it: they are gown's own
// normalised forms (url.URL.String percent-escapes what is not printable
// ASCII, ValidHost admits only host names and addresses, the other kinds
// are matched by ASCII rules) and stay the exact value a probe and a diff
// use; TestTextPass checks that no hostile app gets another byte into
// them. Writers that show them to a human still pass them through Text.
func textPass(a *gown.App) {
	a.File = redact.Name(a.File, capPath)
	a.ID = redact.Name(a.ID, capName)
	a.Version = redact.Name(a.Version, capName)
	for i, f := range a.Identity {
		a.Identity[i] = redact.Name(f, capPath)
	}
	for i, e := range a.Errors {
		a.Errors[i] = redact.Text(e, capText)
	}
	for i := range a.Endpoints {
		textSources(a.Endpoints[i].Sources)
		textSources(a.Endpoints[i].Parts)
	}
	for i := range a.Credentials {
		c := &a.Credentials[i]
		c.Value = redact.Text(c.Value, capText)
		textSources(c.Sources)
	}
	for i := range a.Cleartext {
		a.Cleartext[i].Policy = redact.Text(a.Cleartext[i].Policy, capText)
	}
}

// textSources runs the text pass over the places an endpoint or credential
// was found.
func textSources(srcs []gown.Source) {
	for i := range srcs {
		s := &srcs[i]
		s.Container = redact.Name(s.Container, capPath)
		s.Entry = redact.Name(s.Entry, capPath)
		s.Section = redact.Name(s.Section, capPath)
	}
}

// cleartext joins the platform's transport policy with the app's first-party
// http:// and ws:// endpoints: one finding per policy clause that lets some
// of them through, naming the clause and the endpoints.
func (s *appScan) cleartext() []gown.Cleartext {
	var out []gown.Cleartext
	at := map[string]int{}
	for _, e := range s.app.Endpoints {
		if e.Kind != gown.KindURL || (e.Scheme != "http" && e.Scheme != "ws") || e.Party == gown.PartyThird || e.Party == gown.PartyDev {
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
