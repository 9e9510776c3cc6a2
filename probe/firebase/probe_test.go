package firebase

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// Replies Firebase documents or sends, replayed by the stand-ins. Firebase
// pretty-prints its error bodies with a space before the colon.
var (
	replyShallow  = httpReply(200, `{"config":true,"orders":true,"users":true}`)
	replyNull     = httpReply(200, `null`)
	replyDenied   = httpReply(401, "{\n  \"error\" : \"Permission denied\"\n}\n")
	replyMissing  = httpReply(404, "{\n  \"error\" : \"Firebase error. Please ensure that you spelled the name of your Firebase correctly\"\n}\n")
	replyDisabled = httpReply(423, "{\n  \"error\" : \"The Firebase database 'gown-test' has been disabled by a database owner.\"\n}\n")
	replyRegion   = httpReply(404, "{\n  \"error\" : \"Database lives in a different region. Please change your database URL to https://gown-test-default-rtdb.europe-west1.firebasedatabase.app\"\n}\n")
)

func TestProbeVerdicts(t *testing.T) {
	cases := []struct {
		name, reply string
		status      gown.Status
		reason      string
		items       uint64
		state       string
	}{
		{"open", replyShallow, gown.StatusOpen, "security rules allow unauthenticated reads: the root lists 3 top-level keys", 3, ""},
		{"empty", replyNull, gown.StatusOpen, "security rules allow unauthenticated reads; the database is empty", 0, ""},
		{"scalar", httpReply(200, `"hello"`), gown.StatusOpen, "security rules allow unauthenticated reads; the root holds a single value", 0, ""},
		{"array", httpReply(200, `[1,{"a":1},null]`), gown.StatusOpen, "security rules allow unauthenticated reads: the root lists 3 top-level keys", 3, ""},
		{"locked", replyDenied, gown.StatusAuthRequired, "security rules refuse unauthenticated reads (401 Permission denied)", 0, ""},
		{"missing", replyMissing, gown.StatusNotService, "no Firebase database by this name (404)", 0, "missing"},
		{"disabled", replyDisabled, gown.StatusNotService, "database disabled by its owner (423): nothing to read", 0, "disabled"},
		{"region", replyRegion, gown.StatusNotService, "database lives in another region: probe the URL the error names", 0, "other-region"},
		{"html", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 15\r\n\r\n<html>hi</html>", gown.StatusNotService, "HTTP 200, but the body is not JSON: not a Firebase database", 0, ""},
		{"json-garbage", httpReply(200, `{"a":1} x`), gown.StatusNotService, "HTTP 200, but the body is not one JSON value: not a Firebase database", 0, ""},
		{"plain-404", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", gown.StatusNotService, "HTTP 404 without a Firebase error body: not a Firebase database", 0, ""},
		{"redis", "-ERR unknown command 'GET'\r\n", gown.StatusNotService, "answered, but not in HTTP", 0, ""},
		{"quota", httpReply(429, `{"error":"Too many requests"}`), gown.StatusUnknown, "Firebase error 429: Too many requests", 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, tg := startStandIn(t, c.reply, nil)
			r := probeOnce(t, tg)
			if r.Status != c.status || r.Reason != c.reason {
				t.Fatalf("got %s %q, want %s %q (error %q)", r.Status, r.Reason, c.status, c.reason, r.Error)
			}
			if len(r.Evidence) == 0 {
				t.Error("no evidence")
			}
			if c.status == gown.StatusOpen && (r.Inventory == nil || r.Inventory.Items != c.items) {
				t.Errorf("inventory %+v, want %d items", r.Inventory, c.items)
			}
			if c.status != gown.StatusOpen && r.Inventory != nil {
				t.Errorf("inventory on a closed database: %+v", r.Inventory)
			}
			if r.Details["state"] != c.state {
				t.Errorf("state %q, want %q", r.Details["state"], c.state)
			}
			wantOnlyRootGET(t, s, tg.Host)
		})
	}
}

func TestProbeOpenInventory(t *testing.T) {
	_, tg := startStandIn(t, replyShallow, nil)
	r := probeOnce(t, tg)
	var names []string
	for _, db := range r.Inventory.Databases {
		names = append(names, db.Name)
	}
	if strings.Join(names, ",") != "config,orders,users" || r.Inventory.Truncated {
		t.Errorf("inventory %+v", r.Inventory)
	}
	if r.Product != product || r.Details["top_level_keys"] != "3" || r.Details["root"] != "object" || r.TLS.Mode != gown.TLSNone {
		t.Errorf("product %q details %v tls %+v", r.Product, r.Details, r.TLS)
	}
}

func TestProbeManyKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 1500 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"k%04d":true`, i)
	}
	b.WriteString("}")
	_, tg := startStandIn(t, httpReply(200, b.String()), nil)
	r := probeOnce(t, tg)
	inv := r.Inventory
	if inv.Items != maxKeys || !inv.Truncated || len(inv.Databases) != maxListed {
		t.Errorf("items %d truncated %v listed %d", inv.Items, inv.Truncated, len(inv.Databases))
	}
	if !strings.Contains(r.Reason, "at least 1000") {
		t.Errorf("reason %q", r.Reason)
	}
}

// TestProbeTLS checks that a target from an https URL is probed over TLS
// with the host name as SNI and Host header.
func TestProbeTLS(t *testing.T) {
	s, tg := startStandIn(t, replyDenied, selfSigned(t, "gown-test.firebaseio.com"))
	tg.TLS = true
	r := probeOnce(t, tg)
	if r.Status != gown.StatusAuthRequired || r.TLS.Mode != gown.TLSRequired || r.TLS.Subject != "CN=gown-test.firebaseio.com" {
		t.Fatalf("status %s tls %+v", r.Status, r.TLS)
	}
	reqs := s.requests()
	if len(reqs) != 1 || reqs[0].SNI != "gown-test.firebaseio.com" {
		t.Errorf("requests %+v", reqs)
	}
}

func TestProbeClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	r, err := New().Probe(t.Context(), gown.Target{Host: "x.firebaseio.com", Addr: ap.Addr(), Port: int(ap.Port())}, dialer(t))
	var de *probe.DialError
	if r != nil || !errors.As(err, &de) || !strings.Contains(err.Error(), "firebase GET") {
		t.Errorf("closed port: %+v, %v", r, err)
	}
}

func TestProbeCancelled(t *testing.T) {
	_, tg := startStandIn(t, replyShallow, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r, err := New().Probe(ctx, tg, dialer(t))
	if r != nil || err == nil {
		t.Errorf("cancelled: %+v, %v", r, err)
	}
}

func TestIdentity(t *testing.T) {
	p := New()
	k := p.Kind()
	if k.Name != "firebase" || k.Ports != nil || !k.HintOnly || fmt.Sprint(k.Schemes) != "[{firebase 443 true}]" ||
		fmt.Sprint(k.HostSuffixes) != "[.firebaseio.com .firebasedatabase.app]" {
		t.Errorf("kind %+v", k)
	}
}

// wantOnlyRootGET checks the stand-in saw one GET of the shallow root, with
// the app's host name in Host.
func wantOnlyRootGET(t *testing.T, s *standIn, host string) {
	t.Helper()
	reqs := s.requests()
	if len(reqs) > 1 {
		t.Errorf("%d requests, want 1: %+v", len(reqs), reqs)
	}
	for _, q := range reqs {
		if q.Method != "GET" || q.URI != rootPath || !strings.HasPrefix(q.Host, host+":") {
			t.Errorf("request %+v, want GET %s with Host %s", q, rootPath, host)
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
