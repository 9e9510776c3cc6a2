package gown

import (
	"net/netip"
	"slices"
	"strings"
)

// Platform names the operating system an app is built for.
type Platform string

// Platforms gown reads.
const (
	PlatformAndroid Platform = "android"
	PlatformIOS     Platform = "ios"
)

// App is what extraction learned about one app file: who it is, the back ends
// it names, and the problems found in its own code.
type App struct {
	File      string   `json:"file"`
	Platform  Platform `json:"platform,omitempty"`
	Format    string   `json:"format,omitempty"` // apk, xapk, apks, aab, ipa
	ID        string   `json:"id,omitempty"`     // package name or bundle id
	Version   string   `json:"version,omitempty"`
	TargetSDK int      `json:"target_sdk,omitempty"` // Android only
	// Signer is the SHA-256 of the first signing certificate, hex.
	Signer string `json:"signer_sha256,omitempty"`
	// Encrypted is set when a binary is FairPlay-encrypted: its strings could
	// not be read, so the app must be reported as unreadable, never as clean.
	Encrypted bool `json:"encrypted,omitempty"`
	// Frameworks names what the app is built with, when its files say so:
	// "flutter" (a Dart AOT snapshot in libapp.so, or flutter_assets),
	// "dart" (a snapshot under another name), "react-native-hermes",
	// "unity-il2cpp", "xamarin".
	Frameworks  []string     `json:"frameworks,omitempty"`
	Endpoints   []Endpoint   `json:"endpoints,omitempty"`
	Credentials []Credential `json:"credentials,omitempty"`
	Cleartext   []Cleartext  `json:"cleartext,omitempty"`
	// Identity lists the facts that tie hosts to the app (its id, signer,
	// deep-link hosts, network security config domains, associated
	// domains, Firebase projects): what each endpoint's Party rests on.
	Identity []string `json:"identity,omitempty"`
	// Errors lists what could not be read; the rest of the app still was.
	Errors []string `json:"errors,omitempty"`
	// PartyOf decides any host's party by this app's identity, as its
	// endpoints' parties were decided (gown traffic asks it of the hosts a
	// capture shows). Extraction sets it; an app read back from JSON or a
	// store has none (its identity is kept only as the text of Identity).
	PartyOf func(host string) Party `json:"-"`
}

// EndpointKind types an endpoint candidate.
type EndpointKind string

// Endpoint kinds. API keys are not endpoints: they are Credentials.
const (
	KindURL        EndpointKind = "url"           // http(s)://, ws(s)://
	KindHost       EndpointKind = "host"          // a bare host:port on a store port
	KindIPPort     EndpointKind = "ip-port"       // a bare address:port
	KindConnString EndpointKind = "conn-string"   // mongodb://, redis://, jdbc:mysql://...
	KindFirebase   EndpointKind = "firebase-rtdb" // *.firebaseio.com, *.firebasedatabase.app
	KindBucket     EndpointKind = "bucket"        // *.appspot.com, S3 buckets
)

// Source says where in an app a string was read, precisely enough to find it
// again with a hex editor.
type Source struct {
	// Container is the archive path down to the entry's archive: "app.xapk",
	// or "app.xapk!config.arm64_v8a.apk" for a split.
	Container string `json:"container"`
	Entry     string `json:"entry"`             // path inside the container
	Section   string `json:"section,omitempty"` // dex string table, __cstring, a resource name, an XML element
	Offset    int64  `json:"offset"`            // byte offset in the entry's uncompressed data
	Encoding  string `json:"encoding,omitempty"`
}

