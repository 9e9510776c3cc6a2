package testbed

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
)

// storeNames are the configurations of the stores whose servers come from
// npm, Maven and the Go proxy rather than Debian, and the Kibana stand-ins.
func storeNames() []string {
	return slices.Concat(NamesOf("mongodb"), NamesOf("elasticsearch"), NamesOf("couchdb"), NamesOf("firebase"),
		NamesOf("couchbase"), NamesOf("kibana"))
}

// TestStores starts the MongoDB, search, CouchDB, Firebase and Couchbase
// configurations and the Kibana stand-ins together, checks each truth
// against the table below (Start has already checked each against its
// server, from Source), that every server's own log records requests, and
// that Stop leaves no process, no
// folder and no stand-in behind, the shared OpenSearch node included.
func TestStores(t *testing.T) {
	began := time.Now()
	b, err := Start(t.Context(), t.Output(), storeNames()...)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	t.Logf("Start of %d servers took %s", len(b.Servers), time.Since(began).Round(time.Millisecond))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			b.Stop()
		}
	})

	search := map[string]uint64{"users": 3, SearchRansomIndex: 1, "customers": 120, "orders": 300}
	couch := map[string]uint64{"orders": 141, "sessions": 60}
	want := map[string]Truth{
		"mongodb-open":           {Status: gown.StatusOpen, Databases: map[string]uint64{"shop": 550, "crm": 75, "appdata": 3, RansomName: 1}, Items: 629, TLS: gown.TLSNone},
		"mongodb-auth":           {Status: gown.StatusAuthRequired, Databases: map[string]uint64{"shop": 550, "crm": 75}, Items: 625, TLS: gown.TLSNone},
		"mongodb-tls":            {Status: gown.StatusOpen, Databases: map[string]uint64{"shop": 550, "crm": 75}, Items: 625, TLS: gown.TLSRequired},
		"mongodb-empty":          {Status: gown.StatusOpen, Databases: map[string]uint64{}, TLS: gown.TLSNone},
		"opensearch-open":        {Status: gown.StatusOpen, Databases: search, Items: 424, TLS: gown.TLSNone},
		"opensearch-nginx":       {Status: gown.StatusAuthRequired, Databases: search, Items: 424, TLS: gown.TLSNone},
		"opensearch-tls":         {Status: gown.StatusOpen, Databases: search, Items: 424, TLS: gown.TLSRequired},
		"elasticsearch7-open":    {Status: gown.StatusOpen, Databases: search, Items: 424, TLS: gown.TLSNone},
		"opensearch-search-only": {Status: gown.StatusOpen, Databases: search, Items: 424, TLS: gown.TLSNone, Unsized: true},
		"opensearch-forbidden":   {Status: gown.StatusRestricted, Databases: search, Items: 424, TLS: gown.TLSNone},
		"couchdb-party":          {Status: gown.StatusOpen, Databases: map[string]uint64{"orders": 141, "sessions": 60, "users": 3, CouchRansomDB: 1}, Items: 205, TLS: gown.TLSNone},
		"couchdb-admin":          {Status: gown.StatusOpen, Databases: couch, Items: 201, TLS: gown.TLSNone},
		"couchdb-secured":        {Status: gown.StatusRestricted, Databases: couch, Items: 201, TLS: gown.TLSNone},
		"couchdb-tls":            {Status: gown.StatusOpen, Databases: couch, Items: 201, TLS: gown.TLSRequired},
		"firebase-open":          {Status: gown.StatusOpen, Databases: map[string]uint64{"users": 3, RansomName: 1, "orders": 25, "config": 3}, Items: 4, TLS: gown.TLSNone},
		"firebase-empty":         {Status: gown.StatusOpen, Databases: map[string]uint64{}, TLS: gown.TLSNone},
		"couchbase-open": {Status: gown.StatusOpen, Databases: map[string]uint64{"default": 40, "cache": 25}, Items: 0,
			Uncounted: true, TLS: gown.TLSNone},
		"kibana-standin-open":     {Status: gown.StatusOpen, TLS: gown.TLSNone},
		"kibana-standin-secured":  {Status: gown.StatusAuthRequired, TLS: gown.TLSNone},
		"kibana-standin-login":    {Status: gown.StatusAuthRequired, TLS: gown.TLSNone},
		"kibana-standin-redacted": {Status: gown.StatusRestricted, TLS: gown.TLSNone},
	}
	corpus := map[string]string{"mongodb-open": "appdata", "opensearch-open": "users", "opensearch-tls": "users",
		"elasticsearch7-open": "users", "couchdb-party": "users", "firebase-open": "users", "opensearch-search-only": "users"}
	for _, s := range b.Servers {
		w, ok := want[s.Name]
		if !ok {
			t.Errorf("%s: no expected truth in this test", s.Name)
			continue
		}
		got := s.Want
		if got.Status != w.Status || got.Items != w.Items || !maps.Equal(got.Databases, w.Databases) || got.TLS != w.TLS ||
			got.Uncounted != w.Uncounted || got.Unsized != w.Unsized {
			t.Errorf("%s truth %+v, want %+v", s.Name, got, w)
		}
		if db := corpus[s.Name]; got.PIIDatabase != db || (db != "") != slices.Equal(got.Classes, PIIClasses) ||
			(db != "") != slices.Equal(got.Signs, []string{"ransom-note"}) {
			t.Errorf("%s: corpus in %q classes %v signs %v, want it in %q", s.Name, got.PIIDatabase, got.Classes, got.Signs, db)
		}
		if a := s.Addr.Addr(); !a.IsLoopback() || !a.Is4() || s.Addr.Port() == 0 {
			t.Errorf("%s listens on %s", s.Name, s.Addr)
		}
		// Closed configurations hold a password, but opensearch-forbidden,
		// which refuses everyone alike and asks for none.
		if (s.Password != "") != (!s.StandIn && (s.Want.Status != gown.StatusOpen || s.Name == "couchdb-admin" || s.Name == "couchdb-tls") &&
			s.Name != "opensearch-forbidden") {
			t.Errorf("%s: password set %v", s.Name, s.Password != "")
		}
		if s.StandIn != (s.Kind == "kibana") || s.StandIn != strings.Contains(s.Name, "-standin-") {
			t.Errorf("%s: stand-in %v: only the Kibana stand-ins are, and their names say so", s.Name, s.StandIn)
		}
		testOwnLog(t, s)
	}
	if len(b.Servers) != len(want) {
		t.Errorf("%d servers, want %d", len(b.Servers), len(want))
	}

	pids, dirs, standIns := leftovers(b)
	for _, it := range b.res.items {
		switch v := it.val.(type) {
		case *searchNode:
			pids, dirs = append(pids, v.proc.pid()), append(dirs, v.dir)
		case *Server:
			pids, dirs = append(pids, v.proc.pid()), append(dirs, v.dir)
		}
	}
	stopped = true
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	checkGone(t, pids, dirs, standIns)
}

