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
	product           string // set on an identified result: a strong claim
	ports             []int
	calls             atomic.Int32
	open, most        *atomic.Int32 // when set: probes running at once, and the most seen
}

func (p *lineProber) Kind() gown.StoreKind {
	return gown.StoreKind{Name: p.name, Ports: p.ports}
}

func (p *lineProber) Probe(ctx context.Context, t gown.Target, d Dialer) (*gown.Result, error) {
	p.calls.Add(1)
	if p.open != nil {
		n := p.open.Add(1)
		defer p.open.Add(-1)
		for m := p.most.Load(); n > m && !p.most.CompareAndSwap(m, n); m = p.most.Load() {
		}
	}
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
	return &gown.Result{Target: t, Status: gown.StatusOpen, Reason: line, Product: p.product}, nil
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
	for i := range 2 { // two more slots are free
		if !h.tryMore(tg, s) {
			t.Fatalf("tryMore refused free slot %d", i+2)
		}
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

// TestRaceIsStaged: detection runs at most RaceWidth probers at once on a
// port, starting the next as one ends, so a server meets a few connections
// at a time however many probers there are; the one prober whose question
// it answers still identifies it.
func TestRaceIsStaged(t *testing.T) {
	srv := listen(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if strings.TrimSpace(line) == "Q7" {
				fmt.Fprintln(c, "A7")
			} else {
				fmt.Fprintln(c, "WHAT?") // a wrong request is refused at once
			}
		}
	})
	var open, most atomic.Int32
	var ps []Prober
	var lps []*lineProber
	for i := 1; i <= 7; i++ {
		p := &lineProber{name: fmt.Sprintf("p%d", i), ask: fmt.Sprintf("Q%d", i), answer: fmt.Sprintf("A%d", i), ports: []int{i},
			open: &open, most: &most}
		ps, lps = append(ps, p), append(lps, p)
	}
	eng, err := New(Config{Workers: 2, Detect: true, RaceWidth: 2, BannerWait: 50 * time.Millisecond}, NewRegistry(ps...))
	if err != nil {
		t.Fatal(err)
	}
	var got *gown.Result
	if err := eng.Run(t.Context(), feed(tgt(srv)), func(r *gown.Result) { got = r }); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Store != "p7" || got.Status != gown.StatusOpen {
		t.Fatalf("identified %+v; want p7", got)
	}
	if m := most.Load(); m > 2 {
		t.Errorf("%d probers ran at once with RaceWidth 2", m)
	}
	for _, p := range lps {
		if p.calls.Load() != 1 {
			t.Errorf("%s called %d times; want each prober once", p.name, p.calls.Load())
		}
	}
}

// TestStagedRaceOnTarpit: on a port that accepts and never answers, the
// first stage waits out the first-byte deadline and the probers not yet
// started then start at once with a banner wait's deadline: the tarpit costs
// one first-byte deadline, not one per stage.
func TestStagedRaceOnTarpit(t *testing.T) {
	pit := listen(t, tarpit)
	var ps []Prober
	for i := 1; i <= 7; i++ {
		ps = append(ps, &lineProber{name: fmt.Sprintf("p%d", i), ask: "Q", answer: "A", ports: []int{i}})
	}
	const firstByte = time.Second
	eng, err := New(Config{Workers: 2, Detect: true, RaceWidth: 2, BannerWait: 50 * time.Millisecond, FirstByte: firstByte,
		Timeout: time.Minute, Dialer: DialerConfig{IOTimeout: time.Minute}}, NewRegistry(ps...))
	if err != nil {
		t.Fatal(err)
	}
	var got *gown.Result
	if err := eng.Run(t.Context(), feed(tgt(pit)), func(r *gown.Result) { got = r }); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Status != gown.StatusUnknown || got.Store != "" {
		t.Fatalf("tarpit: %+v", got)
	}
	// Four stages of two would take four first-byte deadlines.
	if got.Duration >= 2*firstByte {
		t.Errorf("tarpit took %s: the stages after the first waited the first-byte deadline too", got.Duration)
	}
	for _, p := range ps {
		if c := p.(*lineProber).calls.Load(); c != 1 {
			t.Errorf("%s called %d times; want once", p.Kind().Name, c)
		}
	}
}

