package probe

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gownscan/gown"
)

// lineProber is a client-first test prober over the real dialer: it sends
// its question and identifies its store when the first line of the reply is
// its answer. Anything else is not its store.
type lineProber struct {
	name, ask, answer string
	ports             []int
	calls             atomic.Int32
}

func (p *lineProber) Kind() gown.StoreKind {
	return gown.StoreKind{Name: p.name, Ports: p.ports}
}

func (p *lineProber) Probe(ctx context.Context, t gown.Target, d Dialer) (*gown.Result, error) {
	p.calls.Add(1)
	c, err := d.Dial(ctx, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "%s\n", p.ask); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", p.name, t, err)
	}
	if strings.TrimSpace(line) != p.answer {
		return &gown.Result{Target: t, Status: gown.StatusNotService}, nil
	}
	return &gown.Result{Target: t, Status: gown.StatusOpen, Reason: line}, nil
}

// answers serves a line protocol: it replies to the question it knows and
// stays silent on anything else, as many servers do on another protocol's
// request.
func answers(ask, answer string) func(net.Conn) {
	return func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if strings.TrimSpace(line) == ask {
				fmt.Fprintf(c, "%s\n", answer)
			}
		}
	}
}

// tarpit accepts and never answers; it reads what it is sent.
func tarpit(c net.Conn) {
	var b [512]byte
	for {
		if _, err := c.Read(b[:]); err != nil {
			return
		}
	}
}

// TestTarpitCostsFirstByteNotIOTimeout: a hinted target that accepts and
// never answers is given up after FirstByte, not after the I/O timeout or
// the target's deadline (both a minute here: the scan would hang for one
// if the first-byte deadline did not apply).
func TestTarpitCostsFirstByteNotIOTimeout(t *testing.T) {
	pit := listen(t, tarpit)
	p := &lineProber{name: "line", ask: "PING", answer: "PONG", ports: []int{1}}
	eng, err := New(Config{Workers: 2, Timeout: time.Minute, FirstByte: 100 * time.Millisecond,
		Dialer: DialerConfig{IOTimeout: time.Minute}}, NewRegistry(p))
	if err != nil {
		t.Fatal(err)
	}
	tg := tgt(pit)
	tg.Hint = "line"
	var got *gown.Result
	if err := eng.Run(t.Context(), feed(tg), func(r *gown.Result) { got = r }); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Status != gown.StatusUnknown || !strings.Contains(got.Reason, "deadline") {
		t.Fatalf("tarpit: %+v", got)
	}
	if got.Duration >= 30*time.Second {
		t.Errorf("tarpit held its worker %s: the I/O timeout applied, not the first-byte deadline", got.Duration)
	}
}

// TestDeadlineGrowsOnceSpoken: a server that sends its first byte at once
// and the rest of its reply after longer than FirstByte is read to the end:
// once a target has spoken, its reads get the full I/O timeout.
func TestDeadlineGrowsOnceSpoken(t *testing.T) {
	slow := listen(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := br.ReadString('\n'); err != nil {
			return
		}
		c.Write([]byte("PO"))
		time.Sleep(800 * time.Millisecond) // > FirstByte
		c.Write([]byte("NG\n"))
		tarpit(c)
	})
	p := &lineProber{name: "line", ask: "PING", answer: "PONG", ports: []int{int(slow.Port())}}
	eng, err := New(Config{Workers: 2, FirstByte: 200 * time.Millisecond}, NewRegistry(p))
	if err != nil {
		t.Fatal(err)
	}
	var got *gown.Result
	if err := eng.Run(t.Context(), feed(tgt(slow)), func(r *gown.Result) { got = r }); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Status != gown.StatusOpen {
		t.Fatalf("slow but speaking server: %+v", got)
	}
}

// TestDetectionRacesClientFirst: on a port no prober claims, detection
// runs the client-first probers at once on separate connections; the one
// whose question the server answers identifies it, though the probers
// started before it get no reply at all (the server ignores their
// question) and would each wait out the I/O timeout in turn.
func TestDetectionRacesClientFirst(t *testing.T) {
	srv := listen(t, answers("WHO", "ME"))
	pit := listen(t, tarpit)
	a := &lineProber{name: "alpha", ask: "HELLO", answer: "HI", ports: []int{1}}
	b := &lineProber{name: "beta", ask: "PING", answer: "PONG", ports: []int{2}}
	c := &lineProber{name: "gamma", ask: "WHO", answer: "ME", ports: []int{3}}
	eng, err := New(Config{Workers: 2, Detect: true, Timeout: time.Minute, BannerWait: 50 * time.Millisecond,
		Dialer: DialerConfig{IOTimeout: time.Minute}}, NewRegistry(a, b, c))
	if err != nil {
		t.Fatal(err)
	}
	var got []*gown.Result
	if err := eng.Run(t.Context(), feed(tgt(srv), tgt(pit)), func(r *gown.Result) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	byPort := map[int]*gown.Result{}
	for _, r := range got {
		byPort[r.Target.Port] = r
	}
	if r := byPort[int(srv.Port())]; r == nil || r.Store != "gamma" || r.Status != gown.StatusOpen {
		t.Errorf("server answering gamma's question: %+v", r)
	} else if r.Duration >= 30*time.Second {
		t.Errorf("identified after %s: the race waited on the silent probers", r.Duration)
	}
	if r := byPort[int(pit.Port())]; r == nil || r.Store != "" || r.Status != gown.StatusUnknown {
		t.Errorf("tarpit: %+v", r)
	}
	if a.calls.Load() != 2 || b.calls.Load() != 2 || c.calls.Load() != 2 {
		t.Errorf("calls alpha %d beta %d gamma %d, want each prober tried on each target", a.calls.Load(), b.calls.Load(), c.calls.Load())
	}
}

// TestTryMoreKeepsPerHost: detection widens its race only with slots the
// host has free at once, so --per-host holds during detection too.
func TestTryMoreKeepsPerHost(t *testing.T) {
	h := newHostLimiter(3)
	tg := gown.Target{Host: "127.0.0.1", Addr: netip.MustParseAddr("127.0.0.1"), Port: 1}
	s, err := h.acquire(t.Context(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if !h.tryMore(tg, s) || !h.tryMore(tg, s) {
		t.Fatal("tryMore refused a free slot")
	}
	if h.tryMore(tg, s) {
		t.Fatal("tryMore took a fourth slot with --per-host 3")
	}
	h.release(tg, s)
	if !h.tryMore(tg, s) {
		t.Fatal("tryMore refused a slot given back")
	}
	for range 3 {
		h.release(tg, s)
	}
	if len(h.m) != 0 {
		t.Errorf("%d hosts still tracked after every slot was released", len(h.m))
	}
}