// Endpoint is one back-end candidate found in an app. Value never holds a
// credential: user information in a URL is cut out and reported as a
// Credential.
type Endpoint struct {
	Kind   EndpointKind `json:"kind"`
	Value  string       `json:"value"`
	Scheme string       `json:"scheme,omitempty"`
	Host   string       `json:"host,omitempty"`
	Port   int          `json:"port,omitempty"` // explicit or the scheme's default
	// Store names the prober the endpoint points at ("redis", "firebase"),
	// when its scheme (or, over TLS, its host) says so.
	Store string `json:"store,omitempty"`
	// TLS is set when the endpoint's scheme implies TLS (https, wss,
	// rediss, mongodb+srv), as the catalog of schemes says.
	TLS bool `json:"tls,omitempty"`
	// Path is what the URL's path names for a store that names its data
	// that way (an Azure Blob container, "/photos"; StoreKind.DataPath);
	// it becomes the target's Path.
	Path string `json:"path,omitempty"`
	// Names are the names the app's code uses for data under Path that
	// cannot be listed (Firestore collections: collection("rides")); they
	// become the target's Names.
	Names []string `json:"names,omitempty"`
	// FirstParty is set when Party is PartyFirst: the host is tied to the
	// app's own identity. Kept beside Party for readers of older output.
	FirstParty bool `json:"first_party"`
	// Party says whose server the host is (see Party).
	Party Party `json:"party,omitempty"`
	// Confidence is 0..1: how sure extraction is that this is a back end the
	// app talks to (a conn string in a config beats a URL in a help text).
	Confidence float64  `json:"confidence"`
	Sources    []Source `json:"sources"`
	// Parts, for an endpoint the app builds at run time (a StringBuilder
	// chain, String.concat, String.format over constants), are the places
	// of the pieces it is built from, in order; Sources then name where it
	// is built. Its confidence is lower: the pieces were joined by
	// following the bytecode, not read whole.
	Parts []Source `json:"parts,omitempty"`
}

// Party says whose server an endpoint's host is, decided from the app's own
// identity (package or bundle id, signing certificate subject, Firebase
// project id, deep-link and associated domains, network security config
// domains), not from the absence of the host from a list of third parties.
type Party string

// Parties of an endpoint.
const (
	// PartyFirst: the host is tied to the app's identity; probed.
	PartyFirst Party = "first"
	// PartyThird: a known SDK, analytics, CDN, platform or documentation
	// host; never probed.
	PartyThird Party = "third"
	// PartyUnknown: tied to neither the app nor a known third party
	// (public addresses included); reported, probed only on request.
	PartyUnknown Party = "unknown"
	// PartyDev: an emulator or loopback development host (10.0.2.2,
	// 10.0.3.2, 127.0.0.0/8, ::1, localhost, *.local); never probed.
	PartyDev Party = "dev"
	// PartyInternal: a private address or a name under a non-public
	// suffix (*.internal, *.corp, *.lan, *.intranet, *.home.arpa);
	// probed only when private addresses are allowed.
	PartyInternal Party = "internal"
)

// DevHost reports an emulator or loopback development host (PartyDev):
// 10.0.2.2 and 10.0.3.2 (the emulators' host machine), 10.0.2.15 (the
// emulator itself), 127.0.0.0/8, ::1, the unspecified address,
// localhost, *.localhost, *.local. host is lowercase.
func DevHost(host string) bool {
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		return a.IsLoopback() || a.IsUnspecified() || a == netip.AddrFrom4([4]byte{10, 0, 2, 2}) ||
			a == netip.AddrFrom4([4]byte{10, 0, 3, 2}) || a == netip.AddrFrom4([4]byte{10, 0, 2, 15})
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".local")
}

// internalSuffixes are name suffixes no public DNS serves: a host under one
// is on someone's private network.
var internalSuffixes = []string{".internal", ".corp", ".lan", ".intranet", ".private", ".localdomain", ".home.arpa"}

