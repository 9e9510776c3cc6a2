package couchbase

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

// The stand-ins in this file are NOT Couchbase Server: no real server runs
// in the test bed (see testbed.md). They are loopback servers replaying the
// replies Couchbase documents for GET /pools and GET /pools/default/buckets
// (REST API reference, "Get Cluster Information" and "Retrieve Bucket
// Information"), trimmed to the fields that matter, with ns_server's 401 and
// 403 answers.

// seen is one request a stand-in received.
type seen struct {
	Method, URI, Host, SNI, Auth string
}

// standIn answers each request with the raw reply for its path, or 404.
type standIn struct {
	routes map[string]string
	mu     sync.Mutex
	reqs   []seen
}

func (s *standIn) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

// startStandIn listens on a free loopback port; a nil cfg means plaintext.
func startStandIn(t testing.TB, routes map[string]string, cfg *tls.Config) (*standIn, gown.Target) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &standIn{routes: routes}
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
			go func() { defer wg.Done(); s.serve(c, cfg) }()
		}
	}()
	ap := netip.MustParseAddrPort(ln.Addr().String())
	return s, gown.Target{Host: "cb.example", Addr: ap.Addr(), Port: int(ap.Port())}
}

func (s *standIn) serve(c net.Conn, cfg *tls.Config) {
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
	s.reqs = append(s.reqs, seen{Method: req.Method, URI: req.RequestURI, Host: req.Host, SNI: sni, Auth: req.Header.Get("Authorization")})
	s.mu.Unlock()
	reply, ok := s.routes[req.URL.Path]
	if !ok {
		reply = cbReply(404, `"Requested resource not found.\r\n"`)
	}
	c.Write([]byte(reply))
}

// cbReply builds a raw reply the way ns_server sends one.
func cbReply(code int, body string, extra ...string) string {
	h := ""
	for _, e := range extra {
		h += e + "\r\n"
	}
	return fmt.Sprintf("HTTP/1.1 %d %s\r\nServer: Couchbase Server\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nCache-Control: no-cache,no-store,must-revalidate\r\n%s\r\n%s",
		code, http.StatusText(code), len(body), h, body)
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
