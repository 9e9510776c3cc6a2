package firebase

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
)

// The stand-ins in this file are NOT Firebase. They are loopback servers
// that replay, byte for byte, replies Firebase documents or is known to send,
// for the cases the real test server (firebase-server, which enforces no
// rules over REST and has no notion of a missing or disabled database)
// cannot produce.

// seen is one request a stand-in received.
type seen struct {
	Method, URI, Host, SNI string
}

// standIn serves the raw reply to every connection and records the requests.
// With cfg set it speaks TLS.
type standIn struct {
	mu   sync.Mutex
	reqs []seen
}

func (s *standIn) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

// startStandIn listens on a free loopback port and answers each request with
// reply. A nil cfg means plaintext.
func startStandIn(t testing.TB, reply string, cfg *tls.Config) (*standIn, gown.Target) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &standIn{}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(c, reply, cfg) }()
		}
	}()
	ap := netip.MustParseAddrPort(ln.Addr().String())
	return s, gown.Target{Host: "gown-test.firebaseio.com", Addr: ap.Addr(), Port: int(ap.Port()), Hint: "firebase"}
}

func (s *standIn) serve(c net.Conn, reply string, cfg *tls.Config) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var sni string
	if cfg != nil {
		tc := tls.Server(c, cfg)
		if tc.Handshake() != nil {
			return
		}
		sni = tc.ConnectionState().ServerName
		c = tc
	}
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, seen{Method: req.Method, URI: req.RequestURI, Host: req.Host, SNI: sni})
	s.mu.Unlock()
	c.Write([]byte(reply))
}

// selfSigned makes a throwaway certificate for name.
func selfSigned(t testing.TB, name string) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// httpReply builds a raw HTTP/1.1 reply the way Firebase's front end sends
// it: JSON content type, a length, and the connection closed after it.
func httpReply(code int, body string) string {
	return fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"+
		"Content-Length: %d\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n%s",
		code, http.StatusText(code), len(body), body)
}