// testOwnLog checks that the server's own log recorded the startup check,
// which came from Source: the log the read-only proofs read works.
func testOwnLog(t *testing.T, s *Server) {
	t.Helper()
	if s.Kind == "mongodb" {
		cmds, err := s.MongoCommands(0)
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, c := range cmds {
			names[c.Name] = true
		}
		if !names["hello"] || !names["listDatabases"] {
			t.Errorf("%s: FerretDB logged %v, not the check's hello and listDatabases", s.Name, cmds)
		}
		return
	}
	reqs, err := s.HTTPLog(0)
	if err != nil {
		t.Fatal(err)
	}
	fromSource := 0
	for _, r := range reqs {
		if r.Client == Source.String() || (r.Client == "" && r.Method == "GET") {
			fromSource++
		}
	}
	if fromSource == 0 {
		t.Errorf("%s: its log shows no request from the check: %v", s.Name, reqs)
	}
}

// TestLogParsers pins the request-log formats the read-only proofs read,
// with lines as the servers write them; lines that record no request must
// not parse.
func TestLogParsers(t *testing.T) {
	cases := []struct {
		parse func(string) (HTTPRequest, bool)
		line  string
		want  HTTPRequest
		ok    bool
	}{
		{parseTracer, `[2026-11-26T23:01:41,628][TRACE][o.o.h.HttpTracer         ] [gown-node-1] [2][null][GET][/_cat/indices?format=json] received request from [Netty4HttpChannel{localAddress=/127.0.0.1:33915, remoteAddress=/127.0.0.2:37550}]`,
			HTTPRequest{Client: "127.0.0.2", Method: "GET", Path: "/_cat/indices?format=json"}, true},
		{parseTracer, `[2026-11-26T23:07:01,087][TRACE][o.e.h.HttpTracer] [1][gown-testbed][PUT][/users] received request from [Netty4HttpChannel{localAddress=/127.0.0.1:37315, remoteAddress=/127.0.0.1:39740}]`,
			HTTPRequest{Client: "127.0.0.1", Method: "PUT", Path: "/users", Bed: true}, true},
		{parseTracer, `[2026-11-26T23:07:01,106][TRACE][o.e.h.HttpTracer] [1][gown-testbed][OK][application/json; charset=UTF-8][540] sent response to [Netty4HttpChannel{localAddress=/127.0.0.1:37315, remoteAddress=/127.0.0.1:39740}] success [true]`,
			HTTPRequest{}, false},
		{parseNginx, `127.0.0.2 "DELETE /users HTTP/1.1" 401 "-"`, HTTPRequest{Client: "127.0.0.2", Method: "DELETE", Path: "/users", Status: 401}, true},
		{parseNginx, `127.0.0.2 "GET / HTTP/1.1" 200 "gown-testbed"`, HTTPRequest{Client: "127.0.0.2", Method: "GET", Path: "/", Status: 200, Bed: true}, true},
		{parsePouch, `[Thu, 26 Nov 2026 23:30:49 GMT] [info] [<0.000.0>] 127.0.0.2 - - POST /orders/_bulk_docs 201`,
			HTTPRequest{Client: "127.0.0.2", Method: "POST", Path: "/orders/_bulk_docs", Status: 201}, true},
		{parsePouch, `[Thu, 26 Nov 2026 23:03:35 GMT] [info] [<0.000.0>] pouchdb-server has started on http://127.0.0.1:27992/`, HTTPRequest{}, false},
		{parseFirebase, `2026-11-26T23:30:49.337Z firebase-server PATCH /users`, HTTPRequest{Method: "PATCH", Path: "/users"}, true},
		{parseFirebase, `2026-11-26T23:30:49.320Z firebase-server Listening for connections on port 42511`, HTTPRequest{}, false},
	}
	for _, c := range cases {
		got, ok := c.parse(c.line)
		if ok != c.ok || got != c.want {
			t.Errorf("%.60s...: got %+v %v, want %+v %v", c.line, got, ok, c.want, c.ok)
		}
	}
}
