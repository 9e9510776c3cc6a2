// Package probetest is the conformance suite every prober passes against the
// real servers of the test bed, in each configuration the bed offers for its
// store: the verdict the bed planted, the inventory it planted, evidence,
// stable answers, a prompt return on a cancelled context, and no secret of
// the server's in anything the prober returns.
//
// A new store joins by adding its configurations to internal/testbed and its
// prober to probe/all; the suite needs no change.
package probetest

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
)

// noSizeAPI lists stores that report no byte sizes (Firebase counts keys).
var noSizeAPI = map[string]bool{"firebase": true}

// noInventory lists stores that hold no data of their own to list: an open
// Kibana opens the Elasticsearch behind it, whose prober inventories it.
var noInventory = map[string]bool{"kibana": true}

// Dialer returns the dialer the suite probes with: from the test bed's
// source address, so protected-mode servers see a remote client.
func Dialer(t testing.TB) probe.Dialer {
	t.Helper()
	d, err := probe.NewDialer(probe.DialerConfig{Source: testbed.Source, IOTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TargetOf names a test-bed server of store kind k as a scan target. A server
// of a hint-only kind (Firebase) is named as an app names its database, with
// the hint such a URL gives: its prober claims no port and is reached only
// through it.
func TargetOf(k gown.StoreKind, s *testbed.Server) gown.Target {
	a := s.Addr.Addr()
	t := gown.Target{Host: a.String(), Addr: a, Port: int(s.Addr.Port()), Origin: "test"}
	if k.HintOnly {
		t.Host, t.Hint = testbed.FirebaseHost, k.Name
		if s.Host != "" {
			t.Host = s.Host
		}
		t.Path, t.Names = s.Path, s.Names
	}
	return t
}

// Conform probes one real server and checks everything a prober owes its
// callers there. It returns the result for further, store-specific checks.
func Conform(t *testing.T, p probe.Prober, s *testbed.Server) *gown.Result {
	t.Helper()
	checkIdentity(t, p)
	d := Dialer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	r, err := p.Probe(ctx, TargetOf(p.Kind(), s), d)
	if r == nil {
		t.Fatalf("%s on %s (%s): no result, error %v", p.Kind().Name, s.Name, s.Addr, err)
	}
	if r.Status != s.Want.Status {
		t.Errorf("%s: status %s (%s), planted %s", s.Name, r.Status, r.Reason, s.Want.Status)
	}
	if r.Reason == "" {
		t.Errorf("%s: no reason given for %s", s.Name, r.Status)
	}
	if len(r.Evidence) == 0 {
		t.Errorf("%s: no evidence", s.Name)
	}
	checkInventory(t, s, r)
	checkSecrets(t, s, r)

	// A second probe says the same: verdicts must not depend on luck.
	again, _ := p.Probe(ctx, TargetOf(p.Kind(), s), d)
	if again == nil || again.Status != r.Status {
		t.Errorf("%s: second probe says %v, first said %s", s.Name, again, r.Status)
	}
	checkCancelled(t, p, s, d)
	return r
}

// checkIdentity checks the prober's descriptor with the one validator every
// catalog runs (gown.NewCatalog): a one-word name, ports in range, ports
// unless hint-only, well-formed schemes and host suffixes.
func checkIdentity(t *testing.T, p probe.Prober) {
	t.Helper()
	defer func() {
		if e := recover(); e != nil {
			t.Errorf("%T: bad descriptor: %v", p, e)
		}
	}()
	gown.NewCatalog(p.Kind())
}

// checkInventory compares an open store's inventory with what was planted.
// Every planted database must be listed with its exact count; the server may
// hold more (system data is flagged, not counted). Where the server reports
// no counts (Truth.Uncounted), every planted database must still be listed,
// and with no count gown could not have read.
func checkInventory(t *testing.T, s *testbed.Server, r *gown.Result) {
	t.Helper()
	if s.Want.Status != gown.StatusOpen {
		return
	}
	if noInventory[r.Store] {
		if r.Inventory != nil {
			t.Errorf("%s: %s holds no data of its own, yet gown lists %+v", s.Name, r.Store, r.Inventory)
		}
		return
	}
	if r.Inventory == nil {
		t.Errorf("%s: open but no inventory", s.Name)
		return
	}
	got := map[string]uint64{}
	listed := map[string]bool{}
	for _, db := range r.Inventory.Databases {
		if !db.System {
			got[db.Name] = db.Items
			listed[db.Name] = true
		}
	}
	for name, want := range s.Want.Databases {
		switch {
		case s.Want.Uncounted && !listed[name]:
			t.Errorf("%s: database %s (%d items planted) not listed by gown", s.Name, name, want)
		case s.Want.Uncounted && got[name] != 0:
			t.Errorf("%s: database %s: gown counts %d items, but the server reports no count", s.Name, name, got[name])
		case !s.Want.Uncounted && got[name] != want:
			t.Errorf("%s: database %s holds %d items per gown, %d planted", s.Name, name, got[name], want)
		}
	}
	if r.Inventory.Items != s.Want.Items {
		t.Errorf("%s: %d items in all per gown, %d planted", s.Name, r.Inventory.Items, s.Want.Items)
	}
	if r.Inventory.Bytes == 0 && s.Want.Items > 0 && !noSizeAPI[r.Store] && !s.Want.Unsized {
		t.Errorf("%s: open store with data reports 0 bytes", s.Name)
	}
}

// checkSecrets fails if the server's password appears anywhere in the result.
func checkSecrets(t *testing.T, s *testbed.Server, r *gown.Result) {
	t.Helper()
	if s.Password == "" {
		return
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), s.Password) {
		t.Errorf("%s: the server's password appears in the result", s.Name)
	}
}

// checkCancelled probes with a context that is already done: the prober must
// return at once, and must not claim a verdict it never reached.
func checkCancelled(t *testing.T, p probe.Prober, s *testbed.Server, d probe.Dialer) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	r, err := p.Probe(ctx, TargetOf(p.Kind(), s), d)
	if took := time.Since(start); took > time.Second {
		t.Errorf("%s: probe with a cancelled ctx took %s", s.Name, took)
	}
	if r != nil && r.Status.Answered() && r.Status != gown.StatusUnknown {
		t.Errorf("%s: cancelled probe still claims %s", s.Name, r.Status)
	}
	if r == nil && err == nil {
		t.Errorf("%s: cancelled probe returned neither result nor error", s.Name)
	}
}

// ClosedPort checks a prober against a port nothing listens on: it must give
// no verdict and let the dial error through so the engine can say "closed".
func ClosedPort(t *testing.T, p probe.Prober) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	tg := gown.Target{Host: ap.Addr().String(), Addr: ap.Addr(), Port: int(ap.Port())}
	if p.Kind().HintOnly {
		// A hint-only prober is reached through a name (a bucket's host,
		// a Firebase URL); the name is resolved already, as the engine's
		// targets are, and never looked up.
		tg.Host = "closed-port.gown.test"
		if p.Kind().PathSegments > 0 {
			// A path of as many segments as the store names its data by
			// (an account and container path style, a Firestore database).
			tg.Path = strings.Repeat("/gown", max(p.Kind().PathSegments, 2))
			if p.Kind().PathSegments == 5 {
				tg.Path = "/v1/projects/gown/databases/(default)"
			}
		}
	}
	r, err := p.Probe(t.Context(), tg, Dialer(t))
	var de *probe.DialError
	if r != nil && r.Status.Answered() {
		t.Errorf("%s on a closed port: status %s", p.Kind().Name, r.Status)
	}
	if r == nil && !errors.As(err, &de) {
		t.Errorf("%s on a closed port: error %v is not a DialError", p.Kind().Name, err)
	}
}
