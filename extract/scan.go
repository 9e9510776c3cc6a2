package extract

import (
	"bytes"
	"crypto/sha256"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/rules"
	"github.com/gownscan/gown/internal/lazyre"
	"github.com/gownscan/gown/redact"
)

// maxSources bounds the places kept per endpoint or credential.
const maxSources = 16

// maxValue bounds a matched value: a URL in a minified bundle can run on
// for kilobytes of query string.
const maxValue = 512

// collector gathers one app's endpoints and credentials, merging repeats.
// Only the walk's merging goroutine touches it.
type collector struct {
	eps     map[string]*gown.Endpoint
	creds   map[[32]byte]*gown.Credential
	order   []string // endpoint keys in first-seen order, for stable output
	corder  [][32]byte
	maxEps  int
	dropped int // endpoints past maxEps
}

func newCollector(maxEps int) *collector {
	return &collector{eps: map[string]*gown.Endpoint{}, creds: map[[32]byte]*gown.Credential{}, maxEps: maxEps}
}

// hit is one usable match, already typed: an endpoint, a credential or both
// (a conn string with a password). Each carries the one source it was seen at.
type hit struct {
	ep      *gown.Endpoint
	cred    *gown.Credential
	credKey [32]byte
}

// record merges a hit into the app's results.
func (c *collector) record(h hit) {
	if h.cred != nil {
		if old, ok := c.creds[h.credKey]; ok {
			if len(old.Sources) < maxSources && !slices.Contains(old.Sources, h.cred.Sources[0]) {
				old.Sources = append(old.Sources, h.cred.Sources[0])
			}
		} else {
			c.creds[h.credKey] = h.cred
			c.corder = append(c.corder, h.credKey)
		}
	}
	if h.ep == nil {
		return
	}
	key := string(h.ep.Kind) + "\x00" + h.ep.Value
	if old, ok := c.eps[key]; ok {
		old.AddSource(h.ep.Sources[0], maxSources)
		if old.Parts == nil && h.ep.Parts != nil && old.Confidence > h.ep.Confidence {
			// Read whole elsewhere: the higher confidence stays, the
			// pieces are kept for the record.
			old.Parts = h.ep.Parts
		}
		return
	}
	if len(c.eps) >= c.maxEps {
		c.dropped++
		return
	}
	c.eps[key] = h.ep
	c.order = append(c.order, key)
}

// unit is the reading of one entry: the hits it found in order, its errors,
// and the changes it makes to the app's state. Units of one archive are read
// in parallel and merged in entry order, so the app comes out as a
// sequential read would give it. While units run, they only read the
// appScan (caps, rules, the resource table and manifest found before the
// walk); every write goes through an effect, run at merge time.
type unit struct {
	s       *appScan
	hits    []hit
	errs    []error
	effects []func(*appScan)
}

func (u *unit) fail(err error) {
	if err != nil && len(u.errs) < 100 {
		u.errs = append(u.errs, err)
	}
}

func (u *unit) effect(f func(*appScan)) { u.effects = append(u.effects, f) }

// pieceMin is the shortest piece of text that can hold a match
// ("a.io:9200", "redis://x"), and splitMin the length past which a text is
// split into pieces at delimiters before matching.
const (
	pieceMin = 6
	splitMin = 256
)

// scan runs every rule over one text. src.Offset is the text's own offset;
// each match's source carries the match's offset. A long text (a JS bundle,
// a JSON config) is searched piece by piece between delimiters (see
// rules.Delimiter), which gives the same matches far faster. text may be a
// view into a reused buffer: every value kept is a copy.
func (u *unit) scan(text []byte, src gown.Source) {
	if len(text) < pieceMin {
		return
	}
	u.collections(text)
	if len(text) <= splitMin {
		u.match(text, src, u.s.rules)
		return
	}
	for i := 0; i < len(text); {
		for i < len(text) && rules.Delimiter(text[i]) {
			i++
		}
		j := i
		for j < len(text) && !rules.Delimiter(text[j]) {
			j++
		}
		if j-i >= pieceMin {
			r := src
			r.Offset += int64(i)
			u.match(text[i:j], r, u.s.pieceRules)
		}
		i = j
	}
	u.match(text, src, u.s.wholeRules)
}

