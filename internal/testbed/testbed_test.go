package testbed

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"maps"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gownscan/gown"
)

// TestBed starts every configuration once and checks each from the wire.
// It calls Start itself, not Require, so that it can assert what Stop
// leaves behind.
func TestBed(t *testing.T) {
	began := time.Now()
	b, err := Start(t.Context(), t.Output())
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	t.Logf("Start took %s", time.Since(began))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			b.Stop()
		}
	})
	if got := len(b.Servers); got != len(Names()) {
		t.Fatalf("%d servers, want %d", got, len(Names()))
	}
	for _, s := range b.Servers {
		if p := s.Addr.Port(); !s.Addr.Addr().Is4() || s.Addr.Addr().As4()[0] != 127 ||
			p == 6379 || p == 3306 || p == 5432 || p == 11211 {
			t.Errorf("%s listens on %s", s.Name, s.Addr)
		}
	}
	t.Run("Truth", func(t *testing.T) { testTruth(t, b) })
	t.Run("Wire", func(t *testing.T) { testWire(t, b) })
	t.Run("ProtectedFromLoopback", func(t *testing.T) { testProtectedLocal(t, b.Get("redis-protected")) })
	t.Run("Monitor", func(t *testing.T) { testMonitor(t, b.Get("redis-open")) })
	t.Run("MonitorUnauthenticated", func(t *testing.T) { testMonitorNoAuth(t, b.Get("redis-password")) })
	t.Run("GeneralLog", func(t *testing.T) { testGeneralLog(t, b.Get("mariadb-open")) })
	t.Run("PostgresLog", func(t *testing.T) { testPostgresLog(t, b.Get("postgres-trust")) })
	t.Run("PostgresTLS", func(t *testing.T) { testPostgresTLS(t, b.Get("postgres-tls")) })
	t.Run("MemcachedLog", func(t *testing.T) { testMemcachedLog(t, b.Get("memcached-open")) })
	t.Run("MemcachedAuth", func(t *testing.T) { testMemcachedAuth(t, b) })

	pids, dirs, standIns := leftovers(b)
	began = time.Now()
	stopped = true
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop took %s", time.Since(began))
	checkGone(t, pids, dirs, standIns)
	if err := b.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// leftovers lists what Stop must end: the servers' processes and folders,
// and the addresses of the stand-ins, which run in this process.
func leftovers(b *Bed) (pids []int, dirs []string, standIns []netip.AddrPort) {
	for _, s := range b.Servers {
		if s.proc != nil {
			pids = append(pids, s.proc.pid())
		}
		if s.StandIn {
			standIns = append(standIns, s.Addr)
		}
		dirs = append(dirs, s.dir)
	}
	return pids, dirs, standIns
}

// checkGone fails for each process still alive, folder still there and
// stand-in still accepting connections after Stop.
func checkGone(t *testing.T, pids []int, dirs []string, standIns []netip.AddrPort) {
	t.Helper()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("pid %d still exists after Stop (kill 0: %v)", pid, err)
		}
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still exists after Stop", d)
		}
	}
	for _, a := range standIns {
		if c, err := net.DialTimeout("tcp", a.String(), time.Second); err == nil {
			c.Close()
			t.Errorf("stand-in on %s still accepts after Stop", a)
		}
	}
}

