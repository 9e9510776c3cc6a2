package probe

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gownscan/gown"
)

// TestPortGuessRules checks when a port's tally makes a guess: guessMin
// identifications of one store, guessLead times the others and the misses.
func TestPortGuessRules(t *testing.T) {
	var g portGuesses
	if s := g.guess(5000); s != "" {
		t.Errorf("empty tally guesses %q", s)
	}
	g.named(5000, "redis")
	if s := g.guess(5000); s != "" {
		t.Errorf("1 identification guesses %q, want none before %d", s, guessMin)
	}
	g.named(5000, "redis")
	g.named(5000, "redis")
	if s := g.guess(5000); s != "redis" {
		t.Errorf("3 identifications guess %q, want redis", s)
	}
	g.named(5000, "postgres")
	if s := g.guess(5000); s != "" {
		t.Errorf("3 redis, 1 postgres guess %q, want none (redis must lead %d to 1)", s, guessLead)
	}
	for range 5 {
		g.named(5000, "redis")
	}
	if s := g.guess(5000); s != "redis" {
		t.Errorf("8 redis, 1 postgres guess %q, want redis", s)
	}
	g.missed(5000)
	if s := g.guess(5000); s != "redis" {
		t.Errorf("8 redis, 1 postgres, 1 miss guess %q, want redis (8 = 4 × 2)", s)
	}
	g.missed(5000)
	if s := g.guess(5000); s != "" {
		t.Errorf("8 redis, 1 postgres, 2 misses guess %q, want none", s)
	}
	if s := g.guess(5001); s != "" {
		t.Errorf("another port guesses %q", s)
	}
}

// listenOn listens on port of each of n loopback addresses 127.0.0.1.. and
// serves each with handle(i).
func listenOn(t *testing.T, n int, handle func(i int) func(net.Conn)) []netip.AddrPort {
	t.Helper()
	for try := 0; try < 20; try++ {
		first, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := netip.MustParseAddrPort(first.Addr().String()).Port()
		lns := []net.Listener{first}
		for i := 2; i <= n; i++ {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:%d", i, port))
			if err != nil {
				break
			}
			lns = append(lns, ln)
		}
		if len(lns) < n {
			for _, ln := range lns {
				ln.Close()
			}
			continue
		}
		var aps []netip.AddrPort
		for i, ln := range lns {
			aps = append(aps, serveOn(t, ln, handle(i)))
		}
		return aps
	}
	t.Fatal("no port free on every address")
	return nil
}

// TestGuessByPort: after two targets on one port are detected as gamma,
// the next three are probed by gamma alone over the connection made ahead; a
// sixth on that port that is beta fails the guess within the answer wait,
// and detection names it.
func TestGuessByPort(t *testing.T) {
	aps := listenOn(t, 6, func(i int) func(net.Conn) {
		if i == 5 {
			return answers("PING", "PONG")
		}
		return answers("WHO", "ME")
	})
	a := &lineProber{name: "alpha", ask: "HELLO", answer: "HI", ports: []int{1}, product: "Alpha"}
	b := &lineProber{name: "beta", ask: "PING", answer: "PONG", ports: []int{2}, product: "Beta"}
	c := &lineProber{name: "gamma", ask: "WHO", answer: "ME", ports: []int{3}, product: "Gamma"}
	eng, err := New(Config{Workers: 1, Detect: true, Timeout: time.Minute, BannerWait: 20 * time.Millisecond,
		AnswerWait: 100 * time.Millisecond, Dialer: DialerConfig{IOTimeout: time.Minute}}, NewRegistry(a, b, c))
	if err != nil {
		t.Fatal(err)
	}
	var ts []gown.Target
	for _, ap := range aps {
		ts = append(ts, tgt(ap))
	}
	got := map[netip.Addr]*gown.Result{}
	start := time.Now()
	if err := eng.Run(t.Context(), feed(ts...), func(r *gown.Result) { got[r.Target.Addr] = r }); err != nil {
		t.Fatal(err)
	}
	for i, ap := range aps {
		want := "gamma"
		if i == 5 {
			want = "beta"
		}
		if r := got[ap.Addr()]; r == nil || r.Store != want || r.Status != gown.StatusOpen {
			t.Errorf("%s: %+v, want %s open", ap, r, want)
		}
	}
	// alpha and beta raced on targets 1-2 and 6; gamma also ran alone on
	// 3-6 (the guess that failed on 6 included).
	if a.calls.Load() != 3 || b.calls.Load() != 3 || c.calls.Load() != 7 {
		t.Errorf("calls alpha %d beta %d gamma %d, want 3, 3, 7", a.calls.Load(), b.calls.Load(), c.calls.Load())
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("scan took %s: the wrong guess waited past the answer wait", took)
	}
}

// TestGuessAfterBannerWait: targets on one port that arrive while the first
// ones are still in their banner wait are guessed when theirs ends, once
// the port has been named meanwhile, instead of racing. Six gamma servers
// come 40 ms apart with a banner wait of 150 ms: the first two race (alpha,
// beta and gamma each called), the other four are named by gamma alone;
// before, the three that arrived before the second identification raced
// too.
func TestGuessAfterBannerWait(t *testing.T) {
	aps := listenOn(t, 6, func(int) func(net.Conn) { return answers("WHO", "ME") })
	a := &lineProber{name: "alpha", ask: "HELLO", answer: "HI", ports: []int{1}, product: "Alpha"}
	b := &lineProber{name: "beta", ask: "PING", answer: "PONG", ports: []int{2}, product: "Beta"}
	c := &lineProber{name: "gamma", ask: "WHO", answer: "ME", ports: []int{3}, product: "Gamma"}
	eng, err := New(Config{Workers: 8, Detect: true, Timeout: time.Minute, BannerWait: 150 * time.Millisecond,
		AnswerWait: 100 * time.Millisecond, Dialer: DialerConfig{IOTimeout: time.Minute}}, NewRegistry(a, b, c))
	if err != nil {
		t.Fatal(err)
	}
	in := make(chan gown.Target)
	go func() {
		defer close(in)
		for _, ap := range aps {
			in <- tgt(ap)
			time.Sleep(40 * time.Millisecond)
		}
	}()
	got := map[netip.Addr]*gown.Result{}
	if err := eng.Run(t.Context(), in, func(r *gown.Result) { got[r.Target.Addr] = r }); err != nil {
		t.Fatal(err)
	}
	for _, ap := range aps {
		if r := got[ap.Addr()]; r == nil || r.Store != "gamma" || r.Status != gown.StatusOpen {
			t.Errorf("%s: %+v, want gamma open", ap, r)
		}
	}
	if a.calls.Load() != 2 || b.calls.Load() != 2 || c.calls.Load() != 6 {
		t.Errorf("calls alpha %d beta %d gamma %d, want 2, 2, 6", a.calls.Load(), b.calls.Load(), c.calls.Load())
	}
}
