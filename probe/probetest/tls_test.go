package probetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe/all"
)

// TestTLSTruth checks the TLS mode a prober reports against the one the
// test bed asserts (Truth.TLS), for every configuration that asserts one,
// and, where TLS is offered or required, the certificate: the bed's own,
// self-signed, for CN=gown-testbed-..., expiring within a day or two.
// opensearch-tls (nginx serving TLS in front of OpenSearch) and mongodb-tls
// listen for TLS only; postgres-tls offers it beside plaintext.
func TestTLSTruth(t *testing.T) {
	bed := testbed.Require(t, "postgres-trust", "postgres-tls", "memcached-open", "mongodb-open", "mongodb-tls",
		"opensearch-open", "opensearch-tls", "couchdb-party", "couchdb-tls", "firebase-open")
	reg := all.Registry()
	withTLS := 0
	for _, s := range bed.Servers {
		if s.Want.TLS == gown.TLSUnknown {
			t.Errorf("%s asserts no TLS mode", s.Name)
			continue
		}
		p, ok := reg.Get(s.Kind)
		if !ok {
			t.Fatalf("no prober %s", s.Kind)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		r, err := p.Probe(ctx, TargetOf(p.Kind(), s), Dialer(t))
		cancel()
		if r == nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if r.TLS.Mode != s.Want.TLS {
			t.Errorf("%s: TLS %q, planted %q", s.Name, r.TLS.Mode, s.Want.TLS)
		}
		if r.Status != s.Want.Status {
			t.Errorf("%s: %s, planted %s", s.Name, r.Status, s.Want.Status)
		}
		if s.Want.TLS == gown.TLSOffered || s.Want.TLS == gown.TLSRequired {
			withTLS++
			left := time.Until(r.TLS.NotAfter)
			if !r.TLS.SelfSigned || !strings.HasPrefix(r.TLS.Subject, "CN=gown-testbed-") || r.TLS.Subject != r.TLS.Issuer ||
				r.TLS.Version == "" || left <= 0 || left > 48*time.Hour {
				t.Errorf("%s: certificate %+v, want the bed's self-signed CN=gown-testbed-... for a day", s.Name, r.TLS)
			}
		} else if r.TLS.Subject != "" {
			t.Errorf("%s: TLS mode %s but a certificate %q", s.Name, r.TLS.Mode, r.TLS.Subject)
		}
		t.Logf("%-16s %-14s TLS %-8s %-7s %s self-signed=%v expires %s", s.Name, r.Status, r.TLS.Mode, r.TLS.Version,
			r.TLS.Subject, r.TLS.SelfSigned, r.TLS.NotAfter.Format(time.DateTime))
	}
	if withTLS < 3 {
		t.Errorf("%d servers with TLS: the test proves little", withTLS)
	}
}
