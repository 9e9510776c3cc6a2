package couchbase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// Couchbase's documented replies, as the stand-ins replay them.
const (
	pools72 = `{"isAdminCreds":false,"isROAdminCreds":false,"isEnterprise":true,` +
		`"allowedServices":["kv","n1ql","index","fts","cbas","eventing","backup"],"isDeveloperPreview":false,"packageVariant":"",` +
		`"pools":[{"name":"default","uri":"/pools/default?uuid=0fd38ae1b3ce6c2c0cae65a5ae1dd1c1",` +
		`"streamingUri":"/poolsStreaming/default?uuid=0fd38ae1b3ce6c2c0cae65a5ae1dd1c1"}],` +
		`"settings":{"maxParallelIndexers":"/settings/maxParallelIndexers?uuid=0fd38ae1b3ce6c2c0cae65a5ae1dd1c1",` +
		`"viewUpdateDaemon":"/settings/viewUpdateDaemon?uuid=0fd38ae1b3ce6c2c0cae65a5ae1dd1c1"},` +
		`"uuid":"0fd38ae1b3ce6c2c0cae65a5ae1dd1c1","implementationVersion":"7.2.0-5325-enterprise",` +
		`"componentsVersion":{"ale":"7.2.0-5325-enterprise","os_mon":"2.8.1","kernel":"8.5.3","ns_server":"7.2.0-5325-enterprise","stdlib":"4.3.1"}}`
	poolsUninit = `{"isAdminCreds":true,"isROAdminCreds":false,"isEnterprise":false,"allowedServices":["kv","n1ql","index","fts"],` +
		`"isDeveloperPreview":false,"packageVariant":"","pools":[],"settings":[],"uuid":[],` +
		`"implementationVersion":"7.1.1-3175-community","componentsVersion":{"ns_server":"7.1.1-3175-community"}}`
	pools45 = `{"pools":[{"name":"default","uri":"/pools/default?uuid=7a2a0c","streamingUri":"/poolsStreaming/default?uuid=7a2a0c"}],` +
		`"isAdminCreds":false,"isROAdminCreds":false,"isEnterprise":true,"settings":{},"uuid":"7a2a0c",` +
		`"implementationVersion":"4.5.1-2844-enterprise","componentsVersion":{"ns_server":"4.5.1-2844-enterprise"}}`
	buckets2 = `[{"name":"travel-sample","nodeLocator":"vbucket","bucketType":"membase","storageBackend":"couchstore",` +
		`"uuid":"b2a2a1d4c8b3f1e0","basicStats":{"quotaPercentUsed":10.2,"opsPerSec":0,"diskFetches":0,"itemCount":63288,` +
		`"diskUsed":119455004,"dataUsed":96879616,"memUsed":55051840,"vbActiveNumNonResident":0}},` +
		`{"name":"sessions","bucketType":"ephemeral","basicStats":{"quotaPercentUsed":1.5,"opsPerSec":3.5,"itemCount":1.2e3,` +
		`"diskUsed":0,"dataUsed":0,"memUsed":1048576}}]`
	realm     = `WWW-Authenticate: Basic realm="Couchbase Server Admin / REST"`
	forbidden = `{"message":"Forbidden. User needs the following permissions","permissions":["cluster.bucket[.].settings!read"]}`
)

