package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gownscan/gown"
)

// Config sets how the engine runs probers over targets.
type Config struct {
	// Workers caps the targets probed at once. Connects are made ahead by
	// connectSpread × Workers connectors (ahead.go), so a filtered port's
	// connect, which waits out the connect timeout, holds no worker.
	Workers int
	// PerHost caps targets connecting or probed at once on one address;
	// each holds one connection at a time.
	PerHost int
	// Timeout is the deadline for all probes of one target once its connect
	// was answered, derived from the caller's ctx.
	Timeout time.Duration
	// Detect identifies the store on a port no prober claims (detect.go):
	// it waits BannerWait at most for a banner, then tries the server-first
	// probers in turn if one came, and the client-first ones in parallel on
	// separate connections if not, taking the first that identifies its
	// store.
	Detect bool
	// BannerWait bounds the wait for a server-first banner during detection,
	// plus four times the target's connect time.
	BannerWait time.Duration
	// AnswerWait bounds, plus four times the target's connect time, how long
	// a detection racer waits for its first byte once the target has shown
	// it answers at once (a reply, a refusal or a close on another racer's
	// connection), and how long the race waits with no racer ending before
	// it widens.
	AnswerWait time.Duration
	// FirstByte bounds each read and write on a target that has not yet sent
	// a byte on any connection (plus four times its connect time, and at
	// most Dialer.IOTimeout): a tarpit that accepts and never answers holds
	// a worker for FirstByte per attempt, not the I/O timeout. Once the
	// target has spoken, its connections get the full Dialer.IOTimeout.
	FirstByte time.Duration
	// RaceWidth caps the client-first probers detection runs at once on one
	// silent port (detect.go), each on its own connection; the next starts
	// as one ends. A wider race opens more connections to every server it
	// meets (a PostgreSQL forks a backend for each); the wrong probers'
	// requests draw quick refusals from almost any server, so a narrow race
	// costs little time.
	RaceWidth int
	// All emits results for closed and filtered ports too.
	All    bool
	Dialer DialerConfig
	// Sample bounds the records read from each open store whose prober can
	// sample (off when Sample.PerCollection is 0).
	Sample SampleLimits
	// Analyze, when set, is called once for every identified result, with
	// the samples read from it (none when sampling is off or not possible):
	// it draws the exposure and compromise signs (assess.Analyze). Samples
	// are dropped after it returns.
	Analyze func(r *gown.Result, samples []gown.Sample, truncated bool)
}

// DefaultRaceWidth is how many client-first probers detection runs at once
// on one port unless told otherwise.
const DefaultRaceWidth = 4

// Validate checks the config and fills in defaults: a zero Workers,
// PerHost, Timeout, BannerWait, AnswerWait, FirstByte or RaceWidth takes the
// default (256, 16, 15 s, 100 ms, 250 ms, 1 s, DefaultRaceWidth).
// A negative value, or one above its cap (MaxWorkers, MaxPerHost), is a
// *ConfigError naming the field.
func (c *Config) Validate() error {
	err := firstErr(
		checkCount("Workers", c.Workers, MaxWorkers),
		checkCount("PerHost", c.PerHost, MaxPerHost),
		checkDuration("Timeout", c.Timeout),
		checkDuration("BannerWait", c.BannerWait),
		checkDuration("AnswerWait", c.AnswerWait),
		checkDuration("FirstByte", c.FirstByte),
		checkCount("RaceWidth", c.RaceWidth, MaxPerHost),
		c.Sample.validate(),
		c.Dialer.Validate(),
	)
	if err != nil {
		return err
	}
	if c.Workers == 0 {
		c.Workers = 256
	}
	if c.PerHost == 0 {
		c.PerHost = 16
	}
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Second
	}
	if c.BannerWait == 0 {
		c.BannerWait = 100 * time.Millisecond
	}
	if c.AnswerWait == 0 {
		c.AnswerWait = 250 * time.Millisecond
	}
	if c.FirstByte == 0 {
		c.FirstByte = time.Second
	}
	if c.RaceWidth == 0 {
		c.RaceWidth = DefaultRaceWidth
	}
	return nil
}

// Engine runs probers over a stream of targets.
type Engine struct {
	cfg    Config
	reg    *Registry
	dialer Dialer
	hosts  *hostLimiter
	// guesses tallies the stores detection named per port (guess.go).
	guesses portGuesses
}

