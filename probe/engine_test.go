package probe

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gownscan/gown"
)

// echoProber is a test prober: it dials, sends "HELLO\n" and calls the
// service open when the reply starts with "OK".
type echoProber struct {
	name  string
	ports []int
	busy  atomic.Int32 // probes in flight
	peak  atomic.Int32
}

func (p *echoProber) Kind() gown.StoreKind { return gown.StoreKind{Name: p.name, Ports: p.ports} }
func (p *echoProber) Probe(ctx context.Context, t gown.Target, d Dialer) (*gown.Result, error) {
	n := p.busy.Add(1)
	defer p.busy.Add(-1)
	for {
		old := p.peak.Load()
		if n <= old || p.peak.CompareAndSwap(old, n) {
			break
		}
	}
	c, err := d.Dial(ctx, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.Step("HELLO")
	if _, err := c.Write([]byte("HELLO\n")); err != nil {
		return nil, err
	}
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	if string(buf) != "OK" {
		return nil, gown.ErrNotService
	}
	return &gown.Result{Target: t, Status: gown.StatusOpen, Evidence: c.Evidence()}, nil
}

// listen starts a loopback server that runs handle for each connection.
func listen(t *testing.T, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, ln, handle)
}

// serveOn runs handle for each connection ln accepts, until the test ends.
func serveOn(t *testing.T, ln net.Listener, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1) // the accept loop counts too, so no Add ever races a Wait at zero
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); handle(c) }()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

func okServer(delay time.Duration) func(net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, 6)
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		time.Sleep(delay)
		c.Write([]byte("OK"))
	}
}

func feed(ts ...gown.Target) <-chan gown.Target {
	ch := make(chan gown.Target, len(ts))
	for _, t := range ts {
		ch <- t
	}
	close(ch)
	return ch
}

func tgt(ap netip.AddrPort) gown.Target {
	return gown.Target{Host: ap.Addr().String(), Addr: ap.Addr(), Port: int(ap.Port())}
}

func TestEngineVerdictsAndEvidence(t *testing.T) {
	open := listen(t, okServer(0))
	closedLn, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := netip.MustParseAddrPort(closedLn.Addr().String())
	closedLn.Close()

	p := &echoProber{name: "echo", ports: []int{int(open.Port()), int(closed.Port())}}
	eng, err := New(Config{Workers: 4, All: true}, NewRegistry(p))
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint16]*gown.Result{}
	if err := eng.Run(t.Context(), feed(tgt(open), tgt(closed)), func(r *gown.Result) { got[uint16(r.Target.Port)] = r }); err != nil {
		t.Fatal(err)
	}
	if r := got[open.Port()]; r == nil || r.Status != gown.StatusOpen || r.Store != "echo" || len(r.Evidence) != 1 ||
		r.Evidence[0].Sent != `HELLO\n` || r.Evidence[0].Received != "OK" {
		t.Errorf("open result = %+v", r)
	}
	if r := got[closed.Port()]; r == nil || r.Status != gown.StatusClosed || r.Store != "" {
		t.Errorf("closed result = %+v", r)
	}
}

func TestEnginePerHostLimit(t *testing.T) {
	var ports []int
	var targets []gown.Target
	for range 12 {
		ap := listen(t, okServer(30*time.Millisecond))
		ports = append(ports, int(ap.Port()))
		targets = append(targets, tgt(ap))
	}
	p := &echoProber{name: "echo", ports: ports}
	eng, err := New(Config{Workers: 12, PerHost: 3}, NewRegistry(p))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := eng.Run(t.Context(), feed(targets...), func(*gown.Result) { n++ }); err != nil {
		t.Fatal(err)
	}
	if n != 12 {
		t.Fatalf("%d results, want 12", n)
	}
	if peak := p.peak.Load(); peak > 3 {
		t.Fatalf("%d probes at once on one host, limit 3", peak)
	}
	if eng.hosts.m == nil || len(eng.hosts.m) != 0 {
		t.Fatalf("host limiter kept %d entries after the scan", len(eng.hosts.m))
	}
}

// countingDialer records when each connection was opened.
type countingDialer struct {
	Dialer
	mu    sync.Mutex
	times []time.Time
}

func (c *countingDialer) Dial(ctx context.Context, t gown.Target) (*Conn, error) {
	conn, err := c.Dialer.Dial(ctx, t) // waits for the rate limiter first
	c.mu.Lock()
	c.times = append(c.times, time.Now())
	c.mu.Unlock()
	return conn, err
}

func TestEngineRate(t *testing.T) {
	ap := listen(t, okServer(0))
	p := &echoProber{name: "echo", ports: []int{int(ap.Port())}}
	eng, err := New(Config{Workers: 32, Dialer: DialerConfig{Rate: 50}}, NewRegistry(p))
	if err != nil {
		t.Fatal(err)
	}
	cd := &countingDialer{Dialer: eng.dialer}
	eng.WithDialer(cd)
	var ts []gown.Target
	for range 30 {
		ts = append(ts, tgt(ap))
	}
	if err := eng.Run(t.Context(), feed(ts...), func(*gown.Result) {}); err != nil {
		t.Fatal(err)
	}
	// 30 connections at 50/s with a burst of 5 cannot fit in less than
	// (30-5)/50 s = 0.5 s; the check is on the dial times, not a timer.
	slices.SortFunc(cd.times, time.Time.Compare)
	span := cd.times[len(cd.times)-1].Sub(cd.times[0])
	if span < 450*time.Millisecond {
		t.Fatalf("30 dials took %s at --rate 50; the limit did not hold", span)
	}
}

func TestEngineCancelStopsAtOnceAndKeepsResults(t *testing.T) {
	fast := listen(t, okServer(0))
	stuck := listen(t, func(c net.Conn) { io.Copy(io.Discard, c) }) // reads, never answers
	p := &echoProber{name: "echo", ports: []int{int(fast.Port()), int(stuck.Port())}}
	eng, err := New(Config{Workers: 4, Timeout: time.Minute, Dialer: DialerConfig{IOTimeout: time.Minute}}, NewRegistry(p))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var got []*gown.Result
	done := make(chan error)
	go func() {
		done <- eng.Run(ctx, feed(tgt(fast), tgt(stuck), tgt(stuck)), func(r *gown.Result) {
			got = append(got, r)
			cancel() // the user presses Ctrl-C once the first result is in
		})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if len(got) != 1 || got[0].Status != gown.StatusOpen {
		t.Fatalf("results after cancel: %+v", got)
	}
}

func TestRegistryPanicsOnDuplicate(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("duplicate name accepted")
		}
	}()
	NewRegistry(&echoProber{name: "x", ports: []int{1}}, &echoProber{name: "x", ports: []int{2}})
}
