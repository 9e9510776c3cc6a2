package traffic

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/gownscan/gown"
)

// partyFlows is a capture whose back ends stand for each way a party is
// decided: by a name tied to the app (TLS SNI, and a DNS answer naming a
// Redis on the same address), by address alone (loopback, the emulator's
// host, a private address, a public one), by a third party's name, and by
// several names of different parties on one address.
func partyFlows() [][]byte {
	ap := netip.MustParseAddrPort
	cl := netip.MustParseAddr("10.0.0.2")
	client := func(port uint16) netip.AddrPort { return netip.AddrPortFrom(cl, port) }
	get := func(host string) []byte { return []byte("GET /v1/ping HTTP/1.1\r\nHost: " + host + "\r\n\r\n") }
	ok := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	ping, pong := []byte("*1\r\n$4\r\nPING\r\n"), []byte("+PONG\r\n")
	api := netip.MustParseAddr("192.0.2.10")
	out := [][]byte{
		dnsAnswerFrame(cl, "api.shop.example", api),
		dnsAnswerFrame(cl, "img.stranger.example", netip.MustParseAddr("198.51.100.8")),
		dnsAnswerFrame(cl, "files.shop.lan", netip.MustParseAddr("198.51.100.9")),
		// One address answered for two names, the app's first: the back
		// end there is the app's, whichever answer came last.
		dnsAnswerFrame(cl, "cache.shop.example", netip.MustParseAddr("198.51.100.20")),
		dnsAnswerFrame(cl, "edge.facebook.com", netip.MustParseAddr("198.51.100.20")),
	}
	for _, c := range []struct {
		client, server netip.AddrPort
		c2s, s2c       []byte
	}{
		{client(30001), ap("192.0.2.10:443"), clientHello("api.shop.example"), nil},
		{client(30002), ap("192.0.2.10:6379"), ping, pong}, // named by the DNS answer only
		{ap("127.0.0.1:30003"), ap("127.0.0.1:8080"), get("127.0.0.1:8080"), ok},
		{client(30004), ap("10.0.2.2:6379"), ping, pong},
		{client(30005), ap("10.1.2.3:6379"), ping, pong},
		{client(30006), ap("198.51.100.7:443"), clientHello("graph.facebook.com"), nil},
		{client(30007), ap("198.51.100.8:80"), get("cdn.vendor.example"), ok}, // a listed name and an unknown one
		{client(30008), ap("198.51.100.9:80"), get("localhost"), ok},          // a dev name and an internal one
		{client(30009), ap("203.0.113.9:6379"), ping, pong},
		{client(30010), ap("198.51.100.20:443"), clientHello(""), nil}, // named by the two DNS answers only
	} {
		out = append(out, conversation(c.client, c.server, c.c2s, c.s2c)...)
	}
	return out
}

// appParty stands for gown traffic's decision with an app whose identity
// ties *.shop.example, and extraction's third-party list naming
// facebook.com and cdn.vendor.example (cmd/gown tests the real ones).
func appParty(host string) gown.Party {
	switch {
	case strings.HasSuffix(host, ".shop.example"):
		return gown.PartyFirst
	case strings.HasSuffix(host, "facebook.com"), host == "cdn.vendor.example":
		return gown.PartyThird
	}
	return noIdentity(host)
}