func testTruth(t *testing.T, b *Bed) {
	pg12 := map[string]uint64{"postgres": 12}
	want := map[string]Truth{
		"redis-open":          {Status: gown.StatusOpen, Databases: map[string]uint64{"db0": 120, "db1": 30, "db2": 5}, Items: 155},
		"redis-password":      {Status: gown.StatusAuthRequired, Databases: map[string]uint64{"db0": 6}, Items: 6},
		"redis-acl":           {Status: gown.StatusRestricted, Databases: map[string]uint64{"db0": 6}, Items: 6},
		"redis-readonly":      {Status: gown.StatusOpen, Databases: map[string]uint64{"db0": 5}, Items: 5},
		"redis-protected":     {Status: gown.StatusProtected, Databases: map[string]uint64{"db0": 6}, Items: 6},
		"mariadb-open":        {Status: gown.StatusOpen, Databases: map[string]uint64{"shop": 850, "analytics": 400, "appdata": 3, RansomName: 1}, Items: 1254},
		"mariadb-password":    {Status: gown.StatusAuthRequired, Databases: map[string]uint64{"app": 12}, Items: 12},
		"mariadb-restricted":  {Status: gown.StatusRestricted, Databases: map[string]uint64{"crm": 40}, Items: 40},
		"mariadb-select-only": {Status: gown.StatusOpen, Databases: map[string]uint64{"billing": 75, "appdata": 3, RansomName: 1}, Items: 79},
		"mariadb-insert-only": {Status: gown.StatusRestricted, Databases: map[string]uint64{"audit": 50}, Items: 50},
		"postgres-trust":      {Status: gown.StatusOpen, Databases: map[string]uint64{"shop": 300, "app": 150, "appdata": 3, RansomName: 1}, Items: 454, TLS: gown.TLSNone},
		"postgres-scram":      {Status: gown.StatusAuthRequired, Databases: pg12, Items: 12, TLS: gown.TLSNone},
		"postgres-reject":     {Status: gown.StatusRestricted, Databases: pg12, Items: 12, TLS: gown.TLSNone},
		"postgres-tls":        {Status: gown.StatusAuthRequired, Databases: pg12, Items: 12, TLS: gown.TLSOffered},
		"memcached-open":      {Status: gown.StatusOpen, Databases: map[string]uint64{"cache": 44}, Items: 44, TLS: gown.TLSNone},
		"memcached-auth":      {Status: gown.StatusAuthRequired, Databases: map[string]uint64{"cache": 6}, Items: 6, TLS: gown.TLSNone},
		"memcached-sasl":      {Status: gown.StatusAuthRequired, Databases: map[string]uint64{"cache": 6}, Items: 6, TLS: gown.TLSNone},
		"mqtt-open": {Status: gown.StatusOpen, Databases: map[string]uint64{"users": 3, "sensors": mqttSensors, "vehicles": 3, RansomName: 1},
			Items: 27, TLS: gown.TLSNone},
		"mqtt-auth": {Status: gown.StatusAuthRequired, Databases: map[string]uint64{}, TLS: gown.TLSNone},
		"mqtt-acl":  {Status: gown.StatusRestricted, Databases: map[string]uint64{}, TLS: gown.TLSNone},
		"mqtt-tls": {Status: gown.StatusOpen, Databases: map[string]uint64{"users": 3, "sensors": mqttSensors, "vehicles": 3, RansomName: 1},
			Items: 27, TLS: gown.TLSRequired},
		"etcd-open": {Status: gown.StatusOpen, Databases: map[string]uint64{"users": 3, "config": etcdConfigKeys, "devices": etcdDevices, RansomName: 1},
			Items: 24, TLS: gown.TLSNone},
		"etcd-auth": {Status: gown.StatusAuthRequired, Databases: map[string]uint64{"app": 6}, Items: 6, TLS: gown.TLSNone},
		"etcd-tls": {Status: gown.StatusOpen, Databases: map[string]uint64{"users": 3, "config": etcdConfigKeys, "devices": etcdDevices, RansomName: 1},
			Items: 24, TLS: gown.TLSRequired},
		"s3-open":          {Status: gown.StatusOpen, Databases: map[string]uint64{"users": 3, "exports": s3Exports, RansomName: 1}, Items: 14, TLS: gown.TLSNone},
		"s3-listed":        {Status: gown.StatusRestricted, Databases: map[string]uint64{"users": 3, "exports": s3Exports, RansomName: 1}, Items: 14, TLS: gown.TLSNone},
		"gcs-open":         {Status: gown.StatusOpen, Databases: map[string]uint64{"users": 3, "exports": s3Exports, RansomName: 1}, Items: 14, TLS: gown.TLSNone},
		"azblob-container": {Status: gown.StatusOpen, Databases: map[string]uint64{"users": 3, "exports": s3Exports, RansomName: 1}, Items: 14, TLS: gown.TLSNone},
		"azblob-blob":      {Status: gown.StatusOpen, TLS: gown.TLSNone},
		"azblob-private":   {Status: gown.StatusAuthRequired, TLS: gown.TLSNone},
		"firestore-standin-open": {Status: gown.StatusOpen, Databases: map[string]uint64{"users": 3, "orders": firestoreOrders, "messages": 1,
			FirestoreAppCollection: firestoreRides}, Items: 3 + firestoreOrders + 1 + firestoreRides, TLS: gown.TLSRequired},
		"firestore-standin-locked": {Status: gown.StatusRestricted, TLS: gown.TLSRequired},
	}
	for name, w := range want {
		s := b.Get(name)
		if s == nil {
			t.Errorf("no server %s", name)
			continue
		}
		if s.Want.Status != w.Status || s.Want.Items != w.Items || !maps.Equal(s.Want.Databases, w.Databases) ||
			s.Want.TLS != w.TLS {
			t.Errorf("%s truth = %+v, want %+v", name, s.Want, w)
		}
	}
	for _, name := range []string{"redis-password", "postgres-scram", "postgres-tls", "memcached-auth", "memcached-sasl", "mqtt-auth", "etcd-auth"} {
		if s := b.Get(name); s.Password == "" {
			t.Errorf("%s has no password", name)
		}
	}
}

