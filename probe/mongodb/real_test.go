package mongodb

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
)

// The tests in this file run the prober against FerretDB v1.24.2 (SQLite
// backend) as the test bed runs it: mongodb-open (planted data, the people
// and a ransom note), mongodb-empty, mongodb-auth (authentication on) and
// mongodb-tls (a TLS listener only). No MongoDB server can be had here;
// stand-ins replaying MongoDB's documented replies cover what FerretDB
// cannot show (standin_test.go, replay_test.go).

// TestMain shares the test bed among this package's tests, which only read.
func TestMain(m *testing.M) { os.Exit(testbed.Main(m)) }

// server starts (or reuses) one test-bed configuration.
func server(t *testing.T, name string) *testbed.Server {
	t.Helper()
	return testbed.Require(t, name).Get(name)
}

func TestRealOpen(t *testing.T) {
	s := server(t, "mongodb-open")
	mark := s.LogSize()
	r := realProbe(t, s, false)
	wantVerdict(t, r, gown.StatusOpen, fmt.Sprintf("listDatabases answered without credentials (%d databases)", len(s.Want.Databases)))
	wantFerretDB(t, r)
	if r.TLS.Mode != gown.TLSNone {
		t.Errorf("TLS mode %q", r.TLS.Mode)
	}
	inv := r.Inventory
	got := map[string]uint64{}
	for _, db := range inv.Databases {
		got[db.Name] = db.Items
		if db.Bytes == 0 {
			t.Errorf("database %s: no size", db.Name)
		}
	}
	for name, n := range s.Want.Databases {
		if got[name] != n {
			t.Errorf("database %s: %d documents per gown, %d planted", name, got[name], n)
		}
	}
	if inv.Items != s.Want.Items || inv.Bytes == 0 || inv.Truncated || len(inv.Databases) != len(s.Want.Databases) {
		t.Errorf("inventory %+v, want %d items in %d databases", inv, s.Want.Items, len(s.Want.Databases))
	}
	// shop holds customers and orders, crm leads, appdata users, the
	// ransom database README.
	if r.Details["collections"] != "5" {
		t.Errorf("collections %q, want 5", r.Details["collections"])
	}
	want := []string{"hello", "buildInfo", "listDatabases"}
	for range s.Want.Databases {
		want = append(want, "dbStats")
	}
	wantReadOnly(t, s, mark, want)
}

// TestRealOpenEmpty covers the empty listing on a real server: FerretDB with
// no data lists no databases, and getLog settles the tie as open.
func TestRealOpenEmpty(t *testing.T) {
	s := server(t, "mongodb-empty")
	mark := s.LogSize()
	r := realProbe(t, s, false)
	wantVerdict(t, r, gown.StatusOpen, "listDatabases listed no databases and getLog answered without credentials: open, but empty")
	if r.Inventory == nil || len(r.Inventory.Databases) != 0 || r.Inventory.Items != 0 {
		t.Errorf("inventory %+v", r.Inventory)
	}
	wantReadOnly(t, s, mark, []string{"hello", "buildInfo", "listDatabases", "getLog"})
}

// TestRealAuth probes the server the test bed planted open and restarted
// with authentication on: code 13.
func TestRealAuth(t *testing.T) {
	s := server(t, "mongodb-auth")
	mark := s.LogSize()
	r := realProbe(t, s, false)
	wantVerdict(t, r, gown.StatusAuthRequired, "listDatabases requires authentication (code 13 Unauthorized)")
	wantFerretDB(t, r)
	if r.Inventory != nil {
		t.Errorf("a refused listing gave an inventory: %+v", r.Inventory)
	}
	wantReadOnly(t, s, mark, []string{"hello", "buildInfo", "listDatabases"})
}

// TestRealTLS probes FerretDB with only a TLS listener: plaintext is
// dropped, TLS follows.
func TestRealTLS(t *testing.T) {
	s := server(t, "mongodb-tls")
	mark := s.LogSize()
	r := realProbe(t, s, false)
	wantVerdict(t, r, gown.StatusOpen, fmt.Sprintf("listDatabases answered without credentials (%d databases)", len(s.Want.Databases)))
	if r.TLS.Mode != gown.TLSRequired || r.TLS.Subject != "CN=gown-testbed-mongodb-tls" || !r.TLS.SelfSigned || r.TLS.NotAfter.IsZero() {
		t.Errorf("TLS %+v", r.TLS)
	}
	if r.Inventory.Items != s.Want.Items {
		t.Errorf("inventory %+v, planted %d documents", r.Inventory, s.Want.Items)
	}
	// The plaintext attempt was dropped before FerretDB logged a request.
	want := []string{"hello", "buildInfo", "listDatabases"}
	for range s.Want.Databases {
		want = append(want, "dbStats")
	}
	wantReadOnly(t, s, mark, want)

	// A TLS hint (a mongodb+srv or tls=true URL) goes to TLS at once.
	if r := realProbe(t, s, true); r.Status != gown.StatusOpen || r.TLS.Mode != gown.TLSRequired {
		t.Errorf("with a TLS hint: %s %q, TLS %q", r.Status, r.Reason, r.TLS.Mode)
	}
}

