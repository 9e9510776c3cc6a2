package gown

import (
	"net"
	"net/netip"
	"strconv"
)

// Target is one host:port to probe. Host keeps the name the user or the app
// gave; Addr is the address actually dialled (resolved through the resolver
// override or DNS). A zero Addr means the name has not been resolved.
type Target struct {
	Host string     `json:"host"`
	Addr netip.Addr `json:"ip"`
	Port int        `json:"port"`
	// Hint names the prober a URL scheme or the user asked for ("redis"); empty
	// means the port decides.
	Hint string `json:"hint,omitempty"`
	// TLS is set when the target came from a TLS URL (rediss://, https://).
	TLS bool `json:"tls_hint,omitempty"`
	// Origin tells where the target came from: "cli", "file", or "app".
	Origin string `json:"origin,omitempty"`
	// Path names the data a store keeps under one host:port, for stores that
	// name it in the URL path: an Azure Blob account and container
	// ("/devstoreaccount1/photos"), a Firestore project
	// ("/projects/P/databases/(default)"). It starts with "/", or is empty
	// when the host:port alone names the store. Two containers on one host
	// are two targets, two results and two sets of findings.
	Path string `json:"path,omitempty"`
	// Names are names the app uses for data under Path that a prober
	// cannot list (Firestore collections), comma-separated ("rides,drivers"):
	// a prober tries them first, within its own bound. They are hints, not
	// identity: TargetKey and FindingID leave them out, and the store does
	// not keep them. A string, so that Target stays comparable.
	Names string `json:"names,omitempty"`
}

// Dial returns the host:port string to dial: the resolved address when known,
// the host otherwise.
func (t Target) Dial() string {
	h := t.Host
	if t.Addr.IsValid() {
		h = t.Addr.String()
	}
	return net.JoinHostPort(h, strconv.Itoa(t.Port))
}

// String names the target as a user would write it, with its Path, and the
// resolved address when it differs from the name.
func (t Target) String() string {
	s := net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) + t.Path
	if t.Addr.IsValid() && t.Addr.String() != t.Host {
		s += " (" + t.Addr.String() + ")"
	}
	return s
}
