package extract

import (
	"crypto/sha256"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/rules"
	"github.com/gownscan/gown/redact"
)

// maxSources bounds the places kept per endpoint or credential.
const maxSources = 16

// maxValue bounds a matched value: a URL in a minified bundle can run on
// for kilobytes of query string.
const maxValue = 512

// collector gathers one app's endpoints and credentials, merging repeats.
type collector struct {
	rules   []*rules.Rule
	parties *Parties
	eps     map[string]*gown.Endpoint
	creds   map[[32]byte]*gown.Credential
	order   []string // endpoint keys in first-seen order, for stable output
	corder  [][32]byte
	maxEps  int
	dropped int // endpoints past maxEps
}

func newCollector(rs []*rules.Rule, p *Parties, maxEps int) *collector {
	return &collector{rules: rs, parties: p, eps: map[string]*gown.Endpoint{},
		creds: map[[32]byte]*gown.Credential{}, maxEps: maxEps}
}

// scan runs every rule over one text. src.Offset is the text's own offset;
// each match's source carries the match's offset. A span taken by an
// earlier rule is not matched again by a later one.
func (c *collector) scan(text string, src gown.Source) {
	var taken [][2]int
	for _, r := range c.rules {
		for _, m := range r.Find(text) {
			if overlaps(taken, m.Start, m.End) {
				continue
			}
			s := src
			s.Offset += int64(m.Start)
			if c.add(r, m.Value, s) {
				taken = append(taken, [2]int{m.Start, m.End})
			}
		}
	}
}

func overlaps(spans [][2]int, s, e int) bool {
	for _, sp := range spans {
		if s < sp[1] && e > sp[0] {
			return true
		}
	}
	return false
}

// add turns a match into an endpoint or a credential; false when the match
// was not a usable value (an invalid host, a noise domain).
func (c *collector) add(r *rules.Rule, v string, src gown.Source) bool {
	if len(v) > maxValue {
		v = v[:maxValue]
	}
	if r.Kind == rules.Secret {
		c.credential(r.ID, v[:min(4, len(v))]+"…"+redact.Secret(v), v, "", src)
		return true
	}
	ep, user := c.endpoint(r, v)
	if ep == nil {
		return false
	}
	if user != nil {
		if _, has := user.Password(); has {
			c.credential("conn-string-password", redact.String(v), v, ep.Host, src)
		}
	}
	key := string(ep.Kind) + "\x00" + ep.Value
	if old, ok := c.eps[key]; ok {
		old.AddSource(src, maxSources)
		return true
	}
	if len(c.eps) >= c.maxEps {
		c.dropped++
		return true
	}
	ep.Sources = []gown.Source{src}
	c.eps[key] = ep
	c.order = append(c.order, key)
	return true
}

func (c *collector) credential(rule, shown, raw, host string, src gown.Source) {
	k := sha256.Sum256([]byte(rule + "\x00" + raw)) // the raw secret is hashed, never kept
	if old, ok := c.creds[k]; ok {
		if len(old.Sources) < maxSources && !slices.Contains(old.Sources, src) {
			old.Sources = append(old.Sources, src)
		}
		return
	}
	c.creds[k] = &gown.Credential{Rule: rule, Value: shown, Host: host, Sources: []gown.Source{src}}
	c.corder = append(c.corder, k)
}

// endpoint builds a typed endpoint from a match, with user information cut
// out of the value and returned apart.
func (c *collector) endpoint(r *rules.Rule, v string) (*gown.Endpoint, *url.Userinfo) {
	ep := &gown.Endpoint{Kind: gown.EndpointKind(r.Kind), Confidence: r.Confidence, Store: r.Store}
	var user *url.Userinfo
	switch ep.Kind {
	case gown.KindConnString, gown.KindURL:
		if user = parseURL(ep, v); user == nil && ep.Host == "" {
			return nil, nil
		}
	case gown.KindFirebase:
		ep.Host, ep.Scheme, ep.Port, ep.Value = strings.ToLower(v), "https", 443, "https://"+strings.ToLower(v)
	case gown.KindBucket:
		ep.Host, ep.Value = strings.ToLower(v), strings.ToLower(v)
	case gown.KindIPPort, gown.KindHost:
		h, p, _ := strings.Cut(v, ":")
		ep.Host, ep.Value = strings.ToLower(h), strings.ToLower(v)
		ep.Port, _ = strconv.Atoi(p)
		if ep.Port < 1 || ep.Port > 65535 {
			return nil, nil
		}
	}
	if ep.Host == "" || !ValidHost(ep.Host) {
		return nil, nil
	}
	cat := c.parties.Category(ep.Host)
	if cat == "noise" {
		return nil, nil
	}
	ep.FirstParty = cat == ""
	if ep.Kind == gown.KindURL && docPage(ep.Value) {
		ep.Confidence = min(ep.Confidence, 0.3) // a page to read, not an API
	}
	if a, err := netip.ParseAddr(ep.Host); err == nil && (a.IsLoopback() || a.IsUnspecified()) || cat == "example" {
		ep.Confidence = 0.1 // a dev server or a placeholder, not a back end
	}
	return ep, user
}

