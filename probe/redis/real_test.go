package redis

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// The tests in this file run the prober against real redis-server processes
// on free loopback ports, one per configuration. They skip when redis-server
// is not installed, except in CI, where a skip would hide a gap.

func TestRealOpen(t *testing.T) {
	tg := startRedis(t, "127.0.0.1")
	cli(t, tg, "SET", "user:1", "alice")
	cli(t, tg, "SET", "user:2", "bob")
	cli(t, tg, "SET", "session:9", "x", "EX", "3600")
	cli(t, tg, "-n", "2", "SET", "cart:1", "3")
	cli(t, tg, "-n", "2", "SET", "cart:2", "4")
	cli(t, tg, "CONFIG", "RESETSTAT")

	r := realProbe(t, tg, netip.Addr{})
	wantVerdict(t, r, gown.StatusOpen, "INFO answered without AUTH")
	if !strings.HasPrefix(r.Version, "7.") || r.Details["role"] != "master" || r.Details["redis_mode"] != "standalone" {
		t.Errorf("version %q details %v", r.Version, r.Details)
	}
	inv := r.Inventory
	want := []gown.Database{{Name: "db0", Items: 3}, {Name: "db2", Items: 2}}
	if inv == nil || !reflect.DeepEqual(inv.Databases, want) || inv.Items != 5 || inv.Bytes < 100_000 {
		t.Errorf("inventory = %+v, want %v, 5 items and used_memory", inv, want)
	}
	t.Logf("open: %s, %d items, %d bytes used, version %s", r.Reason, inv.Items, inv.Bytes, r.Version)
	// Read-only: the server counted one INFO from gown and nothing else.
	wantCommands(t, tg, nil, map[string]int{"info": 1})
}

func TestRealPassword(t *testing.T) {
	tg := startRedis(t, "127.0.0.1", "--requirepass", "x")
	r := realProbe(t, tg, netip.Addr{})
	wantVerdict(t, r, gown.StatusAuthRequired, "server demands AUTH (NOAUTH)")
	if r.Inventory != nil || r.Version != "" {
		t.Errorf("a refused INFO leaked %q %+v", r.Version, r.Inventory)
	}
}

// TestRealACL: a default user limited to +@read is refused INFO either way;
// with ~* it reads every key (open), with no key pattern it reads none
// (restricted). The refused INFO never decides; the reads do.
func TestRealACL(t *testing.T) {
	for _, tc := range []struct {
		name, keys string
		status     gown.Status
		reason     string
		calls      map[string]int
	}{
		{"every key", "~*", gown.StatusOpen, "ACL forbids INFO to the default user (NOPERM), yet it reads the keys' values",
			map[string]int{"dbsize": 1, "scan": 1, "type": 1, "getrange": 1, "auth": 1}},
		// A write-only key pattern: TYPE may see a key, its value does
		// not read.
		{"write-only keys", "%W~*", gown.StatusRestricted,
			"ACL forbids INFO to the default user (NOPERM); DBSIZE still answers; reading each of the 4 keys SCAN named is refused too",
			map[string]int{"dbsize": 1, "scan": 1, "type": 4, "auth": 1}},
		{"no key", "resetkeys", gown.StatusRestricted,
			"ACL forbids INFO to the default user (NOPERM); DBSIZE still answers; reading each of the 4 keys SCAN named is refused too",
			map[string]int{"dbsize": 1, "scan": 1, "auth": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := startRedis(t, "127.0.0.1",
				"--user", "default", "on", "nopass", "resetkeys", tc.keys, "-@all", "+@read",
				"--user", "admin", "on", ">adminpw", "~*", "+@all")
			for i := range 4 {
				cli(t, tg, "--user", "admin", "--pass", "adminpw", "SET", "k"+strconv.Itoa(i), "v")
			}
			cli(t, tg, "--user", "admin", "--pass", "adminpw", "CONFIG", "RESETSTAT")

			r := realProbe(t, tg, netip.Addr{})
			wantVerdict(t, r, tc.status, tc.reason)
			if r.Inventory == nil || r.Inventory.Items != 4 {
				t.Errorf("inventory %+v details %v", r.Inventory, r.Details)
			}
			t.Logf("acl %s: %s, %d items", tc.keys, r.Reason, r.Inventory.Items)
			// INFO and the refused key reads count as rejected, not called;
			// the AUTH is redis-cli's, reading the stats as admin.
			wantCommands(t, tg, []string{"--user", "admin", "--pass", "adminpw"}, tc.calls)
		})
	}
}

