package couchdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// standIn is NOT a real CouchDB: no CouchDB 2.x/3.x server can be installed
// here, so these tests replay the replies the Apache CouchDB documentation
// gives for each request (docs.couchdb.org: api/server/common.html for / and
// /_all_dbs, api/server/authn.html for /_session, api/server/configuration.html
// for /_node/{node}/_config, api/database/common.html for GET /{db}, and the
// 3.0 release notes for the admin-only /_all_dbs). Paths it does not know
// answer 404 {"error":"not_found","reason":"Database does not exist."}, as
// CouchDB does. It records every request.
type standIn struct {
	routes map[string]canned // by RequestURI
	mu     sync.Mutex
	seen   []string // "GET /path"
}

type canned struct {
	code int
	body string
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.seen = append(s.seen, r.Method+" "+r.RequestURI)
	s.mu.Unlock()
	c, ok := s.routes[r.RequestURI]
	if !ok {
		c = canned{404, `{"error":"not_found","reason":"Database does not exist."}`}
	}
	w.Header().Set("Server", "CouchDB/3.3.3 (Erlang OTP/25)")
	w.Header().Set("Content-Type", "application/json")
	if c.code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="server"`)
	}
	w.WriteHeader(c.code)
	fmt.Fprint(w, c.body)
}

func (s *standIn) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// Replies as the CouchDB docs show them.
const (
	welcome3    = `{"couchdb":"Welcome","version":"3.3.3","git_sha":"40afbcfc7","uuid":"85fb71bf700c17267fef77535820e371","features":["access-ready","partitioned","pluggable-storage-engines","reshard","scheduler"],"vendor":{"name":"The Apache Software Foundation"}}`
	welcome2    = `{"couchdb":"Welcome","version":"2.3.1","git_sha":"c298091a4","uuid":"85fb71bf700c17267fef77535820e371","features":["pluggable-storage-engines","scheduler"],"vendor":{"name":"The Apache Software Foundation"}}`
	sessionAnon = `{"ok":true,"userCtx":{"name":null,"roles":[]},"info":{"authentication_handlers":["cookie","default"]}}`
	sessionPty  = `{"ok":true,"userCtx":{"name":null,"roles":["_admin"]},"info":{"authentication_handlers":["cookie","default"]}}`
	notAdmin    = `{"error":"unauthorized","reason":"You are not a server admin."}`
	authNeeded  = `{"error":"unauthorized","reason":"Authentication required."}`
	notMember   = `{"error":"unauthorized","reason":"You are not authorized to access this db."}`
	config2     = `{"couchdb":{"database_dir":"./data","max_document_size":"4294967296"},"chttpd":{"port":"5984","bind_address":"0.0.0.0"},"couch_httpd_auth":{"secret":"e1f0c1a2b3"}}`
	shopInfo    = `{"db_name":"shop","update_seq":"7-g1AAAA","sizes":{"file":16644,"external":1235,"active":2768},"purge_seq":0,"other":{"data_size":1235},"doc_del_count":0,"doc_count":7,"disk_size":16644,"disk_format_version":7,"data_size":2768,"compact_running":false,"cluster":{"q":2,"n":1,"w":1,"r":1},"instance_start_time":"0"}`
	usersInfo   = `{"db_name":"_users","update_seq":"1-g1AAAA","sizes":{"file":33000,"external":100,"active":900},"doc_count":1,"doc_del_count":0,"disk_format_version":7,"compact_running":false,"instance_start_time":"0"}`
	allDocs1    = `{"total_rows":7,"offset":0,"rows":[{"id":"order-1","key":"order-1","value":{"rev":"1-967a00dff5e02add41819138abb3284d"}}]}`
)

// serve starts a stand-in on a loopback port; tlsOn serves HTTPS.
func serve(t *testing.T, routes map[string]canned, tlsOn bool) (*standIn, gown.Target) {
	t.Helper()
	s := &standIn{routes: routes}
	srv := httptest.NewUnstartedServer(s)
	// The plaintext-then-TLS test makes the server log a handshake error.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tlsOn {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
	return s, gown.Target{Host: ap.Addr().String(), Addr: ap.Addr(), Port: int(ap.Port())}
}

func probeT(t *testing.T, tg gown.Target) *gown.Result {
	t.Helper()
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := New().Probe(ctx, tg, d)
	if res == nil {
		t.Fatalf("no result: %v", err)
	}
	return res
}

func TestStandInCouchDB2AdminParty(t *testing.T) {
	s, tg := serve(t, map[string]canned{
		"/":                         {200, welcome2},
		"/_session":                 {200, sessionPty},
		"/_node/_local/_config":     {200, config2},
		"/_all_dbs":                 {200, `["_users","shop"]`},
		"/_users":                   {200, usersInfo},
		"/_users/_all_docs?limit=1": {200, allDocs1},
		"/shop":                     {200, shopInfo},
		"/shop/_all_docs?limit=1":   {200, allDocs1},
	}, false)
	res := probeT(t, tg)
	if res.Status != gown.StatusOpen || res.Details["admin_party"] != "true" || res.Details["node_config"] != "200" {
		t.Fatalf("%s (%s) %v", res.Status, res.Reason, res.Details)
	}
	if res.Product != "CouchDB" || res.Version != "2.3.1" || res.TLS.Mode != gown.TLSNone {
		t.Errorf("product %q version %q tls %+v", res.Product, res.Version, res.TLS)
	}
	inv := res.Inventory
	if inv == nil || len(inv.Databases) != 2 || inv.Items != 7 || inv.Bytes != 16644 || !inv.Databases[0].System {
		t.Errorf("inventory %+v", inv)
	}
	for _, req := range s.requests() {
		if req == "GET /_config" {
			t.Errorf("asked the 1.x path after the 2.x one answered")
		}
	}
	for _, ev := range res.Evidence {
		if strings.Contains(ev.Received, "e1f0c1a2b3") || strings.Contains(ev.Received, "order-1") {
			t.Errorf("evidence holds a withheld body: %+v", ev)
		}
	}
}

func TestStandInCouchDB3AdminOnlyListing(t *testing.T) {
	s, tg := serve(t, map[string]canned{
		"/":                     {200, welcome3},
		"/_session":             {200, sessionAnon},
		"/_node/_local/_config": {401, notAdmin},
		"/_all_dbs":             {401, notAdmin},
	}, false)
	res := probeT(t, tg)
	if res.Status != gown.StatusAuthRequired || !strings.Contains(res.Reason, "may still be public") {
		t.Errorf("%s (%s)", res.Status, res.Reason)
	}
	if res.Details["admin_party"] != "false" || res.Details["all_dbs"] != "401" || res.Inventory != nil {
		t.Errorf("details %v inventory %+v", res.Details, res.Inventory)
	}
	want := []string{"GET /", "GET /_session", "GET /_node/_local/_config", "GET /_all_dbs"}
	if got := s.requests(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("requests %q, want %q", got, want)
	}
}

func TestStandInRequireValidUser(t *testing.T) {
	s, tg := serve(t, map[string]canned{"/": {401, authNeeded}}, false)
	res := probeT(t, tg)
	if res.Status != gown.StatusAuthRequired || res.Product != "CouchDB" || res.Store != "couchdb" {
		t.Errorf("%s %q %q (%s)", res.Status, res.Store, res.Product, res.Reason)
	}
	if res.Details["www_authenticate"] != `Basic realm="server"` || len(s.requests()) != 1 {
		t.Errorf("details %v requests %q", res.Details, s.requests())
	}
}

func TestStandInEveryDatabaseRefuses(t *testing.T) {
	_, tg := serve(t, map[string]canned{
		"/":                     {200, welcome3},
		"/_session":             {200, sessionAnon},
		"/_node/_local/_config": {401, notAdmin},
		"/_all_dbs":             {200, `["a","b"]`},
		"/a":                    {401, notMember},
		"/b":                    {403, `{"error":"forbidden","reason":"You are not allowed to access this db."}`},
	}, false)
	res := probeT(t, tg)
	if res.Status != gown.StatusRestricted || res.Reason != "listing open, every database refuses (401/403: _security members)" {
		t.Errorf("%s (%s)", res.Status, res.Reason)
	}
	if res.Details["unreadable_dbs"] != "a,b" {
		t.Errorf("details %v", res.Details)
	}
}

// TestStandInCapAndEscaping lists more databases than the cap, some with
// names a hostile server might use to steer gown's requests.
func TestStandInCapAndEscaping(t *testing.T) {
	routes := map[string]canned{
		"/": {200, welcome3}, "/_session": {200, sessionAnon}, "/_node/_local/_config": {401, notAdmin},
	}
	names := []string{"../_config", "a/b", "x+y", "sp ace", "q?limit=9", "\r\nX-Evil: 1"}
	for i := len(names); i < maxDatabases+10; i++ {
		names = append(names, fmt.Sprintf("db%02d", i))
	}
	for _, n := range names {
		p := "/" + escapeName(n)
		routes[p] = canned{200, `{"doc_count":2,"disk_size":100}`}
		routes[p+"/_all_docs?limit=1"] = canned{200, `{"total_rows":2,"rows":[]}`}
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	routes["/_all_dbs"] = canned{200, "[" + strings.Join(quoted, ",") + "]"}
	s, tg := serve(t, routes, false)
	res := probeT(t, tg)
	inv := res.Inventory
	if res.Status != gown.StatusOpen || inv == nil || !inv.Truncated || len(inv.Databases) != maxDatabases || inv.Items != 2*maxDatabases {
		t.Fatalf("%s (%s) inventory %+v", res.Status, res.Reason, inv)
	}
	for _, req := range s.requests() {
		if !allowed.MatchString(strings.TrimPrefix(req, "GET ")) {
			t.Errorf("request outside the allowlist: %q", req)
		}
	}
	if len(res.Evidence) != maxEvidence || res.Details["evidence"] == "" {
		t.Errorf("evidence %d entries, detail %q", len(res.Evidence), res.Details["evidence"])
	}
}

func TestStandInNotCouchDB(t *testing.T) {
	_, tg := serve(t, map[string]canned{"/": {200, `{"name":"es01","tagline":"You Know, for Search"}`}}, false)
	res := probeT(t, tg)
	if res.Status != gown.StatusNotService || res.Store != "" {
		t.Errorf("%s %q (%s)", res.Status, res.Store, res.Reason)
	}
}

// TestStandInTLS serves HTTPS: with a TLS hint it is used at once; without,
// the plaintext request gets Go's "HTTP request to an HTTPS server" 400 and
// the probe retries over TLS.
func TestStandInTLS(t *testing.T) {
	routes := map[string]canned{
		"/": {200, welcome3}, "/_session": {200, sessionAnon}, "/_node/_local/_config": {401, notAdmin},
		"/_all_dbs": {200, `[]`},
	}
	_, tg := serve(t, routes, true)
	for _, hint := range []bool{true, false} {
		tg.TLS = hint
		res := probeT(t, tg)
		if res.Status != gown.StatusOpen || res.TLS.Mode != gown.TLSRequired || res.TLS.Version == "" || res.TLS.Subject == "" {
			t.Errorf("hint %v: %s (%s) tls %+v error %q", hint, res.Status, res.Reason, res.TLS, res.Error)
		}
	}
}

// TestTLSAlertRetry answers plaintext with a TLS alert record, as a TLS-only
// port does, and checks that the probe then tries TLS.
func TestTLSAlertRetry(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	t.Cleanup(func() { ln.Close(); conns.Wait() })
	var mu sync.Mutex
	var firstBytes []byte
	conns.Add(1)
	go func() {
		defer conns.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b := make([]byte, 1)
			c.SetDeadline(time.Now().Add(2 * time.Second))
			c.Read(b)
			mu.Lock()
			firstBytes = append(firstBytes, b[0])
			mu.Unlock()
			c.Write([]byte("\x15\x03\x01\x00\x02\x02\x46")) // fatal protocol_version alert
			c.Close()
		}
	}()
	ap := netip.MustParseAddrPort(ln.Addr().String())
	d, _ := probe.NewDialer(probe.DialerConfig{IOTimeout: 2 * time.Second})
	res, err := New().Probe(t.Context(), gown.Target{Host: "127.0.0.1", Addr: ap.Addr(), Port: int(ap.Port())}, d)
	mu.Lock()
	defer mu.Unlock()
	if string(firstBytes) != "G\x16" {
		t.Errorf("first bytes per connection %q, want a GET then a ClientHello", firstBytes)
	}
	if res == nil || res.Status == gown.StatusOpen || res.Status == gown.StatusNotService {
		t.Errorf("result %+v, error %v", res, err)
	}
}

// TestClosedAndCancelled: a closed port gives the dial error through, and a
// cancelled scan returns at once without a verdict.
func TestClosedAndCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	d, _ := probe.NewDialer(probe.DialerConfig{})
	res, err := New().Probe(t.Context(), gown.Target{Host: "127.0.0.1", Addr: ap.Addr(), Port: int(ap.Port())}, d)
	var de *probe.DialError
	if res != nil || !errors.As(err, &de) {
		t.Errorf("closed port: %+v, %v", res, err)
	}

	_, tg := serve(t, map[string]canned{"/": {200, welcome3}}, false)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	res, err = New().Probe(ctx, tg, d)
	if time.Since(start) > time.Second || res != nil || err == nil {
		t.Errorf("cancelled: %+v, %v after %s", res, err, time.Since(start))
	}
}
