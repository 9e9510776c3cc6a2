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

// String names the target as a user would write it, with the resolved address
// when it differs from the name.
func (t Target) String() string {
	s := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	if t.Addr.IsValid() && t.Addr.String() != t.Host {
		s += " (" + t.Addr.String() + ")"
	}
	return s
}
