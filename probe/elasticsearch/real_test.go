package elasticsearch

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
)

// The tests in this file run the prober against the test bed's search
// configurations: an embedded OpenSearch 2.19.6 node with no security
// plugin (opensearch-open), the same node behind nginx with basic auth
// (opensearch-nginx) and behind nginx serving TLS with a self-signed
// certificate (opensearch-tls), and an embedded Elasticsearch 7.10.2 node
// (elasticsearch7-open). Each proof of read-only behaviour reads the
// server's own log after a mark: the node's HTTP tracer, or nginx's access
// log. Elasticsearch 8's security layer has no real server here: replayed
// stand-ins cover it (replay_test.go, probe_test.go).

// TestMain shares the test bed among this package's tests, which only read.
func TestMain(m *testing.M) { os.Exit(testbed.Main(m)) }

// server starts (or reuses) one test-bed configuration.
func server(t *testing.T, name string) *testbed.Server {
	t.Helper()
	return testbed.Require(t, name).Get(name)
}

// readPaths is the allowlist of everything gown's probe may ask a cluster.
var readPaths = map[string]bool{pathRoot: true, pathIndices: true, pathStats: true, pathSearch: true}

// scanRequests lists what the server's own log recorded from gown since
// mark: from the scan's source address, or (behind nginx) from nginx,
// never the test bed's own requests.
func scanRequests(t *testing.T, s *testbed.Server, mark int64) []string {
	t.Helper()
	time.Sleep(100 * time.Millisecond) // a request is logged as it is answered
	reqs, err := s.HTTPLog(mark)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range reqs {
		if !r.Bed {
			out = append(out, r.String())
		}
	}
	return out
}

// assertReadOnly is the read-only proof: every request that reached the
// server (or the proxy) from gown was a GET or HEAD to one of allowed.
func assertReadOnly(t *testing.T, where string, reqs []string, allowed func(path string) bool) {
	t.Helper()
	if len(reqs) == 0 {
		t.Fatalf("%s recorded no request from gown: the proof would be empty", where)
	}
	for _, r := range reqs {
		method, path, _ := strings.Cut(r, " ")
		if (method != "GET" && method != "HEAD") || !allowed(path) {
			t.Errorf("%s saw %q: not a read request on the allowlist", where, r)
		}
	}
	t.Logf("read-only proof (%s): %d requests, all GET on the allowlist: %q", where, len(reqs), reqs)
}

// bedTarget names a test-bed server as a scan of host:port would.
func bedTarget(s *testbed.Server) gown.Target {
	return gown.Target{Host: s.Addr.Addr().String(), Addr: s.Addr.Addr(), Port: int(s.Addr.Port())}
}

// bedDialer dials from the test bed's source address.
func bedDialer(t *testing.T) probe.Dialer {
	t.Helper()
	d, err := probe.NewDialer(probe.DialerConfig{Source: testbed.Source, IOTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func probeReal(t *testing.T, s *testbed.Server) *gown.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	r, err := New().Probe(ctx, bedTarget(s), bedDialer(t))
	if err != nil {
		t.Fatalf("Probe %s: %v", s.Name, err)
	}
	t.Logf("%s: %s %s %s (%s) tls=%s inventory=%+v details=%v", s.Name, r.Status, r.Product, r.Version, r.Reason, r.TLS.Mode, r.Inventory, r.Details)
	return r
}

// checkOpen asserts the open verdict and the inventory against the planted
// ground truth.
func checkOpen(t *testing.T, s *testbed.Server, r *gown.Result, product, version string) {
	t.Helper()
	if r.Status != gown.StatusOpen || r.Product != product || r.Version != version || r.TLS.Mode != s.Want.TLS {
		t.Fatalf("got %s %s %s tls=%s, want open %s %s tls=%s", r.Status, r.Product, r.Version, r.TLS.Mode, product, version, s.Want.TLS)
	}
	got := map[string]uint64{}
	for _, d := range r.Inventory.Databases {
		if !d.System {
			got[d.Name] = d.Items
		}
	}
	for idx, n := range s.Want.Databases {
		if got[idx] != n {
			t.Errorf("index %s: %d documents, planted %d", idx, got[idx], n)
		}
	}
	if len(got) != len(s.Want.Databases) || r.Inventory.Items != s.Want.Items {
		t.Errorf("inventory %v (%d docs), planted %v (%d)", got, r.Inventory.Items, s.Want.Databases, s.Want.Items)
	}
	if r.Details["docs"] != strconv.FormatUint(s.Want.Items, 10) || r.Details["ransom_note"] != testbed.SearchRansomIndex {
		t.Errorf("details %v", r.Details)
	}
	if r.Error != "" {
		t.Errorf("error on an open cluster: %s", r.Error)
	}
}

func TestRealOpenSearchOpen(t *testing.T) {
	s := server(t, "opensearch-open")
	mark := s.LogSize()
	r := probeReal(t, s)
	checkOpen(t, s, r, "OpenSearch", "2.19.6")
	assertReadOnly(t, "OpenSearch HTTP trace", scanRequests(t, s, mark), func(p string) bool { return readPaths[p] })
}

func TestRealOpenSearchBehindBasicAuth(t *testing.T) {
	bed := testbed.Require(t, "opensearch-open", "opensearch-nginx")
	node, px := bed.Get("opensearch-open"), bed.Get("opensearch-nginx")
	nodeMark, pxMark := node.LogSize(), px.LogSize()
	r := probeReal(t, px)
	if r.Status != gown.StatusAuthRequired || r.Details["realm"] != "security" || r.Inventory != nil {
		t.Fatalf("got %s realm=%q inventory=%v, want auth-required realm=security", r.Status, r.Details["realm"], r.Inventory)
	}
	assertReadOnly(t, "nginx access log", scanRequests(t, px, pxMark), func(p string) bool { return readPaths[p] })
	// Nothing got past the proxy.
	if reqs := scanRequests(t, node, nodeMark); len(reqs) != 0 {
		t.Errorf("the node behind basic auth received %q", reqs)
	}
}

// TestRealOpenSearchTLS probes nginx serving TLS only in front of the
// node: the plaintext GET / is answered "400 plain HTTP request was sent to
// HTTPS port", gown switches to TLS, and reports the certificate.
func TestRealOpenSearchTLS(t *testing.T) {
	s := server(t, "opensearch-tls")
	mark := s.LogSize()
	r := probeReal(t, s)
	checkOpen(t, s, r, "OpenSearch", "2.19.6")
	if r.TLS.Mode != gown.TLSRequired || r.TLS.Subject != "CN=gown-testbed-opensearch-tls" || !r.TLS.SelfSigned ||
		r.TLS.NotAfter.Before(time.Now()) || r.TLS.Version == "" {
		t.Errorf("TLS %+v", r.TLS)
	}
	reqs := scanRequests(t, s, mark)
	// The first GET / went in plaintext and was refused by nginx itself.
	if len(reqs) == 0 || reqs[0] != "GET "+pathRoot {
		t.Errorf("nginx saw %q, want the plaintext GET / first", reqs)
	}
	assertReadOnly(t, "nginx access log", reqs, func(p string) bool { return readPaths[p] })
}

func TestRealElasticsearch7Open(t *testing.T) {
	s := server(t, "elasticsearch7-open")
	mark := s.LogSize()
	r := probeReal(t, s)
	checkOpen(t, s, r, "Elasticsearch", "7.10.2")
	assertReadOnly(t, "Elasticsearch 7 HTTP trace", scanRequests(t, s, mark), func(p string) bool { return readPaths[p] })
}
