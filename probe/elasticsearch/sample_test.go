package elasticsearch

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/flatten"
	"github.com/gownscan/gown/probe/httpget"
	"github.com/gownscan/gown/probe/sampletest"
)

// searchRequest is what sampling adds to the probe's requests.
var searchRequest = regexp.MustCompile(`^GET /[^/?]+/_search\?size=\d+$`)

// TestSampleOpenSearch samples the test bed's open OpenSearch node, which
// holds the planted corpus: every planted person and the ransom-note index
// are read, K documents at most per index, nested fields as paths, and the
// node's HTTP trace shows nothing from sampling but one search per index.
func TestSampleOpenSearch(t *testing.T) {
	bed := testbed.Require(t, "opensearch-open")
	srv := bed.Get("opensearch-open")
	tg := gown.Target{Host: srv.Addr.Addr().String(), Addr: srv.Addr.Addr(), Port: int(srv.Addr.Port())}
	r, err := New().Probe(t.Context(), tg, dialer(t))
	if err != nil || r.Status != gown.StatusOpen {
		t.Fatalf("probe: %v, %v", r, err)
	}
	mark := srv.LogSize()
	lim := probe.DefaultSample
	samples, trunc, err := probe.SampleStore(t.Context(), New(), tg, dialer(t), r, lim)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	people, notes := 0, 0
	for _, s := range samples {
		per[s.Database]++
		for _, p := range testbed.People {
			if s.Database == testbed.SearchIndexCorpus && field(s, "email") == p.Email && field(s, "location.lat") == p.Lat {
				people++
			}
		}
		if s.Database == testbed.SearchRansomIndex && field(s, "message") == testbed.RansomMessage {
			notes++
		}
	}
	for idx, n := range per {
		if n > lim.PerCollection {
			t.Errorf("index %s gave %d records", idx, n)
		}
	}
	if people != len(testbed.People) || notes != 1 || trunc {
		t.Errorf("records per index %v, people %d, notes %d, truncated %v", per, people, notes, trunc)
	}
	time.Sleep(200 * time.Millisecond) // the tracer logs as it answers
	reqs, err := srv.HTTPLog(mark)
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	for _, q := range reqs {
		if q.Bed {
			continue
		}
		sent = append(sent, q.String())
		if !searchRequest.MatchString(q.String()) {
			t.Errorf("sampling sent %q", q)
		}
	}
	if len(sent) != len(per) {
		t.Errorf("node traced %d requests from sampling for %d indices", len(sent), len(per))
	}
	t.Logf("%d records from %d indices (truncated %v); %d searches traced", len(samples), len(per), trunc, len(sent))

	sampletest.TinyByteCap(t, New(), tg, dialer(t), r, lim)
}

// field returns the value at path, or "".
func field(s gown.Sample, path string) string {
	for _, f := range s.Fields {
		if f.Path == path {
			return f.Value
		}
	}
	return ""
}

// TestSampleHostile: a server that ignores size and answers with thousands
// of hits, one whose reply is longer than the body cap, and an index name
// that tries to leave its path segment: sampling stays within K, skips the
// cut reply, requests only /{escaped index}/_search, and stops requesting
// after the collection cap however many indices are listed.
func TestSampleHostile(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	many := `{"hits":{"hits":[` + strings.Repeat(`{"_id":"x","_source":{"email":"a@b.example"}},`, 5000) + `{"_id":"y"}]}}`
	huge := `{"hits":{"hits":[{"_id":"z","_source":{"blob":"` + strings.Repeat("A", httpget.MaxBody) + `"}}]}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/many/"):
			io.WriteString(w, many)
		case strings.HasPrefix(r.URL.Path, "/huge/"):
			io.WriteString(w, huge)
		default:
			io.WriteString(w, `{"hits":{"hits":[]}}`)
		}
	}))
	defer srv.Close()
	ap := netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://"))
	tg := gown.Target{Host: "127.0.0.1", Addr: ap.Addr(), Port: int(ap.Port())}
	inv := &gown.Inventory{}
	for _, name := range []string{"many", "huge", "x/../../_cluster/settings?x=", ".security", ".."} {
		inv.Add(gown.Database{Name: name, Items: 1 << 40, System: strings.HasPrefix(name, ".")})
	}
	for i := range 100 {
		inv.Add(gown.Database{Name: fmt.Sprintf("idx%d", i), Items: 1})
	}
	r := &gown.Result{Status: gown.StatusOpen, TLS: gown.TLS{Mode: gown.TLSNone}, Inventory: inv}
	lim := probe.SampleLimits{PerCollection: 5, Collections: 10, Bytes: 1 << 20, Timeout: 10 * time.Second}
	samples, trunc, err := probe.SampleStore(t.Context(), New(), tg, dialer(t), r, lim)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, s := range samples {
		per[s.Database]++
	}
	if per["many"] != lim.PerCollection || per["huge"] != 0 || len(samples) != lim.PerCollection {
		t.Errorf("records per index %v", per)
	}
	for _, p := range paths {
		if !searchRequest.MatchString(p) {
			t.Errorf("request %q is not one search of one index", p)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != lim.Collections+1 || paths[2] != "GET /x%2F..%2F..%2F_cluster%2Fsettings%3Fx=/_search?size=5" {
		t.Errorf("%d requests, third %q", len(paths), paths[min(2, len(paths)-1)])
	}
	t.Logf("%d records, %d requests for %d indices listed (truncated %v)", len(samples), len(paths), len(inv.Databases), trunc)
}

// FuzzParseHits: whatever a search reply holds, sampling keeps at most K
// records of capped fields.
func FuzzParseHits(f *testing.F) {
	for _, s := range []string{`{"hits":{"hits":[{"_id":"1","_source":{"a":{"b":[1,"x"]}}}]}}`, `{"hits":{"hits":[{"_id":"2"}]}}`,
		`{"hits":{"hits":[{"_id":"3","_source":"text"}]}}`, `{"hits":null}`, `[]`, `{"hits":{"hits":[{"_source":{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		hits, _ := parseHits(&httpget.Reply{Status: http.StatusOK, Body: body})
		for _, h := range hits {
			fs := h.fields()
			if len(fs) > flatten.MaxFields {
				t.Fatalf("%d fields", len(fs))
			}
			for _, x := range fs {
				if len(x.Value) > flatten.MaxValue {
					t.Fatalf("value of %d bytes", len(x.Value))
				}
			}
		}
	})
}