// New builds an engine over the registry's probers.
func New(cfg Config, reg *Registry) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d, err := NewDialer(cfg.Dialer)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, reg: reg, dialer: d}
	if cfg.PerHost < cfg.Workers*connectSpread {
		// With as many slots per host as targets in flight the limit
		// cannot bind: it then costs nothing.
		e.hosts = newHostLimiter(cfg.PerHost)
	}
	return e, nil
}

// WithDialer replaces the dialer (tests use this to count or shape connections).
func (e *Engine) WithDialer(d Dialer) *Engine { e.dialer = d; return e }

// Run probes every target received from in until in is closed or ctx ends,
// calling emit for each result from one goroutine at a time, in completion
// order. It returns ctx's error if the scan was cut short; results finished
// before that were all emitted.
//
// At most Workers targets are being probed at once; up to connectSpread ×
// Workers more may be connecting (ahead.go), so that silent ports do not
// starve the scan.
func (e *Engine) Run(ctx context.Context, in <-chan gown.Target, emit func(*gown.Result)) error {
	out := make(chan *gown.Result, e.cfg.Workers)
	jobs := make(chan *job)
	probes := grow(e.cfg.Workers, func(took func()) {
		for j := range jobs {
			took()
			r := e.probeTarget(ctx, j)
			if r != nil && ctx.Err() == nil {
				textPass(r)
				out <- r
			}
		}
	})
	var gate *dialGate
	if cpu, ok := cpuTimes(); ok {
		gate = newDialGate(e.cfg.Workers * connectSpread)
		followCtx, stopFollow := context.WithCancel(ctx)
		defer stopFollow()
		go gate.follow(followCtx, cpu)
	}
	go func() {
		e.connectors(ctx, in, jobs, out, gate)
		close(jobs)
		probes.Wait()
		close(out)
	}()
	for r := range out {
		if r.Status.Answered() || e.cfg.All {
			emit(r)
		}
	}
	return ctx.Err()
}

// grow starts up to n goroutines running loop: one at first, and one more
// each time a running one takes its first piece of work (loop calls took
// for each piece; only the first call counts). A scan of a few targets, or
// of none (gown app --extract-only), so starts a few goroutines rather than
// the 1,280 of the default --workers, which cost `gown app` on a small APK
// a tenth of its CPU in stacks alone (perf, 100 runs); a long list starts
// them all within a millisecond or so, one after another. The WaitGroup
// returned is done when every goroutine started has returned.
func grow(n int, loop func(took func())) *sync.WaitGroup {
	var wg sync.WaitGroup
	var left atomic.Int64
	left.Store(int64(n))
	var start func()
	start = func() {
		if left.Add(-1) < 0 {
			return
		}
		wg.Go(func() {
			first := true
			loop(func() {
				if first {
					first = false
					start()
				}
			})
		})
	}
	start()
	return &wg
}

// probeTarget runs the probers that apply to j's target over the connection
// made ahead, and returns the one result that says the most.
func (e *Engine) probeTarget(ctx context.Context, j *job) *gown.Result {
	defer e.release(j)
	t, d := j.t, &j.first
	if ctx.Err() != nil {
		return nil
	}
	scanCtx := ctx
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	if e.cfg.Analyze != nil && e.cfg.Sample.On() {
		k := &keeper{}
		ctx = withKeeper(ctx, k)
		defer k.close() // before cancel: a kept session ends with a Terminate, not a reset
	}

	if t.Hint != "" {
		if p, ok := e.reg.Get(t.Hint); ok {
			return e.inTurn(ctx, scanCtx, t, d, []Prober{p})
		}
	}
	if ps := e.reg.ForPort(t.Port); len(ps) > 0 {
		return e.inTurn(ctx, scanCtx, t, d, ps)
	}
	if !e.cfg.Detect {
		return &gown.Result{Target: t, Status: gown.StatusUnknown, Reason: "no prober claims this port (use --detect)", Start: time.Now()}
	}
	return e.detect(ctx, scanCtx, j)
}

// inTurn runs probers one after another until one identifies its store or
// nothing listens, and returns the result that says the most.
func (e *Engine) inTurn(ctx, scanCtx context.Context, t gown.Target, d Dialer, probers []Prober) *gown.Result {
	var best *gown.Result
	for _, p := range probers {
		r := e.runOne(ctx, t, d, p)
		switch {
		case !r.Status.Answered():
			return r // nothing listens: no other prober will do better
		case identified(r):
			e.analyze(scanCtx, p, t, r)
			return r // identified: never send another store's request here
		}
		best = better(best, r)
		if ctx.Err() != nil {
			break
		}
	}
	if len(probers) > 1 && best != nil {
		best.Store = "" // no single prober identified it
	}
	return best
}