// InternalHost reports a private address (RFC 1918, fc00::/7, link-local,
// 100.64.0.0/10) or a name under a non-public suffix (PartyInternal).
// DevHost is asked first where both could match (10.0.2.2 is private).
// host is lowercase.
func InternalHost(host string) bool {
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		return a.IsPrivate() || a.IsLinkLocalUnicast() || netip.MustParsePrefix("100.64.0.0/10").Contains(a)
	}
	for _, s := range internalSuffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// NetworkParty is the party a host's name or address gives by itself:
// PartyDev for a development host (DevHost, asked first), PartyInternal
// for an internal one (InternalHost), "" for any other, which only an
// app's identity or a list of third parties can place. host is lowercase.
func NetworkParty(host string) Party {
	switch {
	case DevHost(host):
		return PartyDev
	case InternalHost(host):
		return PartyInternal
	}
	return ""
}

// PartyOr is p, or for a record written before parties were (p empty)
// what its first-party flag said: first or third.
func PartyOr(p Party, first bool) Party {
	switch {
	case p != "":
		return p
	case first:
		return PartyFirst
	}
	return PartyThird
}

// PartyScope widens the endpoints that become targets beyond the app's own
// (first-party) ones.
type PartyScope struct {
	Unknown  bool // hosts tied to neither the app nor a known third party
	Internal bool // private addresses and internal names
}

// party is e's party, reading FirstParty for an endpoint built without one.
func (e Endpoint) party() Party { return PartyOr(e.Party, e.FirstParty) }

// Probed reports whether e's host is probed under scope s: first-party
// always, unknown and internal ones when s says so, others never.
func (e Endpoint) Probed(s PartyScope) bool {
	switch e.party() {
	case PartyFirst:
		return true
	case PartyUnknown:
		return s.Unknown
	case PartyInternal:
		return s.Internal
	}
	return false
}

// Targets expands a first-party endpoint into the targets to probe: the
// store it names, or else its own port plus each of storePorts. Other
// parties' endpoints, buckets no prober lists and endpoints without a host
// give none. Targets are unresolved and carry Origin "app".
func (e Endpoint) Targets(storePorts []int) []Target {
	return e.TargetsIn(storePorts, PartyScope{})
}

// TargetsIn is Targets with the parties of scope s probed too.
func (e Endpoint) TargetsIn(storePorts []int, s PartyScope) []Target {
	if !e.Probed(s) || e.Host == "" || (e.Kind == KindBucket && e.Store == "") {
		return nil
	}
	if e.Store != "" && e.Port != 0 {
		return []Target{{Host: e.Host, Port: e.Port, Hint: e.Store, TLS: e.TLS, Origin: "app", Path: e.Path, Names: strings.Join(e.Names, ",")}}
	}
	var out []Target
	if e.Port != 0 {
		out = append(out, Target{Host: e.Host, Port: e.Port, TLS: e.TLS, Origin: "app"})
	}
	for _, p := range storePorts {
		if p != e.Port {
			out = append(out, Target{Host: e.Host, Port: p, Origin: "app"})
		}
	}
	return out
}

// Credential is a secret hard-coded in an app: a store password in a conn
// string, an API key. Value is always redacted.
type Credential struct {
	Rule    string   `json:"rule"`  // e.g. "google-api-key", "conn-string-password"
	Value   string   `json:"value"` // redacted
	Host    string   `json:"host,omitempty"`
	Sources []Source `json:"sources"`
}

// Cleartext is the join of an app's transport policy with the plain-text
// endpoints it holds: the policy lets clear text through and the app names
// these http:// or ws:// endpoints.
type Cleartext struct {
	Policy    string   `json:"policy"` // e.g. "network security config res/xml/nsc.xml: base cleartextTrafficPermitted=true"
	Endpoints []string `json:"endpoints"`
}

// AddSource records another place an endpoint was seen, keeping at most max
// sources so a string repeated in every locale does not grow without bound.
func (e *Endpoint) AddSource(s Source, max int) {
	if len(e.Sources) < max && !slices.Contains(e.Sources, s) {
		e.Sources = append(e.Sources, s)
	}
}
