package couchdb

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
)

// The tests in this file run the prober against PouchDB Server 4.2.0
// (CouchDB 1.x API) as the test bed runs it: couchdb-party (admin party,
// the planted people and a ransom note), couchdb-admin (an admin set),
// couchdb-secured (an admin, and _security members on every database) and
// couchdb-tls (nginx serving TLS in front). Each proof of read-only
// behaviour reads the server's own request log after a mark. CouchDB 2.x
// and 3.x (/_node/_local/_config, admin-only _all_dbs) have no real server
// here: replayed stand-ins cover them (standin_test.go).

// TestMain shares the test bed among this package's tests. The one test
// that changes a server starts its own (TestRealPartlySecured).
func TestMain(m *testing.M) { os.Exit(testbed.Main(m)) }

// scanSource is the address gown's connections leave from, so that the
// server log tells them from the test bed's own requests (from 127.0.0.1).
var scanSource = testbed.Source

// allowed is every request gown may send: GET (or HEAD) to these paths only.
var allowed = regexp.MustCompile(`^/(|_session|_node/_local/_config|_config|_all_dbs|[^/?]+|[^/?]+/_all_docs\?limit=1)$`)

// server starts (or reuses) one test-bed configuration.
func server(t *testing.T, name string) *testbed.Server {
	t.Helper()
	return testbed.Require(t, name).Get(name)
}

// TestRealPouchDB probes the three plaintext configurations. An admin set
// is open on purpose: ending the admin party protects only the server's
// configuration. CouchDB (and PouchDB Server after it) leaves every
// database without _security members readable by anyone, and gown says so.
func TestRealPouchDB(t *testing.T) {
	bed := testbed.Require(t, "couchdb-party", "couchdb-admin", "couchdb-secured")
	t.Run("admin party", func(t *testing.T) {
		s := bed.Get("couchdb-party")
		mark := s.LogSize()
		res := probeServer(t, s)
		check(t, res, gown.StatusOpen, map[string]string{"admin_party": "true", "config": "200", "session_roles": "_admin"})
		checkInventory(t, s, res, s.Want.Databases)
		if res.Product != "PouchDB Server" || res.Version != testbed.PouchVersion {
			t.Errorf("product %q version %q", res.Product, res.Version)
		}
		for _, ev := range res.Evidence {
			if ev.Step == "GET /_config" && !strings.HasSuffix(ev.Received, "[body withheld]") {
				t.Errorf("configuration body in evidence: %q", ev.Received)
			}
		}
		checkReadOnly(t, s, mark, 6+2*len(s.Want.Databases))
	})
	t.Run("admin set", func(t *testing.T) {
		s := bed.Get("couchdb-admin")
		mark := s.LogSize()
		res := probeServer(t, s)
		check(t, res, gown.StatusOpen, map[string]string{"admin_party": "false", "config": "401", "session_roles": ""})
		checkInventory(t, s, res, s.Want.Databases)
		if res.Details["unreadable_dbs"] != "" {
			t.Errorf("unreadable_dbs %q, want none", res.Details["unreadable_dbs"])
		}
		checkReadOnly(t, s, mark, 6+2*len(s.Want.Databases))
	})
	t.Run("every db secured", func(t *testing.T) {
		s := bed.Get("couchdb-secured")
		mark := s.LogSize()
		res := probeServer(t, s)
		check(t, res, gown.StatusRestricted, map[string]string{"admin_party": "false"})
		// pouchdb-server lists databases in no fixed order.
		names := strings.Split(res.Details["unreadable_dbs"], ",")
		slices.Sort(names)
		if !slices.Equal(names, []string{"orders", "sessions"}) {
			t.Errorf("unreadable_dbs %q, want orders and sessions", res.Details["unreadable_dbs"])
		}
		checkReadOnly(t, s, mark, 6+len(s.Want.Databases))
	})
}

// TestRealPartlySecured gives one database of a server of its own
// _security members: gown still calls the server open, lists only the
// readable database, and names the other.
func TestRealPartlySecured(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real server")
	}
	bed, err := testbed.Start(t.Context(), t.Output(), "couchdb-admin")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	t.Cleanup(func() { bed.Stop() })
	s := bed.Get("couchdb-admin")
	if err := s.SecureCouchDB(t.Context(), "orders"); err != nil {
		t.Fatal(err)
	}
	res := probeServer(t, s)
	check(t, res, gown.StatusOpen, map[string]string{"admin_party": "false", "unreadable_dbs": "orders"})
	checkInventory(t, s, res, map[string]uint64{"sessions": s.Want.Databases["sessions"]})
}

