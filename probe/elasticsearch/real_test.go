package elasticsearch

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gownscan/gown"
)

// readPaths is the allowlist of everything gown may ask a cluster.
var readPaths = map[string]bool{pathRoot: true, pathIndices: true, pathStats: true}

// assertReadOnly is the read-only proof: every request that reached the
// server (or the proxy) and was not the test bed's own was a GET or HEAD to
// one of the read paths.
func assertReadOnly(t *testing.T, where string, reqs []string) {
	t.Helper()
	if len(reqs) == 0 {
		t.Fatalf("%s recorded no request from gown: the proof would be empty", where)
	}
	for _, r := range reqs {
		method, path, _ := strings.Cut(r, " ")
		if (method != "GET" && method != "HEAD") || !readPaths[path] {
			t.Errorf("%s saw %q: not a read request on the allowlist", where, r)
		}
	}
	t.Logf("read-only proof (%s): %d requests, all GET on the allowlist: %q", where, len(reqs), reqs)
}

func probeReal(t *testing.T, host string, port int) *gown.Result {
	t.Helper()
	tg := gown.Target{Host: host, Port: port}
	r, err := New().Probe(t.Context(), tg, dialer(t))
	if err != nil {
		t.Fatalf("Probe %s: %v", tg, err)
	}
	t.Logf("%s: %s %s %s (%s) inventory=%+v details=%v", tg, r.Status, r.Product, r.Version, r.Reason, r.Inventory, r.Details)
	return r
}

// checkOpen asserts the open verdict and the inventory against the planted
// ground truth.
func checkOpen(t *testing.T, f flavour, r *gown.Result) {
	t.Helper()
	if r.Status != gown.StatusOpen || r.Product != f.product || r.Version != f.version || r.TLS.Mode != gown.TLSNone {
		t.Fatalf("got %s %s %s tls=%s, want open %s %s tls=none", r.Status, r.Product, r.Version, r.TLS.Mode, f.product, f.version)
	}
	got := map[string]uint64{}
	for _, d := range r.Inventory.Databases {
		if !d.System {
			got[d.Name] = d.Items
		}
	}
	var total uint64
	for idx, n := range planted {
		if got[idx] != uint64(n) {
			t.Errorf("index %s: %d documents, planted %d", idx, got[idx], n)
		}
		total += uint64(n)
	}
	if len(got) != len(planted) || r.Inventory.Items != total {
		t.Errorf("inventory %v (%d docs), planted %v (%d)", got, r.Inventory.Items, planted, total)
	}
	if r.Details["docs"] != strconv.FormatUint(total, 10) || r.Details["ransom_note"] != "read_me" {
		t.Errorf("details %v", r.Details)
	}
	if r.Error != "" {
		t.Errorf("error on an open cluster: %s", r.Error)
	}
}

func TestRealOpenSearchOpen(t *testing.T) {
	n := requireNode(t, openSearch)
	r := probeReal(t, "127.0.0.1", int(n.addr.Port()))
	checkOpen(t, openSearch, r)
	assertReadOnly(t, "OpenSearch HTTP trace", n.gownRequests())
}

func TestRealOpenSearchBehindBasicAuth(t *testing.T) {
	n := requireNode(t, openSearch)
	px := startNginx(t, n.addr)
	r := probeReal(t, "127.0.0.1", int(px.addr.Port()))
	if r.Status != gown.StatusAuthRequired || r.Details["realm"] != "security" || r.Inventory != nil {
		t.Fatalf("got %s realm=%q inventory=%v, want auth-required realm=security", r.Status, r.Details["realm"], r.Inventory)
	}
	assertReadOnly(t, "nginx access log", px.requests(t))
	// Nothing got past the proxy: the node's trace holds only the open
	// test's requests, all reads.
	assertReadOnly(t, "OpenSearch HTTP trace", n.gownRequests())
}

func TestRealElasticsearch7Open(t *testing.T) {
	n := requireNode(t, es7)
	r := probeReal(t, "127.0.0.1", int(n.addr.Port()))
	checkOpen(t, es7, r)
	assertReadOnly(t, "Elasticsearch 7 HTTP trace", n.gownRequests())
}
