package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
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
	// Detect identifies the store on a port no prober claims: it reads a
	// banner first (BannerWait at most), then tries the server-first probers
	// if one came and the client-first ones if not, stopping at the first
	// that identifies its store.
	Detect bool
	// BannerWait bounds the wait for a server-first banner during detection.
	BannerWait time.Duration
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

// Validate checks the config and fills in defaults: a zero Workers,
// PerHost, Timeout or BannerWait takes the default (256, 16, 15 s, 1.5 s).
// A negative value, or one above its cap (MaxWorkers, MaxPerHost), is a
// *ConfigError naming the field.
func (c *Config) Validate() error {
	err := firstErr(
		checkCount("Workers", c.Workers, MaxWorkers),
		checkCount("PerHost", c.PerHost, MaxPerHost),
		checkDuration("Timeout", c.Timeout),
		checkDuration("BannerWait", c.BannerWait),
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
		c.BannerWait = 1500 * time.Millisecond
	}
	return nil
}

// Engine runs probers over a stream of targets.
type Engine struct {
	cfg    Config
	reg    *Registry
	dialer Dialer
	hosts  *hostLimiter
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
	var probes sync.WaitGroup
	for range e.cfg.Workers {
		probes.Go(func() {
			for j := range jobs {
				r := e.probeTarget(ctx, j)
				if r != nil && ctx.Err() == nil {
					textPass(r)
					out <- r
				}
			}
		})
	}
	go func() {
		e.connectors(ctx, in, jobs, out)
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

	probers, r := e.candidates(ctx, t, d)
	if r != nil {
		return r
	}
	if len(probers) == 0 {
		return &gown.Result{Target: t, Status: gown.StatusUnknown, Reason: "no prober claims this port (use --detect)", Start: time.Now()}
	}
	var best *gown.Result
	for _, p := range probers {
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
		switch {
		case !r.Status.Answered():
			return r // nothing listens: no other prober will do better
		case r.Status != gown.StatusNotService && r.Status != gown.StatusUnknown:
			e.analyze(scanCtx, p, t, r)
			return r // identified: never send another store's request here
		}
		if best == nil || (best.Status == gown.StatusNotService && r.Status == gown.StatusUnknown) {
			best = r
		}
		if ctx.Err() != nil {
			break
		}
	}
	if len(probers) > 1 && best != nil {
		best.Store = "" // no single prober identified it
	}
	return best
}

// analyze samples an open store (when the prober can and sampling is on)
// and hands the result with its samples to Config.Analyze. Sampling has its
// own deadline (SampleLimits.Timeout), derived from the scan's ctx rather
// than the target's, so a slow probe does not leave it no time. A sampling
// error is noted on the result; the verdict stands.
func (e *Engine) analyze(ctx context.Context, p Prober, t gown.Target, r *gown.Result) {
	if e.cfg.Analyze == nil {
		return
	}
	samples, truncated, err := SampleStore(ctx, p, t, e.dialer, r, e.cfg.Sample)
	if err != nil && r.Error == "" {
		r.Error = "sampling: " + err.Error() // textPass masks it with the rest
	}
	e.cfg.Analyze(r, samples, truncated)
}

// candidates lists the probers to try on t. When detection had to connect
// and the connect failed, it returns the result saying so instead.
func (e *Engine) candidates(ctx context.Context, t gown.Target, d Dialer) ([]Prober, *gown.Result) {
	if t.Hint != "" {
		if p, ok := e.reg.Get(t.Hint); ok {
			return []Prober{p}, nil
		}
	}
	if ps := e.reg.ForPort(t.Port); len(ps) > 0 {
		return ps, nil
	}
	if !e.cfg.Detect {
		return nil, nil
	}
	banner, err := e.banner(ctx, t, d)
	if err != nil {
		r := failed(t, "", err)
		r.Start = time.Now()
		return nil, r
	}
	serverFirst, clientFirst := e.reg.split()
	if banner {
		return serverFirst, nil
	}
	return clientFirst, nil
}

// banner connects and waits briefly for the service to speak first. A port
// that greets is tried only with server-first probers, a silent one only with
// client-first probers: no store's request is sent to a port that already
// said it is something else, and a silent port does not cost every
// server-first prober its full read timeout.
func (e *Engine) banner(ctx context.Context, t gown.Target, d Dialer) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.BannerWait)
	defer cancel()
	c, err := d.Dial(ctx, t)
	if err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = &DialError{Status: gown.StatusFiltered, Err: err}
		}
		return false, err
	}
	defer c.Close()
	var b [1]byte
	n, _ := c.Read(b[:])
	return n > 0, nil
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
		return gown.StatusUnknown, "no complete reply before the deadline"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return gown.StatusUnknown, "connection reset mid-exchange"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return gown.StatusUnknown, "connection closed mid-exchange"
	}
	return gown.StatusUnknown, fmt.Sprintf("probe failed: %v", err)
}
