package probe

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gownscan/gown"
)

// Connecting ahead. A filtered port answers nothing: its connect waits out
// the whole connect timeout (3 s by default) while a closed port answers in
// one round trip. In a scan where even one target in two hundred is
// filtered, workers stuck in those waits are what limits the rate (measured
// in BENCHMARKS.md), not the CPU. So the engine splits a target's work in
// two: connectSpread × Workers connectors take targets from the input and
// connect, and Workers probe workers run the probers over the connections
// that were answered. A connect that hangs holds a connector, never a probe
// worker; a refused one ends at the connector, which emits its result.
//
// Connectors run nothing but the connect, and every one of them dials in
// any list of a few thousand targets, so what they cost does not depend on
// the list's length: a million-target scan with hundreds of connects
// waiting at once peaks where a 10k one does (BENCHMARKS.md, memory), where
// spare goroutines that also ran probers grew with it.
const connectSpread = 4

// aheadMaxAge is how long a connection made ahead may wait for a probe
// worker. Past it the prober gets a fresh connection: a server that spoke
// first may have given up on a client that said nothing (MariaDB's
// connect_timeout is 10 s).
const aheadMaxAge = 2 * time.Second

// job is a target whose connect was answered, on its way to a probe worker.
type job struct {
	t     gown.Target
	slot  *hostSlot // the per-host slot, released when the probe ends
	first aheadDialer
	// guessed is set once a guess by port (guess.go) was tried on the
	// target: a target gets one guess.
	guessed bool
}

// aheadDialer hands the connection made ahead to the first Dial of its
// target, tied to that Dial's ctx, and dials afresh for everything else.
// It is the target's own dialer for the time of its probe, so it also keeps
// whether the target has spoken: until it has, every connection it hands
// out waits firstByte at most for each read and write (conn.go). Detection
// dials from several goroutines at once; the rest of the time one
// goroutine, the probe worker's, uses it.
type aheadDialer struct {
	inner     Dialer
	t         gown.Target
	mu        sync.Mutex
	conn      *Conn // nil once handed out or closed
	dialed    time.Time
	firstByte time.Duration // 0: no first-byte deadline
	spoke     atomic.Bool
	hungUp    atomic.Bool // the server closed or reset a connection of a detection race
}

// Dial returns the connection made ahead for the first dial of its target.
func (d *aheadDialer) Dial(ctx context.Context, t gown.Target) (*Conn, error) {
	same := t.Addr == d.t.Addr && t.Port == d.t.Port && t.Host == d.t.Host
	d.mu.Lock()
	c := d.conn
	if same {
		d.conn = nil
	}
	d.mu.Unlock()
	if c != nil && same {
		if time.Since(d.dialed) <= aheadMaxAge && ctx.Err() == nil {
			c.rebind(ctx)
			d.watch(c)
			return c, nil
		}
		c.Close()
	}
	c, err := d.inner.Dial(ctx, t)
	if err == nil && same {
		d.watch(c)
	}
	return c, err
}

// watch gives c the target's first-byte deadline and spoken flag.
func (d *aheadDialer) watch(c *Conn) {
	if d.firstByte > 0 {
		c.firstByte, c.spoke = d.firstByte, &d.spoke
	}
}

// release closes the connection made ahead if no prober took it.
func (d *aheadDialer) release() {
	d.mu.Lock()
	c := d.conn
	d.conn = nil
	d.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// connectors runs the connect stage: it returns when in is closed or ctx
// ends, and every target it took has gone to jobs or out.
func (e *Engine) connectors(ctx context.Context, in <-chan gown.Target, jobs chan<- *job, out chan<- *gown.Result, gate *dialGate) {
	grow(e.cfg.Workers*connectSpread, func(took func()) {
		for {
			select {
			case t, ok := <-in:
				if !ok {
					return
				}
				took()
				e.connectAhead(ctx, t, jobs, out, gate)
			case <-ctx.Done():
				return
			}
		}
	}).Wait()
}

// connectAhead takes t's per-host slot and connects to it when its probers
// will, within the dial gate (gate.go; nil: none). A refused or unanswered
// connect is t's result; an answered one goes to a probe worker.
func (e *Engine) connectAhead(ctx context.Context, t gown.Target, jobs chan<- *job, out chan<- *gown.Result, gate *dialGate) {
	var slot *hostSlot
	if e.hosts != nil {
		var err error
		if slot, err = e.hosts.acquire(ctx, t); err != nil {
			return
		}
	}
	// The job is made only for a connect that was answered: most targets
	// of a scan are refused, and end here without one.
	var c *Conn
	var took time.Duration
	if e.needsConnect(t) {
		var err error
		var done func()
		if gate != nil {
			if done, err = gate.acquire(ctx); err != nil {
				if slot != nil {
					e.hosts.release(t, slot)
				}
				return
			}
		}
		start := time.Now()
		c, err = e.dialer.Dial(ctx, t)
		if done != nil {
			done()
		}
		if err != nil {
			if slot != nil {
				e.hosts.release(t, slot)
			}
			r := failed(t, "", err)
			r.Start, r.Duration = start, time.Since(start)
			if ctx.Err() == nil {
				// Their text is gown's own constant words, with nothing
				// to mask.
				if de, ok := err.(*DialError); !ok || !de.fixedText() {
					textPass(r)
				}
				out <- r
			}
			return
		}
		took = time.Since(start)
	}
	j := &job{t: t, slot: slot}
	j.first.inner, j.first.t = e.dialer, t
	if c != nil {
		j.first.conn, j.first.dialed = c, time.Now()
		if rtt, ok := kernelRTT(c); ok {
			took = min(took, rtt)
		}
		j.first.firstByte = e.firstByteFor(took)
	}
	select {
	case jobs <- j:
	case <-ctx.Done():
		e.release(j)
	}
}

// needsConnect reports whether probing t starts with a connect to it: it
// does unless no prober claims t and detection is off.
func (e *Engine) needsConnect(t gown.Target) bool {
	if e.cfg.Detect {
		return true
	}
	if t.Hint != "" {
		if _, ok := e.reg.Get(t.Hint); ok {
			return true
		}
	}
	return len(e.reg.ForPort(t.Port)) > 0
}

// release gives back what a job holds.
func (e *Engine) release(j *job) {
	j.first.release()
	if e.hosts != nil && j.slot != nil {
		e.hosts.release(j.t, j.slot)
	}
}
