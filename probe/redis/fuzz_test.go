package redis

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// FuzzProbe runs the whole prober against a loopback peer that sends the
// three fuzzed replies (to INFO, PING and DBSIZE) back to back and then
// half-closes, so that no input can stall a run. Whatever the bytes, Probe
// must not panic and must either place the peer, with a reason and the
// evidence, or say why it could not.
func FuzzProbe(f *testing.F) {
	f.Add([]byte(bulk(info7)), []byte{}, []byte{})
	f.Add([]byte(noperm7), []byte(":3\r\n"), []byte{})
	f.Add([]byte("-ERR unknown command 'INFO', with args beginning with: \r\n"), []byte("+PONG\r\n"), []byte(":7\r\n"))
	f.Add([]byte("-ERR unknown command 'INFO'\r\n"), []byte(noauth7), []byte{})
	f.Add([]byte("HTTP/1.0 400 Bad Request\r\n\r\n"), []byte{}, []byte{})
	f.Add([]byte("$10\r\nredis_vers"), []byte{}, []byte{})

	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: time.Second})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, info, ping, dbsize []byte) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Write(append(append(append([]byte(nil), info...), ping...), dbsize...))
				c.(*net.TCPConn).CloseWrite()
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				c.Read(make([]byte, 512)) // let the request land before closing
				c.Close()
			}
		}()
		tg := gown.Target{Host: "127.0.0.1", Addr: netip.MustParseAddr("127.0.0.1"), Port: ln.Addr().(*net.TCPAddr).Port}
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
		case r.Inventory != nil && r.Status == gown.StatusNotService:
			t.Fatalf("inventory on a peer that is not Redis: %+v", r)
		}
	})
}