func TestProbeVerdicts(t *testing.T) {
	cases := []struct {
		name     string
		pools    string
		buckets  string // "" means the stand-in answers 404
		status   gown.Status
		reason   string
		requests int
	}{
		{"open 4.5", cbReply(200, pools45), cbReply(200, buckets2), gown.StatusOpen, "lists 2 buckets without credentials", 2},
		{"locked 7.2", cbReply(200, pools72), cbReply(401, "", realm), gown.StatusAuthRequired, "the bucket list asks for credentials (401)", 2},
		{"pools 401", cbReply(401, "", realm), "", gown.StatusAuthRequired, "asks for credentials on /pools (401)", 1},
		{"other 401", "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"router\"\r\nContent-Length: 0\r\n\r\n", "",
			gown.StatusUnknown, "asks for credentials on /pools (401), but does not say it is Couchbase", 1},
		{"forbidden", cbReply(200, pools72), cbReply(403, forbidden), gown.StatusRestricted, "the bucket list is refused to this client (403)", 2},
		{"uninitialised", cbReply(200, poolsUninit), cbReply(404, `"Unknown pool"`), gown.StatusUnknown,
			"node never initialised: no pool and no buckets, but anyone can set it up", 2},
		{"empty, admin", cbReply(200, poolsUninit), cbReply(200, `[]`), gown.StatusOpen, "grants admin rights without credentials; no buckets yet", 2},
		{"empty", cbReply(200, pools45), cbReply(200, `[]`), gown.StatusUnknown, "the bucket list is empty without credentials: none readable, or none there", 2},
		{"buckets not array", cbReply(200, pools45), cbReply(200, `{"a":1}`), gown.StatusUnknown, "the bucket list is not a JSON array", 2},
		{"buckets 500", cbReply(200, pools45), cbReply(500, `"oops"`), gown.StatusUnknown, "the bucket list answered HTTP 500", 2},
		{"other json", cbReply(200, `{"hello":"world"}`), "", gown.StatusNotService, "/pools answered without implementationVersion: not a Couchbase cluster manager", 1},
		{"pools 404", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "", gown.StatusNotService, "/pools answered HTTP 404: not a Couchbase cluster manager", 1},
		{"html", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 6\r\n\r\n<html>", "", gown.StatusNotService, "/pools answered without implementationVersion: not a Couchbase cluster manager", 1},
		{"redis", "-ERR unknown command 'GET'\r\n", "", gown.StatusNotService, "answered, but not in HTTP", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			routes := map[string]string{poolsPath: c.pools}
			if c.buckets != "" {
				routes[bucketsPath] = c.buckets
			}
			s, tg := startStandIn(t, routes, nil)
			r := probeOnce(t, tg)
			if r.Status != c.status || r.Reason != c.reason {
				t.Fatalf("got %s %q, want %s %q (error %q)", r.Status, r.Reason, c.status, c.reason, r.Error)
			}
			if len(r.Evidence) == 0 {
				t.Error("no evidence")
			}
			if c.status != gown.StatusOpen && r.Inventory != nil && len(r.Inventory.Databases) > 0 {
				t.Errorf("inventory without access: %+v", r.Inventory)
			}
			wantRequests(t, s, c.requests)
		})
	}
}

func TestProbeOpenInventory(t *testing.T) {
	_, tg := startStandIn(t, map[string]string{poolsPath: cbReply(200, pools72), bucketsPath: cbReply(200, buckets2)}, nil)
	r := probeOnce(t, tg)
	want := []gown.Database{{Name: "travel-sample", Items: 63288, Bytes: 119455004}, {Name: "sessions", Items: 1200}}
	if r.Status != gown.StatusOpen || fmt.Sprint(r.Inventory.Databases) != fmt.Sprint(want) ||
		r.Inventory.Items != 64488 || r.Inventory.Bytes != 119455004 || r.Inventory.Truncated {
		t.Errorf("got %s inventory %+v", r.Status, r.Inventory)
	}
	if r.Product != product || r.Version != "7.2.0-5325-enterprise" || r.Details["admin_creds"] != "false" ||
		r.Details["enterprise"] != "true" || r.Details["initialized"] != "true" || r.TLS.Mode != gown.TLSNone {
		t.Errorf("product %q version %q details %v tls %+v", r.Product, r.Version, r.Details, r.TLS)
	}
}

func TestProbeManyBuckets(t *testing.T) {
	var list []string
	for i := range 150 {
		list = append(list, fmt.Sprintf(`{"name":"b%03d","basicStats":{"itemCount":2,"diskUsed":10}}`, i))
	}
	body := "[" + strings.Join(list, ",") + "]"
	_, tg := startStandIn(t, map[string]string{poolsPath: cbReply(200, pools45), bucketsPath: cbReply(200, body)}, nil)
	r := probeOnce(t, tg)
	inv := r.Inventory
	if r.Status != gown.StatusOpen || len(inv.Databases) != maxBuckets || !inv.Truncated || inv.Items != 200 {
		t.Errorf("got %s, %d buckets, truncated %v, %d items", r.Status, len(inv.Databases), inv.Truncated, inv.Items)
	}
}

