package couchbase

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// FuzzResponse runs the whole prober against a loopback peer that answers
// GET /pools with the first fuzzed reply and any other request with the
// second, then closes. Whatever the bytes, Probe must not panic and must
// either place the peer, with a reason and the evidence, or say why it could
// not; only Couchbase Server may be open, and the inventory keeps its cap.
func FuzzResponse(f *testing.F) {
	f.Add([]byte(cbReply(200, pools72)), []byte(cbReply(200, buckets2)))
	f.Add([]byte(cbReply(200, pools72)), []byte(cbReply(401, "", realm)))
	f.Add([]byte(cbReply(401, "", realm)), []byte{})
	f.Add([]byte(cbReply(200, poolsUninit)), []byte(cbReply(404, `"Unknown pool"`)))
	f.Add([]byte(cbReply(200, pools45)), []byte(cbReply(200, `[{"name":"x","basicStats":{"itemCount":-1e400}}]`)))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"im\r\n"), []byte{})
	f.Add([]byte("-ERR\r\n"), []byte{})
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: time.Second})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, pools, buckets []byte) {
		tg := rawPeer(t, pools, buckets)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		r, err := New().Probe(ctx, tg, d)
		switch {
		case r == nil && err == nil:
			t.Fatal("no result and no error")
		case r == nil:
			return
		case r.Status == "" || r.Reason == "" || len(r.Evidence) == 0:
			t.Fatalf("result without status, reason or evidence: %+v", r)
		case r.Status == gown.StatusOpen && (r.Inventory == nil || r.Product != product):
			t.Fatalf("open without inventory or product: %+v", r)
		case r.Inventory != nil && len(r.Inventory.Databases) > maxBuckets:
			t.Fatalf("%d buckets listed, cap %d", len(r.Inventory.Databases), maxBuckets)
		}
	})
}

// rawPeer answers each connection by its request path, half-closes and
// lingers for a moment so that no input can stall a run.
func rawPeer(t *testing.T, pools, buckets []byte) gown.Target {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(2 * time.Second))
			reply := buckets
			if req, err := http.ReadRequest(bufio.NewReader(c)); err == nil && req.URL.Path == poolsPath {
				reply = pools
			}
			c.Write(reply)
			c.(*net.TCPConn).CloseWrite()
			c.Read(make([]byte, 64))
			c.Close()
		}
	}()
	ap := netip.MustParseAddrPort(ln.Addr().String())
	return gown.Target{Host: "cb.example", Addr: ap.Addr(), Port: int(ap.Port())}
}
