package mysql

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// The real-server tests start their own MariaDB instances (one per
// configuration) on free loopback ports and stop them in t.Cleanup. Every
// configuration first drops the accounts mariadb-install-db makes for TCP
// (root@127.0.0.1, root@::1, root@<hostname>), so that only the planted
// accounts decide the verdict.
const dropTCPAccounts = "DELETE FROM mysql.global_priv WHERE Host <> 'localhost'; FLUSH PRIVILEGES;"

const plantData = `CREATE DATABASE appdb;
CREATE TABLE appdb.users (id INT PRIMARY KEY, email VARCHAR(100), KEY (email));
CREATE TABLE appdb.orders (id INT PRIMARY KEY, total INT);
INSERT INTO appdb.users VALUES (1,'a@example.org'),(2,'b@example.org'),(3,'c@example.org');
INSERT INTO appdb.orders VALUES (1,10),(2,20),(3,30),(4,40),(5,50);
ANALYZE TABLE appdb.users, appdb.orders;`

func TestRealMariaDB(t *testing.T) {
	cases := []struct {
		name    string
		sql     string
		tls     bool
		status  gown.Status
		login   string
		wantInv bool
	}{
		{"open", "CREATE USER 'root'@'%'; GRANT ALL ON *.* TO 'root'@'%';", true,
			gown.StatusOpen, "root with empty password", true},
		{"password", "CREATE USER 'root'@'%' IDENTIFIED BY 'secret'; GRANT ALL ON *.* TO 'root'@'%';", false,
			gown.StatusAuthRequired, "", false},
		{"anonymous", "CREATE USER 'root'@'%' IDENTIFIED BY 'secret'; CREATE USER ''@'%'; GRANT SELECT ON appdb.* TO ''@'%';", false,
			gown.StatusOpen, "anonymous", true},
		{"anonymous-no-grants", "CREATE USER 'root'@'%' IDENTIFIED BY 'secret'; CREATE USER ''@'%';", false,
			gown.StatusRestricted, "anonymous", false},
		{"restricted", "", false, gown.StatusRestricted, "", false},
		// A login is not a read: INSERT alone lists the tables, reads none.
		{"anonymous-insert-only", "CREATE USER 'root'@'%' IDENTIFIED BY 'secret'; CREATE USER ''@'%'; GRANT INSERT ON appdb.* TO ''@'%';", false,
			gown.StatusRestricted, "anonymous", false},
		{"anonymous-one-column", "CREATE USER 'root'@'%' IDENTIFIED BY 'secret'; CREATE USER ''@'%'; GRANT SELECT (email) ON appdb.users TO ''@'%';", false,
			gown.StatusOpen, "anonymous", false},
		// Six INSERT-only tables sort before the one readable table: the
		// account's own SELECT grant puts it first, inside the 5-table bound.
		{"anonymous-seventh-table", "CREATE USER 'root'@'%' IDENTIFIED BY 'secret'; CREATE USER ''@'%'; CREATE DATABASE aaa; " +
			"CREATE TABLE aaa.t0 (i INT); CREATE TABLE aaa.t1 (i INT); CREATE TABLE aaa.t2 (i INT); " +
			"CREATE TABLE aaa.t3 (i INT); CREATE TABLE aaa.t4 (i INT); CREATE TABLE aaa.t5 (i INT); " +
			"GRANT INSERT ON aaa.* TO ''@'%'; GRANT SELECT ON appdb.orders TO ''@'%';", false,
			gown.StatusOpen, "anonymous", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := startMariaDB(t, c.tls)
			srv.sql(t, dropTCPAccounts+plantData+c.sql)
			r := probeReal(t, srv.port)
			t.Logf("%s: %s %s %s %q tls=%+v details=%v inv=%+v err=%q", c.name, r.Status, r.Product, r.Version, r.Reason, r.TLS, r.Details, r.Inventory, r.Error)
			for _, e := range r.Evidence {
				t.Logf("  evidence %s: sent %.60q received %.60q", e.Step, e.Sent, e.Received)
			}
			if r.Status != c.status {
				t.Fatalf("status = %s (%s), want %s", r.Status, r.Reason, c.status)
			}
			if r.Product != "MariaDB" && c.name != "restricted" {
				t.Errorf("product = %q, want MariaDB", r.Product)
			}
			if c.login != "" && r.Details["login"] != c.login {
				t.Errorf("login = %q, want %q", r.Details["login"], c.login)
			}
			if len(r.Evidence) == 0 {
				t.Error("no evidence recorded")
			}
			if c.wantInv {
				checkInventory(t, srv, r.Inventory)
			}
			if c.tls {
				checkTLS(t, r.TLS)
			} else if c.name != "restricted" && r.TLS.Mode != gown.TLSNone {
				t.Errorf("tls mode = %q, want none", r.TLS.Mode)
			}
		})
	}
}

func probeReal(t *testing.T, port int) *gown.Result {
	t.Helper()
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	target := gown.Target{Host: "127.0.0.1", Addr: netip.MustParseAddr("127.0.0.1"), Port: port}
	r, err := New().Probe(ctx, target, d)
	if err != nil || r == nil {
		t.Fatalf("Probe: %v, %v", r, err)
	}
	return r
}