// testCert is a throwaway self-signed certificate for a stand-in server.
func testCert(t *testing.T) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(newCertPEM(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newCertPEM makes a self-signed ECDSA certificate for db.app.example.
func newCertPEM(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "db.app.example"},
		DNSNames:     []string{"db.app.example"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// bedTarget names a test-bed server as an app would: by a host name, at the
// server's address.
func bedTarget(s *testbed.Server, tlsHint bool) gown.Target {
	return gown.Target{Host: "db.app.example", Addr: s.Addr.Addr(), Port: int(s.Addr.Port()), TLS: tlsHint}
}

// bedDialer dials from the test bed's source address.
func bedDialer(t *testing.T, timeout time.Duration) probe.Dialer {
	t.Helper()
	d, err := probe.NewDialer(probe.DialerConfig{Source: testbed.Source, IOTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// realProbe probes a test-bed server as a scan would.
func realProbe(t *testing.T, s *testbed.Server, tlsHint bool) *gown.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	r, err := New().Probe(ctx, bedTarget(s, tlsHint), bedDialer(t, 3*time.Second))
	if r == nil {
		t.Fatalf("Probe: no result, error %v", err)
	}
	return r
}

func wantVerdict(t *testing.T, r *gown.Result, status gown.Status, reason string) {
	t.Helper()
	if r.Status != status || r.Reason != reason {
		t.Fatalf("got %s %q, want %s %q (error %q, details %v)", r.Status, r.Reason, status, reason, r.Error, r.Details)
	}
	if r.Error != "" {
		t.Errorf("error %q", r.Error)
	}
	if len(r.Evidence) == 0 {
		t.Errorf("no evidence")
	}
	var items, size uint64
	if r.Inventory != nil {
		items, size = r.Inventory.Items, r.Inventory.Bytes
	}
	t.Logf("%s %q: %s %s, tls %q, %d documents, %d bytes, details %v", r.Status, r.Reason, r.Product, r.Version, r.TLS.Mode, items, size, r.Details)
}

func wantFerretDB(t *testing.T, r *gown.Result) {
	t.Helper()
	if r.Product != "FerretDB" || r.Version != testbed.FerretVersion || r.Details["mongodb_compat"] != "7.0.42" {
		t.Errorf("product %q version %q details %v, want FerretDB %s compatible with 7.0.42", r.Product, r.Version, r.Details, testbed.FerretVersion)
	}
}

// requestsSince lists the commands FerretDB's debug log recorded after mark,
// failing on any that is off the read lists (the probe's and sampling's).
func requestsSince(t *testing.T, s *testbed.Server, mark int64) []string {
	t.Helper()
	time.Sleep(50 * time.Millisecond) // the server logs the last request as it answers
	cmds, err := s.MongoCommands(mark)
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	for _, c := range cmds {
		sent = append(sent, c.Name)
		if !allowed[c.Name] && !sampleReads[c.Name] {
			t.Errorf("gown sent %q, which is not on the read-only lists", c.Name)
		}
	}
	if len(sent) == 0 {
		t.Fatal("the server logged nothing: the read-only check proves nothing")
	}
	return sent
}

// wantReadOnly is the read-only proof: FerretDB's debug log holds every
// request it received since mark, and each must be a command of gown's
// read-only list, in the expected order, with nothing else.
func wantReadOnly(t *testing.T, s *testbed.Server, mark int64, want []string) {
	t.Helper()
	sent := requestsSince(t, s, mark)
	for _, name := range sent {
		if !allowed[name] {
			t.Errorf("gown sent %q, which is not on the probe's read-only list", name)
		}
	}
	if !slices.Equal(sent, want) {
		t.Errorf("server received %v, want %v", sent, want)
	}
	t.Logf("read-only proof: the server logged %d requests from gown: %v", len(sent), sent)
}