// testWire reads each server's first answer to a client on Source.
func testWire(t *testing.T, b *Bed) {
	// INFO's first answer: redis-readonly refuses INFO (-NOPERM) and is
	// open all the same, as its keys read; Check reads one.
	prefix := map[string]string{
		"redis-open": "$", "redis-password": "-NOAUTH", "redis-acl": "-NOPERM", "redis-readonly": "-NOPERM", "redis-protected": "-DENIED",
	}
	for _, s := range b.Servers {
		switch s.Kind {
		case "redis":
			line, err := redisFirstLine(t.Context(), s.Addr)
			if err != nil || !strings.HasPrefix(line, prefix[s.Name]) {
				t.Errorf("%s: INFO answered %.50q, %v; want %s", s.Name, line, err, prefix[s.Name])
			}
		case "mysql":
			// Only mariadb-restricted refuses at the greeting (1130);
			// mariadb-insert-only greets and logs in, and refuses the
			// SELECT that Check sends.
			p := mysqlFirstPacket(t, s.Addr)
			restricted := len(p) > 3 && p[0] == 0xff && binary.LittleEndian.Uint16(p[1:]) == 1130
			greeting := len(p) > 0 && p[0] == 10
			if s.Name == "mariadb-restricted" && !restricted || s.Name != "mariadb-restricted" && !greeting {
				t.Errorf("%s: first packet %.60q for %s", s.Name, p, s.Want.Status)
			}
		}
		if err := s.Check(t.Context()); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
}

func mysqlFirstPacket(t *testing.T, addr netip.AddrPort) []byte {
	c, err := Dialer().DialContext(t.Context(), "tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	p, err := readPacket(c)
	if err != nil {
		t.Fatalf("%s: %v", addr, err)
	}
	return p
}

// testProtectedLocal shows protected mode is what refuses Source: the same
// server serves a client on 127.0.0.1.
func testProtectedLocal(t *testing.T, s *Server) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
	c, err := d.DialContext(t.Context(), "tcp", s.Addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "*1\r\n$4\r\nPING\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "+PONG\r\n" {
		t.Errorf("PING from 127.0.0.1 to %s: %q, %v", s.Addr, line, err)
	}
}

func testMonitor(t *testing.T, s *Server) {
	m, err := s.Monitor(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := redisFirstLine(t.Context(), s.Addr); err != nil {
		t.Fatal(err)
	}
	entries := m.Entries()
	if len(entries) != 1 || entries[0].String() != "INFO" || !strings.HasPrefix(entries[0].Client, Source.String()+":") {
		t.Errorf("monitor saw %+v, want one INFO from %s", entries, Source)
	}
	if got := m.Stop(); !slices.Equal(got, []string{"INFO"}) {
		t.Errorf("Stop = %q", got)
	}
}

// testMonitorNoAuth pins down a limit of MONITOR that tests of gown must
// know: a command refused with NOAUTH never reaches the monitor.
func testMonitorNoAuth(t *testing.T, s *Server) {
	m, err := s.Monitor(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := redisFirstLine(t.Context(), s.Addr); err != nil {
		t.Fatal(err)
	}
	if got := m.Stop(); len(got) != 0 {
		t.Logf("MONITOR now shows refused commands too: %q", got)
	}
}

func testGeneralLog(t *testing.T, s *Server) {
	// A scan-like login from Source that the test bed did not mark.
	c, err := Dialer().DialContext(t.Context(), "tcp", s.Addr.String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	if _, err := readPacket(r); err != nil {
		t.Fatal(err)
	}
	c.Write(emptyRootLogin())
	if p, err := readPacket(r); err != nil || p[0] != 0 {
		t.Fatalf("login: %q, %v", p, err)
	}
	c.Write([]byte{1, 0, 0, 0, 0x01})
	c.Close()

	var scan []LogEntry
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && !slices.ContainsFunc(scan, func(e LogEntry) bool { return e.Command == "Quit" }) {
		if scan, err = s.ScanLog(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(scan) != 2 || scan[0].Command != "Connect" || !strings.HasPrefix(scan[0].Argument, "root@127.0.0.2 ") ||
		scan[1].Command != "Quit" {
		t.Errorf("scan log = %+v, want Connect root@127.0.0.2 then Quit", scan)
	}
	all, err := s.GeneralLog()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(all, func(e LogEntry) bool {
		return e.Setup && e.Command == "Query" && strings.HasPrefix(e.Argument, "ANALYZE TABLE `shop`.`orders`")
	}) {
		t.Errorf("general log lacks the planting queries: %d entries", len(all))
	}
}

func TestParseGeneralLog(t *testing.T) {
	text := "/usr/sbin/mariadbd, Version: 10.11.19-MariaDB-0+deb12u1-log (Debian 12). started with:\n" +
		"Tcp port: 41998  Unix socket: /tmp/x/mysqld.sock\n" +
		"Time\t\t    Id Command\tArgument\n" +
		"261126 19:28:17\t     3 Connect\troot@localhost on  using Socket\n" +
		"\t\t     3 Query\tselect 1\n" +
		"\t\t     3 Query\tselect\n  2\n" +
		"261126  9:28:18\t    12 Init DB\tshop\n" +
		"\t\t     3 Quit\t\n"
	want := []LogEntry{
		{ID: 3, Command: "Connect", Argument: "root@localhost on  using Socket"},
		{ID: 3, Command: "Query", Argument: "select 1"},
		{ID: 3, Command: "Query", Argument: "select\n  2"},
		{ID: 12, Command: "Init DB", Argument: "shop"},
		{ID: 3, Command: "Quit", Argument: ""},
	}
	if got := parseGeneralLog(text); !slices.Equal(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseMonitorLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		want MonitorEntry
		ok   bool
	}{
		{`+1732650000.123456 [0 127.0.0.2:5000] "INFO"`, MonitorEntry{0, "127.0.0.2:5000", []string{"INFO"}}, true},
		{`+1732650000.1 [3 unix:/tmp/r.sock] "SET" "a b" "q\"\\\x00\n"`,
			MonitorEntry{3, "unix:/tmp/r.sock", []string{"SET", "a b", "q\"\\\x00\n"}}, true},
		{`+OK`, MonitorEntry{}, false},
		{`+1 [0 lua] "GET" "unterminated`, MonitorEntry{}, false},
	} {
		got, ok := parseMonitorLine(tc.line)
		if ok != tc.ok || ok && (got.DB != tc.want.DB || got.Client != tc.want.Client || !slices.Equal(got.Args, tc.want.Args)) {
			t.Errorf("%s: got %+v %v, want %+v %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRequire(t *testing.T) {
	b := Require(t, "redis-open")
	if s := b.Get("redis-open"); s == nil || s.Want.Items != 155 {
		t.Fatalf("Get(redis-open) = %+v", s)
	}
	if b.Get("mariadb-open") != nil {
		t.Error("Get returned a server that was not started")
	}
}

func TestStartRejects(t *testing.T) {
	ctx := context.Background()
	if _, err := Start(ctx, io.Discard, "nope"); err == nil {
		t.Error("unknown name accepted")
	}
	if _, err := Start(ctx, io.Discard, "redis-open", "redis-open"); err == nil {
		t.Error("repeated name accepted")
	}
}

func TestNames(t *testing.T) {
	for _, n := range []string{"redis-open", "redis-password", "redis-acl", "redis-readonly", "redis-protected",
		"mariadb-open", "mariadb-password", "mariadb-restricted", "mariadb-select-only", "mariadb-insert-only",
		"postgres-trust", "postgres-scram", "postgres-reject", "postgres-tls", "postgres-select-only", "postgres-no-select",
		"memcached-open", "memcached-auth", "memcached-sasl", "couchbase-open", "opensearch-search-only", "opensearch-forbidden",
		"kibana-standin-open", "kibana-standin-secured", "kibana-standin-login", "kibana-standin-redacted",
		"mqtt-open", "mqtt-auth", "mqtt-acl", "mqtt-tls", "etcd-open", "etcd-auth", "etcd-tls", "s3-open", "s3-listed", "gcs-open",
		"azblob-container", "azblob-blob", "azblob-private", "firestore-standin-open", "firestore-standin-locked"} {
		if !slices.Contains(Names(), n) {
			t.Errorf("Names lacks %s", n)
		}
	}
}
