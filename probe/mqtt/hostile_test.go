package mqtt

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// hostileBroker accepts one connection, answers CONNECT, SUBSCRIBE and
// PINGREQ as a broker does, then runs stream on the connection. It is a
// hostile peer written for this test, not a broker stand-in: the verdicts
// against a real broker are in real_test.go.
func hostileBroker(t *testing.T, stream func(net.Conn)) gown.Target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		if _, err := readPacket(br); err != nil { // CONNECT
			return
		}
		c.Write([]byte{typeConnack << 4, 2, 0, 0})
		if _, err := readPacket(br); err != nil { // SUBSCRIBE
			return
		}
		c.Write([]byte{typeSuback << 4, 4, 0, 1, 0, 0})
		if _, err := readPacket(br); err != nil { // PINGREQ
			return
		}
		c.Write([]byte{typePingresp << 4, 0})
		stream(c)
	}()
	ap := netip.MustParseAddrPort(ln.Addr().String())
	return gown.Target{Host: ap.Addr().String(), Addr: ap.Addr(), Port: int(ap.Port())}
}

// TestHostileFlood: a broker that streams messages as fast as it can, on
// ever new topics, costs at most the connection's read cap and the window:
// the probe returns in time, open, with a truncated inventory of bounded
// size.
func TestHostileFlood(t *testing.T) {
	tg := hostileBroker(t, func(c net.Conn) {
		var i int
		for {
			i++
			topic := "flood/" + string(rune('a'+i%26)) + "/" + time.Now().Format("150405.000000000")
			body := appendString(nil, topic)
			body = append(body, "{\"lat\":1.5}"...)
			if _, err := c.Write(append(appendLength([]byte{typePublish << 4}, len(body)), body...)); err != nil {
				return
			}
		}
	})
	d, err := probe.NewDialer(probe.DialerConfig{MaxRead: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	began := time.Now()
	r, err := (&Prober{Window: time.Second}).Probe(ctx, tg, d)
	took := time.Since(began)
	if r == nil || r.Status != gown.StatusOpen || r.Inventory == nil || !r.Inventory.Truncated {
		t.Fatalf("result %+v, error %v", r, err)
	}
	if took > 3*time.Second {
		t.Errorf("took %s against a flood with a 1 s window", took)
	}
	if r.Inventory.Items == 0 || r.Inventory.Items > maxTopics {
		t.Errorf("%d topics kept, cap %d", r.Inventory.Items, maxTopics)
	}
	t.Logf("flood: %s in %s, %d topics, details %v", r.Status, took.Round(time.Millisecond), r.Inventory.Items, r.Details)
}

// TestHostileOversized: a PUBLISH announcing 200 MB is skipped as it is
// read, never held, and the read cap ends it.
func TestHostileOversized(t *testing.T) {
	tg := hostileBroker(t, func(c net.Conn) {
		c.Write(appendLength([]byte{typePublish << 4}, 200<<20))
		chunk := make([]byte, 64<<10)
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	})
	d, err := probe.NewDialer(probe.DialerConfig{MaxRead: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	r, err := (&Prober{Window: time.Second}).Probe(ctx, tg, d)
	if r == nil || r.Status != gown.StatusOpen || r.Inventory == nil || !r.Inventory.Truncated || r.Inventory.Items != 0 {
		t.Fatalf("result %+v, error %v", r, err)
	}
}
