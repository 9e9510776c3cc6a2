package firebase

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// FuzzResponse runs the whole prober against a loopback peer that answers
// the request with the fuzzed bytes and closes. Whatever the bytes, Probe
// must not panic and must either place the peer, with a reason and the
// evidence, or say why it could not; only a Firebase reply may be open.
func FuzzResponse(f *testing.F) {
	for _, s := range []string{replyShallow, replyNull, replyDenied, replyMissing, replyDisabled, replyRegion,
		httpReply(200, `{"a":{"b":[1,2,{"c":null}]},"d":"x"}`), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n0\r\n\r\n",
		"-ERR unknown command\r\n", ""} {
		f.Add([]byte(s))
	}
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: time.Second})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, reply []byte) {
		tg := rawPeer(t, reply)
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
		case r.Inventory != nil && (r.Inventory.Items > maxKeys || len(r.Inventory.Databases) > maxListed):
			t.Fatalf("inventory past its caps: %d items, %d listed", r.Inventory.Items, len(r.Inventory.Databases))
		}
	})
}

// rawPeer serves reply to every connection, half-closes, and waits for the
// request so that no input can stall a run.
func rawPeer(t *testing.T, reply []byte) gown.Target {
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
			c.Write(reply)
			c.(*net.TCPConn).CloseWrite()
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			c.Read(make([]byte, 512))
			c.Close()
		}
	}()
	ap := netip.MustParseAddrPort(ln.Addr().String())
	return gown.Target{Host: "gown-test.firebaseio.com", Addr: ap.Addr(), Port: int(ap.Port()), Hint: "firebase"}
}