// runOne runs one prober and fills in what its result leaves out.
func (e *Engine) runOne(ctx context.Context, t gown.Target, d Dialer, p Prober) *gown.Result {
	start := time.Now()
	r, err := p.Probe(ctx, t, d)
	if r == nil {
		r = failed(t, p.Kind().Name, err)
	}
	r.Start, r.Duration = start, time.Since(start)
	if r.Target.Port == 0 {
		r.Target = t
	}
	if r.Store == "" && r.Status != gown.StatusClosed && r.Status != gown.StatusFiltered {
		r.Store = p.Kind().Name
	}
	return r
}

// identified reports whether a prober placed the service as its store.
func identified(r *gown.Result) bool {
	return r.Status.Answered() && r.Status != gown.StatusNotService && r.Status != gown.StatusUnknown
}

// better keeps the result that says more of two unidentified ones: unknown
// (something answered that gown could not place) over not-service.
func better(best, r *gown.Result) *gown.Result {
	if best == nil || (best.Status == gown.StatusNotService && r.Status == gown.StatusUnknown) {
		return r
	}
	return best
}

// analyze samples an open store (when the prober can and sampling is on)
// and hands the result with its samples to Config.Analyze. Sampling has its
// own deadline (SampleLimits.Timeout), derived from the scan's ctx rather
// than the target's, so a slow probe does not leave it no time. A sampling
// error is noted on the result; the verdict stands.
func (e *Engine) analyze(ctx context.Context, p Prober, t gown.Target, r *gown.Result) {
	defer func() { r.Heard = nil }() // what the probe heard is the sampler's alone
	if e.cfg.Analyze == nil {
		return
	}
	samples, truncated, err := SampleStore(ctx, p, t, e.dialer, r, e.cfg.Sample)
	if err != nil && r.Error == "" {
		r.Error = "sampling: " + err.Error() // textPass masks it with the rest
	}
	e.cfg.Analyze(r, samples, truncated)
}

// firstByteFor is how long a target whose connect took connect may stay
// silent on each read or write before it has spoken once: FirstByte plus
// four connect times (a far server gets its round trips), at most the I/O
// timeout. connectAhead passes the kernel's handshake round trip where it
// is shorter than the connect's duration (rtt_linux.go).
func (e *Engine) firstByteFor(connect time.Duration) time.Duration {
	return min(e.cfg.FirstByte+4*connect, e.cfg.Dialer.IOTimeout)
}

// failed turns a prober's error into a result that says what happened. The
// error's text is the server's words as often as not (a refusal, a broken
// reply): it goes out through textPass, which masks it, like every string
// of a result.
func failed(t gown.Target, store string, err error) *gown.Result {
	st, reason := Classify(err)
	r := &gown.Result{Target: t, Status: st, Reason: reason}
	if st.Answered() {
		r.Store = store
	}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

// dialErrorIn finds the DialError in err's chain, as errors.As would, but
// without the allocation errors.As costs: it runs once for every closed port.
func dialErrorIn(err error) *DialError {
	for err != nil {
		switch e := err.(type) {
		case *DialError:
			return e
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				if de := dialErrorIn(inner); de != nil {
					return de
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}

// Classify maps a prober's error to a status and a short reason a user can
// read: what the service did, not how Go reported it.
func Classify(err error) (gown.Status, string) {
	de := dialErrorIn(err)
	switch {
	case err == nil:
		return gown.StatusUnknown, "prober returned no result"
	case de != nil:
		switch de.Status {
		case gown.StatusClosed:
			return de.Status, "connection refused"
		case gown.StatusFiltered:
			return de.Status, "no answer to connect"
		}
		return de.Status, "connect failed"
	case errors.Is(err, context.Canceled):
		return gown.StatusError, "scan cancelled"
	case errors.Is(err, gown.ErrReplyTooLarge):
		return gown.StatusUnknown, "reply exceeds the read cap"
	case errors.Is(err, gown.ErrNotService):
		return gown.StatusNotService, "answered, but not as this store"
	case errors.Is(err, gown.ErrProtocol):
		return gown.StatusUnknown, "reply breaks the protocol"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		isTimeout(err):
		return gown.StatusUnknown, reasonDeadline
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return gown.StatusUnknown, "connection reset mid-exchange"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return gown.StatusUnknown, "connection closed mid-exchange"
	}
	return gown.StatusUnknown, fmt.Sprintf("probe failed: %v", err)
}
