package couchdb

import (
	"context"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// scanSource is the address gown's connections leave from, so that the
// server log tells them from the test bed's own requests (from 127.0.0.1).
var scanSource = netip.MustParseAddr("127.0.0.2")

// allowed is every request gown may send: GET (or HEAD) to these paths only.
var allowed = regexp.MustCompile(`^/(|_session|_node/_local/_config|_config|_all_dbs|[^/?]+|[^/?]+/_all_docs\?limit=1)$`)

// TestRealPouchDB runs the prober against a real pouchdb-server 4.2.0
// (CouchDB 1.x API) on a free loopback port, reconfigured as an operator
// would: admin party; an admin set; _security members on one database; on
// both. It then proves from the server's own request log that gown sent
// only GETs to the allowlisted paths.
//
// Admin set is open on purpose: ending the admin party protects only the
// server's configuration. CouchDB (and PouchDB Server after it) leaves every
// database without _security members readable by anyone, so users and
// orders stay public, and gown says so.
func TestRealPouchDB(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real server")
	}
	s := startPouch(t)
	// Planted while the party lasts: afterwards only the admin may write.
	s.plant("users", 60)
	s.plant("orders", 140)
	want := map[string]uint64{"users": 60, "orders": 140}

	t.Run("admin party", func(t *testing.T) {
		res := probePouch(t, s)
		check(t, res, gown.StatusOpen, map[string]string{"admin_party": "true", "config": "200", "session_roles": "_admin"})
		checkInventory(t, s, res, want)
		if res.Product != "PouchDB Server" || res.Version != pouchVersion {
			t.Errorf("product %q version %q", res.Product, res.Version)
		}
		for _, ev := range res.Evidence {
			if ev.Step == "GET /_config" && !strings.HasSuffix(ev.Received, "[body withheld]") {
				t.Errorf("configuration body in evidence: %q", ev.Received)
			}
		}
	})
	t.Run("admin set", func(t *testing.T) {
		s.setAdmin("gown-test-" + time.Now().Format("150405.000"))
		res := probePouch(t, s)
		check(t, res, gown.StatusOpen, map[string]string{"admin_party": "false", "config": "401", "session_roles": ""})
		checkInventory(t, s, res, want)
		if res.Details["unreadable_dbs"] != "" {
			t.Errorf("unreadable_dbs %q, want none", res.Details["unreadable_dbs"])
		}
	})
	t.Run("per-db security", func(t *testing.T) {
		s.secure("orders")
		res := probePouch(t, s)
		check(t, res, gown.StatusOpen, map[string]string{"admin_party": "false", "unreadable_dbs": "orders"})
		checkInventory(t, s, res, map[string]uint64{"users": 60})
	})
	t.Run("every db secured", func(t *testing.T) {
		s.secure("users")
		res := probePouch(t, s)
		check(t, res, gown.StatusRestricted, map[string]string{"admin_party": "false"})
		// pouchdb-server lists databases in no fixed order.
		names := strings.Split(res.Details["unreadable_dbs"], ",")
		slices.Sort(names)
		if !slices.Equal(names, []string{"orders", "users"}) {
			t.Errorf("unreadable_dbs %q, want orders and users", res.Details["unreadable_dbs"])
		}
	})
	t.Run("read-only", func(t *testing.T) { checkReadOnly(t, s) })
}

// probePouch probes the server from scanSource.
func probePouch(t *testing.T, s *pouch) *gown.Result {
	t.Helper()
	d, err := probe.NewDialer(probe.DialerConfig{Source: scanSource, IOTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	res, err := New().Probe(ctx, gown.Target{Host: "127.0.0.1", Port: s.port}, d)
	if res == nil {
		t.Fatalf("no result: %v\n%s", err, s.output())
	}
	t.Logf("%s: %s; details %v; error %q", res.Status, res.Reason, res.Details, res.Error)
	return res
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
// and their sizes with what the server tells the admin.
func checkInventory(t *testing.T, s *pouch, res *gown.Result, want map[string]uint64) {
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
		if size := s.diskSize(name); db.Bytes == 0 || db.Bytes > 2*size || 2*db.Bytes < size {
			t.Errorf("database %s: %d bytes per gown, disk_size %d per the server", name, db.Bytes, size)
		}
		total += n
	}
	if len(got) != len(want) || res.Inventory.Items != total {
		t.Errorf("inventory %+v, want %v (items %d)", res.Inventory, want, total)
	}
}

// checkReadOnly reads the server's log: every request from scanSource must
// be a GET or HEAD to an allowlisted path, and the log must show the scans.
func checkReadOnly(t *testing.T, s *pouch) {
	// The log line is written when the response finishes: give the last one
	// a moment.
	time.Sleep(300 * time.Millisecond)
	var fromScan, fromBed int
	for _, e := range s.requests() {
		if e.ip != scanSource.String() {
			fromBed++
			continue
		}
		fromScan++
		if (e.method != "GET" && e.method != "HEAD") || !allowed.MatchString(e.path) {
			t.Errorf("gown sent %s %s (HTTP %d)", e.method, e.path, e.status)
		}
	}
	if fromScan < 4*6 || fromBed == 0 {
		t.Fatalf("log shows %d requests from gown and %d from the test bed: the check proves nothing", fromScan, fromBed)
	}
	t.Logf("server log: %d requests from gown, all GET to allowlisted paths; %d from the test bed", fromScan, fromBed)
}