// collectionCall matches a Firestore collection reference with a literal
// name in JavaScript: collection(db, "rides") (the modular SDK),
// db.collection("rides") and firestore().collection('rides') (namespaced
// and React Native Firebase).
var collectionCall = lazyre.New("collection\\(\\s*(?:[A-Za-z_$][\\w$.()]{0,64}\\s*,\\s*)?[\"'`]([A-Za-z0-9_-]{1,64})[\"'`]")

// maxCollectionNames bounds the collection names one app gives.
const maxCollectionNames = 32

// collections records the Firestore collection names a text's code uses.
func (u *unit) collections(text []byte) {
	if !bytes.Contains(text, []byte("collection(")) {
		return
	}
	var names []string
	for _, m := range collectionCall.Regexp().FindAllSubmatch(text, maxCollectionNames) {
		names = append(names, string(m[1]))
	}
	if len(names) == 0 {
		return
	}
	u.effect(func(s *appScan) {
		for _, n := range names {
			if len(s.collections) < maxCollectionNames && !slices.Contains(s.collections, n) {
				s.collections = append(s.collections, n)
			}
		}
	})
}

// match runs rules over one text. A span taken by an earlier rule is not
// matched again by a later one. The text's byte set, taken first, lets most
// rules skip a short text without a substring search.
func (u *unit) match(text []byte, src gown.Source, rs []*rules.Rule) {
	var set rules.Bytes
	if len(text) <= 4*splitMin {
		set = rules.ByteSet(text)
	} else {
		set = rules.AllBytes
	}
	var taken [][2]int
	for _, r := range rs {
		if !r.MayMatch(&set) {
			continue
		}
		for _, m := range r.FindBytes(text, &set) {
			if overlaps(taken, m.Start, m.End) {
				continue
			}
			s := src
			s.Offset += int64(m.Start)
			if u.add(r, m.Value, s) {
				taken = append(taken, [2]int{m.Start, m.End})
			}
		}
	}
}