// checkInventory compares the probe's numbers with the server's own answer
// to the same query over the socket, and with what was planted.
func checkInventory(t *testing.T, srv *mariaDB, inv *gown.Inventory) {
	t.Helper()
	if inv == nil {
		t.Fatal("no inventory")
	}
	var app *gown.Database
	for i := range inv.Databases {
		if inv.Databases[i].Name == "appdb" {
			app = &inv.Databases[i]
		}
	}
	if app == nil || app.System {
		t.Fatalf("appdb missing or marked system: %+v", inv.Databases)
	}
	if app.Items != 8 {
		t.Errorf("appdb items = %d, want 8 planted rows", app.Items)
	}
	out := srv.sql(t, "SELECT SUM(data_length+index_length) FROM information_schema.tables WHERE table_schema='appdb'")
	want, err := strconv.ParseUint(strings.TrimSpace(out), 10, 64)
	if err != nil || app.Bytes != want || want == 0 {
		t.Errorf("appdb bytes = %d, server says %q", app.Bytes, out)
	}
	if inv.Items != app.Items || inv.Bytes != app.Bytes {
		t.Errorf("totals %d items %d bytes, want appdb's alone (system schemas not summed)", inv.Items, inv.Bytes)
	}
}

func checkTLS(t *testing.T, got gown.TLS) {
	t.Helper()
	if got.Mode != gown.TLSOffered || !strings.Contains(got.Subject, "gown-test") || !got.SelfSigned || got.NotAfter.IsZero() {
		t.Errorf("tls = %+v, want offered, CN gown-test, self-signed", got)
	}
}

// mariaDB is one server this test started.
type mariaDB struct {
	dir  string
	port int
}

func (m *mariaDB) sql(t testing.TB, stmts string) string {
	t.Helper()
	out, err := exec.Command("mariadb", "--no-defaults", "--socket="+filepath.Join(m.dir, "sock"),
		"-uroot", "-N", "-B", "-e", stmts).CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb -e %q: %v\n%s", stmts, err, out)
	}
	return string(out)
}

func startMariaDB(t testing.TB, withTLS bool) *mariaDB {
	t.Helper()
	if _, err := exec.LookPath("mariadbd"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mariadbd not on PATH in CI")
		}
		t.Skip("mariadbd not on PATH")
	}
	dir, err := os.MkdirTemp("", "gown-mysql-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The server drops to the mysql user, which must reach the directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var asUser []string
	if os.Geteuid() == 0 {
		asUser = []string{"--user=mysql"}
	}
	// Own data and temporary directories: parallel instances sharing /tmp
	// collide on temporary table names during bootstrap.
	data, tmp := filepath.Join(dir, "data"), filepath.Join(dir, "tmp")
	os.Mkdir(data, 0o755)
	os.Mkdir(tmp, 0o755)
	args := []string{"--no-defaults", "--datadir=" + data, "--tmpdir=" + tmp, "--bind-address=127.0.0.1",
		"--socket=" + filepath.Join(dir, "sock"), "--skip-log-bin", "--innodb-buffer-pool-size=32M",
		"--max-connect-errors=100000", "--skip-name-resolve", "--pid-file=" + filepath.Join(dir, "pid")}
	if withTLS {
		cert, key := writeCert(t, dir)
		args = append(args, "--ssl-cert="+cert, "--ssl-key="+key)
	}
	chownMySQL(t, dir)
	install := append([]string{"--no-defaults", "--datadir=" + data, "--tmpdir=" + tmp, "--auth-root-authentication-method=normal", "--skip-test-db"}, asUser...)
	if out, err := exec.Command("mariadb-install-db", install...).CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	port := freePort(t)
	args = append(append(args, "--port="+strconv.Itoa(port)), asUser...)
	cmd := exec.Command("mariadbd", args...)
	log, _ := os.Create(filepath.Join(dir, "server.log"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopProcess(cmd) })
	m := &mariaDB{dir: dir, port: port}
	waitReady(t, m, cmd)
	return m
}

// stopProcess stops the server this test started, by its own pid.
func stopProcess(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func waitReady(t testing.TB, m *mariaDB, cmd *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(m.port)), time.Second)
		if err == nil {
			c.Close()
			if exec.Command("mariadb", "--no-defaults", "--socket="+filepath.Join(m.dir, "sock"), "-uroot", "-e", "SELECT 1").Run() == nil {
				return
			}
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(m.dir, "server.log"))
	t.Fatalf("mariadbd not ready on port %d:\n%s", m.port, log)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func chownMySQL(t testing.TB, paths ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("mysql")
	if err != nil {
		t.Fatalf("user mysql: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range paths {
		filepath.Walk(p, func(path string, _ os.FileInfo, err error) error {
			if err == nil {
				err = os.Chown(path, uid, gid)
			}
			return err
		})
	}
}

// writeCert writes a self-signed certificate for CN gown-test.
func writeCert(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "gown-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		// A CA flag, as openssl req -x509 sets by default: probe's
		// self-signed check verifies the signature with the certificate
		// itself, which Go refuses for a leaf without it.
		BasicConstraintsValid: true,
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}
