package traffic

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/assess"
)

// cleartextStores are the data-store protocols the readers recognise;
// they and HTTP are the application protocols whose clear text is app
// data (DNS and unrecognised bytes are not graded).
var cleartextStores = []string{"redis", "mysql", "postgres", "mongodb", "memcached"}

// cleartextGraded says whether clear text with nothing sensitive seen in
// it (rule cleartext-traffic) is a finding for a back end of party p
// speaking proto. To the app's own back ends, any application protocol
// is. To an unknown or internal host, only a data store's protocol: a
// capture of one's own app that shows a database spoken to in clear text
// is worth a finding whoever runs the database, while plain HTTP to a
// host nobody can place is too often an SDK's, or the device's own
// traffic recorded alongside the app's. To a third party, none: that is
// the SDK's choice and shows on every app that embeds it. To a
// development host, none: loopback and emulator traffic never crossed a
// network. (Personal data and credentials in clear text are findings
// whatever the party: they say what the app sends, and a development
// build sends what the release will.)
func cleartextGraded(p gown.Party, proto string) bool {
	switch p {
	case gown.PartyFirst:
		return proto == "http" || slices.Contains(cleartextStores, proto)
	case gown.PartyUnknown, gown.PartyInternal:
		return slices.Contains(cleartextStores, proto)
	}
	return false
}

// Target is the back end as a finding's subject: its best name, its
// address and port, Origin "traffic".
func (b Backend) Target() gown.Target {
	t := gown.Target{Host: b.Host, Port: b.Port, Hint: b.Store, TLS: b.TLS && !b.Cleartext, Origin: "traffic"}
	if a, err := netip.ParseAddr(b.Addr); err == nil {
		t.Addr = a
	}
	return t
}

func (b Backend) label() string {
	return fmt.Sprintf("%s (%s)", hostPort(b.Host, b.Port), b.Protocol)
}

// source points a finding at a place in a capture: the file itself (no
// entry: a capture is not an archive) at the byte offset of the packet's
// record or the HAR entry, which the section names with the protocol. A
// SARIF region's byteOffset is then an offset in the file, as it must be.
func (w Where) source(section string) gown.Source {
	where := fmt.Sprintf("packet %d", w.Packet)
	if w.Entry > 0 {
		where = fmt.Sprintf("HAR entry %d", w.Entry)
	}
	return gown.Source{Container: w.File, Section: where + ", " + section, Offset: w.Offset}
}