// TestWeakClaimsGoByOrder: two probers both read a server's reply as
// theirs with nothing naming the product (a bare 401 is Elasticsearch's and
// CouchDB's alike); the one earlier in detection's order wins though its
// reply comes later, so the verdict does not hang on timing. A claim that
// names its product wins at once.
func TestWeakClaimsGoByOrder(t *testing.T) {
	srv := listen(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		switch strings.TrimSpace(line) {
		case "SLOW":
			time.Sleep(100 * time.Millisecond)
			fmt.Fprintln(c, "DENIED")
		case "FAST", "NAMED":
			fmt.Fprintln(c, "DENIED")
		}
		tarpit(c)
	})
	run := func(ps ...Prober) *gown.Result {
		t.Helper()
		eng, err := New(Config{Workers: 2, Detect: true, BannerWait: 300 * time.Millisecond}, NewRegistry(ps...))
		if err != nil {
			t.Fatal(err)
		}
		var got *gown.Result
		if err := eng.Run(t.Context(), feed(tgt(srv)), func(r *gown.Result) { got = r }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	slow := &lineProber{name: "first", ask: "SLOW", answer: "DENIED", ports: []int{1}}
	fast := &lineProber{name: "second", ask: "FAST", answer: "DENIED", ports: []int{2}}
	if r := run(slow, fast); r == nil || r.Store != "first" {
		t.Errorf("weak claims: %+v; want the first in order", r)
	}
	named := &lineProber{name: "named", ask: "NAMED", answer: "DENIED", product: "Named", ports: []int{3}}
	if r := run(&lineProber{name: "first", ask: "SLOW", answer: "DENIED", ports: []int{1}}, named); r == nil || r.Store != "named" {
		t.Errorf("a named claim: %+v; want it over the weak claim earlier in order", r)
	}
}

// greetProber is a server-first test prober: it reads the server's first
// line and identifies its store when it is the greeting.
type greetProber struct{ calls atomic.Int32 }

func (*greetProber) Kind() gown.StoreKind {
	return gown.StoreKind{Name: "greeter", Ports: []int{1}, ServerFirst: true}
}

func (p *greetProber) Probe(ctx context.Context, t gown.Target, d Dialer) (*gown.Result, error) {
	p.calls.Add(1)
	c, err := d.Dial(ctx, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(line) != "HELLO" {
		return &gown.Result{Target: t, Status: gown.StatusNotService}, nil
	}
	return &gown.Result{Target: t, Status: gown.StatusOpen, Product: "Greeter"}, nil
}

// TestLateGreeting: a server-first store that greets after the banner wait
// (a MySQL resolving the client's name first) is still identified: the
// banner's connection keeps reading through the race, and its greeting ends
// the race for the server-first probers.
func TestLateGreeting(t *testing.T) {
	srv := listen(t, func(c net.Conn) {
		time.Sleep(250 * time.Millisecond)
		fmt.Fprintln(c, "HELLO")
		tarpit(c)
	})
	g := &greetProber{}
	a := &lineProber{name: "asker", ask: "Q", answer: "A", ports: []int{2}}
	eng, err := New(Config{Workers: 2, Detect: true, BannerWait: 50 * time.Millisecond}, NewRegistry(g, a))
	if err != nil {
		t.Fatal(err)
	}
	var got *gown.Result
	if err := eng.Run(t.Context(), feed(tgt(srv)), func(r *gown.Result) { got = r }); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Store != "greeter" || got.Status != gown.StatusOpen {
		t.Fatalf("late greeting: %+v; want the server-first store", got)
	}
	if g.calls.Load() != 1 || a.calls.Load() != 1 {
		t.Errorf("greeter ran %d times, asker %d; want once each (the race ran, then the greeting ended it)", g.calls.Load(), a.calls.Load())
	}
}
