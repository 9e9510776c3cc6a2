package redis

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
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
)

// fake is a stand-in server that replays replies recorded from Redis 7.0.15
// (and, for the non-Redis peers, what those peers send). The real server is
// exercised by real_test.go; this one covers replies a real server here
// cannot be made to give (WRONGPASS to INFO, Sentinel, replicas, 5 GB of
// memory) and keeps the verdict tests fast and network-free.
type fake struct {
	// greet is written on accept, before any request, and the connection is
	// then closed: what protected mode does.
	greet string
	// replies answers commands by name; a missing one gets Redis 7's
	// unknown-command error, as a renamed command does.
	replies map[string]string
	// raw, when set, is written in answer to anything: a non-Redis peer.
	raw string
	// silent reads and never answers.
	silent bool
	// drop resets every connection, without a byte, once the request came.
	drop bool
	// tls serves TLS to clients that open with a handshake and resets the
	// others without a word, as a Redis tls-port does.
	tls *tls.Config
}

// start serves f on a free loopback port until the test ends.
func (f fake) start(t *testing.T) gown.Target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { f.serve(c) })
		}
	})
	port := ln.Addr().(*net.TCPAddr).Port
	return gown.Target{Host: "127.0.0.1", Addr: netip.MustParseAddr("127.0.0.1"), Port: port}
}

func (f fake) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	if f.drop {
		br.Peek(1) // resetting at accept would fail the client's connect instead
		reset(c)
		return
	}
	if f.greet != "" {
		c.Write([]byte(f.greet))
		return
	}
	if f.tls != nil {
		first, err := br.Peek(1)
		if err != nil || first[0] != tlsHandshake {
			reset(c)
			return
		}
		tc := tls.Server(peeked{c, br}, f.tls)
		defer tc.Close()
		c, br = tc, bufio.NewReader(tc)
	}
	for {
		cmd, err := readReply(br)
		if err != nil || f.silent {
			if f.silent {
				br.ReadByte() // wait for the client to give up
			}
			return
		}
		if f.raw != "" {
			c.Write([]byte(f.raw))
			return
		}
		name := ""
		if len(cmd.elems) > 0 {
			name = cmd.elems[0].text
		}
		out, ok := f.replies[name]
		if !ok {
			out = "-ERR unknown command '" + name + "', with args beginning with: \r\n"
		}
		c.Write([]byte(out))
	}
}

// reset closes with an RST rather than a FIN, as a server that drops a
// client at once does.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// peeked is a conn whose first bytes were already buffered.
type peeked struct {
	net.Conn
	r *bufio.Reader
}

func (p peeked) Read(b []byte) (int, error) { return p.r.Read(b) }

// selfSigned makes a throwaway certificate for the TLS stand-in.
func selfSigned(t *testing.T, cn string) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     []string{cn},
		// A CA flag, as openssl req -x509 sets: probe.DescribeTLS only
		// calls a certificate self-signed when it may sign.
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// bulk frames text as a RESP bulk string.
func bulk(text string) string {
	return "$" + strconv.Itoa(len(text)) + "\r\n" + text + "\r\n"
}
