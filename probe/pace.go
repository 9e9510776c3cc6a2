package probe

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/gownscan/gown"
)

// A filtered port answers nothing: its connect waits out the whole connect
// timeout (3 s by default) while a closed port answers in one round trip. In
// a scan where even one target in two hundred is filtered, workers stuck in
// those waits are what limits the rate (measured in BENCHMARKS.md), not the
// CPU. So a worker whose connect has gone unanswered for connectGrace gives
// its slot back; the pool has connectSpread goroutines per slot to take it
// up; and the worker takes a slot again before it uses the connection. At
// most Workers targets are past their connects at once, as before.
const (
	// connectGrace is far above a loopback or LAN round trip and above most
	// internet ones: an answered connect almost never waits this long.
	connectGrace  = 250 * time.Millisecond
	connectSpread = 4
)

// Slot states of a pacedDialer.
const (
	slotIdle     int32 = iota // holds no slot
	slotProbing               // holds a slot
	slotDialing               // holds a slot, in a connect since start
	slotReleased              // in a slow connect; its slot was handed back
)

// pacer hands out Workers slots among Workers × connectSpread goroutines,
// each with its own pacedDialer. A goroutine keeps its slot from one target
// to the next, so a scan without slow connects costs no channel operation
// per target; the spare goroutines sleep until a slow connect frees a slot.
type pacer struct {
	slots chan struct{} // its length is the number of slots held
	// handoff passes a slot straight from a goroutine that can spare it to
	// one that has a connection in hand and waits for a slot to go on;
	// waiting counts those, and wake nudges a holder idle on the input.
	handoff chan struct{}
	waiting atomic.Int32
	wake    chan struct{}
	dialers []*pacedDialer
}

func newPacer(workers int, d Dialer) *pacer {
	p := &pacer{slots: make(chan struct{}, workers), handoff: make(chan struct{}), wake: make(chan struct{}, 1)}
	for range workers * connectSpread {
		p.dialers = append(p.dialers, &pacedDialer{inner: d, p: p})
	}
	return p
}

// watch starts the watchdog that takes the slots of slow connects back; the
// returned func stops it.
func (p *pacer) watch() (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(connectGrace / 5)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			now := time.Now().UnixNano()
			for _, d := range p.dialers {
				if d.state.Load() == slotDialing && now-d.start.Load() > int64(connectGrace) &&
					d.state.CompareAndSwap(slotDialing, slotReleased) {
					<-p.slots
				}
			}
		}
	}()
	return func() { close(done) }
}

// pacedDialer is one pool goroutine's dialer: it marks the goroutine's
// connects so that the watchdog can hand a slow one's slot back, and takes a
// slot again when the connect ends.
type pacedDialer struct {
	inner Dialer
	p     *pacer
	state atomic.Int32
	start atomic.Int64 // UnixNano when the current connect began
}

// next returns the next target, holding a slot. It returns false when in is
// closed or ctx has ended, holding none.
func (d *pacedDialer) next(ctx context.Context, in <-chan gown.Target) (gown.Target, bool) {
	for {
		if d.state.Load() == slotIdle {
			select {
			case d.p.slots <- struct{}{}:
				d.state.Store(slotProbing)
			case <-ctx.Done():
				return gown.Target{}, false
			}
		}
		select {
		case t, ok := <-in:
			if ok {
				return t, true
			}
		case <-ctx.Done():
		case <-d.p.wake:
			d.yield() // someone with a connection in hand needs it more
			continue
		}
		d.yield()
		return gown.Target{}, false
	}
}

// done ends a target: the slot is kept for the next one unless a goroutine
// with a connection in hand waits for one.
func (d *pacedDialer) done() {
	if d.p.waiting.Load() > 0 {
		d.yield()
	}
}

// yield gives the slot up, to a waiting goroutine if there is one.
func (d *pacedDialer) yield() {
	if d.state.Swap(slotIdle) != slotProbing {
		return
	}
	select {
	case d.p.handoff <- struct{}{}:
	default:
		<-d.p.slots
	}
}

// Dial connects through the engine's dialer.
func (d *pacedDialer) Dial(ctx context.Context, t gown.Target) (*Conn, error) {
	d.start.Store(time.Now().UnixNano())
	if !d.state.CompareAndSwap(slotProbing, slotDialing) {
		return d.inner.Dial(ctx, t) // holds no slot (cancelled): nothing to pace
	}
	c, err := d.inner.Dial(ctx, t)
	if d.state.CompareAndSwap(slotDialing, slotProbing) {
		return c, err
	}
	// The watchdog handed the slot back: wait for one before going on.
	d.p.waiting.Add(1)
	defer d.p.waiting.Add(-1)
	nudge := time.NewTicker(connectGrace / 5)
	defer nudge.Stop()
	for {
		// Wake a holder idle on the input (again, in case a starter
		// took the slot it gave up).
		select {
		case d.p.wake <- struct{}{}:
		default:
		}
		select {
		case <-d.p.handoff:
		case d.p.slots <- struct{}{}:
		case <-nudge.C:
			continue
		case <-ctx.Done():
			d.state.Store(slotIdle)
			if c != nil {
				c.Close()
			}
			if err == nil {
				err = &DialError{Status: gown.StatusError, Err: ctx.Err()}
			}
			return nil, err
		}
		d.state.Store(slotProbing)
		return c, err
	}
}
