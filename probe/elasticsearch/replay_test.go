package elasticsearch

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// replayer is a loopback HTTP listener that answers each request path with
// a recorded raw reply (see testdata/replay/README.md for their origin) and
// remembers every request line it got.
type replayer struct {
	addr    *net.TCPAddr
	mu      sync.Mutex
	reqs    []string
	replies map[string][]byte // request path → raw HTTP reply
}

// replay serves replies (path → file under testdata/replay, or raw bytes
// when the value starts with "raw:") until the test ends. With tlsOn the
// listener speaks TLS only, like an Elastic Cloud endpoint on 9243.
func replay(t *testing.T, tlsOn bool, replies map[string]string) *replayer {
	t.Helper()
	rp := &replayer{replies: map[string][]byte{}}
	for path, src := range replies {
		if raw, ok := strings.CutPrefix(src, "raw:"); ok {
			rp.replies[path] = []byte(raw)
			continue
		}
		b, err := os.ReadFile(filepath.Join("testdata", "replay", src))
		if err != nil {
			t.Fatal(err)
		}
		rp.replies[path] = b
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsOn {
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}})
	}
	t.Cleanup(func() { l.Close() })
	rp.addr = l.Addr().(*net.TCPAddr)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go rp.serve(c)
		}
	}()
	return rp
}

func (rp *replayer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return // a plaintext client on a TLS listener: crypto/tls has answered 400
	}
	rp.mu.Lock()
	rp.reqs = append(rp.reqs, req.Method+" "+req.URL.RequestURI())
	reply, ok := rp.replies[req.URL.RequestURI()]
	rp.mu.Unlock()
	if !ok {
		reply = []byte("HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}")
	}
	c.Write(reply)
}

func (rp *replayer) requests() []string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([]string(nil), rp.reqs...)
}

func (rp *replayer) target() gown.Target {
	return gown.Target{Host: "127.0.0.1", Addr: rp.addr.AddrPort().Addr(), Port: rp.addr.Port}
}

// selfSigned makes a throwaway certificate for 127.0.0.1.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "es.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// dialer is the real TCP dialer with test-sized limits.
func dialer(t *testing.T) probe.Dialer {
	t.Helper()
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return d
}
