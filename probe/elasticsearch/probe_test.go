package elasticsearch

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
)

// Every case replays recorded replies (testdata/replay/README.md says which
// came from real servers and which are stand-ins).
func TestProbeReplayed(t *testing.T) {
	os := map[string]string{
		pathRoot:    "opensearch-2.19.6-root.http",
		pathIndices: "opensearch-2.19.6-cat-indices.http",
		pathStats:   "opensearch-2.19.6-cluster-stats.http",
	}
	es7 := map[string]string{
		pathRoot:    "elasticsearch-7.10.2-root.http",
		pathIndices: "elasticsearch-7.10.2-cat-indices.http",
		pathStats:   "elasticsearch-7.10.2-cluster-stats.http",
	}
	cases := []struct {
		name     string
		tls      bool
		replies  map[string]string
		status   gown.Status
		product  string
		version  string
		reason   string
		items    uint64
		mode     gown.TLSMode
		requests int
	}{
		{"opensearch open", false, os, gown.StatusOpen, "OpenSearch", "2.19.6", "list 3 indices (421 documents)", 421, gown.TLSNone, 3},
		{"elasticsearch 7 open", false, es7, gown.StatusOpen, "Elasticsearch", "7.10.2", "ransom note", 421, gown.TLSNone, 3},
		{"opensearch open over TLS only", true, os, gown.StatusOpen, "OpenSearch", "2.19.6", "list 3 indices", 421, gown.TLSRequired, 3},
		{"elasticsearch 8 banner open, data refused", false, map[string]string{
			pathRoot:    "elasticsearch-8-root-anonymous.http",
			pathIndices: "elasticsearch-8-cat-indices-403.http",
			pathSearch:  "elasticsearch-8-cat-indices-403.http",
		}, gown.StatusRestricted, "Elasticsearch", "8.15.0", "banner answers, data refused", 0, gown.TLSNone, 3},
		{"elasticsearch 8 security on", false, map[string]string{
			pathRoot:    "elasticsearch-8-root-401.http",
			pathIndices: "elasticsearch-8-root-401.http",
			pathSearch:  "elasticsearch-8-root-401.http",
		}, gown.StatusAuthRequired, "Elasticsearch", "", `realm "security"`, 0, gown.TLSNone, 3},
		{"nginx basic auth in front", false, map[string]string{
			pathRoot:    "nginx-basic-auth-401.http",
			pathIndices: "nginx-basic-auth-401.http",
			pathSearch:  "nginx-basic-auth-401.http",
		}, gown.StatusAuthRequired, "", "", "asks for credentials", 0, gown.TLSNone, 3},
		// A role with read but no monitor privilege (stand-in: the 403
		// shape of Elasticsearch 8), and a proxy passing only _search
		// (real): the listing is refused, the search is not. Open.
		{"elasticsearch 8 listing refused, search allowed", false, map[string]string{
			pathRoot:    "elasticsearch-8-root-anonymous.http",
			pathIndices: "elasticsearch-8-cat-indices-403.http",
			pathSearch:  "opensearch-2.19.6-search.http",
		}, gown.StatusOpen, "Elasticsearch", "8.15.0", "anyone can search 424 documents without credentials, although the index listing is refused", 424, gown.TLSNone, 3},
		{"nginx passing only _search", false, map[string]string{
			pathRoot:    "nginx-search-only-403.http",
			pathIndices: "nginx-search-only-403.http",
			pathSearch:  "opensearch-2.19.6-search.http",
		}, gown.StatusOpen, "Elasticsearch", "", "anyone can search 424 documents without credentials, although GET / is refused to anonymous clients (403); index \"read_me_to_recover_your_data\" looks like a ransom note", 424, gown.TLSNone, 3},
		{"banner refused, data open", false, map[string]string{
			pathRoot:    "elasticsearch-8-cat-indices-403.http",
			pathIndices: "opensearch-2.19.6-cat-indices.http",
			pathStats:   "opensearch-2.19.6-cluster-stats.http",
		}, gown.StatusOpen, "Elasticsearch", "", "although GET / is refused", 421, gown.TLSNone, 3},
		{"other JSON service", false, map[string]string{
			pathRoot: "raw:HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 27\r\n\r\n{\"couchdb\":\"Welcome\",\"x\":1}",
		}, gown.StatusNotService, "", "", "something other than Elasticsearch", 0, gown.TLSNone, 1},
		{"plain web page", false, map[string]string{
			pathRoot: "raw:HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 5\r\n\r\nhello",
		}, gown.StatusNotService, "", "", "something other", 0, gown.TLSNone, 1},
		{"opensearch 404 page", false, map[string]string{
			pathRoot: "opensearch-2.19.6-404.http",
		}, gown.StatusUnknown, "Elasticsearch", "", "HTTP 404 (index_not_found_exception)", 0, gown.TLSNone, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rp := replay(t, c.tls, c.replies)
			r, err := New().Probe(t.Context(), rp.target(), dialer(t))
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if r.Status != c.status || r.Product != c.product || r.Version != c.version || r.TLS.Mode != c.mode {
				t.Fatalf("got %s %q %q tls=%s (%s), want %s %q %q tls=%s", r.Status, r.Product, r.Version, r.TLS.Mode, r.Reason, c.status, c.product, c.version, c.mode)
			}
			if !strings.Contains(r.Reason, c.reason) {
				t.Errorf("reason %q lacks %q", r.Reason, c.reason)
			}
			if c.items > 0 && (r.Inventory == nil || r.Inventory.Items != c.items) {
				t.Errorf("inventory %+v, want %d items", r.Inventory, c.items)
			}
			if got := rp.requests(); len(got) != c.requests {
				t.Errorf("requests %q, want %d", got, c.requests)
			}
			for _, q := range rp.requests() {
				if !strings.HasPrefix(q, "GET ") {
					t.Errorf("sent %q: only GET is allowed", q)
				}
			}
			if len(r.Evidence) == 0 {
				t.Error("no evidence kept")
			}
		})
	}
}