func TestRealProtectedMode(t *testing.T) {
	tg := startRedis(t, "127.0.0.9", "--protected-mode", "yes")
	r := realProbe(t, tg, netip.MustParseAddr("127.0.0.2"))
	wantVerdict(t, r, gown.StatusProtected, "protected mode refuses non-loopback clients (DENIED)")
	if len(r.Evidence) == 0 || !strings.HasPrefix(r.Evidence[0].Received, "-DENIED Redis is running in protected mode") {
		t.Errorf("evidence %+v", r.Evidence)
	}
}

func TestRealRenamedInfo(t *testing.T) {
	tg := startRedis(t, "127.0.0.1", "--rename-command", "INFO", "")
	cli(t, tg, "SET", "a", "1")
	cli(t, tg, "SET", "b", "2")
	r := realProbe(t, tg, netip.Addr{})
	wantVerdict(t, r, gown.StatusOpen, "INFO renamed; PING answered")
	if r.Details["info"] != "renamed" || r.Inventory == nil || r.Inventory.Items != 2 {
		t.Errorf("details %v inventory %+v", r.Details, r.Inventory)
	}
}

// TestRealRenamedInfoNoKeys: INFO renamed away and a default user that may
// run every command on no key: PING answers, DBSIZE counts, yet no value
// reads. Restricted, as the reads decide.
func TestRealRenamedInfoNoKeys(t *testing.T) {
	tg := startRedis(t, "127.0.0.1", "--rename-command", "INFO", "",
		"--user", "default", "on", "nopass", "resetkeys", "+@all",
		"--user", "admin", "on", ">adminpw", "~*", "+@all")
	cli(t, tg, "--user", "admin", "--pass", "adminpw", "SET", "a", "1")
	r := realProbe(t, tg, netip.Addr{})
	wantVerdict(t, r, gown.StatusRestricted, "INFO renamed; PING answered; but reading the key SCAN named is refused")
	if r.Details["info"] != "renamed" || r.Inventory == nil || r.Inventory.Items != 1 {
		t.Errorf("details %v inventory %+v", r.Details, r.Inventory)
	}
}

func TestRealTLSPort(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	tg := startRedis(t, "127.0.0.1", "--tls-cert-file", cert, "--tls-key-file", key, "--tls-auth-clients", "no", "tls")
	cli(t, tg, "--tls", "--insecure", "SET", "a", "1")
	// A plain port number: plaintext goes first, is reset, and TLS follows.
	r := realProbe(t, tg, netip.Addr{})
	wantVerdict(t, r, gown.StatusOpen, "INFO answered without AUTH")
	if r.TLS.Mode != gown.TLSRequired || r.TLS.Subject != "CN=cache.example" || r.Inventory.Items != 1 {
		t.Errorf("TLS %+v inventory %+v", r.TLS, r.Inventory)
	}
	t.Logf("tls: mode %s, %s, evidence steps %q", r.TLS.Mode, r.TLS.Version, steps(r))
}

// TestRealPlaintextOnTLSHint covers a rediss:// URL that points at plaintext
// Redis: the ClientHello fails and plaintext follows.
func TestRealPlaintextOnTLSHint(t *testing.T) {
	tg := startRedis(t, "127.0.0.1")
	tg.TLS = true
	start := time.Now()
	r := realProbe(t, tg, netip.Addr{})
	wantVerdict(t, r, gown.StatusOpen, "INFO answered without AUTH")
	if r.TLS.Mode != gown.TLSNone {
		t.Errorf("TLS mode %q", r.TLS.Mode)
	}
	t.Logf("TLS then plaintext took %v", time.Since(start))
}

func TestRealSentinel(t *testing.T) {
	master := startRedis(t, "127.0.0.1")
	port := freePort(t, "127.0.0.1")
	conf := filepath.Join(t.TempDir(), "sentinel.conf")
	text := fmt.Sprintf("port %d\nbind 127.0.0.1\nsentinel monitor m 127.0.0.1 %d 1\n", port, master.Port)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	tg := run(t, "127.0.0.1", port, conf, "--sentinel")
	r := realProbe(t, tg, netip.Addr{})
	wantVerdict(t, r, gown.StatusNotService, "Redis Sentinel monitors other servers and holds no data")
	if r.Product != "Redis Sentinel" {
		t.Errorf("product %q", r.Product)
	}
}

// startRedis runs redis-server on a free port of bind with no persistence.
// A trailing "tls" argument moves the listener to the TLS port.
func startRedis(t *testing.T, bind string, args ...string) gown.Target {
	t.Helper()
	port := freePort(t, bind)
	p := strconv.Itoa(port)
	base := []string{"--port", p, "--bind", bind, "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", t.TempDir()}
	if n := len(args); n > 0 && args[n-1] == "tls" {
		base[1] = "0"
		args = append(args[:n-1], "--tls-port", p)
	}
	return run(t, bind, port, append(base, args...)...)
}

