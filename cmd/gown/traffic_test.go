package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/store"
	"github.com/gownscan/gown/traffic"
)

// TestTrafficBed records real clients (curl, redis-cli, the mariadb client)
// talking on loopback to a local HTTP server, an HTTPS server (SNI, ALPN
// h2), an open Redis and an open MariaDB of the test bed, reached by the
// name a DNS answer gave them (data.gown-shop.net, from a responder the
// test runs on 127.0.0.53), plus an HTTP server reached by address alone
// (a development host) and one by a name tied to no one
// (api.faraway-hosting.net). gown traffic runs on the capture with an app
// (com.gown.shopapp) whose dex names some of those back ends and one the
// traffic never reached: the report and each back end's party, the join,
// the findings in the store, the probes of the first-party stores,
// --fail-on, and MariaDB's general log showing the probes only read. Then
// --probe-unknown probes the unknown host too, never the development one;
// without --app nothing is first party and nothing is probed.
func TestTrafficBed(t *testing.T) {
	bed := testbed.Require(t, "redis-open", "mariadb-open")
	redis, maria := bed.Get("redis-open"), bed.Get("mariadb-open")
	if redis.Addr.Addr() != maria.Addr.Addr() {
		t.Fatalf("one DNS name stands for the server holding Redis and MariaDB, but the bed has them at %s and %s", redis.Addr, maria.Addr)
	}
	person := `{"name":"Amelia Hartmann","email":"amelia.hartmann@mail.example.test","phone":"+49 151 23456789"}`
	// Each local server counts the connections made to it: after the
	// capture, a connection is a probe.
	var apiConns, devConns, unknownConns atomic.Int64
	api := serveOn(t, "127.0.0.21", &apiConns, false, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, person)
	})
	secure := serveOn(t, "127.0.0.22", nil, true, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{}") })
	devS := serveOn(t, "127.0.0.23", &devConns, false, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	unknownS := serveOn(t, "127.0.0.24", &unknownConns, false, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{}") })
	resolver := serveDNS(t, map[string]netip.Addr{"data.gown-shop.net": redis.Addr.Addr()})
	_, hp, _ := net.SplitHostPort(api.Listener.Addr().String())
	_, tp, _ := net.SplitHostPort(secure.Listener.Addr().String())
	_, dp, _ := net.SplitHostPort(devS.Listener.Addr().String())
	_, up, _ := net.SplitHostPort(unknownS.Listener.Addr().String())
	rp, mp := strconv.Itoa(int(redis.Addr.Port())), strconv.Itoa(int(maria.Addr.Port()))
	capture := testbed.RecordLoopback(t, fmt.Sprintf("tcp port %s or tcp port %s or tcp port %s or tcp port %s or tcp port %s or tcp port %s or (udp and host %s)",
		hp, tp, dp, up, rp, mp, resolver.Addr()))
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	// The app looks its data server up (Go's own resolver, dialling only
	// the test's responder), then connects to the address it was given.
	res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", resolver.String())
	}}
	found, err := res.LookupNetIP(ctx, "ip4", "data.gown-shop.net.")
	if err != nil || len(found) != 1 || found[0] != redis.Addr.Addr() {
		t.Fatalf("data.gown-shop.net resolved to %v, %v", found, err)
	}
	data := found[0].String()
	run("curl", "-sS", "--noproxy", "*", "-u", "shopper:s3cret-Basic-pw", "-H", "Content-Type: application/json", "-d", person,
		"http://api.gown-shop.net:"+hp+"/v1/profile", "--resolve", "api.gown-shop.net:"+hp+":127.0.0.21")
	run("curl", "-sS", "--noproxy", "*", "-k", "--http2", "--resolve", "secure.gown-shop.net:"+tp+":127.0.0.22", "https://secure.gown-shop.net:"+tp+"/v1/config")
	run("curl", "-sS", "--noproxy", "*", "http://127.0.0.23:"+dp+"/health")
	run("curl", "-sS", "--noproxy", "*", "--resolve", "api.faraway-hosting.net:"+up+":127.0.0.24", "http://api.faraway-hosting.net:"+up+"/v2/status")
	run("redis-cli", "-h", data, "-p", rp, "SET", "gown:traffic:profile", person)
	run("mariadb", "--no-defaults", "--skip-ssl", "-h", data, "-P", mp, "-u", "root", "-e", "SELECT full_name, email, phone FROM appdata.users LIMIT 3")
	pcap := capture.Stop()
	mark := len(mustLog(t, maria))
	conns := func() [3]int64 { return [3]int64{apiConns.Load(), devConns.Load(), unknownConns.Load()} }
	before := conns()

	dir := t.TempDir()
	apk := writeAPK(t, dir, "shopapp.apk", "http://api.gown-shop.net:"+hp+"/v1/profile", "redis://data.gown-shop.net:"+rp+"/0",
		"https://config.gown-shop.net/v1/flags", "http://10.0.2.2:8080/v1/debug")
	db := filepath.Join(dir, "gown.db")
	var out, errb bytes.Buffer
	err = run2(t, []string{"traffic", pcap, "--app", apk, "--allow-private", "--db", db, "--source", testbed.Source.String(),
		"--ports", rp + "," + mp, "--fail-on", "high"}, &out, &errb)
	t.Logf("gown traffic lo.pcap --app shopapp.apk --allow-private --ports %s,%s --fail-on high:\n%s\nstderr:\n%s", rp, mp, out.String(), errb.String())
	var fe findingsError
	if !errors.As(err, &fe) {
		t.Fatalf("err %v, want findings at or above high", err)
	}
	row := func(proto, party, mode, where string) string {
		return fmt.Sprintf("%-9s %-8s %-9s %s", proto, party, mode, where)
	}
	for _, w := range []string{
		row("http", "first", "clear", "api.gown-shop.net:"+hp+" (127.0.0.21)"),
		row("tls", "first", "tls", "secure.gown-shop.net:"+tp+" (127.0.0.22)"), "alpn h2",
		// The stores were reached at the address DNS gave their name.
		row("redis", "first", "clear", "data.gown-shop.net:"+rp+" ("+data+")"),
		row("mysql", "first", "clear", "data.gown-shop.net:"+mp+" ("+data+")"),
		row("http", "dev", "clear", "127.0.0.23:"+dp),
		row("http", "unknown", "clear", "api.faraway-hosting.net:"+up+" (127.0.0.24)"),
		"dns       dev      ", "first    data.gown-shop.net → " + data,
		"http://api.gown-shop.net:" + hp + "/v1/profile", "CLEARTEXT email", "CREDENTIAL http-basic user=shopper secret=[REDACTED]",
		"CREDENTIAL mysql-login user=root (empty password, accepted)",
		"both         first    api.gown-shop.net:" + hp, "both         first    data.gown-shop.net:" + rp,
		"app-only     first    config.gown-shop.net:443", "app-only     dev      10.0.2.2:8080",
		"traffic-only first    data.gown-shop.net:" + mp, "traffic-only first    secure.gown-shop.net:" + tp,
		"traffic-only dev      127.0.0.23:" + dp, "traffic-only unknown  api.faraway-hosting.net:" + up,
		"carried personal data in clear text: email, phone", "sent a credential in clear text: mysql-login (empty password, accepted)",
		"Redis answers without authentication", "MariaDB answers without authentication",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if !strings.Contains(errb.String(), "gown: 1 back end(s) of unknown party (tied neither to the app nor to a known third party) not probed: --probe-unknown probes them") {
		t.Error("no note on the unknown back end left unprobed")
	}
	// The first-party HTTP server was probed; the development host and
	// the unknown one were not.
	after := conns()
	if after[0] == before[0] || after[1] != before[1] || after[2] != before[2] {
		t.Errorf("connections during gown traffic: api %d, dev host %d, unknown host %d; want the api's alone",
			after[0]-before[0], after[1]-before[1], after[2]-before[2])
	}
	for _, secret := range []string{"s3cret-Basic-pw", "amelia.hartmann@mail", "+49 151 23456789"} {
		if strings.Contains(out.String()+errb.String(), secret) {
			t.Errorf("output holds %q", secret)
		}
	}
	// The store holds the traffic's findings and the probes' results.
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var scans []gown.ScanMeta
	err = st.Scans(t.Context(), func(m gown.ScanMeta) error { scans = append(scans, m); return nil })
	if err != nil || len(scans) != 1 {
		t.Fatalf("scans %v, %v", scans, err)
	}
	rules := map[string]bool{}
	open := map[string]bool{}
	err = st.Results(t.Context(), scans[0].ID, func(r *gown.Result, fs []gown.Finding) error {
		if r != nil && r.Status == gown.StatusOpen {
			open[r.Store] = true
		}
		for _, f := range fs {
			rules[f.Rule] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"cleartext-personal-data", "cleartext-credential", "cleartext-transport", "open-store"} {
		if !rules[r] {
			t.Errorf("stored findings lack rule %s (have %v)", r, rules)
		}
	}
	if !open["redis"] || !open["mysql"] {
		t.Errorf("open stores %v, want redis and mysql probed open", open)
	}
	// The same capture as JSON, probing nothing: one report object, one
	// join line; each back end's party and first_party.
	out.Reset()
	if err := run2(t, []string{"traffic", pcap, "--app", apk, "--no-probe", "--no-store", "--json"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var rep traffic.Report
	var sawJoin bool
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		if m["traffic"] != nil {
			if err := json.Unmarshal(m["traffic"], &rep); err != nil {
				t.Fatal(err)
			}
		}
		sawJoin = sawJoin || m["join"] != nil
	}
	parties := map[string]string{}
	for _, b := range rep.Backends {
		parties[net.JoinHostPort(b.Addr, strconv.Itoa(b.Port))] = fmt.Sprintf("%s/%v", b.Party, b.FirstParty)
	}
	for k, w := range map[string]string{redis.Addr.String(): "first/true", maria.Addr.String(): "first/true",
		"127.0.0.21:" + hp: "first/true", "127.0.0.22:" + tp: "first/true", "127.0.0.23:" + dp: "dev/false",
		"127.0.0.24:" + up: "unknown/false", resolver.String(): "dev/false"} {
		if parties[k] != w {
			t.Errorf("--json: %s is %q, want %s", k, parties[k], w)
		}
	}
	if len(rep.DNS) != 1 || rep.DNS[0].Name != "data.gown-shop.net" || rep.DNS[0].Party != gown.PartyFirst || !sawJoin {
		t.Errorf("--json: dns %+v, join %v", rep.DNS, sawJoin)
	}

	// --probe-unknown probes the unknown host too; the development host
	// still not.
	out.Reset()
	errb.Reset()
	before = conns()
	err = run2(t, []string{"traffic", pcap, "--app", apk, "--allow-private", "--probe-unknown", "--no-store", "--source", testbed.Source.String(),
		"--ports", rp + "," + mp}, &out, &errb)
	t.Logf("gown traffic lo.pcap --app shopapp.apk --allow-private --probe-unknown:\n%s\nstderr:\n%s", out.String(), errb.String())
	if after := conns(); err != nil || after[2] == before[2] || after[1] != before[1] || strings.Contains(errb.String(), "of unknown party") {
		t.Errorf("--probe-unknown: err %v; connections to the unknown host %d, to the dev host %d", err, after[2]-before[2], after[1]-before[1])
	}

	// Without --app there is no identity: nothing is first party, the
	// named hosts are unknown, and nothing is probed.
	out.Reset()
	errb.Reset()
	before = conns()
	err = run2(t, []string{"traffic", pcap, "--allow-private", "--no-store", "--source", testbed.Source.String(), "--ports", rp + "," + mp}, &out, &errb)
	t.Logf("gown traffic lo.pcap --allow-private (no --app):\n%s\nstderr:\n%s", out.String(), errb.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{row("redis", "unknown", "clear", "data.gown-shop.net:"+rp), row("http", "unknown", "clear", "api.gown-shop.net:"+hp),
		row("http", "dev", "clear", "127.0.0.23:"+dp), "unknown  data.gown-shop.net → " + data} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("without --app, output lacks %q", w)
		}
	}
	if strings.Contains(out.String(), " first ") || strings.Contains(out.String(), "answers without authentication") {
		t.Error("without --app, a back end is first party or was probed")
	}
	if !strings.Contains(errb.String(), "gown: 5 back end(s) of unknown party (no --app to tie them to, and no known third party) not probed") ||
		!strings.Contains(errb.String(), "no first-party back ends to probe") {
		t.Error("without --app, the notes on what was not probed are missing")
	}
	if after := conns(); after != before {
		t.Errorf("without --app, connections to the local servers: %v → %v", before, after)
	}
	// Read-only: none of gown's sessions on MariaDB sent a write.
	for _, e := range mustLog(t, maria)[mark:] {
		verb, _, _ := strings.Cut(strings.ToUpper(strings.TrimSpace(e.Argument)), " ")
		switch verb {
		case "INSERT", "UPDATE", "DELETE", "DROP", "CREATE", "ALTER", "TRUNCATE", "GRANT", "REPLACE":
			t.Errorf("gown sent a write to MariaDB: %s %s", e.Command, e.Argument)
		}
	}
	// The capture cut in the middle of a record: a clear error on stderr,
	// and the back ends read before it are reported.
	raw, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, raw[:len(raw)*2/3+5], 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	if err := run2(t, []string{"traffic", cut, "--no-probe", "--no-store"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	t.Logf("gown traffic cut.pcap --no-probe --no-store:\n%s\nstderr:\n%s", out.String(), errb.String())
	if !strings.Contains(errb.String(), "capture truncated: the file ends inside the record") ||
		!strings.Contains(out.String(), "(what came before was read)") || !strings.Contains(out.String(), "api.gown-shop.net:"+hp) {
		t.Error("a cut capture is not reported as such, with what came before it")
	}
}

func mustLog(t *testing.T, s *testbed.Server) []testbed.LogEntry {
	t.Helper()
	l, err := s.ScanLog()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// serveOn starts an HTTP server (HTTPS with h2 when tls) on a free port of
// the loopback address addr, counting its connections in conns when
// given; it stops when the test ends.
func serveOn(t *testing.T, addr string, conns *atomic.Int64, tls bool, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close()
	s.Listener = l
	if conns != nil {
		s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		}
	}
	if tls {
		s.EnableHTTP2 = true
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

// serveDNS answers DNS queries over UDP on port 5353, which gown's reader
// takes for DNS as it takes 53 (traffic/traffic.go), at the first of
// 127.0.0.53 to 127.0.0.62 where the port is free, until the test ends: an
// A record for a name in answers, NXDOMAIN for any other. It returns where
// it answers.
func serveDNS(t *testing.T, answers map[string]netip.Addr) netip.AddrPort {
	t.Helper()
	var c *net.UDPConn
	var at netip.AddrPort
	var err error
	for i := range byte(10) {
		at = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 53 + i}), 5353)
		if c, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(at)); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("a DNS responder on port 5353 of 127.0.0.53-62: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if reply := dnsReply(buf[:n], answers); reply != nil {
				c.WriteToUDPAddrPort(reply, from)
			}
		}
	}()
	return at
}

// dnsReply answers one query (RFC 1035 4.1): its id and question echoed,
// then one A record when the question asks for the address of a name in
// answers; no record for another type of that name; NXDOMAIN for any other
// name. A message that is no query gets no reply.
func dnsReply(q []byte, answers map[string]netip.Addr) []byte {
	if len(q) < 12 || q[2]&0x80 != 0 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil
	}
	off := 12
	var labels []string
	for off < len(q) && q[off] != 0 {
		l := int(q[off])
		if l&0xc0 != 0 || off+1+l >= len(q) {
			return nil
		}
		labels = append(labels, string(q[off+1:off+1+l]))
		off += 1 + l
	}
	end := off + 5 // the root label, QTYPE and QCLASS
	if end > len(q) {
		return nil
	}
	a, known := answers[strings.ToLower(strings.Join(labels, "."))]
	isA := binary.BigEndian.Uint16(q[off+1:]) == 1
	flags, count := []byte{0x80 | q[2]&0x01, 0x80}, byte(0) // QR, the query's RD; RA
	switch {
	case known && isA:
		count = 1
	case !known:
		flags[1] |= 3 // NXDOMAIN
	}
	r := append([]byte{q[0], q[1]}, flags...)
	r = append(r, 0, 1, 0, count, 0, 0, 0, 0)
	r = append(r, q[12:end]...)
	if count == 1 {
		a4 := a.As4()
		r = append(r, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4) // a pointer to the question's name, A, IN, TTL 60
		r = append(r, a4[:]...)
	}
	return r
}

// run2 runs gown with args, returning the command's error.
func run2(t *testing.T, args []string, out, errb *bytes.Buffer) error {
	t.Helper()
	return cmdTraffic(t.Context(), args[1:], stdio{out: out, err: errb})
}

// TestTrafficParty: the party gown traffic gives a host, with apps given
// (first when any app's identity ties it) and without (nothing first),
// and the notes on the unknown and internal back ends a scope leaves out.
func TestTrafficParty(t *testing.T) {
	dir := t.TempDir()
	var apps []*gown.App
	for _, name := range []string{"shopapp.apk", "northwind.apk"} { // com.gown.shopapp, com.gown.northwind
		app, err := readApps(t.Context(), []string{writeAPK(t, dir, name, "https://api.example.org/")}, stdio{err: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		apps = append(apps, app...)
	}
	parties := extract.NewParties()
	both, one, none := trafficParty(apps, parties), trafficParty(apps[:1], parties), trafficParty(nil, parties)
	for host, want := range map[string][3]gown.Party{ // both apps, the shop app alone, no app
		"api.shopapp.net":         {gown.PartyFirst, gown.PartyFirst, gown.PartyUnknown},
		"cdn.northwind-cloud.io":  {gown.PartyFirst, gown.PartyUnknown, gown.PartyUnknown}, // the second app's
		"api.faraway-hosting.net": {gown.PartyUnknown, gown.PartyUnknown, gown.PartyUnknown},
		"graph.facebook.com":      {gown.PartyThird, gown.PartyThird, gown.PartyThird},
		"203.0.113.9":             {gown.PartyUnknown, gown.PartyUnknown, gown.PartyUnknown},
		"127.0.0.1":               {gown.PartyDev, gown.PartyDev, gown.PartyDev},
		"10.0.2.2":                {gown.PartyDev, gown.PartyDev, gown.PartyDev},
		"localhost":               {gown.PartyDev, gown.PartyDev, gown.PartyDev},
		"10.1.2.3":                {gown.PartyInternal, gown.PartyInternal, gown.PartyInternal},
		"db.shopapp.corp":         {gown.PartyInternal, gown.PartyInternal, gown.PartyInternal},
	} {
		for i, decide := range []func(string) gown.Party{both, one, none} {
			if got := decide(host); got != want[i] {
				t.Errorf("%s with %d app(s): %s, want %s", host, 2-i, got, want[i])
			}
		}
	}

	rep := &traffic.Report{Backends: []traffic.Backend{
		{Host: "api.faraway-hosting.net", Addr: "203.0.113.9", Port: 443, Protocol: "tls", TLS: true, Party: gown.PartyUnknown},
		{Host: "203.0.113.10", Addr: "203.0.113.10", Port: 6379, Protocol: "redis", Store: "redis", Party: gown.PartyUnknown},
		{Host: "10.1.2.3", Addr: "10.1.2.3", Port: 6379, Protocol: "redis", Store: "redis", Party: gown.PartyInternal},
		{Host: "127.0.0.1", Addr: "127.0.0.1", Port: 8080, Protocol: "http", Party: gown.PartyDev},
	}}
	for _, c := range []struct {
		scope    gown.PartyScope
		withApps bool
		want     []string
	}{
		{gown.PartyScope{}, true, []string{"gown: 2 back end(s) of unknown party (tied neither to the app nor to a known third party) not probed: --probe-unknown probes them",
			"gown: 1 internal back end(s) (private addresses, *.internal/*.corp/*.lan names) not probed: --allow-private probes them"}},
		{gown.PartyScope{Internal: true}, false, []string{"gown: 2 back end(s) of unknown party (no --app to tie them to, and no known third party) not probed: --probe-unknown probes them"}},
		{gown.PartyScope{Unknown: true, Internal: true}, true, nil},
	} {
		var errb bytes.Buffer
		heldNotes(stdio{err: &errb}, rep, c.scope, c.withApps)
		if got := strings.Split(strings.TrimSpace(errb.String()), "\n"); !slices.Equal(got, c.want) && !(c.want == nil && errb.Len() == 0) {
			t.Errorf("scope %+v: notes %q, want %q", c.scope, got, c.want)
		}
	}
}
