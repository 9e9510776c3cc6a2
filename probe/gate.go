package probe

import (
	"context"
	"slices"
	"sync"
	"time"
)

// The dial gate. Connecting ahead keeps up to connectSpread × Workers
// connects in flight (1,024 at the default --workers), which a far network
// needs: each connect waits a round trip, and the rate is what is in flight
// over that wait. On a near network the connects end in microseconds and
// the CPU, not the wait, sets the rate; there, a thousand connects in
// flight only crowd the scheduler, the poller and the kernel's socket
// tables. On the bench farm (loopback, 2 cores shared with the farm's
// servers) the 10k list took 0.50-0.52 s with them all and 0.43-0.44 s with
// 8 or 32 at once (BENCHMARKS.md). So the gate bounds the connects in
// flight by a limit that follows the machine: halved, down to gateMin, at
// each tick (gateTick) that finds the CPUs busy (under gateBusy idle), and
// doubled, up to the connectors' number, at each one that finds them idle
// (over gateIdle) while connectors wait at the gate. It starts at twice
// gateMin. A connect older than gateStale stops counting against
// the limit (the tick's sweep finds it): it is waiting on the network (a far server, a filtered port),
// which costs the machine nothing, so a list of filtered ports never fills
// the gate. Where the machine's load cannot be read (not Linux) the limit
// is the connectors' number: the gate binds nothing.
//
// Busy CPUs alone do not make connects near: a far scan on a machine that
// other work keeps busy would be throttled to gateMin connects a round trip.
// So the gate keeps an average of how long its connects take (gateNear
// splits near from far) and shrinks only while they are near; while they
// are far it grows whenever connectors wait, busy or not. gateNear is 10 ms:
// on the busy bench farm loopback connects averaged 0.1-7 ms (they wait for
// the CPU too), where a far network's round trip is tens of ms.
const (
	gateTick  = 25 * time.Millisecond
	gateMin   = 32
	gateStale = 100 * time.Millisecond
	gateBusy  = 0.05
	gateIdle  = 0.20
	gateNear  = 10 * time.Millisecond
)

// dialGate bounds the connects in flight that count.
type dialGate struct {
	mu      sync.Mutex
	limit   int
	max     int
	fresh   int              // connects counted against limit
	flight  []*gateSlot      // the counted connects (and some ended ones), oldest first
	waiters []chan *gateSlot // connectors waiting for a slot, in order
	took    time.Duration    // moving average of a connect's duration (1/16 weight each)
}

// gateSlot is one counted connect. done is set, under the gate's lock, by
// the connect's end or by the sweep that finds it stale, whichever comes
// first; only that one gives the slot back. A timer per connect did the
// sweep's job before, and cost a twentieth of a 50k scan's CPU.
type gateSlot struct {
	start time.Time
	done  bool
}

// newDialGate starts at twice gateMin: a far network's scan doubles it to
// the most in a few ticks, a near one's starts where it stays.
func newDialGate(max int) *dialGate {
	return &dialGate{limit: min(2*gateMin, max), max: max}
}

// acquire takes a slot, waiting while the fresh connects fill the limit.
// The release it returns ends the connect: it gives the slot back unless
// a sweep already did (the connect was in flight for gateStale).
func (g *dialGate) acquire(ctx context.Context) (release func(), err error) {
	g.mu.Lock()
	if g.fresh < g.limit {
		g.fresh++
		s := g.slotLocked()
		g.mu.Unlock()
		return func() { g.release(s) }, nil
	}
	ch := make(chan *gateSlot, 1)
	g.waiters = append(g.waiters, ch)
	g.mu.Unlock()
	select {
	case s := <-ch:
		return func() { g.release(s) }, nil // the slot was handed over, counted
	case <-ctx.Done():
		g.mu.Lock()
		for i, w := range g.waiters {
			if w == ch {
				g.waiters = append(g.waiters[:i], g.waiters[i+1:]...)
				g.mu.Unlock()
				return nil, ctx.Err()
			}
		}
		// Handed over as ctx ended: give it on, with no connect to count.
		s := <-ch
		s.done = true
		g.freeLocked()
		g.mu.Unlock()
		return nil, ctx.Err()
	}
}

// slotLocked starts a counted connect. The flight list drops its ended
// connects at each sweep, or here once it holds twice the most that can
// be counted, so that it stays bounded where no tick sweeps.
func (g *dialGate) slotLocked() *gateSlot {
	if len(g.flight) >= 2*g.max {
		g.flight = slices.DeleteFunc(g.flight, func(s *gateSlot) bool { return s.done })
	}
	s := &gateSlot{start: time.Now()}
	g.flight = append(g.flight, s)
	return s
}

// release ends a connect: its duration goes into the average, and its
// slot back to the gate unless a sweep gave it back already.
func (g *dialGate) release(s *gateSlot) {
	d := time.Since(s.start)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.recordLocked(d)
	if !s.done {
		s.done = true
		g.freeLocked()
	}
}

// record adds a finished connect's duration to the average.
func (g *dialGate) record(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.recordLocked(d)
}

func (g *dialGate) recordLocked(d time.Duration) {
	if g.took == 0 {
		g.took = d
		return
	}
	g.took += (d - g.took) / 16
}

// freeLocked gives a slot to the first waiter, or back to the gate.
func (g *dialGate) freeLocked() {
	if len(g.waiters) > 0 && g.fresh <= g.limit {
		ch := g.waiters[0]
		g.waiters = g.waiters[1:]
		ch <- g.slotLocked() // the slot passes on: fresh is unchanged
		return
	}
	g.fresh--
}

// sweep gives back the slots of connects in flight since gateStale before
// now, and drops the ended ones from the list.
func (g *dialGate) sweep(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	stale := 0
	g.flight = slices.DeleteFunc(g.flight, func(s *gateSlot) bool {
		if !s.done && now.Sub(s.start) >= gateStale {
			s.done = true
			stale++
		}
		return s.done
	})
	for range stale {
		g.freeLocked()
	}
}

// adjust moves the limit by the share of CPU time the machine left idle
// over the last tick and by how far the connects are.
func (g *dialGate) adjust(idle float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	near := g.took < gateNear
	switch {
	case idle < gateBusy && near:
		g.limit = max(min(g.limit, g.max)/2, min(gateMin, g.max))
	case (idle > gateIdle || !near) && g.limit < g.max && len(g.waiters) > 0:
		g.limit = min(g.limit*2, g.max)
		for len(g.waiters) > 0 && g.fresh < g.limit {
			g.fresh++
			g.waiters[0] <- g.slotLocked()
			g.waiters = g.waiters[1:]
		}
	}
}

// follow adjusts the gate every gateTick from the machine's idle time,
// counted from last, until ctx ends or that can no longer be read.
func (g *dialGate) follow(ctx context.Context, last cpuSample) {
	tick := time.NewTicker(gateTick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now, ok := cpuTimes()
		if !ok {
			return
		}
		g.sweep(time.Now())
		if total := now.total - last.total; total > 0 {
			g.adjust(float64(now.idle-last.idle) / float64(total))
		}
		last = now
	}
}

// cpuSample is the machine's CPU time so far, in clock ticks: all of it,
// and what was idle (idle and iowait).
type cpuSample struct{ total, idle uint64 }
