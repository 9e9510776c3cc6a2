package couchdb

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

// sampleRequest is the one request sampling adds to allowed.
var sampleRequest = regexp.MustCompile(`^/[^/?]+/_all_docs\?limit=\d+&include_docs=true$`)

// TestSamplePouchDB samples couchdb-party, where the test bed planted the
// people (database users), the ransom note and a design document beside
// bulkier data: every planted person and the ransom note are read, design
// documents are not, no database gives more than K, and the server's
// request log shows only GETs to the allowlisted paths from gown's address.
func TestSamplePouchDB(t *testing.T) {
	s := server(t, "couchdb-party")
	r := probeServer(t, s)
	if r.Status != gown.StatusOpen {
		t.Fatalf("status %s", r.Status)
	}
	time.Sleep(300 * time.Millisecond) // log lines trail their responses
	mark := s.LogSize()
	d, err := probe.NewDialer(probe.DialerConfig{Source: scanSource, IOTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tg := bedTarget(s)
	lim := probe.DefaultSample
	samples, trunc, err := probe.SampleStore(t.Context(), New(), tg, d, r, lim)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	people, notes := 0, 0
	for _, x := range samples {
		per[x.Database]++
		if strings.HasPrefix(x.Key, "_design/") {
			t.Errorf("design document %s sampled", x.Key)
		}
		for _, f := range x.Fields {
			if f.Path == "_rev" {
				t.Errorf("%s: _rev kept", x.Key)
			}
		}
		for _, p := range testbed.People {
			if x.Database == testbed.CouchCorpusDB && x.Key == p.ID && sampletest.Has(x, "email", p.Email) && sampletest.Has(x, "location.lon", p.Lon) {
				people++
			}
		}
		if x.Database == testbed.CouchRansomDB && sampletest.Has(x, "message", testbed.RansomMessage) {
			notes++
		}
	}
	// orders holds a design document among its first K: one record fewer.
	want := map[string]int{"orders": lim.PerCollection - 1, "sessions": lim.PerCollection, testbed.CouchCorpusDB: 3, testbed.CouchRansomDB: 1}
	if fmt.Sprint(per) != fmt.Sprint(want) || people != len(testbed.People) || notes != 1 || trunc {
		t.Errorf("records per database %v (want %v), people %d, notes %d, truncated %v", per, want, people, notes, trunc)
	}

	time.Sleep(300 * time.Millisecond)
	reqs, err := s.HTTPLog(mark)
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	for _, e := range reqs {
		if e.Client != scanSource.String() {
			continue
		}
		sent = append(sent, e.String())
		if e.Method != "GET" || !sampleRequest.MatchString(e.Path) {
			t.Errorf("sampling sent %s", e)
		}
	}
	if len(sent) != len(want) {
		t.Errorf("server logged %d requests from sampling, want one per database: %q", len(sent), sent)
	}
	t.Logf("%d records from %d databases (truncated %v); server log: %q", len(samples), len(per), trunc, sent)

	// More than any one planted document, less than all of them: which
	// database is read first depends on the listing's order.
	sampletest.TinyByteCap(t, New(), tg, d, r, lim)
}

// TestSampleHostile: a server that ignores limit and sends thousands of
// rows, one whose reply is over the body cap, and names that try to leave
// their path segment: sampling stays within K, skips the oversized reply
// and goes on, requests only the allowlisted path, and stops requesting at
// the collection cap however many databases are listed.
func TestSampleHostile(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	rows := `{"total_rows":9999,"rows":[` + strings.Repeat(`{"id":"x","doc":{"_id":"x","_rev":"1-a","email":"a@b.example"}},`, 5000) +
		`{"id":"_design/x","doc":{"_id":"_design/x"}}]}`
	huge := `{"rows":[{"id":"z","doc":{"blob":"` + strings.Repeat("A", httpget.MaxBody) + `"}}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/many/"):
			io.WriteString(w, rows)
		case strings.HasPrefix(r.URL.Path, "/huge/"):
			io.WriteString(w, huge)
		default:
			io.WriteString(w, `{"rows":[]}`)
		}
	}))
	defer srv.Close()
	ap := netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://"))
	tg := gown.Target{Host: "127.0.0.1", Addr: ap.Addr(), Port: int(ap.Port())}
	inv := &gown.Inventory{}
	for _, name := range []string{"huge", "many", "x/../../_config", "_users"} {
		inv.Add(gown.Database{Name: name, Items: 1 << 40, System: strings.HasPrefix(name, "_")})
	}
	for i := range 100 {
		inv.Add(gown.Database{Name: fmt.Sprintf("db%d", i), Items: 1})
	}
	r := &gown.Result{Status: gown.StatusOpen, TLS: gown.TLS{Mode: gown.TLSNone}, Inventory: inv}
	lim := probe.SampleLimits{PerCollection: 5, Collections: 10, Bytes: 1 << 20, Timeout: 10 * time.Second}
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 2 * time.Second, MaxRead: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	samples, trunc, err := probe.SampleStore(t.Context(), New(), tg, d, r, lim)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, x := range samples {
		per[x.Database]++
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range paths {
		if !strings.HasPrefix(p, "GET ") || !sampleRequest.MatchString(strings.TrimPrefix(p, "GET ")) {
			t.Errorf("request %q is not one _all_docs of one database", p)
		}
	}
	if per["many"] != lim.PerCollection || len(samples) != lim.PerCollection || len(paths) != lim.Collections+1 ||
		paths[2] != "GET /x%2F..%2F..%2F_config/_all_docs?limit=5&include_docs=true" {
		t.Errorf("records per database %v; %d requests: %q", per, len(paths), paths)
	}
	t.Logf("%d records, %d requests for %d databases listed (truncated %v)", len(samples), len(paths), len(inv.Databases), trunc)
}

// FuzzParseRows: whatever an _all_docs reply holds, sampling keeps at most
// K rows, no design document, and capped fields.
func FuzzParseRows(f *testing.F) {
	for _, s := range []string{`{"rows":[{"id":"a","doc":{"_id":"a","_rev":"1-x","n":{"m":[1]}}}]}`,
		`{"rows":[{"id":"_design/a","doc":{}},{"id":"b","doc":null},{"id":"c"}]}`, `{"rows":"x"}`, `{"rows":[{"id":1}]}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rows := parseRows(&httpget.Reply{Status: http.StatusOK, Body: body}, 5)
		if len(rows) > 5 {
			t.Fatalf("%d rows", len(rows))
		}
		for _, r := range rows {
			if strings.HasPrefix(r.ID, "_design/") {
				t.Fatalf("design document %q kept", r.ID)
			}
			fs := r.fields()
			if len(fs) > flatten.MaxFields {
				t.Fatalf("%d fields", len(fs))
			}
			for _, x := range fs {
				if x.Path == "_rev" || len(x.Value) > flatten.MaxValue {
					t.Fatalf("field %q of %d bytes", x.Path, len(x.Value))
				}
			}
		}
	})
}
