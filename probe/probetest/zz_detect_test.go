package probetest

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/all"
)

// relayBase is where the test puts a relay to each of the bed's
// firebase-servers (the bed starts them on free ports), one loopback address
// each from it, at 9000: the port the Realtime Database emulator and
// firebase-server listen on by default.
var relayBase = netip.MustParseAddrPort("127.0.93.9:9000")

// TestDetectionOnBed scans every test-bed server with no hint: each is on
// a port of the bed's choosing, which no prober claims, so detection has to
// identify it (probe/detect.go). The verdict and store must be the hinted
// scan's own, for every configuration: nothing misidentified, nothing
// missed. firebase-server is met behind a relay on 9000, its default port.
//
// It sends every store's requests to every server, which is what detection
// does: the read-only proofs that read a whole server log
// (TestReadOnlyPostgresMemcached counts memcached's -vv lines since start)
// would take another store's INFO or GET for a request that is not a read.
// So this file's name sorts last and the test runs after them.
func TestDetectionOnBed(t *testing.T) {
	bed := testbed.Require(t)
	// Every bed server listens on 127.0.0.1: with the default per-host
	// limit (16) the fifty detections would share sixteen connections and
	// race one prober at a time, which says nothing of what one server on
	// its own address costs. The per-host limit's hold on the race is
	// TestTryMoreKeepsPerHost's.
	cfg := probe.Config{Workers: 64, Detect: true, PerHost: 1024}
	hintedEng, err := probe.New(cfg, all.Registry())
	if err != nil {
		t.Fatal(err)
	}
	in, servers := feed(bed.Servers)
	want := map[string]*gown.Result{}
	if err := hintedEng.WithDialer(Dialer(t)).Run(t.Context(), in, func(r *gown.Result) { want[r.Target.Dial()] = r }); err != nil {
		t.Fatal(err)
	}

	bare := make(chan gown.Target, len(bed.Servers))
	viaRelay := map[string]string{} // relay target → server's address
	relayAddr := relayBase
	for _, s := range bed.Servers {
		if k := kindOf(s); k.HintOnly && len(k.DetectPorts) == 0 {
			// A bucket is reached only through its name (s3): there is
			// nothing to detect on a bare address.
			delete(servers, hinted(s).Dial())
			continue
		}
		a := s.Addr.Addr()
		tg := gown.Target{Host: a.String(), Addr: a, Port: int(s.Addr.Port()), Origin: "test"}
		if kindOf(s).HintOnly {
			at := relay(t, &relayAddr, s.Addr)
			tg = gown.Target{Host: at.Addr().String(), Addr: at.Addr(), Port: int(at.Port()), Origin: "test"}
			viaRelay[tg.Dial()] = hinted(s).Dial()
		}
		bare <- tg
	}
	close(bare)
	eng, err := probe.New(cfg, all.Registry())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*gown.Result{}
	if err := eng.WithDialer(Dialer(t)).Run(t.Context(), bare, func(r *gown.Result) {
		key := r.Target.Dial()
		if k, ok := viaRelay[key]; ok {
			key = k
		}
		got[key] = r
	}); err != nil {
		t.Fatal(err)
	}
	for key, s := range servers {
		w, g := want[key], got[key]
		switch {
		case w == nil:
			t.Errorf("%s: no hinted result", s.Name)
		case g == nil:
			t.Errorf("%s: no result without a hint", s.Name)
		case g.Store != w.Store || g.Status != w.Status:
			t.Errorf("%s: detected as %q %s (%s; %s) in %s, hinted %q %s", s.Name, g.Store, g.Status, g.Reason, g.Error, g.Duration, w.Store, w.Status)
			for _, ev := range g.Evidence {
				t.Logf("  %s: sent %q received %q", ev.Step, ev.Sent, ev.Received)
			}
		default:
			t.Logf("%-24s %-14s %-14s detected in %s (hinted %s)", s.Name, g.Store, g.Status, g.Duration.Round(time.Millisecond), w.Duration.Round(time.Millisecond))
		}
	}
}

// relay forwards every connection to the first free address from *next on
// (port kept) onto to, until the test ends: a plain TCP relay, the real
// server behind it. It returns the relay's address and moves *next past it.
func relay(t *testing.T, next *netip.AddrPort, to netip.AddrPort) netip.AddrPort {
	t.Helper()
	var ln net.Listener
	var err error
	at := *next
	for range 100 { // another process may hold one: the machine is shared
		if ln, err = net.Listen("tcp", at.String()); err == nil {
			break
		}
		at = netip.AddrPortFrom(at.Addr().Next(), at.Port())
	}
	if err != nil {
		t.Fatalf("relay on %s: %v", at, err)
	}
	*next = netip.AddrPortFrom(at.Addr().Next(), at.Port())
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				u, err := net.Dial("tcp", to.String())
				if err != nil {
					return
				}
				defer u.Close()
				go func() { io.Copy(u, c); u.(*net.TCPConn).CloseWrite() }()
				io.Copy(c, u)
			})
		}
	})
	return at
}
