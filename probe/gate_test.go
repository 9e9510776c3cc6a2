package probe

import (
	"context"
	"testing"
	"time"
)

// TestDialGate checks the gate's rules: slots up to the limit, a waiter
// served in order when one is given back, a slot that goes stale given back
// by itself, a cancelled waiter leaving no slot behind, the limit halved on
// a busy tick down to gateMin and doubled on an idle one only while
// connectors wait, waking them.
func TestDialGate(t *testing.T) {
	var g *dialGate
	state := func() (limit, fresh, waiting int) {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.limit, g.fresh, len(g.waiters)
	}
	setLimit := func(n int) {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.limit = n
	}
	g = newDialGate(256)
	if l, _, _ := state(); l != 2*gateMin {
		t.Fatalf("starts at %d, want %d", l, 2*gateMin)
	}
	setLimit(2)
	r1, err := g.acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := g.acquire(t.Context())
	got := make(chan func(), 1)
	go func() {
		r, err := g.acquire(t.Context())
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	select {
	case <-got:
		t.Fatal("a third slot past a limit of 2")
	case <-time.After(20 * time.Millisecond):
	}
	r1()
	r1() // a second release gives back nothing more
	r3 := <-got
	if _, f, _ := state(); f != 2 {
		t.Errorf("%d slots counted after a hand-over, want 2", f)
	}
	// A slot in flight for gateStale is given back by the sweep.
	g.sweep(time.Now().Add(gateStale / 2))
	if _, fresh, _ := state(); fresh != 2 {
		t.Errorf("%d slots counted before gateStale, want 2", fresh)
	}
	g.sweep(time.Now().Add(gateStale))
	if _, fresh, _ := state(); fresh != 0 {
		t.Errorf("%d slots counted after gateStale, want 0", fresh)
	}
	r2()
	r3()
	if _, f, _ := state(); f != 0 {
		t.Errorf("late releases counted again: %d", f)
	}
	// A waiter whose ctx ends leaves nothing held.
	setLimit(1)
	hold, _ := g.acquire(t.Context())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, err := g.acquire(ctx); err == nil {
		t.Error("acquire past the limit returned before its ctx ended")
	}
	hold()
	if _, f, w := state(); f != 0 || w != 0 {
		t.Errorf("after a cancelled wait: %d counted, %d waiting", f, w)
	}

	g = newDialGate(1024)
	for range 10 {
		g.adjust(0.01)
	}
	if l, _, _ := state(); l != gateMin {
		t.Errorf("busy ticks left the limit at %d, want %d", l, gateMin)
	}
	g.adjust(0.5)
	if l, _, _ := state(); l != gateMin {
		t.Errorf("an idle tick with no connector waiting raised the limit to %d", l)
	}
	// fill takes n slots, then starts one connector more, which waits at
	// the gate, runs adjust's tick, and waits for the waiter to be served
	// (its slot given back at once).
	fill := func(n int, idle float64) (holds []func()) {
		for range n {
			r, _ := g.acquire(t.Context())
			holds = append(holds, r)
		}
		got := make(chan struct{})
		go func() {
			if r, err := g.acquire(t.Context()); err == nil {
				r()
			}
			close(got)
		}()
		for {
			if _, _, w := state(); w == 1 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		g.adjust(idle)
		<-got
		return holds
	}
	holds := fill(gateMin, 0.5)
	if l, _, _ := state(); l != 2*gateMin {
		t.Errorf("an idle tick with a connector waiting: limit %d, want %d", l, 2*gateMin)
	}
	for _, r := range holds {
		r()
	}
	if _, f, _ := state(); f != 0 {
		t.Errorf("%d slots counted after all were given back", f)
	}

	// Far connects: a busy machine does not shrink the gate, and connectors
	// waiting grow it.
	g = newDialGate(1024)
	g.record(50 * time.Millisecond)
	g.adjust(0.01)
	if l, _, _ := state(); l != 2*gateMin {
		t.Errorf("a busy tick with far connects moved the limit to %d, want %d", l, 2*gateMin)
	}
	holds = fill(2*gateMin, 0.01)
	if l, _, _ := state(); l != 4*gateMin {
		t.Errorf("a busy tick with far connects and a connector waiting: limit %d, want %d", l, 4*gateMin)
	}
	for _, r := range holds {
		r()
	}
}
