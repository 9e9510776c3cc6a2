package gown

import (
	"fmt"
	"slices"
	"strings"
)

// Scheme is a URL scheme gown reads: the port a URL of it means when it
// names none, and whether the scheme implies TLS (rediss, https).
type Scheme struct {
	Name string
	Port int
	TLS  bool
}

// StoreKind describes one kind of data store: the facts about it that target
// parsing, extraction and the prober registry all read, declared once by the
// store's prober package and gathered into a Catalog. Its slices are shared
// with every copy: read them, never modify them.
type StoreKind struct {
	// Name is the stable id in flags, output and the database: "redis".
	Name string
	// Ports are the well-known ports, plaintext ones first: the ports a scan
	// tries by default and the ones that select this store's prober.
	Ports []int
	// Schemes are the URL schemes that name this store, each with its
	// default port and whether it implies TLS (redis, rediss).
	Schemes []Scheme
	// HostSuffixes are host name endings (".firebaseio.com") that name this
	// store whatever the scheme; see Catalog.URL for when they apply.
	HostSuffixes []string
	// HintOnly marks a store reached only through a hint (a scheme or a host
	// suffix), never guessed from a port or by detection: a Firebase
	// database lives on 443 beside every other HTTPS service. Such a kind
	// has no Ports.
	HintOnly bool
	// DetectPorts are ports where detection (--detect) may try a hint-only
	// store after every other store declined: the local emulators' default
	// ports (Firebase's, 9000). They select nothing by port.
	DetectPorts []int
	// PathSegments, when above 0, marks a store whose data a URL names by
	// the first PathSegments segments of its path under the host (an Azure
	// Blob container: https://ACCOUNT.blob.core.windows.net/C/blob.json
	// names container C, 1 segment): such a URL keeps them as Target.Path
	// (DataPath).
	PathSegments int
	// ServerFirst marks a protocol in which the server speaks first (MySQL's
	// greeting): detection tries such stores on a port that sent a banner,
	// the others on a silent one.
	ServerFirst bool
}

// plainSchemes are the schemes that name no store but still say a port and
// whether TLS is spoken: web and message-queue URLs an app names beside its
// stores. Every Catalog answers for them.
var plainSchemes = []Scheme{
	{"http", 80, false}, {"https", 443, true}, {"ws", 80, false}, {"wss", 443, true},
	{"amqp", 5672, false}, {"amqps", 5671, true},
	{"cassandra", 9042, false}, {"neo4j", 7687, false}, {"bolt", 7687, false},
}

// DataPath is the part of a URL's escaped path that names k's data: its
// first PathSegments segments ("/C"), or "" when k names none that way or
// the path holds fewer segments.
func (k StoreKind) DataPath(escapedPath string) string {
	if k.PathSegments <= 0 {
		return ""
	}
	segs := strings.Split(strings.Trim(escapedPath, "/"), "/")
	if len(segs) < k.PathSegments || slices.Contains(segs[:k.PathSegments], "") {
		return ""
	}
	return "/" + strings.Join(segs[:k.PathSegments], "/")
}

// Catalog is the one table of store kinds and URL schemes. It is built once
// and read-only, so it is safe for concurrent use.
type Catalog struct {
	kinds   []StoreKind
	byName  map[string]int
	schemes map[string]schemeOf
}

// schemeOf is a scheme with the store it names ("" for none).
type schemeOf struct {
	store  string
	scheme Scheme
}

