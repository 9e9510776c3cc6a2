package firebase

import (
	"context"
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
	"github.com/gownscan/gown/probe/sampletest"
)

// sampleRequest is what sampling may send: the shallow root, or the first
// children of one key.
var sampleRequest = regexp.MustCompile(`^GET (/\.json\?shallow=true|/[^/?]+\.json\?orderBy=%22%24key%22&limitToFirst=\d+)$`)

// TestSampleFirebaseServer samples firebase-open, where the test bed planted
// the people (under users, keyed by id, the geolocation nested), the ransom
// note (a top-level key holding {message}) and some app data: every planted
// person and the note are read, no key gives more than K records, and
// firebase-server's own debug log shows one GET of the root and one per
// key, nothing else.
func TestSampleFirebaseServer(t *testing.T) {
	srv := server(t, "firebase-open")
	tg := bedTarget(srv)
	r := probeOnce(t, tg)
	if r.Status != gown.StatusOpen {
		t.Fatalf("status %s", r.Status)
	}
	time.Sleep(100 * time.Millisecond) // logged as the server answers
	mark := srv.LogSize()
	lim := probe.DefaultSample
	samples, trunc, err := probe.SampleStore(t.Context(), New(), tg, dialer(t), r, lim)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	notes, people := 0, 0
	for _, s := range samples {
		per[s.Database]++
		if s.Database == testbed.RansomName && sampletest.Has(s, "message", testbed.RansomMessage) {
			notes++
		}
		for _, p := range testbed.People {
			if s.Database == testbed.FirebaseCorpusKey && s.Key == p.ID && sampletest.Has(s, "email", p.Email) && sampletest.Has(s, "location.lat", p.Lat) {
				people++
			}
		}
	}
	// orders holds 25 children, which firebase-server sends whole (it
	// ignores limitToFirst): K caps what gown keeps.
	want := map[string]int{"config": 3, "orders": lim.PerCollection, testbed.FirebaseCorpusKey: len(testbed.People), testbed.RansomName: 1}
	if fmt.Sprint(per) != fmt.Sprint(want) || notes != 1 || people != len(testbed.People) || trunc {
		t.Errorf("records per key %v (want %v), notes %d, people %d, truncated %v", per, want, notes, people, trunc)
	}
	time.Sleep(100 * time.Millisecond)
	reqs, err := srv.HTTPLog(mark)
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	for _, q := range reqs {
		sent = append(sent, q.String())
		if q.Method != "GET" {
			t.Errorf("firebase-server logged %s from sampling", q)
		}
	}
	if len(sent) != 1+len(want) {
		t.Errorf("firebase-server logged %d requests from sampling, want the root and one per key: %q", len(sent), sent)
	}
	t.Logf("%d records from %d keys (truncated %v); firebase-server's log: %q", len(samples), len(per), trunc, sent)

	sampletest.TinyByteCap(t, New(), tg, dialer(t), r, lim)
}

// TestSampleHostile: a server that ignores limitToFirst and sends
// thousands of children, deep ones, and key names that try to leave their
// path segment: sampling keeps K per key, stops requesting at the
// collection cap, and requests only the allowlisted paths.
func TestSampleHostile(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	var root strings.Builder
	root.WriteString(`{"many":true,"deep":true,"x/../../.settings/rules":true`)
	for i := range 80 {
		fmt.Fprintf(&root, `,"k%d":true`, i)
	}
	root.WriteString("}")
	many := "{" + strings.Repeat(`"a":{"email":"a@b.example"},`, 5000) + `"z":1}`
	deep := `{"c":` + strings.Repeat(`{"d":`, 5000) + "1" + strings.Repeat("}", 5000) + "}"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		switch {
		case r.URL.Path == "/.json":
			io.WriteString(w, root.String())
		case r.URL.Path == "/many.json":
			io.WriteString(w, many)
		case r.URL.Path == "/deep.json":
			io.WriteString(w, deep)
		default:
			io.WriteString(w, `null`)
		}
	}))
	defer srv.Close()
	ap := netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://"))
	tg := gown.Target{Host: "gown-test.firebaseio.com", Addr: ap.Addr(), Port: int(ap.Port()), Hint: "firebase"}
	r := &gown.Result{Status: gown.StatusOpen, TLS: gown.TLS{Mode: gown.TLSNone}, Inventory: &gown.Inventory{}}
	lim := probe.SampleLimits{PerCollection: 5, Collections: 10, Bytes: 1 << 20, Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	samples, trunc, err := probe.SampleStore(ctx, New(), tg, dialer(t), r, lim)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, s := range samples {
		per[s.Database]++
		for _, f := range s.Fields {
			if strings.Count(f.Path, ".") > flatten.MaxDepth {
				t.Errorf("field below the depth cap: %.60s", f.Path)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range paths {
		if !sampleRequest.MatchString(p) {
			t.Errorf("request %q is not on the allowlist", p)
		}
	}
	if per["many"] != lim.PerCollection || per["deep"] != 1 || len(paths) != 1+lim.Collections+1 ||
		paths[3] != "GET /x%2F..%2F..%2F.settings%2Frules.json?orderBy=%22%24key%22&limitToFirst=5" {
		t.Errorf("records per key %v; %d requests: %q", per, len(paths), paths)
	}
	t.Logf("%d records, %d requests (truncated %v)", len(samples), len(paths), trunc)
}

// FuzzRecords: whatever a key's reply holds, sampling keeps at most K
// records of capped fields, at most flatten's depth down.
func FuzzRecords(f *testing.F) {
	for _, s := range []string{`{"a":{"b":{"c":1}},"d":"x","e":[1,{"f":null}]}`, `"note"`, `[1,2,3]`, `null`, `{"a":`, `{"a":1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		recs := records("k", body, 5)
		if len(recs) > 5 {
			t.Fatalf("%d records", len(recs))
		}
		for _, r := range recs {
			if len(r.Fields) > flatten.MaxFields {
				t.Fatalf("%d fields", len(r.Fields))
			}
			for _, x := range r.Fields {
				if len(x.Value) > flatten.MaxValue || strings.Count(x.Path, ".") > flatten.MaxDepth+1 {
					t.Fatalf("field %.40q of %d bytes", x.Path, len(x.Value))
				}
			}
		}
	})
}
