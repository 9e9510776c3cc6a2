package probetest

import (
	"context"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe/all"
)

// TestTLSTruth checks the TLS mode a prober reports against the one the
// test bed asserts (Truth.TLS), for every configuration that asserts one,
// and the self-signed certificate of postgres-tls.
func TestTLSTruth(t *testing.T) {
	bed := testbed.Require(t, "postgres-trust", "postgres-tls", "memcached-open")
	reg := all.Registry()
	for _, s := range bed.Servers {
		if s.Want.TLS == gown.TLSUnknown {
			continue
		}
		p, ok := reg.Get(s.Kind)
		if !ok {
			t.Fatalf("no prober %s", s.Kind)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		r, err := p.Probe(ctx, TargetOf(s), Dialer(t))
		cancel()
		if r == nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if r.TLS.Mode != s.Want.TLS {
			t.Errorf("%s: TLS %q, planted %q", s.Name, r.TLS.Mode, s.Want.TLS)
		}
		if s.Want.TLS == gown.TLSOffered && (!r.TLS.SelfSigned || r.TLS.Subject != "CN=gown-testbed-postgres" || r.TLS.Version == "") {
			t.Errorf("%s: certificate %+v, want the self-signed CN=gown-testbed-postgres", s.Name, r.TLS)
		}
		t.Logf("%-16s TLS %-8s %s %s", s.Name, r.TLS.Mode, r.TLS.Version, r.TLS.Subject)
	}
}