func TestProbeTLS(t *testing.T) {
	s, tg := startStandIn(t, map[string]string{poolsPath: cbReply(200, pools72), bucketsPath: cbReply(401, "", realm)},
		selfSigned(t, "cb.example"))
	tg.TLS = true
	r := probeOnce(t, tg)
	if r.Status != gown.StatusAuthRequired || r.TLS.Mode != gown.TLSRequired || r.TLS.Subject != "CN=cb.example" {
		t.Fatalf("got %s tls %+v", r.Status, r.TLS)
	}
	for _, q := range s.requests() {
		if q.SNI != "cb.example" {
			t.Errorf("request %+v without SNI", q)
		}
	}
}

func TestProbeClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	r, err := New().Probe(t.Context(), gown.Target{Host: "cb.example", Addr: ap.Addr(), Port: int(ap.Port())}, dialer(t))
	var de *probe.DialError
	if r != nil || !errors.As(err, &de) || !strings.Contains(err.Error(), "couchbase GET /pools") {
		t.Errorf("closed port: %+v, %v", r, err)
	}
}

func TestProbeCancelled(t *testing.T) {
	_, tg := startStandIn(t, map[string]string{poolsPath: cbReply(200, pools72)}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if r, err := New().Probe(ctx, tg, dialer(t)); r != nil || err == nil {
		t.Errorf("cancelled: %+v, %v", r, err)
	}
}

func TestCount(t *testing.T) {
	cases := map[string]uint64{"63288": 63288, "1.2e3": 1200, "-5": 0, "": 0, "1e30": math.MaxUint64,
		"18446744073709551615": math.MaxUint64, "12.9": 12}
	for in, want := range cases {
		if got := count(json.Number(in)); got != want {
			t.Errorf("count(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestIdentity(t *testing.T) {
	p := New()
	k := p.Kind()
	if k.Name != "couchbase" || fmt.Sprint(k.Ports) != "[8091 18091]" ||
		fmt.Sprint(k.Schemes) != "[{couchbase 8091 false} {couchbases 18091 true}]" || k.HintOnly || k.ServerFirst {
		t.Errorf("kind %+v", k)
	}
}

// wantRequests checks the stand-in saw n GETs, in order, without
// credentials, with the target's name in Host.
func wantRequests(t *testing.T, s *standIn, n int) {
	t.Helper()
	reqs := s.requests()
	paths := []string{poolsPath, bucketsPath}
	if len(reqs) != n {
		t.Fatalf("%d requests, want %d: %+v", len(reqs), n, reqs)
	}
	for i, q := range reqs {
		if q.Method != "GET" || q.URI != paths[i] || q.Auth != "" || !strings.HasPrefix(q.Host, "cb.example:") {
			t.Errorf("request %d: %+v, want GET %s", i, q, paths[i])
		}
	}
}

func dialer(t testing.TB) probe.Dialer {
	t.Helper()
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func probeOnce(t *testing.T, tg gown.Target) *gown.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	r, err := New().Probe(ctx, tg, dialer(t))
	if r == nil {
		t.Fatalf("Probe: no result, %v", err)
	}
	return r
}

// TestProbeAdminFact: a cluster manager that says the anonymous caller
// holds admin rights (isAdminCreds, as Couchbase answers with no
// credentials on a node whose admin has none) gets the admin fact assess
// grades on; one that says false gets none. A replayed stand-in, as the
// other tests here: no Couchbase Server runs on these machines.
func TestProbeAdminFact(t *testing.T) {
	for _, c := range []struct {
		pools, admin string
	}{
		{strings.Replace(pools45, `"isAdminCreds":false`, `"isAdminCreds":true`, 1), "the cluster manager grants admin rights without credentials"},
		{pools45, ""},
	} {
		_, tg := startStandIn(t, map[string]string{poolsPath: cbReply(200, c.pools), bucketsPath: cbReply(200, buckets2)}, nil)
		r := probeOnce(t, tg)
		if r.Status != gown.StatusOpen || r.Facts.Admin != c.admin {
			t.Errorf("got %s facts %+v, want open with admin %q", r.Status, r.Facts, c.admin)
		}
	}
}