// NewCatalog builds a catalog from kinds. It panics on an empty, malformed or
// duplicate name, a port out of range, a scheme or host suffix claimed
// twice, or ports on a hint-only kind (or none on another): those are
// programming errors in a prober's descriptor, caught by any test.
func NewCatalog(kinds ...StoreKind) *Catalog {
	c := &Catalog{byName: map[string]int{}, schemes: map[string]schemeOf{}}
	for _, s := range plainSchemes {
		c.addScheme("", s)
	}
	suffixes := map[string]string{}
	for _, k := range kinds {
		if !isWord(k.Name) {
			panic(fmt.Sprintf("gown: store kind %q: want one lowercase word", k.Name))
		}
		if _, dup := c.byName[k.Name]; dup {
			panic(fmt.Sprintf("gown: store kind %q declared twice", k.Name))
		}
		if k.HintOnly != (len(k.Ports) == 0) {
			panic(fmt.Sprintf("gown: store kind %q: a hint-only kind claims no ports, any other claims some", k.Name))
		}
		if len(k.DetectPorts) > 0 && !k.HintOnly {
			panic(fmt.Sprintf("gown: store kind %q: detect ports are for hint-only kinds", k.Name))
		}
		for _, p := range slices.Concat(k.Ports, k.DetectPorts) {
			if p < 1 || p > 65535 {
				panic(fmt.Sprintf("gown: store kind %q: port %d out of range", k.Name, p))
			}
		}
		for _, s := range k.Schemes {
			c.addScheme(k.Name, s)
		}
		for _, suf := range k.HostSuffixes {
			if !strings.HasPrefix(suf, ".") || strings.ToLower(suf) != suf || len(suf) < 3 {
				panic(fmt.Sprintf("gown: store kind %q: host suffix %q: want a lowercase \".domain\"", k.Name, suf))
			}
			if other, dup := suffixes[suf]; dup {
				panic(fmt.Sprintf("gown: host suffix %q claimed by %q and %q", suf, other, k.Name))
			}
			suffixes[suf] = k.Name
		}
		// The table keeps its own copies: a caller changing its slices
		// later must not change what the table says.
		k.Ports, k.Schemes, k.HostSuffixes = slices.Clone(k.Ports), slices.Clone(k.Schemes), slices.Clone(k.HostSuffixes)
		k.DetectPorts = slices.Clone(k.DetectPorts)
		c.byName[k.Name] = len(c.kinds)
		c.kinds = append(c.kinds, k)
	}
	return c
}

func (c *Catalog) addScheme(store string, s Scheme) {
	if !isScheme(s.Name) || s.Port < 1 || s.Port > 65535 {
		panic(fmt.Sprintf("gown: scheme %+v of %q: want a lowercase name and a port in 1-65535", s, store))
	}
	if old, dup := c.schemes[s.Name]; dup {
		panic(fmt.Sprintf("gown: scheme %q claimed by %q and %q", s.Name, old.store, store))
	}
	c.schemes[s.Name] = schemeOf{store, s}
}

// Kinds lists the store kinds in the order they were given.
func (c *Catalog) Kinds() []StoreKind { return slices.Clone(c.kinds) }

// Kind finds a store kind by name.
func (c *Catalog) Kind(name string) (StoreKind, bool) {
	i, ok := c.byName[name]
	if !ok {
		return StoreKind{}, false
	}
	return c.kinds[i], true
}

// Scheme looks a URL scheme up, in any case: the store it names ("" for a
// scheme such as https that names none) and its default port and TLS. ok is
// false for a scheme gown does not know.
func (c *Catalog) Scheme(name string) (store string, s Scheme, ok bool) {
	e, ok := c.schemes[strings.ToLower(name)]
	return e.store, e.scheme, ok
}

// Schemes lists every scheme the catalog knows, sorted.
func (c *Catalog) Schemes() []string {
	out := make([]string, 0, len(c.schemes))
	for name := range c.schemes {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// HostKind finds the store kind a host name names by one of its
// HostSuffixes ("shop-1.firebaseio.com" names firebase), in any case and
// with or without a final dot. For a kind that names its data by the URL's
// path (PathSegments), the suffix's own name names it too: Firestore's one
// host, firestore.googleapis.com, for ".firestore.googleapis.com".
func (c *Catalog) HostKind(host string) (StoreKind, bool) {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, k := range c.kinds {
		for _, suf := range k.HostSuffixes {
			if strings.HasSuffix(host, suf) || (k.PathSegments > 0 && host == suf[1:]) {
				return k, true
			}
		}
	}
	return StoreKind{}, false
}

// URL says what a URL with this scheme and host names: the store ("" for
// none), the port it means when it names none, and whether it implies TLS.
// A host with a kind's suffix names that kind over a TLS scheme only: a
// Realtime Database is served over HTTPS alone, and a plaintext URL of such a
// host reaches a redirect, not the database. ok is false for a scheme gown
// does not know; then store, port and TLS are zero.
func (c *Catalog) URL(scheme, host string) (store string, s Scheme, ok bool) {
	store, s, ok = c.Scheme(scheme)
	if !ok || !s.TLS {
		return store, s, ok
	}
	if k, named := c.HostKind(host); named {
		store = k.Name
	}
	return store, s, ok
}

// isWord reports whether s is one lowercase word of letters and digits.
func isWord(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') })
}

// isScheme reports whether s is a lowercase URL scheme (RFC 3986: a letter,
// then letters, digits, "+", "-" and ".").
func isScheme(s string) bool {
	return s != "" && s[0] >= 'a' && s[0] <= 'z' && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')
	})
}