func TestProbeOpenSearchInventory(t *testing.T) {
	rp := replay(t, false, map[string]string{
		pathRoot:    "opensearch-2.19.6-root.http",
		pathIndices: "opensearch-2.19.6-cat-indices.http",
		pathStats:   "opensearch-2.19.6-cluster-stats.http",
	})
	r, err := New().Probe(t.Context(), rp.target(), dialer(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"customers": 120, "orders": 300, "read_me": 1}
	for _, d := range r.Inventory.Databases {
		if want[d.Name] != d.Items || d.Bytes == 0 {
			t.Errorf("index %s: %d docs %d bytes, want %d docs", d.Name, d.Items, d.Bytes, want[d.Name])
		}
	}
	if r.Details["ransom_note"] != "read_me" || r.Details["docs"] != "421" || r.Details["indices"] != "3" ||
		r.Details["cluster_name"] != "gown-testbed" || r.Details["distribution"] != "opensearch" {
		t.Errorf("details %v", r.Details)
	}
	if r.Error != "" {
		t.Errorf("error %q on a clean open probe", r.Error)
	}
}

func TestProbeNotHTTP(t *testing.T) {
	// A Redis on 9200 answers an HTTP request with a RESP error.
	r, err := New().Probe(t.Context(), rawServer(t, "-ERR unknown command 'GET'\r\n"), dialer(t))
	if r != nil || !errors.Is(err, gown.ErrNotService) {
		t.Fatalf("Probe = %+v, %v; want ErrNotService", r, err)
	}
}

func TestProbeClosedPort(t *testing.T) {
	tg := rawServer(t, "")
	tg.Port = 1 // nothing listens on tcpmux on loopback
	r, err := New().Probe(t.Context(), tg, dialer(t))
	if r != nil || err == nil {
		t.Fatalf("Probe = %+v, %v; want a dial error", r, err)
	}
}

// rawServer answers every connection with reply, whatever was sent.
func rawServer(t *testing.T, reply string) gown.Target {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(2 * time.Second))
			c.Read(make([]byte, 512))
			c.Write([]byte(reply))
			c.Close()
		}
	}()
	ap := l.Addr().(*net.TCPAddr).AddrPort()
	return gown.Target{Host: "127.0.0.1", Addr: ap.Addr(), Port: int(ap.Port())}
}
