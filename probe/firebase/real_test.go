package firebase

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
)

// The tests in this file run the prober against firebase-server 1.1.0 (npm,
// MIT; firebase@7.24.0 pinned beside it) as the test bed runs it:
// firebase-open (the planted people, a ransom note and some app data) and
// firebase-empty. It serves the Realtime Database REST API over plaintext
// HTTP and logs each REST request's method and path (DEBUG=firebase-server),
// which is the read-only proof; it logs no client address, so the proof
// reads after a mark. Its REST API enforces no security rules: the locked
// case (401 Permission denied) has only replayed stand-ins
// (standin_test.go). firebase-server ignores shallow=true and sends whole
// subtrees, so the children of each top-level key are known here; real
// Firebase sends true.

// TestMain shares the test bed among this package's tests, which only read.
func TestMain(m *testing.M) { os.Exit(testbed.Main(m)) }

// server starts (or reuses) one test-bed configuration.
func server(t *testing.T, name string) *testbed.Server {
	t.Helper()
	return testbed.Require(t, name).Get(name)
}

// bedTarget names a test-bed server as an app names its database, with
// the hint a Firebase URL gives, at the server's address.
func bedTarget(s *testbed.Server) gown.Target {
	return gown.Target{Host: testbed.FirebaseHost, Addr: s.Addr.Addr(), Port: int(s.Addr.Port()), Hint: "firebase"}
}

func TestRealOpen(t *testing.T) {
	s := server(t, "firebase-open")
	mark := s.LogSize()
	r := probeOnce(t, bedTarget(s))
	reason := fmt.Sprintf("security rules allow unauthenticated reads: the root lists %d top-level keys", s.Want.Items)
	if r.Status != gown.StatusOpen || r.Reason != reason {
		t.Fatalf("got %s %q (error %q), want open %q", r.Status, r.Reason, r.Error, reason)
	}
	got := map[string]uint64{}
	for _, db := range r.Inventory.Databases {
		got[db.Name] = db.Items
	}
	if fmt.Sprint(got) != fmt.Sprint(s.Want.Databases) || r.Inventory.Items != s.Want.Items ||
		r.Details["top_level_keys"] != fmt.Sprint(s.Want.Items) {
		t.Errorf("inventory %+v, want keys %v", r.Inventory, s.Want.Databases)
	}
	if r.TLS.Mode != gown.TLSNone {
		t.Errorf("TLS %q", r.TLS.Mode)
	}
	wantOnlyGETs(t, s, mark, 1)
	t.Logf("open: %s; keys %v; evidence %q", r.Reason, got, r.Evidence[0].Sent)
}

func TestRealEmpty(t *testing.T) {
	s := server(t, "firebase-empty")
	mark := s.LogSize()
	r := probeOnce(t, bedTarget(s))
	if r.Status != gown.StatusOpen || r.Details["root"] != kindNull || r.Inventory.Items != 0 {
		t.Fatalf("got %s %q details %v", r.Status, r.Reason, r.Details)
	}
	wantOnlyGETs(t, s, mark, 1)
}

// wantOnlyGETs is the read-only proof from firebase-server's own debug log,
// which names each REST request's method: after mark, n GETs of the root
// (logged as "/", the ".json" stripped) and nothing else.
func wantOnlyGETs(t *testing.T, s *testbed.Server, mark int64, n int) {
	t.Helper()
	time.Sleep(100 * time.Millisecond) // logged as the server answers
	reqs, err := s.HTTPLog(mark)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, q := range reqs {
		got = append(got, q.String())
		if q.Method != "GET" || q.Path != "/" {
			t.Errorf("firebase-server logged %s, want only GET /", q)
		}
	}
	if len(reqs) != n {
		t.Errorf("firebase-server logged %d REST requests, want %d: %q", len(reqs), n, got)
	}
	t.Logf("read-only proof: firebase-server's debug log shows %s", strings.Join(got, ", "))
}
