package extract

import (
	"bytes"
	"net/netip"
	"strings"

	"github.com/gownscan/gown"
)

// Whose server is it? A host is the app's own (first party) when it is tied
// to the app's identity: a site the app names as its own (a deep-link or
// App Links host, an iOS associated domain, a network security config
// domain), a Firebase project the app is configured with, or a site whose
// name carries a distinctive word of the package or bundle id or of the
// signing certificate's subject. A host on the list of known third parties
// is third party; one tied to neither is unknown, reported but probed only
// when the user asks. Emulator and loopback hosts are development hosts,
// private addresses and names under non-public suffixes internal: neither
// is anyone's public back end.

// identity is what ties hosts to one app.
type identity struct {
	words    map[string]string // distinctive word → where it came from ("package com.acme.shop")
	sites    map[string]string // site → where it came from ("deep link links.acme.com")
	projects map[string]string // Firebase project id → where it came from
	seq      [][]string        // the id's and subject's words in order, for joined site names (shopplanted)
	shown    []string          // the facts, for App.Identity
}

// maxIdentity bounds the facts kept about one app's identity: a crafted
// manifest may name thousands of deep-link hosts.
const maxIdentity = 64

func newIdentity() *identity {
	return &identity{words: map[string]string{}, sites: map[string]string{}, projects: map[string]string{}}
}

// genericWords are words of ids, subjects and site names that tie nothing
// to anyone: top-level domains, platform and build words, legal forms, and
// the common words SDK and service names are made of (com.acme.analytics
// must not claim analytics-cloud.com).
var genericWords = wordSet(`com org net io co de uk us fr eu info biz me tv cn jp ru br in it es nl
		app apps application android ios mobile client api www web the my test tests demo demos sample samples
		example examples debug release prod staging dev lib libs sdk main core service services cloud server
		backend data online group inc ltd llc gmbh corp company corporation limited official free pro lite plus
		beta alpha internal unknown default common base shared global new apis settings tools util utils
		framework system provider manager support
		analytics ads push maps map pay payment payments auth login account accounts cdn static media images
		image video videos music news shop store market game games chat social health bank mail email weather
		photo photos camera travel food delivery sport sports fitness wallet cloud storage sync notify
		notifications messaging message messages search connect live tv radio player`)

func wordSet(text string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(text) {
		m[w] = true
	}
	return m
}

// note records a fact, at most maxIdentity of them.
func (id *identity) note(fact string) {
	if len(id.shown) < maxIdentity {
		id.shown = append(id.shown, fact)
	}
}

// addWords adds the distinctive words of a dotted id or a subject's
// values.
func (id *identity) addWords(text, why string) {
	var seq []string
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) {
		seq = append(seq, w)
		if len(w) >= 3 && !genericWords[w] && len(id.words) < maxIdentity {
			if _, ok := id.words[w]; !ok {
				id.words[w] = why
			}
		}
	}
	if len(seq) > 0 && len(id.seq) < maxIdentity {
		id.seq = append(id.seq, seq)
	}
}

// addSite ties a host's site to the app.
func (id *identity) addSite(p *Parties, host, why string) {
	host = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(host), "*."), "."))
	if host == "" || gown.DevHost(host) || gown.InternalHost(host) || !ValidHost(host) || len(id.sites) >= maxIdentity {
		return
	}
	if _, ok := id.sites[p.Site(host)]; !ok {
		id.sites[p.Site(host)] = why + " " + host
		id.note(why + " " + host)
	}
}

// addProject ties a Firebase project id to the app.
func (id *identity) addProject(project, why string) {
	project = strings.ToLower(strings.TrimSpace(project))
	if project == "" || len(id.projects) >= maxIdentity {
		return
	}
	if _, ok := id.projects[project]; !ok {
		id.projects[project] = why + " " + project
		id.note(why + " " + project)
	}
}

// owner says whether host is tied to the app, and by what.
func (id *identity) owner(p *Parties, host string) (string, bool) {
	site := p.Site(host)
	if why, ok := id.sites[site]; ok {
		return why, true
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return "", false
	}
	label, _, _ := strings.Cut(site, ".") // the tenant, or the name under the public suffix
	for pr, why := range id.projects {
		if label == pr || strings.HasPrefix(label, pr+"-") {
			return why, true
		}
	}
	parts := strings.FieldsFunc(label, func(r rune) bool { return r == '-' || r == '_' })
	for _, w := range parts {
		if why, ok := id.words[w]; ok {
			return why, true
		}
	}
	joined := strings.Join(parts, "")
	for _, seq := range id.seq { // shopplanted.net for com.shop.planted
		for i := range seq {
			var sb strings.Builder
			for j := i; j < len(seq) && sb.Len() < len(joined); j++ {
				sb.WriteString(seq[j])
				if j > i && sb.String() == joined && len(joined) >= 5 {
					return "words " + strings.Join(seq[i:j+1], ".") + " of the app's identity", true
				}
			}
		}
	}
	return "", false
}