// scanString scans a string through a read-only byte view of it: the
// rules only read their text, and copying every string of a resource table
// would double what extraction allocates.
func (u *unit) scanString(text string, src gown.Source) {
	if text != "" {
		u.scan(unsafe.Slice(unsafe.StringData(text), len(text)), src)
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
func (u *unit) add(r *rules.Rule, v string, src gown.Source) bool {
	if len(v) > maxValue {
		v = v[:maxValue]
	}
	if r.Kind == rules.Secret {
		u.credential(r.ID, v[:min(4, len(v))]+"…"+redact.Secret(v), v, "", src)
		return true
	}
	ep, user := u.s.endpoint(r, v)
	if ep == nil {
		return false
	}
	if user != nil {
		if _, has := user.Password(); has {
			u.credential("conn-string-password", redact.String(v), v, ep.Host, src)
		}
	}
	ep.Sources = []gown.Source{src}
	u.hits = append(u.hits, hit{ep: ep})
	return true
}

func (u *unit) credential(rule, shown, raw, host string, src gown.Source) {
	k := sha256.Sum256([]byte(rule + "\x00" + raw)) // the raw secret is hashed, never kept
	u.hits = append(u.hits, hit{cred: &gown.Credential{Rule: rule, Value: shown, Host: host, Sources: []gown.Source{src}}, credKey: k})
}

// endpoint builds a typed endpoint from a match, with user information cut
// out of the value and returned apart.
func (s *appScan) endpoint(r *rules.Rule, v string) (*gown.Endpoint, *url.Userinfo) {
	ep := &gown.Endpoint{Kind: gown.EndpointKind(r.Kind), Confidence: r.Confidence, Store: r.Store}
	var user *url.Userinfo
	switch ep.Kind {
	case gown.KindConnString, gown.KindURL:
		if user = parseURL(ep, v, s.cfg.Catalog); user == nil && ep.Host == "" {
			return nil, nil
		}
	case gown.KindFirebase:
		// The REST API is HTTPS only, whatever scheme the app wrote; a port
		// is kept when the app names one.
		h, p, _ := strings.Cut(strings.ToLower(v), ":")
		ep.Host, ep.Scheme, ep.Value = h, "https", "https://"+strings.ToLower(v)
		var sc gown.Scheme
		ep.Store, sc, _ = s.cfg.Catalog.URL(ep.Scheme, h)
		ep.Port, ep.TLS = sc.Port, sc.TLS
		if p != "" {
			if ep.Port, _ = strconv.Atoi(p); ep.Port < 1 || ep.Port > 65535 {
				return nil, nil
			}
		}
	case gown.KindBucket:
		h, p, _ := strings.Cut(strings.ToLower(v), ":")
		ep.Host, ep.Value = h, strings.ToLower(v)
		if p != "" {
			if ep.Port, _ = strconv.Atoi(p); ep.Port < 1 || ep.Port > 65535 {
				return nil, nil
			}
		}
		// A bucket is reached over HTTPS by its host; the catalog names the
		// store whose prober lists it (s3 for *.s3.amazonaws.com), if any.
		// A regional S3 host (b.s3.eu-west-1.amazonaws.com) is asked about
		// as its global form, and keeps its own name.
		named := ep.Host
		if i := strings.Index(named, ".s3"); i > 0 && strings.HasSuffix(named, ".amazonaws.com") {
			named = named[:i] + ".s3.amazonaws.com"
		}
		if store, sc, _ := s.cfg.Catalog.URL("https", named); store != "" {
			ep.Store, ep.Scheme, ep.TLS = store, "https", sc.TLS
			if ep.Port == 0 {
				ep.Port = sc.Port
			}
		}
	case gown.KindIPPort, gown.KindHost:
		h, p, _ := strings.Cut(v, ":")
		ep.Host, ep.Value = strings.ToLower(h), strings.ToLower(v)
		ep.Port, _ = strconv.Atoi(p)
		if ep.Port < 1 || ep.Port > 65535 {
			return nil, nil
		}
	}
	explicit := ep.Kind == gown.KindURL || ep.Kind == gown.KindConnString
	if ep.Host == "" || !ValidHost(ep.Host) && !(explicit && explicitHost(ep.Host)) {
		return nil, nil
	}
	cat := s.parties.Category(ep.Host)
	if cat == "noise" {
		return nil, nil
	}
	// The party is decided once the whole app is read (decideParties):
	// the facts that tie a host to the app come from every part of it.
	// A bucket's party is its own name's, whatever host it is probed at.
	if ep.Kind == gown.KindBucket && ep.Store == "" && (strings.HasSuffix(ep.Host, ".appspot.com") || strings.HasSuffix(ep.Host, ".firebasestorage.app")) {
		// A Firebase Storage bucket is a Cloud Storage bucket, reached at
		// its virtual host; the catalog says which store that host names.
		vh := ep.Host + ".storage.googleapis.com"
		if store, sc, _ := s.cfg.Catalog.URL("https", vh); store != "" {
			ep.Host, ep.Store, ep.Scheme, ep.TLS = vh, store, "https", sc.TLS
			if ep.Port == 0 {
				ep.Port = sc.Port
			}
		}
	}
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

// parseURL fills scheme, host, port, store, TLS and a credential-free value
// from a URL or a conn string (jdbc: prefixed or not). Store, default port and
// TLS come from c, the table target parsing reads too, so an app's URL and the
// same URL typed by a user mean the same. It returns the user info, if any,
// for the caller to report.
func parseURL(ep *gown.Endpoint, v string, c *gown.Catalog) *url.Userinfo {
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
	store, sc, known := c.URL(ep.Scheme, ep.Host)
	if !known {
		sc = messagingSchemes[ep.Scheme]
	}
	ep.Port, ep.TLS = sc.Port, sc.TLS
	if p := u.Port(); p != "" {
		if ep.Port, err = strconv.Atoi(p); err != nil || ep.Port < 1 || ep.Port > 65535 {
			ep.Host = ""
			return nil
		}
	}
	ep.Store = store // the scheme (over TLS, the host) decides, whatever the rule guessed ("sql", "scheme")
	if k, ok := c.Kind(store); ok && k.PathSegments > 0 {
		// An Azure Blob URL names its container in the path; without one
		// (the account's root) there is nothing of the store to probe.
		if ep.Path = k.DataPath(u.EscapedPath()); ep.Path == "" {
			ep.Store = ""
		} else if rest, err := url.PathUnescape(strings.TrimPrefix(strings.TrimPrefix(u.EscapedPath(), ep.Path), "/")); err == nil &&
			rest != "" && !strings.ContainsAny(rest, ",\x00") {
			// The rest names a blob the app reads: a prober that cannot
			// list tries it.
			ep.Names = []string{rest}
		}
	}
	user := u.User
	u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
	ep.Value = prefix + u.String()
	return user
}

// messagingSchemes are schemes apps use for brokers and RPC that name no
// store gown probes: their default port and TLS, used when the catalog does
// not know the scheme (a prober that claims one, such as MQTT, takes it
// over through the catalog). tcp, ssl, tls and grpc have no default port:
// an endpoint without one is probed on the store ports only.
var messagingSchemes = map[string]gown.Scheme{
	"mqtt": {Name: "mqtt", Port: 1883}, "mqtts": {Name: "mqtts", Port: 8883, TLS: true},
	"nats": {Name: "nats", Port: 4222}, "kafka": {Name: "kafka", Port: 9092},
	"stomp": {Name: "stomp", Port: 61613}, "stomps": {Name: "stomps", Port: 61614, TLS: true},
	"ssl": {Name: "ssl", TLS: true}, "tls": {Name: "tls", TLS: true}, "grpcs": {Name: "grpcs", TLS: true},
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

// utf16Runs calls fn with each run of at least minRun printable ASCII
// characters written as UTF-16LE (each byte followed by a zero), at either
// byte alignment, decoded to ASCII, and its offset: how UTF-16 literals
// are found in native libraries and .NET assemblies. The decoded run is a
// buffer reused between calls.
func utf16Runs(b []byte, minRun int, fn func(off int, s []byte)) {
	var buf []byte
	for i := 0; i+1 < len(b); {
		if b[i] < 0x20 || b[i] >= 0x7f || b[i+1] != 0 {
			i++
			continue
		}
		j := i
		for j+1 < len(b) && b[j] >= 0x20 && b[j] < 0x7f && b[j+1] == 0 {
			j += 2
		}
		if n := (j - i) / 2; n >= minRun {
			buf = buf[:0]
			for k := i; k < j; k += 2 {
				buf = append(buf, b[k])
			}
			fn(i, buf)
			i = j
			continue
		}
		i++
	}
}

// runs calls fn with each run of at least minRun printable ASCII bytes in b
// and its offset: how strings are found in binaries (ELF, Mach-O, Hermes
// bytecode, databases) whose string layout is not decoded. Each run is a
// view into b, valid during the call.
func runs(b []byte, minRun int, fn func(off int, s []byte)) {
	start := -1
	for i, ch := range b {
		if ch >= 0x20 && ch < 0x7f {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= minRun {
			fn(start, b[start:i])
		}
		start = -1
	}
	if start >= 0 && len(b)-start >= minRun {
		fn(start, b[start:])
	}
}