// docPage reports whether a URL names a document (licence, help page,
// schema) rather than an API.
func docPage(v string) bool {
	switch strings.ToLower(path.Ext(v)) {
	case ".html", ".htm", ".md", ".txt", ".pdf", ".xsd", ".dtd", ".php":
		return true
	}
	return false
}

// parseURL fills scheme, host, port, store and a credential-free value from
// a URL or a conn string (jdbc: prefixed or not). It returns the user info,
// if any, for the caller to report.
func parseURL(ep *gown.Endpoint, v string) *url.Userinfo {
	prefix := ""
	if strings.HasPrefix(strings.ToLower(v), "jdbc:") {
		prefix, v = v[:5], v[5:]
	}
	u, err := url.Parse(strings.TrimRight(v, ".,;:)]}"))
	if err != nil || u.Hostname() == "" {
		return nil
	}
	ep.Scheme = strings.ToLower(u.Scheme)
	ep.Host = strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	sc := schemeInfo[ep.Scheme]
	ep.Port = sc.port
	if p := u.Port(); p != "" {
		if ep.Port, err = strconv.Atoi(p); err != nil || ep.Port < 1 || ep.Port > 65535 {
			ep.Host = ""
			return nil
		}
	}
	if ep.Store == "sql" || ep.Store == "scheme" || ep.Kind == gown.KindConnString {
		ep.Store = sc.store
	}
	user := u.User
	u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
	ep.Value = prefix + u.String()
	return user
}

// schemeInfo gives each scheme's default port and the prober it names. The
// target package has the same facts for typed targets; the root package
// cannot import it and extraction must not depend on probing.
var schemeInfo = map[string]struct {
	port  int
	store string
}{
	"http": {80, ""}, "https": {443, ""}, "ws": {80, ""}, "wss": {443, ""},
	"mongodb": {27017, "mongodb"}, "mongodb+srv": {27017, "mongodb"},
	"redis": {6379, "redis"}, "rediss": {6379, "redis"},
	"mysql": {3306, "mysql"}, "mariadb": {3306, "mysql"},
	"postgres": {5432, "postgres"}, "postgresql": {5432, "postgres"},
	"couchdb": {5984, "couchdb"}, "elasticsearch": {9200, "elasticsearch"},
	"memcached": {11211, "memcached"}, "amqp": {5672, ""}, "amqps": {5671, ""},
	"cassandra": {9042, ""}, "neo4j": {7687, ""}, "bolt": {7687, ""},
}

// results returns the endpoints and credentials in first-seen order.
func (c *collector) results() ([]gown.Endpoint, []gown.Credential) {
	eps := make([]gown.Endpoint, 0, len(c.order))
	for _, k := range c.order {
		eps = append(eps, *c.eps[k])
	}
	creds := make([]gown.Credential, 0, len(c.corder))
	for _, k := range c.corder {
		creds = append(creds, *c.creds[k])
	}
	return eps, creds
}

// runs calls fn with each run of at least minRun printable ASCII bytes in b
// and its offset: how strings are found in binaries (ELF, Mach-O, Hermes
// bytecode, databases) whose string layout is not decoded.
func runs(b []byte, minRun int, fn func(off int, s string)) {
	start := -1
	for i, ch := range b {
		if ch >= 0x20 && ch < 0x7f {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= minRun {
			fn(start, string(b[start:i]))
		}
		start = -1
	}
	if start >= 0 && len(b)-start >= minRun {
		fn(start, string(b[start:]))
	}
}