// run starts redis-server with args, waits for the port and stops the
// process, by its own handle, when the test ends.
func run(t *testing.T, bind string, port int, args ...string) gown.Target {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is required in CI: %v", err)
		}
		t.Skipf("redis-server not installed: %v", err)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("redis-server %v:\n%s", args, out.String())
		}
	})
	addr := net.JoinHostPort(bind, strconv.Itoa(port))
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not listen on %s: %v\n%s", addr, err, out.String())
		}
	}
	return gown.Target{Host: "cache.example", Addr: netip.MustParseAddr(bind), Port: port}
}

// freePort finds a port no one listens on by asking the kernel for one.
func freePort(t *testing.T, bind string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(bind, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// cli runs redis-cli against the target and returns its output.
func cli(t *testing.T, tg gown.Target, args ...string) string {
	t.Helper()
	base := []string{"-h", tg.Addr.String(), "-p", strconv.Itoa(tg.Port)}
	out, err := exec.Command("redis-cli", append(base, args...)...).CombinedOutput()
	if err != nil || strings.HasPrefix(string(out), "(error)") || strings.HasPrefix(string(out), "ERR") {
		t.Fatalf("redis-cli %v: %v %s", args, err, out)
	}
	return string(out)
}

// wantCommands checks INFO commandstats, read with redis-cli after the probe,
// against the commands gown should have run: the stats were reset before the
// probe (CONFIG RESETSTAT counts itself), a refused command counts no call,
// and the INFO that reads the stats counts only after it answers. Anything
// else gown ran shows up here.
func wantCommands(t *testing.T, tg gown.Target, auth []string, want map[string]int) {
	t.Helper()
	stats := cli(t, tg, append(auth, "INFO", "commandstats")...)
	got := map[string]int{}
	for line := range strings.Lines(stats) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		calls, _, _ := strings.Cut(rest, ",")
		if n, _ := strconv.Atoi(calls); n > 0 {
			got[strings.TrimPrefix(name, "cmdstat_")] = n
		}
	}
	want = maps.Clone(want)
	want["config|resetstat"] = 1
	if !maps.Equal(got, want) {
		t.Errorf("commands run = %v, want %v\n%s", got, want, stats)
	}
}

func realProbe(t *testing.T, tg gown.Target, source netip.Addr) *gown.Result {
	t.Helper()
	d, err := probe.NewDialer(probe.DialerConfig{Source: source, IOTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	r, err := New().Probe(ctx, tg, d)
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	return r
}

func wantVerdict(t *testing.T, r *gown.Result, status gown.Status, reason string) {
	t.Helper()
	if r.Status != status || r.Reason != reason {
		t.Fatalf("got %s %q, want %s %q (error %q, evidence %+v)", r.Status, r.Reason, status, reason, r.Error, r.Evidence)
	}
	if len(r.Evidence) == 0 {
		t.Errorf("no evidence")
	}
	var items, size uint64
	if r.Inventory != nil {
		items, size = r.Inventory.Items, r.Inventory.Bytes
	}
	t.Logf("%s %q: %s %s, tls %q, %d keys, %d bytes, details %v", r.Status, r.Reason, r.Product, r.Version, r.TLS.Mode, items, size, r.Details)
}

// writeCert writes a throwaway certificate and key as PEM files for
// redis-server's TLS port.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	cfg := selfSigned(t, "cache.example")
	keyDER, err := x509.MarshalPKCS8PrivateKey(cfg.Certificates[0].PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cfg.Certificates[0].Certificate[0]})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestRealReplicaFacts: a real replica's INFO names its master, and the
// prober keeps it as a typed fact (host, port, link state) beside the
// details it shows; the master itself reports no replica fact.
func TestRealReplicaFacts(t *testing.T) {
	master := startRedis(t, "127.0.0.1")
	replica := startRedis(t, "127.0.0.1", "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
	want := gown.Replica{Host: "127.0.0.1", Port: master.Port, Link: "up"}
	var r *gown.Result
	// The link comes up once the first sync is done, a moment after start.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r = realProbe(t, replica, netip.Addr{})
		if (r.Facts.Replica != nil && r.Facts.Replica.Link == "up") || time.Now().After(deadline) {
			break
		}
	}
	if r.Status != gown.StatusOpen || r.Facts.Replica == nil || *r.Facts.Replica != want {
		t.Fatalf("replica: status %s facts %+v, want replica %+v", r.Status, r.Facts, want)
	}
	if r.Details["role"] != "slave" || r.Details["master_port"] != strconv.Itoa(master.Port) {
		t.Errorf("details %v: the displayed details must stay as they were", r.Details)
	}
	if m := realProbe(t, master, netip.Addr{}); m.Facts != (gown.Facts{}) {
		t.Errorf("master: facts %+v, want none", m.Facts)
	}
}
