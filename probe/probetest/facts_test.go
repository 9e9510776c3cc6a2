package probetest

import (
	"testing"

	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe/all"
)

// TestFacts probes the test-bed configurations whose admin access is known
// and checks the typed fact each prober sets: admin where an anonymous
// client gets admin rights (the admin party, root with an empty password,
// a superuser session), none where it does not. assess grades on these
// facts alone, so a prober that stopped setting one would silently drop the
// critical admin-access finding.
func TestFacts(t *testing.T) {
	cases := []struct {
		config string
		admin  string
	}{
		{"couchdb-party", "anyone is server admin (admin party)"},
		{"couchdb-admin", ""},
		{"mariadb-open", "the root account logs in with an empty password"},
		{"mariadb-password", ""},
		{"postgres-trust", "the session is a superuser's"},
		{"postgres-scram", ""},
	}
	names := make([]string, len(cases))
	for i, c := range cases {
		names[i] = c.config
	}
	bed := testbed.Require(t, names...)
	reg := all.Registry()
	for _, c := range cases {
		t.Run(c.config, func(t *testing.T) {
			s := bed.Get(c.config)
			p, ok := reg.Get(s.Kind)
			if !ok {
				t.Fatalf("no prober %q", s.Kind)
			}
			r, err := p.Probe(t.Context(), hinted(s), Dialer(t))
			if err != nil || r == nil {
				t.Fatalf("Probe: %v, %v", r, err)
			}
			if r.Status != s.Want.Status {
				t.Fatalf("status %s (%s), want %s", r.Status, r.Reason, s.Want.Status)
			}
			if r.Facts.Admin != c.admin || r.Facts.Replica != nil || r.Facts.Persistence != nil {
				t.Errorf("facts %+v, want admin %q and nothing else", r.Facts, c.admin)
			}
		})
	}
}