// Findings grades the report by the rule table: personal data in clear
// text (high), credentials in clear text (high), to any back end, and
// other clear-text traffic (medium) to the back ends cleartextGraded
// names. One finding per rule and back end; the ids are stable across
// captures of the same back end.
func (r *Report) Findings() []gown.Finding {
	var out []gown.Finding
	add := func(rule string, b Backend, title string, classes []string, locs []gown.Source) {
		rl, _, _ := assess.RuleByID(rule)
		t := b.Target()
		out = append(out, gown.Finding{ID: gown.FindingID(rule, b.Store, t), Severity: rl.Severity, Rule: rule, Title: title,
			Target: t, Store: b.Store, Classes: classes, Locations: locs})
	}
	for _, b := range r.Backends {
		if !b.Cleartext {
			continue
		}
		loc := []gown.Source{b.Seen.source(b.Protocol)}
		graded := false
		if cls := sensitive(b); len(cls) > 0 {
			recs := 0
			for _, c := range b.Classes {
				recs = max(recs, c.Records)
			}
			add(assess.RuleTrafficPersonal, b, fmt.Sprintf("traffic to %s carried personal data in clear text: %s (in %d %s)",
				b.label(), strings.Join(assess.ShortList(cls, 5), ", "), recs, plural(recs, "record", "records")), cls, loc)
			graded = true
		}
		var kinds []string
		var locs []gown.Source
		key := hostPort(b.Host, b.Port)
		for _, c := range r.Credentials {
			if c.Backend != key {
				continue
			}
			k := c.Kind
			if c.Detail != "" {
				k += " (" + c.Detail + ")"
			}
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
			if src := c.Where.source(c.Kind); len(locs) < 16 && !slices.Contains(locs, src) {
				locs = append(locs, src)
			}
		}
		if len(kinds) > 0 {
			add(assess.RuleTrafficCredential, b, fmt.Sprintf("traffic to %s sent %s in clear text: %s", b.label(),
				plural(len(kinds), "a credential", "credentials"), strings.Join(assess.ShortList(kinds, 3), "; ")), nil, locs)
			graded = true
		}
		if !graded && cleartextGraded(b.party(), b.Protocol) {
			add(assess.RuleTrafficCleartext, b, fmt.Sprintf("traffic to %s crossed in clear text (%d %s)", b.label(),
				b.Flows, plural(b.Flows, "connection", "connections")), nil, loc)
		}
	}
	slices.SortStableFunc(out, func(x, y gown.Finding) int { return int(y.Severity) - int(x.Severity) })
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Endpoints gives the back ends as endpoints, for probing (each
// Endpoint.Targets, as an app's) and for Join. The resolver and DNS are
// not used: the address the traffic went to is the one probed, named by
// the best name known. Endpoints are typed as an app's are: URLs for HTTP,
// connection strings for stores, an address and port for the rest.
func (r *Report) Endpoints() []gown.Endpoint {
	var out []gown.Endpoint
	for _, b := range r.Backends {
		if b.Protocol == "dns" || b.Port == 0 {
			continue
		}
		e := gown.Endpoint{Host: b.Host, Port: b.Port, Store: b.Store, TLS: b.TLS && !b.Cleartext, Party: b.party(),
			FirstParty: b.party() == gown.PartyFirst, Confidence: 1, Sources: []gown.Source{b.Seen.source(b.Protocol)}}
		switch {
		case b.Store != "":
			e.Kind, e.Scheme = gown.KindConnString, b.Store
			e.Value = b.Store + "://" + hostPort(b.Host, b.Port)
		case b.Protocol == "http" || b.Protocol == "tls" && hasHTTP(b.ALPN):
			e.Kind, e.Scheme = gown.KindURL, "http"
			if e.TLS {
				e.Scheme = "https"
			}
			e.Value = e.Scheme + "://" + hostPort(b.Host, b.Port) + "/"
		default:
			e.Kind = gown.KindIPPort
			if _, err := netip.ParseAddr(b.Host); err != nil {
				e.Kind = gown.KindHost
			}
			e.Value = hostPort(b.Host, b.Port)
		}
		out = append(out, e)
	}
	// Names DNS resolved that no recorded connection used: the app looked
	// them up, so they are its back ends too, with no port known.
	used := map[string]bool{}
	for _, b := range r.Backends {
		used[b.Host] = true
		for _, n := range b.Names {
			used[n] = true
		}
	}
	for _, d := range r.DNS {
		if used[d.Name] {
			continue
		}
		out = append(out, gown.Endpoint{Kind: gown.KindHost, Value: d.Name, Host: d.Name, Party: d.party(), FirstParty: d.party() == gown.PartyFirst,
			Confidence: 1, Sources: []gown.Source{d.Seen.source("dns")}})
	}
	return out
}

func hasHTTP(alpn []string) bool {
	return len(alpn) == 0 || slices.ContainsFunc(alpn, func(p string) bool { return p == "h2" || strings.HasPrefix(p, "http/") })
}

// Targets expands the first-party back ends, and those of the parties
// scope adds (unknown, internal), into the targets to probe, as gown app
// does with an app's endpoints (Endpoint.TargetsIn: the store a protocol
// names, else the port seen plus each of storePorts), without repeats.
// Third-party and development hosts are never probed. Each target carries
// the address the traffic reached, so that probing dials it rather than
// looking the name up again.
func (r *Report) Targets(storePorts []int, scope gown.PartyScope) []gown.Target {
	addrs := map[string]netip.Addr{}
	for _, d := range r.DNS {
		if a, err := netip.ParseAddr(d.Addrs[0]); err == nil {
			addrs[d.Name] = a
		}
	}
	for _, b := range r.Backends {
		if a, err := netip.ParseAddr(b.Addr); err == nil {
			if _, ok := addrs[b.Host]; !ok {
				addrs[b.Host] = a
			}
		}
	}
	var out []gown.Target
	seen := map[string]bool{}
	for _, e := range r.Endpoints() {
		for _, t := range e.TargetsIn(storePorts, scope) {
			t.Origin = "traffic"
			t.Addr = addrs[t.Host]
			// One probe per address and port, whatever names reached it.
			k := gown.TargetKey(t)
			if t.Addr.IsValid() {
				k = netip.AddrPortFrom(t.Addr, uint16(t.Port)).String()
			}
			if !seen[k] {
				seen[k] = true
				out = append(out, t)
			}
		}
	}
	return out
}
