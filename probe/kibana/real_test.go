package kibana

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
)

// No real Kibana runs here (kibana_test.go replays stand-ins). The test bed's
// search servers are the next best thing: what answers beside Kibana in the
// deployments gown meets. Probing them must not make gown see a Kibana, and
// the TLS fallback is exercised against a real TLS proxy.

// TestMain shares the test bed among this package's tests, which only read.
func TestMain(m *testing.M) { os.Exit(testbed.Main(m)) }

func probeBed(t *testing.T, s *testbed.Server) *gown.Result {
	t.Helper()
	d, err := probe.NewDialer(probe.DialerConfig{Source: testbed.Source, IOTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	tg := gown.Target{Host: s.Addr.Addr().String(), Addr: s.Addr.Addr(), Port: int(s.Addr.Port())}
	r, err := New().Probe(ctx, tg, d)
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	t.Logf("%s: %s %q tls=%s %s", s.Name, r.Status, r.Reason, r.TLS.Mode, r.TLS.Subject)
	return r
}

// TestRealNotKibana: OpenSearch and Elasticsearch answer /api/status as an
// index path, with an error status: not Kibana. Behind nginx serving TLS,
// nginx's "plain HTTP request was sent to HTTPS port" sends gown to TLS,
// whose certificate it reports, and the answer is still not Kibana.
func TestRealNotKibana(t *testing.T) {
	bed := testbed.Require(t, "opensearch-open", "opensearch-tls", "elasticsearch7-open")
	for _, s := range bed.Servers {
		mark := s.LogSize()
		r := probeBed(t, s)
		if r.Status != gown.StatusNotService || r.Product != "" || len(r.Evidence) == 0 {
			t.Errorf("%s: %s product %q, want not-service", s.Name, r.Status, r.Product)
		}
		if r.TLS.Mode != s.Want.TLS {
			t.Errorf("%s: TLS %q, the server's is %q", s.Name, r.TLS.Mode, s.Want.TLS)
		}
		if s.Want.TLS == gown.TLSRequired && (r.TLS.Subject != "CN=gown-testbed-"+s.Name || !r.TLS.SelfSigned) {
			t.Errorf("%s: certificate %+v", s.Name, r.TLS)
		}
		time.Sleep(100 * time.Millisecond)
		reqs, err := s.HTTPLog(mark)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, q := range reqs {
			if q.Bed {
				continue
			}
			n++
			if q.Method != "GET" || q.Path != pathStatus {
				t.Errorf("%s: its log shows %s from gown", s.Name, q)
			}
		}
		if n == 0 {
			t.Errorf("%s: its log shows nothing from gown", s.Name)
		}
	}
}

// TestRealBasicAuth: a 401 from nginx's basic auth is what a Kibana behind
// the same proxy gives: gown says auth-required but names no product, as
// the reply shows no Kibana.
func TestRealBasicAuth(t *testing.T) {
	s := testbed.Require(t, "opensearch-nginx").Get("opensearch-nginx")
	r := probeBed(t, s)
	if r.Status != gown.StatusAuthRequired || r.Product != "" || r.TLS.Mode != gown.TLSNone {
		t.Errorf("%s: %s product %q tls %s, want auth-required without a product", s.Name, r.Status, r.Product, r.TLS.Mode)
	}
}
