package postgres

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/jackc/pgx/v5/pgproto3"
)

// selfSigned makes a fresh ECDSA certificate for 127.0.0.1, PEM-encoded. It
// is marked as a CA, as "openssl req -x509" (and so Debian's snakeoil
// certificate) does: probe.DescribeTLS checks the self-signature with
// CheckSignatureFrom, which refuses a parent that is not a CA.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gown-test-postgres"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		IsCA:                  true,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// fake replays captured server messages. Each connection gets sslAnswer to
// an SSLRequest (or raw, verbatim, when set), then startup(db, overTLS), then
// the query replies, until Terminate.
type fake struct {
	sslAnswer string
	raw       string
	startup   func(db string, overTLS bool) string
	cert      tls.Certificate

	mu      sync.Mutex
	queries []string // "db: sql" as received
	conns   int
}

// trustStartup lets every database in; shop and postgres exist.
func trustStartup(string, bool) string { return replyTrust }

func (f *fake) listen(t *testing.T) gown.Target {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	ap := l.Addr().(*net.TCPAddr).AddrPort()
	return gown.Target{Host: "127.0.0.1", Addr: netip.MustParseAddr("127.0.0.1"), Port: int(ap.Port())}
}

func (f *fake) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	f.mu.Lock()
	f.conns++
	f.mu.Unlock()
	be := pgproto3.NewBackend(c, c)
	msg, err := be.ReceiveStartupMessage()
	if err != nil {
		return
	}
	overTLS := false
	if _, ok := msg.(*pgproto3.SSLRequest); ok {
		if f.raw != "" {
			c.Write([]byte(f.raw))
			return
		}
		c.Write([]byte(f.sslAnswer))
		switch f.sslAnswer {
		case "S":
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{f.cert}})
			if tc.Handshake() != nil {
				return
			}
			c, overTLS = tc, true
			be = pgproto3.NewBackend(c, c)
		case "N":
		default:
			return // an old server's ErrorResponse: it hangs up
		}
		if msg, err = be.ReceiveStartupMessage(); err != nil {
			return
		}
	}
	sm, ok := msg.(*pgproto3.StartupMessage)
	if !ok {
		return
	}
	db := sm.Parameters["database"]
	reply := f.startup(db, overTLS)
	c.Write([]byte(reply))
	if !strings.HasSuffix(reply, "Z\x00\x00\x00\x05I") {
		return
	}
	f.answerQueries(be, c, db)
}

func (f *fake) answerQueries(be *pgproto3.Backend, c net.Conn, db string) {
	for {
		msg, err := be.Receive()
		if err != nil {
			return
		}
		q, ok := msg.(*pgproto3.Query)
		if !ok {
			return // Terminate, or anything gown should not send
		}
		f.mu.Lock()
		f.queries = append(f.queries, db+": "+q.String)
		f.mu.Unlock()
		switch {
		case q.String == queryDatabases:
			c.Write([]byte(replyDatabases))
		case q.String == queryRows && db == "shop":
			c.Write([]byte(replyCountShop))
		case q.String == queryRows:
			c.Write([]byte(replyCountPostgres))
		default:
			c.Write([]byte(syntaxError))
		}
	}
}

func runProbe(t *testing.T, f *fake) *gown.Result {
	t.Helper()
	tgt := f.listen(t)
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := New().Probe(ctx, tgt, d)
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if len(res.Evidence) == 0 {
		t.Error("no evidence")
	}
	return res
}

// syntaxError answers a statement the fake does not know.
var syntaxError = msg('E', "SERROR\x00C42601\x00Msyntax error\x00\x00") + msg('Z', "I")