// TestBackendParty: each back end's party with the app's decision and
// with none (Config.Party nil), the clear-text findings each party gets,
// and the targets each scope gives.
func TestBackendParty(t *testing.T) {
	var pcap bytes.Buffer
	if err := writePcap(&pcap, partyFlows(), 0); err != nil {
		t.Fatal(err)
	}
	read := func(cfg Config) *Report {
		a, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Read(t.Context(), bytes.NewReader(pcap.Bytes()), "party.pcap"); err != nil {
			t.Fatal(err)
		}
		return a.Report()
	}
	withApp, without := read(Config{Party: appParty}), read(Config{})
	want := map[string][2]gown.Party{ // address and port → with the app, without
		"192.0.2.10:443":    {gown.PartyFirst, gown.PartyUnknown},     // SNI
		"192.0.2.10:6379":   {gown.PartyFirst, gown.PartyUnknown},     // the DNS answer's name
		"127.0.0.1:8080":    {gown.PartyDev, gown.PartyDev},           // Host: the loopback address
		"10.0.2.2:6379":     {gown.PartyDev, gown.PartyDev},           // the emulator's host, no name
		"10.1.2.3:6379":     {gown.PartyInternal, gown.PartyInternal}, // a private address, no name
		"198.51.100.7:443":  {gown.PartyThird, gown.PartyUnknown},
		"198.51.100.8:80":   {gown.PartyUnknown, gown.PartyUnknown},   // listed and unknown names: unknown
		"198.51.100.9:80":   {gown.PartyInternal, gown.PartyInternal}, // dev and internal names: internal
		"203.0.113.9:6379":  {gown.PartyUnknown, gown.PartyUnknown},   // a public address, no name
		"198.51.100.20:443": {gown.PartyFirst, gown.PartyUnknown},     // the app's name and a listed one, the listed last
		"10.0.0.1:53":       {gown.PartyInternal, gown.PartyInternal}, // the resolver
	}
	for i, rep := range []*Report{withApp, without} {
		got := map[string]gown.Party{}
		for _, b := range rep.Backends {
			got[hostPort(b.Addr, b.Port)] = b.Party
			if b.FirstParty != (b.Party == gown.PartyFirst) {
				t.Errorf("%s: first_party %v, party %s", b.label(), b.FirstParty, b.Party)
			}
		}
		for k, w := range want {
			if got[k] != w[i] {
				t.Errorf("app %v: %s is %q, want %s", i == 0, k, got[k], w[i])
			}
		}
		if len(got) != len(want) {
			t.Errorf("app %v: back ends %v", i == 0, got)
		}
	}
	dns := map[string]gown.Party{}
	for _, d := range withApp.DNS {
		dns[d.Name] = d.Party
	}
	if dns["api.shop.example"] != gown.PartyFirst || dns["img.stranger.example"] != gown.PartyUnknown || dns["files.shop.lan"] != gown.PartyInternal {
		t.Errorf("dns names' parties %v", dns)
	}
	for _, b := range withApp.Backends {
		js, err := json.Marshal(b)
		w := map[gown.Party]string{gown.PartyFirst: `"party":"first","first_party":true`, gown.PartyDev: `"party":"dev","first_party":false`}[b.Party]
		if err != nil || w != "" && !bytes.Contains(js, []byte(w)) {
			t.Errorf("a back end as JSON: %v %s", err, js)
		}
	}

	// Clear text with nothing sensitive in it: a finding for the app's
	// own back ends, and for a store spoken to in clear at an unknown or
	// internal host; none for plain HTTP there, nor for development
	// hosts, nor for third parties.
	graded := func(rep *Report) []string {
		var out []string
		for _, f := range rep.Findings() {
			if f.Rule == "cleartext-traffic" {
				out = append(out, netip.AddrPortFrom(f.Target.Addr, uint16(f.Target.Port)).String())
			}
		}
		slices.Sort(out)
		return out
	}
	if got, w := graded(withApp), []string{"10.1.2.3:6379", "192.0.2.10:6379", "203.0.113.9:6379"}; !slices.Equal(got, w) {
		t.Errorf("cleartext-traffic findings with the app %v, want %v", got, w)
	}
	if got, w := graded(without), []string{"10.1.2.3:6379", "192.0.2.10:6379", "203.0.113.9:6379"}; !slices.Equal(got, w) {
		t.Errorf("cleartext-traffic findings without an app %v, want %v", got, w)
	}

	// Targets: first-party ones always; unknown and internal ones when
	// the scope says so; development and third-party hosts never.
	targets := func(rep *Report, s gown.PartyScope) []string {
		var out []string
		for _, tg := range rep.Targets([]int{6379}, s) {
			out = append(out, netip.AddrPortFrom(tg.Addr, uint16(tg.Port)).String())
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		rep   *Report
		scope gown.PartyScope
		want  []string
	}{
		{withApp, gown.PartyScope{}, []string{"192.0.2.10:443", "192.0.2.10:6379", "198.51.100.20:443", "198.51.100.20:6379"}},
		{withApp, gown.PartyScope{Unknown: true}, []string{"192.0.2.10:443", "192.0.2.10:6379", "198.51.100.20:443", "198.51.100.20:6379",
			"198.51.100.8:6379", "198.51.100.8:80", "203.0.113.9:6379"}},
		{withApp, gown.PartyScope{Internal: true}, []string{"10.1.2.3:6379", "192.0.2.10:443", "192.0.2.10:6379", "198.51.100.20:443",
			"198.51.100.20:6379", "198.51.100.9:6379", "198.51.100.9:80"}},
		{without, gown.PartyScope{}, nil},
		{without, gown.PartyScope{Unknown: true}, []string{"192.0.2.10:443", "192.0.2.10:6379", "198.51.100.20:443", "198.51.100.20:6379",
			"198.51.100.7:443", "198.51.100.7:6379", "198.51.100.8:6379", "198.51.100.8:80", "203.0.113.9:6379"}},
	} {
		if got := targets(c.rep, c.scope); !slices.Equal(got, c.want) {
			t.Errorf("app %v, scope %+v: targets %v, want %v", c.rep == withApp, c.scope, got, c.want)
		}
	}
}

// TestOlderBackendParty: a back end written before Party was (FirstParty
// alone, as report fixtures and older JSON hold it) keeps its findings and
// targets: first-party ones graded and probed, the others not.
func TestOlderBackendParty(t *testing.T) {
	seen := Where{File: "old.pcap", Packet: 3}
	rep := &Report{Backends: []Backend{
		{Host: "api.shop.example", Addr: "192.0.2.10", Port: 80, Protocol: "http", Cleartext: true, FirstParty: true, Flows: 1, Seen: seen},
		{Host: "ads.vendor.example", Addr: "192.0.2.11", Port: 80, Protocol: "http", Cleartext: true, Flows: 1, Seen: seen},
	}}
	fs := rep.Findings()
	if len(fs) != 1 || fs[0].Rule != "cleartext-traffic" || fs[0].Target.Host != "api.shop.example" {
		t.Errorf("findings %+v", fs)
	}
	ts := rep.Targets(nil, gown.PartyScope{Unknown: true, Internal: true})
	if len(ts) != 1 || ts[0].Host != "api.shop.example" || ts[0].Port != 80 {
		t.Errorf("targets %+v", ts)
	}
	for _, e := range rep.Endpoints() {
		if e.Party != map[bool]gown.Party{true: gown.PartyFirst, false: gown.PartyThird}[e.Host == "api.shop.example"] {
			t.Errorf("endpoint %s: party %s", e.Host, e.Party)
		}
	}
}