// explicitHost reports whether a host that is not an Internet name may
// still be kept from an explicit URL or conn string: an internal name or a
// development host (reserved names such as .test and .invalid stay out).
func explicitHost(host string) bool {
	if !strings.Contains(host, ".") || strings.HasPrefix(host, ".") || strings.HasSuffix(host, ".") || strings.Contains(host, "..") {
		return false
	}
	return gown.InternalHost(host) || gown.DevHost(host)
}

// identity gathers the facts about the app's own identity read by the
// walk: its id, its signer's subject, its deep-link hosts, network
// security config domains, associated domains and Firebase projects.
func (s *appScan) identity() *identity {
	id := newIdentity()
	if s.app.ID != "" {
		what := "package"
		if s.app.Platform == gown.PlatformIOS {
			what = "bundle id"
		}
		id.addWords(s.app.ID, what+" "+s.app.ID)
		id.note(what + " " + s.app.ID)
	}
	if s.subject != "" {
		shown := subjectShown(s.subject)
		id.addWords(subjectValues(s.subject), "signer "+shown)
		id.note("signer " + shown)
	}
	if s.manifest != nil {
		for _, h := range s.manifest.Hosts {
			id.addSite(s.parties, h, "deep link")
		}
	}
	if s.nsc != nil {
		for _, d := range s.nsc.Domains {
			id.addSite(s.parties, d.Domain, "network security config")
		}
	}
	for _, d := range s.assoc {
		id.addSite(s.parties, d, "associated domain")
	}
	for _, p := range s.projects {
		id.addProject(p, "firebase project")
	}
	for _, f := range s.own {
		if f.words {
			id.addWords(f.text, f.why+" "+f.text)
			id.note(f.why + " " + f.text)
		} else {
			id.addSite(s.parties, f.text, f.why)
		}
	}
	return id
}

// subjectShown keeps a subject's common name, organisation and unit
// ("CN=Northwind release,O=Contoso Ltd"), the parts that name someone.
func subjectShown(subject string) string {
	var out []string
	for _, rdn := range strings.Split(subject, ",") {
		if k, _, ok := strings.Cut(strings.TrimSpace(rdn), "="); ok && (k == "CN" || k == "O" || k == "OU") {
			out = append(out, strings.TrimSpace(rdn))
		}
	}
	return strings.Join(out, ",")
}

// subjectValues keeps the organisation and common-name values of a subject
// ("CN=Android Debug,O=Android,C=US"): country and locality name nobody.
func subjectValues(subject string) string {
	var out []string
	for _, rdn := range strings.Split(subject, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(rdn), "=")
		if ok && (k == "CN" || k == "O" || k == "OU") {
			out = append(out, v)
		}
	}
	return strings.Join(out, " ")
}

// decideParties gives every endpoint its party, once the whole app has been
// read (the identity facts come from every part of it), and leaves the
// decision on the app for hosts found elsewhere (App.PartyOf: gown
// traffic's).
func (s *appScan) decideParties() {
	id := s.identity()
	for i := range s.app.Endpoints {
		e := &s.app.Endpoints[i]
		host := e.Host
		if e.Kind == gown.KindBucket {
			// A bucket probed at its store's host (Cloud Storage's virtual
			// host) belongs to whoever its own name belongs to.
			host, _, _ = strings.Cut(e.Value, ":")
		}
		e.Party = id.party(s.parties, host)
		e.FirstParty = e.Party == gown.PartyFirst
		if e.Party == gown.PartyDev {
			e.Confidence = min(e.Confidence, 0.1)
		}
	}
	s.app.Identity = id.shown
	// The closure holds the identity and the lists, not the scan: an app
	// kept for its PartyOf keeps nothing else of its reading alive.
	parties := s.parties
	s.app.PartyOf = func(host string) gown.Party {
		return id.party(parties, strings.ToLower(strings.TrimSuffix(host, ".")))
	}
}

// party decides one host's party: what the lists say of it for no app in
// particular (Parties.Party), made first when the identity ties an
// unknown or listed host to the app. A host on the "example" list stays
// third whatever ties it: documentation names are no one's back end.
func (id *identity) party(p *Parties, host string) gown.Party {
	party := p.Party(host)
	if party == gown.PartyUnknown || party == gown.PartyThird && p.Category(host) != "example" {
		if _, ok := id.owner(p, host); ok {
			return gown.PartyFirst
		}
	}
	return party
}

// associatedDomains finds iOS associated domains ("applinks:shop.example",
// "webcredentials:…") in a binary's embedded entitlements, at most
// maxIdentity of them.
func associatedDomains(b []byte) []string {
	var out []string
	for _, pre := range []string{"applinks:", "webcredentials:", "activitycontinuation:"} {
		rest := b
		for len(out) < maxIdentity {
			i := bytes.Index(rest, []byte(pre))
			if i < 0 {
				break
			}
			rest = rest[i+len(pre):]
			j := 0
			for j < len(rest) && j < 253 && (rest[j] == '.' || rest[j] == '-' || rest[j] == '*' ||
				rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 'A' && rest[j] <= 'Z' || rest[j] >= '0' && rest[j] <= '9') {
				j++
			}
			if j > 0 {
				out = append(out, string(rest[:j]))
			}
		}
	}
	return out
}
