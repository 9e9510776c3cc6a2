package mqtt

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
)

// The real-server tests run Debian's mosquitto 2.0 in the test bed's three
// configurations (anonymous open, password file, anonymous with an ACL
// that grants nothing) and check gown's verdicts, its inventory against
// the planted retained messages and the live location stream, the
// classes sampling finds, and, from mosquitto's own debug log, that gown
// sent nothing but CONNECT, SUBSCRIBE, PINGREQ and DISCONNECT.

func dialer(t *testing.T) probe.Dialer {
	d, err := probe.NewDialer(probe.DialerConfig{Source: testbed.Source})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func target(s *testbed.Server) gown.Target {
	a := s.Addr.Addr()
	return gown.Target{Host: a.String(), Addr: a, Port: int(s.Addr.Port()), Origin: "test"}
}

func TestRealMosquitto(t *testing.T) {
	bed := testbed.Require(t, testbed.NamesOf("mqtt")...)
	p := &Prober{Window: time.Second}
	d := dialer(t)
	for _, s := range bed.Servers {
		t.Run(s.Name, func(t *testing.T) {
			mark := s.LogSize()
			ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
			defer cancel()
			r, err := p.Probe(ctx, target(s), d)
			if r == nil {
				t.Fatalf("no result: %v", err)
			}
			if r.Status != s.Want.Status || r.Error != "" {
				t.Fatalf("status %s (%s), error %q; planted %s", r.Status, r.Reason, r.Error, s.Want.Status)
			}
			if r.TLS.Mode != s.Want.TLS {
				t.Errorf("TLS %s, planted %s", r.TLS.Mode, s.Want.TLS)
			}
			t.Logf("%s: %s — %s; details %v", s.Name, r.Status, r.Reason, r.Details)
			if s.Want.Status == gown.StatusOpen {
				checkOpen(t, s, r)
				// Sampling hands on what the probe heard: no second
				// connection. A result without it connects once more.
				if _, ok := r.Heard.(*heard); !ok {
					t.Fatalf("an open broker's result carries nothing heard: %T", r.Heard)
				}
				time.Sleep(200 * time.Millisecond)
				before := s.LogSize()
				checkSample(t, s, r)
				time.Sleep(200 * time.Millisecond)
				if n := connections(t, s, before); n != 0 {
					t.Errorf("sampling what the probe heard opened %d connections", n)
				}
				again := *r
				again.Heard = nil
				before = s.LogSize()
				checkSample(t, s, &again)
				time.Sleep(200 * time.Millisecond)
				if n := connections(t, s, before); n != 1 {
					t.Errorf("sampling without what the probe heard opened %d connections; want 1", n)
				}
			}
			time.Sleep(200 * time.Millisecond) // mosquitto logs as it handles
			checkLog(t, s, mark)
		})
	}
}

// checkOpen compares the inventory with the planted topics and checks the
// stream was heard live, not only as retained messages.
func checkOpen(t *testing.T, s *testbed.Server, r *gown.Result) {
	inv := r.Inventory
	if inv == nil || inv.Items != s.Want.Items || inv.Truncated {
		t.Fatalf("inventory %+v, planted %d topics", inv, s.Want.Items)
	}
	got := map[string]uint64{}
	sys := false
	for _, db := range inv.Databases {
		got[db.Name] = db.Items
		sys = sys || (db.Name == "$SYS" && db.System && db.Items > 0)
	}
	for name, n := range s.Want.Databases {
		if got[name] != n {
			t.Errorf("%s: %d topics per gown, %d planted", name, got[name], n)
		}
	}
	if !sys {
		t.Errorf("no $SYS topics listed as the broker's own: %+v", inv.Databases)
	}
	// The vehicles report every 250 ms; a one-second window hears each a
	// few times beyond its retained message.
	ev := fmt.Sprint(r.Evidence)
	for _, secret := range append(testbed.Secrets(), "users/u1001", testbed.RansomBTC) {
		if strings.Contains(ev, secret) {
			t.Errorf("evidence holds %q: %s", secret, ev)
		}
	}
	if !strings.Contains(ev, "PUBLISH packets on") {
		t.Errorf("evidence lacks the listening summary: %s", ev)
	}
	msgs, _ := strconv.Atoi(r.Details["messages"])
	retained, _ := strconv.Atoi(r.Details["retained_messages"])
	if msgs <= retained || retained < int(s.Want.Items) {
		t.Errorf("messages %s, retained %s: the live stream was not heard", r.Details["messages"], r.Details["retained_messages"])
	}
}

// checkSample samples the open broker and looks for the planted classes
// in "users" and the location stream in "vehicles".
func checkSample(t *testing.T, s *testbed.Server, r *gown.Result) {
	samples, truncated, err := probe.SampleStore(t.Context(), &Prober{Window: 500 * time.Millisecond}, target(s), dialer(t), r, probe.DefaultSample)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	var ransom bool
	for _, x := range samples {
		per[x.Database]++
		if x.Key == testbed.RansomName && len(x.Fields) == 1 && x.Fields[0].Value == testbed.RansomMessage {
			ransom = true
		}
		if x.Database == "vehicles" && !slices.ContainsFunc(x.Fields, func(f gown.Field) bool { return f.Path == "lat" }) {
			t.Errorf("vehicle sample without lat: %+v", x)
		}
	}
	if per["users"] != 3 || per["vehicles"] < 3 || per["sensors"] != 20 || !ransom || per["$SYS"] != 0 {
		t.Errorf("samples per database %v (ransom note %t, truncated %t)", per, ransom, truncated)
	}
}

// connections counts the connections mosquitto logged since mark.
func connections(t *testing.T, s *testbed.Server, mark int64) int {
	pkts, err := s.MQTTPackets(mark)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range pkts {
		if p.Type == "connection" {
			n++
		}
	}
	return n
}

// checkLog reads what mosquitto logged receiving from gown: connections
// from the scan's source address and nothing but the read-side packets,
// never a PUBLISH.
func checkLog(t *testing.T, s *testbed.Server, mark int64) {
	pkts, err := s.MQTTPackets(mark)
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"connection": true, "CONNECT": true, "SUBSCRIBE": true, "PINGREQ": true, "DISCONNECT": true}
	var kinds []string
	conns := 0
	for _, p := range pkts {
		switch {
		case p.Type == "connection" && p.Client != testbed.Source.String():
			t.Errorf("a connection from %s: %s", p.Client, p.Line)
		case p.Type == "connection":
			conns++
		case !strings.HasPrefix(p.Client, "gown-"):
			t.Errorf("a packet from client %q: %s", p.Client, p.Line)
		}
		if !allowed[p.Type] {
			t.Errorf("mosquitto received %s from gown: %s", p.Type, p.Line)
		}
		kinds = append(kinds, p.Type)
	}
	if conns == 0 {
		t.Fatalf("mosquitto's log shows no connection from gown: the check proves nothing (%v)", kinds)
	}
	slices.Sort(kinds)
	t.Logf("%s: mosquitto's log, from gown: %d connections; packets %v", s.Name, conns, slices.Compact(kinds))
}