// TestRealTLS probes PouchDB Server behind nginx serving TLS only: the
// plaintext GET / is answered with nginx's "plain HTTP request was sent to
// HTTPS port", gown switches to TLS and reports the certificate.
func TestRealTLS(t *testing.T) {
	s := server(t, "couchdb-tls")
	mark := s.LogSize()
	res := probeServer(t, s)
	check(t, res, gown.StatusOpen, map[string]string{"admin_party": "false"})
	if res.TLS.Mode != gown.TLSRequired || res.TLS.Subject != "CN=gown-testbed-couchdb-tls" || !res.TLS.SelfSigned || res.TLS.NotAfter.IsZero() {
		t.Errorf("TLS %+v", res.TLS)
	}
	checkInventory(t, s, res, s.Want.Databases)
	checkReadOnly(t, s, mark, 7+2*len(s.Want.Databases))
}

// probeServer probes a test-bed server from scanSource.
func probeServer(t *testing.T, s *testbed.Server) *gown.Result {
	t.Helper()
	d, err := probe.NewDialer(probe.DialerConfig{Source: scanSource, IOTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	res, err := New().Probe(ctx, bedTarget(s), d)
	if res == nil {
		t.Fatalf("no result: %v", err)
	}
	t.Logf("%s: %s; details %v; error %q", res.Status, res.Reason, res.Details, res.Error)
	return res
}

// bedTarget names a test-bed server as a scan of host:port would.
func bedTarget(s *testbed.Server) gown.Target {
	return gown.Target{Host: s.Addr.Addr().String(), Addr: s.Addr.Addr(), Port: int(s.Addr.Port())}
}

// check compares the verdict and some Details.
func check(t *testing.T, res *gown.Result, status gown.Status, details map[string]string) {
	t.Helper()
	if res.Status != status {
		t.Errorf("status %s (%s), want %s", res.Status, res.Reason, status)
	}
	if res.Store != "couchdb" || res.Reason == "" || len(res.Evidence) == 0 {
		t.Errorf("store %q reason %q evidence %d", res.Store, res.Reason, len(res.Evidence))
	}
	for k, v := range details {
		if res.Details[k] != v {
			t.Errorf("detail %s = %q, want %q", k, res.Details[k], v)
		}
	}
}

// checkInventory compares the non-system databases with what was planted,
// and their sizes with what the server tells the test bed.
func checkInventory(t *testing.T, s *testbed.Server, res *gown.Result, want map[string]uint64) {
	t.Helper()
	if res.Inventory == nil {
		t.Fatal("no inventory")
	}
	got := map[string]gown.Database{}
	var total uint64
	for _, db := range res.Inventory.Databases {
		if db.System != strings.HasPrefix(db.Name, "_") {
			t.Errorf("database %s: system %v", db.Name, db.System)
		}
		if !db.System {
			got[db.Name] = db
		}
	}
	for name, n := range want {
		db, ok := got[name]
		if !ok || db.Items != n {
			t.Errorf("database %s: %+v, planted %d documents", name, db, n)
		}
		// LevelDB may compact between the two reads: sizes agree roughly.
		if size := diskSize(t, s, name); db.Bytes == 0 || db.Bytes > 2*size || 2*db.Bytes < size {
			t.Errorf("database %s: %d bytes per gown, disk_size %d per the server", name, db.Bytes, size)
		}
		total += n
	}
	if len(got) != len(want) || res.Inventory.Items != total {
		t.Errorf("inventory %+v, want %v (items %d)", res.Inventory, want, total)
	}
}

// diskSize is what the server tells the test bed (with the admin's
// credentials where there is an admin) of a database's disk_size.
func diskSize(t *testing.T, s *testbed.Server, db string) uint64 {
	t.Helper()
	scheme := "http://"
	c := http.DefaultClient
	if s.TLS {
		scheme = "https://"
		c = &http.Client{Transport: insecureTransport()}
	}
	req, err := http.NewRequestWithContext(t.Context(), "GET", scheme+s.Addr.String()+"/"+db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.User != "" {
		req.SetBasicAuth(s.User, s.Password)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct {
		DiskSize uint64 `json:"disk_size"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	return info.DiskSize
}

// checkReadOnly reads the server's own log after mark: every request from
// scanSource must be a GET or HEAD to an allowlisted path, and there must
// be at least min of them.
func checkReadOnly(t *testing.T, s *testbed.Server, mark int64, min int) {
	t.Helper()
	// The log line is written when the response finishes: give the last one
	// a moment.
	time.Sleep(300 * time.Millisecond)
	reqs, err := s.HTTPLog(mark)
	if err != nil {
		t.Fatal(err)
	}
	fromScan := 0
	for _, e := range reqs {
		if e.Client != scanSource.String() || e.Bed {
			continue
		}
		fromScan++
		if (e.Method != "GET" && e.Method != "HEAD") || !allowed.MatchString(e.Path) {
			t.Errorf("gown sent %s %s (HTTP %d)", e.Method, e.Path, e.Status)
		}
	}
	if fromScan < min {
		t.Fatalf("%s shows %d requests from gown, want at least %d: the check proves too little", s.LogName(), fromScan, min)
	}
	t.Logf("%s: %d requests from gown, all GET to allowlisted paths", s.LogName(), fromScan)
}

// insecureTransport trusts the test bed's self-signed certificate.
func insecureTransport() *http.Transport {
	return &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // the test bed's own certificate
}
