package probe

import (
	"context"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
)

// kindProber is a test prober with a given descriptor. It records that it
// ran and calls the target open without touching the network.
type kindProber struct {
	kind gown.StoreKind
	mu   sync.Mutex
	ran  int
}

func (p *kindProber) Kind() gown.StoreKind { return p.kind }
func (p *kindProber) Probe(_ context.Context, t gown.Target, _ Dialer) (*gown.Result, error) {
	p.mu.Lock()
	p.ran++
	p.mu.Unlock()
	return &gown.Result{Target: t, Status: gown.StatusOpen, Reason: "test"}, nil
}

func (p *kindProber) runs() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ran
}

func names(ps []Prober) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Kind().Name)
	}
	return out
}

// testProbers are a server-first, two client-first and a hint-only prober,
// with the detection ports they claim.
func testProbers() (greeter, asker, other, hinted *kindProber) {
	greeter = &kindProber{kind: gown.StoreKind{Name: "greeter", Ports: []int{3306}, ServerFirst: true,
		Schemes: []gown.Scheme{{Name: "greet", Port: 3306}}}}
	asker = &kindProber{kind: gown.StoreKind{Name: "asker", Ports: []int{6379, 6380},
		Schemes: []gown.Scheme{{Name: "ask", Port: 6379}, {Name: "asks", Port: 6379, TLS: true}}}}
	other = &kindProber{kind: gown.StoreKind{Name: "other", Ports: []int{6379}}}
	hinted = &kindProber{kind: gown.StoreKind{Name: "hinted", HintOnly: true, HostSuffixes: []string{".hinted.example"},
		Schemes: []gown.Scheme{{Name: "hinted", Port: 443, TLS: true}}}}
	return
}

func TestRegistryReadsKinds(t *testing.T) {
	greeter, asker, other, hinted := testProbers()
	r := NewRegistry(asker, greeter, hinted, other)
	if got := r.Ports(); !slices.Equal(got, []int{3306, 6379, 6380}) {
		t.Errorf("Ports() = %v", got)
	}
	if got := names(r.ForPort(6379)); !slices.Equal(got, []string{"asker", "other"}) {
		t.Errorf("ForPort(6379) = %v", got)
	}
	if p, ok := r.Get("hinted"); !ok || p != hinted {
		t.Errorf("Get(hinted) = %v, %v", p, ok)
	}
	sf, cf := r.split()
	if !slices.Equal(names(sf), []string{"greeter"}) || !slices.Equal(names(cf), []string{"asker", "other"}) {
		t.Errorf("split = %v, %v; want the hint-only prober in neither", names(sf), names(cf))
	}
	c := r.Catalog()
	if store, s, ok := c.Scheme("asks"); !ok || store != "asker" || !s.TLS || s.Port != 6379 {
		t.Errorf("Scheme(asks) = %q %+v %v", store, s, ok)
	}
	if k, ok := c.HostKind("db.hinted.example"); !ok || k.Name != "hinted" {
		t.Errorf("HostKind = %+v %v", k, ok)
	}
	if got := len(c.Kinds()); got != 4 {
		t.Errorf("catalog has %d kinds, want 4", got)
	}

	sel, err := r.Select("hinted", "asker")
	if err != nil {
		t.Fatal(err)
	}
	if got := sel.Ports(); !slices.Equal(got, []int{6379, 6380}) {
		t.Errorf("selected Ports() = %v", got)
	}
	if _, _, ok := sel.Catalog().Scheme("greet"); ok {
		t.Error("a selected registry's catalog knows an unselected prober's scheme")
	}
	if _, err := r.Select("nosuch"); err == nil {
		t.Error("Select(nosuch) succeeded")
	}
}

// TestRegistryValidatesKinds: a fault in a descriptor is a programming error
// that stops the program at the first registry built, whichever prober has it.
func TestRegistryValidatesKinds(t *testing.T) {
	ok := gown.StoreKind{Name: "fine", Ports: []int{1}, Schemes: []gown.Scheme{{Name: "fine", Port: 1}}}
	cases := []struct {
		name string
		kind gown.StoreKind
		want string
	}{
		{"empty name", gown.StoreKind{Ports: []int{2}}, "empty name"},
		{"two words", gown.StoreKind{Name: "my store", Ports: []int{2}}, "one lowercase word"},
		{"duplicate name", gown.StoreKind{Name: "fine", Ports: []int{2}}, "registered twice"},
		{"scheme of another prober", gown.StoreKind{Name: "b", Ports: []int{2}, Schemes: []gown.Scheme{{Name: "fine", Port: 2}}}, `scheme "fine" claimed`},
		{"scheme naming no store", gown.StoreKind{Name: "b", Ports: []int{2}, Schemes: []gown.Scheme{{Name: "https", Port: 443}}}, `scheme "https" claimed`},
		{"no ports, not hint-only", gown.StoreKind{Name: "b"}, "hint-only"},
		{"hint-only with ports", gown.StoreKind{Name: "b", Ports: []int{2}, HintOnly: true}, "hint-only"},
		{"port out of range", gown.StoreKind{Name: "b", Ports: []int{70000}}, "out of range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				e := recover()
				if e == nil || !strings.Contains(e.(string), c.want) {
					t.Errorf("panic %v, want one saying %q", e, c.want)
				}
			}()
			NewRegistry(&kindProber{kind: ok}, &kindProber{kind: c.kind})
		})
	}
}

// TestDetectionFollowsKinds runs the engine's detection on ports no prober
// claims: a port that greets gets only the server-first prober, a silent one
// only the client-first ones, and the hint-only prober is never guessed.
func TestDetectionFollowsKinds(t *testing.T) {
	greeter, asker, other, hinted := testProbers()
	eng, err := New(Config{Workers: 2, Detect: true, BannerWait: 300 * time.Millisecond}, NewRegistry(greeter, asker, other, hinted))
	if err != nil {
		t.Fatal(err)
	}
	// Each server holds its connection until gown closes it.
	greets := listen(t, func(c net.Conn) { c.Write([]byte("HI\n")); io.Copy(io.Discard, c) })
	silent := listen(t, func(c net.Conn) { io.Copy(io.Discard, c) })

	run := func(tg gown.Target) *gown.Result {
		t.Helper()
		var got *gown.Result
		if err := eng.Run(t.Context(), feed(tg), func(r *gown.Result) { got = r }); err != nil {
			t.Fatal(err)
		}
		if got == nil {
			t.Fatalf("%s: no result", tg)
		}
		return got
	}
	if r := run(tgt(greets)); r.Store != "greeter" || greeter.runs() != 1 || asker.runs()+other.runs() != 0 {
		t.Errorf("greeting port: store %q, runs greeter %d asker %d other %d", r.Store, greeter.runs(), asker.runs(), other.runs())
	}
	// A silent port races the client-first probers (detect.go): both
	// identify here, and the first to finish wins.
	if r := run(tgt(silent)); (r.Store != "asker" && r.Store != "other") || asker.runs()+other.runs() == 0 || greeter.runs() != 1 {
		t.Errorf("silent port: store %q, runs greeter %d asker %d other %d", r.Store, greeter.runs(), asker.runs(), other.runs())
	}
	if hinted.runs() != 0 {
		t.Error("detection tried the hint-only prober")
	}
	tg := tgt(silent)
	tg.Hint = "hinted"
	if r := run(tg); r.Store != "hinted" || hinted.runs() != 1 {
		t.Errorf("hinted target: store %q, hint-only prober ran %d times", r.Store, hinted.runs())
	}
}
