package mongodb

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// The tests in this file run the prober against FerretDB v1.24.2 (SQLite
// backend), built and started by ferretdb_test.go on free loopback ports.
// No MongoDB server can be had here; stand-ins replaying MongoDB's
// documented replies cover what FerretDB cannot show (replay_test.go).

func TestRealOpen(t *testing.T) {
	f := startFerretDB(t, ferretOpts{})
	planted := plant(t, f.addr, false)
	mark := f.logSize(t)

	r := realProbe(t, f.addr, false)
	wantVerdict(t, r, gown.StatusOpen, "listDatabases answered without credentials (3 databases)")
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
	var sum uint64
	for name, n := range planted {
		sum += n
		if got[name] != n {
			t.Errorf("database %s: %d documents per gown, %d planted", name, got[name], n)
		}
	}
	if inv.Items != sum || inv.Bytes == 0 || inv.Truncated || len(inv.Databases) != len(planted) {
		t.Errorf("inventory %+v, want %d items in %d databases", inv, sum, len(planted))
	}
	// shop holds customers and orders, crm leads, the note README.
	if r.Details["collections"] != "4" {
		t.Errorf("collections %q, want 4", r.Details["collections"])
	}
	wantReadOnly(t, f, mark, []string{"hello", "buildInfo", "listDatabases", "dbStats", "dbStats", "dbStats"})
}

// TestRealOpenEmpty covers the empty listing on a real server: FerretDB with
// no data lists no databases, and getLog settles the tie as open.
func TestRealOpenEmpty(t *testing.T) {
	f := startFerretDB(t, ferretOpts{})
	mark := f.logSize(t)
	r := realProbe(t, f.addr, false)
	wantVerdict(t, r, gown.StatusOpen, "listDatabases listed no databases and getLog answered without credentials: open, but empty")
	if r.Inventory == nil || len(r.Inventory.Databases) != 0 || r.Inventory.Items != 0 {
		t.Errorf("inventory %+v", r.Inventory)
	}
	wantReadOnly(t, f, mark, []string{"hello", "buildInfo", "listDatabases", "getLog"})
}

// TestRealAuth plants data on an open server, restarts it on the same data
// with authentication on, and expects code 13.
func TestRealAuth(t *testing.T) {
	dir := t.TempDir()
	open := startFerretDB(t, ferretOpts{dir: dir})
	plant(t, open.addr, false)
	open.stop()

	f := startFerretDB(t, ferretOpts{dir: dir, password: "s3cret-" + strconv.Itoa(os.Getpid())})
	mark := f.logSize(t)
	r := realProbe(t, f.addr, false)
	wantVerdict(t, r, gown.StatusAuthRequired, "listDatabases requires authentication (code 13 Unauthorized)")
	wantFerretDB(t, r)
	if r.Inventory != nil {
		t.Errorf("a refused listing gave an inventory: %+v", r.Inventory)
	}
	wantReadOnly(t, f, mark, []string{"hello", "buildInfo", "listDatabases"})
}

// TestRealTLS runs FerretDB with only a TLS listener: plaintext is dropped,
// TLS follows.
func TestRealTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	f := startFerretDB(t, ferretOpts{dir: dir, tlsCert: cert, tlsKey: key})
	planted := plant(t, f.addr, true)
	mark := f.logSize(t)

	r := realProbe(t, f.addr, false)
	wantVerdict(t, r, gown.StatusOpen, "listDatabases answered without credentials (3 databases)")
	if r.TLS.Mode != gown.TLSRequired || r.TLS.Subject != "CN=db.app.example" || !r.TLS.SelfSigned {
		t.Errorf("TLS %+v", r.TLS)
	}
	if r.Inventory.Items != planted["shop"]+planted["crm"]+planted["READ_ME_TO_RECOVER_YOUR_DATA"] {
		t.Errorf("inventory %+v", r.Inventory)
	}
	// The plaintext attempt was dropped before FerretDB logged a request.
	wantReadOnly(t, f, mark, []string{"hello", "buildInfo", "listDatabases", "dbStats", "dbStats", "dbStats"})

	// A TLS hint (a mongodb+srv or tls=true URL) goes to TLS at once.
	if r := realProbe(t, f.addr, true); r.Status != gown.StatusOpen || r.TLS.Mode != gown.TLSRequired {
		t.Errorf("with a TLS hint: %s %q, TLS %q", r.Status, r.Reason, r.TLS.Mode)
	}
}

// writeCert writes a throwaway self-signed certificate and its key as PEM.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	certPEM, keyPEM := newCertPEM(t)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
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

// realProbe probes addr as a scan would.
func realProbe(t *testing.T, addr string, tlsHint bool) *gown.Result {
	t.Helper()
	ap := netip.MustParseAddrPort(addr)
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	tg := gown.Target{Host: "db.app.example", Addr: ap.Addr(), Port: int(ap.Port()), TLS: tlsHint}
	r, err := New().Probe(ctx, tg, d)
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
	if r.Product != "FerretDB" || r.Version != "v1.24.2" || r.Details["mongodb_compat"] != "7.0.42" {
		t.Errorf("product %q version %q details %v, want FerretDB v1.24.2 compatible with 7.0.42", r.Product, r.Version, r.Details)
	}
}

// logSize marks where the server's log stands, so that only what comes
// after (gown's own requests) is checked.
func (f *ferret) logSize(t *testing.T) int64 {
	t.Helper()
	st, err := os.Stat(f.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// docKey is the first key of a logged request document: the command name.
var docKey = regexp.MustCompile(`"Document": \{\s*"([^"]+)"`)

// wantReadOnly is the read-only proof: FerretDB's debug log holds every
// request it received since mark, and each must be a command of gown's
// read-only list, in the expected order, with nothing else.
func wantReadOnly(t *testing.T, f *ferret, mark int64, want []string) {
	t.Helper()
	time.Sleep(50 * time.Millisecond) // the server logs the last request as it answers
	var sent []string
	headers := 0
	for line := range bytes.Lines(f.log()[mark:]) {
		var e struct{ Msg string }
		if json.Unmarshal(line, &e) != nil {
			continue
		}
		switch {
		case strings.HasPrefix(e.Msg, "Request header:"):
			headers++
		case strings.HasPrefix(e.Msg, "Request message:"):
			m := docKey.FindStringSubmatch(e.Msg)
			if m == nil {
				t.Errorf("request without a command: %s", e.Msg)
				continue
			}
			sent = append(sent, m[1])
		}
	}
	for _, name := range sent {
		if !allowed[name] {
			t.Errorf("gown sent %q, which is not on the read-only list", name)
		}
	}
	if headers != len(sent) || !slices.Equal(sent, want) {
		t.Errorf("server received %v (%d request headers), want %v", sent, headers, want)
	}
	t.Logf("read-only proof: the server logged %d requests from gown: %v", len(sent), sent)
}
