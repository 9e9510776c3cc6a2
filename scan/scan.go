// Package scan is gown's one pipeline: it takes typed targets, from a user's
// arguments, from apps, from a queue, and turns them into stored, assessed
// results that writers print and a CI gate counts. Every entry point runs it:
// gown scan, gown app, the demo, and the workers, scheduled re-scans and
// fleet scans that build on it.
//
// One scan, in order:
//
//	Begin:  record the scan in the results store (or take up the one to
//	        resume, with the targets it finished), start committing
//	AddApp: store an app with its endpoints, grade its own code
//	        (hard-coded credentials, clear text)
//	Run:    targets → skip those finished → probe engine (pool, limits,
//	        deadlines, sampling) → assess each result (findings) → store in
//	        batches → the sink, once committed; at the end the findings
//	        across results (one address answering as many stores); the scan
//	        is marked done, or interrupted
//
// What reaches the sink was stored first: a killed scan has printed nothing
// that a resume would not find. Without a store (Config.Store nil), results
// go to the sink as they come.
package scan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/assess"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/redact"
	"github.com/gownscan/gown/store"
)

// Config sets one scan. Validate fills in defaults.
type Config struct {
	// Registry lists the probers to run; Probe sets the engine: workers,
	// per-host and rate limits, deadlines, detection and sampling.
	// Probe.Analyze defaults to assess.Analyze; Probe.All is always on, so
	// that closed ports reach the store as finished targets.
	Registry *probe.Registry
	Probe    probe.Config
	// Store keeps the scan; nil stores nothing. The scan neither opens nor
	// closes it.
	Store gown.Store
	// Meta describes a new scan in the store: its arguments, kept so that
	// a resumed scan expands the same targets, and gown's version. The
	// arguments are stored with every URL cut to its scheme, host and port
	// (redact.Args): a target's user info is never stored, and a resume
	// that parses the cut arguments probes the same targets.
	Meta gown.ScanMeta
	// Resume continues this stored scan instead of beginning a new one:
	// the targets it finished are skipped.
	Resume gown.ScanID
	// Attach adds to a scan another process began and will finish (a queue
	// worker's batch): nothing is begun, no finished targets are loaded and
	// the scan's state is left as it is. Targets the scan already stored
	// are not stored twice (gown.Store.AddResults skips them), so a batch
	// delivered again changes nothing.
	Attach gown.ScanID
	// KeepClosed keeps and reports closed, filtered and failed targets
	// (--all); without it they only mark their target done.
	KeepClosed bool
	// FailOn counts the findings at or above this severity, stored ones of
	// a resumed scan included, in Summary.Gated; nil counts none.
	FailOn *gown.Severity
	// Batch sets how often results are committed.
	Batch store.BatchConfig
	// Observe, when set, sees each result as the engine emits it, before
	// it is stored: a progress line, a verbose log. It is called from one
	// goroutine at a time and must not keep the result.
	Observe func(*gown.Result)
	// Dialer, when set, replaces the engine's own (built from
	// Probe.Dialer): tests shape or redirect connections with it.
	Dialer probe.Dialer
}

// Validate checks the config and fills in defaults.
func (c *Config) Validate() error {
	if c.Registry == nil {
		return errors.New("scan: no probers")
	}
	if (c.Resume != 0 || c.Attach != 0) && c.Store == nil {
		return errors.New("scan: resuming or attaching needs a results store")
	}
	if c.Resume != 0 && c.Attach != 0 {
		return errors.New("scan: resume or attach, not both")
	}
	c.Probe.All = true
	if c.Probe.Analyze == nil {
		c.Probe.Analyze = assess.Analyze
	}
	if err := c.Batch.Validate(); err != nil {
		return err
	}
	return c.Probe.Validate()
}

// Sink receives what a scan produces, once it is stored: each result with
// the findings drawn from it, and standalone findings (an app's own code,
// one address answering as many stores) with a nil result. Calls come from
// one goroutine at a time; an error stops the scan. report.Writer and the
// live table and JSONL writers are sinks.
type Sink interface {
	Add(r *gown.Result, fs []gown.Finding) error
}

// Source streams targets into out and returns when it has sent them all
// or ctx ended. It does not close out.
type Source func(ctx context.Context, out chan<- gown.Target) error

// Targets is a Source of targets already in hand.
func Targets(ts ...gown.Target) Source {
	return func(ctx context.Context, out chan<- gown.Target) error {
		for _, t := range ts {
			select {
			case out <- t:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
}

// Summary counts what one Run did.
type Summary struct {
	ID gown.ScanID // 0 when nothing was stored
	// Targets counts the targets probed in this run; Results the results
	// kept (answered, or any with KeepClosed); Open the open stores.
	Targets, Results, Open int
	// Findings counts the findings of this run, apps' and cross-result
	// ones included; Gated those at or above Config.FailOn, with the
	// stored ones of a resumed scan.
	Findings, Gated int
	Took            time.Duration
}

// Scan is one scan in progress. Its methods are called from one goroutine:
// Begin, then AddApp for each app read, then Run once.
type Scan struct {
	cfg  Config
	eng  *probe.Engine
	sink Sink
	id   gown.ScanID
	done *store.DoneSet // targets a resumed scan finished; nil for a new one
	b    *store.Batcher // nil without a store
	// cancel stops Run when storing or the sink fails: results that can be
	// neither kept nor printed must not be probed for.
	cancel context.CancelFunc
	err    error
	sum    Summary
	began  time.Time
	ran    bool
}

// Begin starts a scan: it records it in the store, or takes up the one
// to resume and loads the targets it finished, and starts committing. The
// scan must then be Run, even with no targets, to be marked finished.
func Begin(ctx context.Context, cfg Config, sink Sink) (*Scan, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	eng, err := probe.New(cfg.Probe, cfg.Registry)
	if err != nil {
		return nil, err
	}
	if cfg.Dialer != nil {
		eng.WithDialer(cfg.Dialer)
	}
	s := &Scan{cfg: cfg, eng: eng, sink: sink, began: time.Now(), cancel: func() {}}
	if cfg.Store == nil {
		return s, nil
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	s.sum.ID = s.id
	s.b, err = store.NewBatcher(ctx, cfg.Store, s.id, cfg.Batch, s.committed)
	return s, err
}

func (s *Scan) begin(ctx context.Context) error {
	st := s.cfg.Store
	if s.cfg.Attach != 0 {
		if _, err := st.Scan(ctx, s.cfg.Attach); err != nil {
			return err
		}
		s.id = s.cfg.Attach
		return nil
	}
	if s.cfg.Resume == 0 {
		meta := s.cfg.Meta
		meta.Args = redact.Args(meta.Args)
		id, err := st.BeginScan(ctx, meta)
		s.id = id
		return err
	}
	s.id = s.cfg.Resume
	// Running again, before anything is read: a prune meanwhile spares it.
	if err := st.FinishScan(ctx, s.id, gown.ScanRunning); err != nil {
		return err
	}
	err := s.resume(ctx)
	if err != nil {
		err = errors.Join(err, st.FinishScan(context.WithoutCancel(ctx), s.id, gown.ScanInterrupted))
	}
	return err
}

// resume loads what a resumed scan had finished: its done targets, and
// the findings that count towards FailOn.
func (s *Scan) resume(ctx context.Context) error {
	done, err := store.LoadDone(ctx, s.cfg.Store, s.id)
	if err != nil {
		return err
	}
	s.done = done
	if s.cfg.FailOn == nil {
		return nil
	}
	return s.cfg.Store.Results(ctx, s.id, func(_ *gown.Result, fs []gown.Finding) error {
		s.gate(fs)
		return nil
	})
}

// ID is the scan's id in the store (0 without one).
func (s *Scan) ID() gown.ScanID { return s.id }

// Finished counts the targets a resumed scan had finished before this run.
func (s *Scan) Finished() int {
	if s.done == nil {
		return 0
	}
	return s.done.Len()
}

// AddApp stores the app in the scan (gown.Record.App: its identity and
// endpoints, read back by gown.Store.ScanApps), grades its own code
// (assess.AppFindings: hard-coded credentials, clear-text transport) and
// adds its findings to the scan. The findings are committed, and handed to
// the sink, before AddApp returns, so that a caller printing each app sees
// its findings follow it; an app without findings is committed with the
// next batch.
func (s *Scan) AddApp(a *gown.App) error {
	fs := assess.AppFindings(a)
	s.add(gown.Record{App: a, Findings: fs})
	if len(fs) == 0 {
		return s.err
	}
	if s.b != nil && s.err == nil {
		s.err = s.b.Flush()
	}
	return s.err
}

// AddFindings adds standalone findings to the scan (what gown traffic
// drew from a capture: clear-text personal data and credentials). Like
// AddApp's, they are committed, and handed to the sink, before it returns.
func (s *Scan) AddFindings(fs []gown.Finding) error {
	if len(fs) == 0 {
		return s.err
	}
	s.add(gown.Record{Findings: fs})
	if s.b != nil && s.err == nil {
		s.err = s.b.Flush()
	}
	return s.err
}

// Run probes every target src sends that the scan has not finished,
// assesses, stores and reports each result, then the findings across
// results, and marks the scan finished: done when everything ran, else
// interrupted (ctx ended, src or the store failed). src may be nil: a scan
// of apps' own code only. Run is called once.
func (s *Scan) Run(ctx context.Context, src Source) (Summary, error) {
	if s.ran {
		return s.sum, errors.New("scan: Run called twice")
	}
	s.ran = true
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.cancel = cancel
	if src == nil {
		// Nothing to dial (the apps' own code only), so no engine: its
		// start reads the machine's CPU time and makes its queues.
		s.sum.Took = time.Since(s.began)
		err := s.finish(ctx, ctx.Err() == nil)
		if err == nil {
			err = ctx.Err()
		}
		return s.sum, err
	}
	targets := make(chan gown.Target, s.cfg.Probe.Workers)
	srcErr := make(chan error, 1)
	go func() {
		defer close(targets)
		srcErr <- s.produce(ctx, src, targets)
	}()
	var hp assess.MultiStore // one address answering as many stores: a honeypot sign
	runErr := s.eng.Run(ctx, targets, func(r *gown.Result) {
		if s.cfg.Observe != nil {
			s.cfg.Observe(r)
		}
		s.sum.Targets++
		hp.Add(r)
		s.result(r)
	})
	pErr := <-srcErr
	for _, f := range hp.Findings() {
		s.add(gown.Record{Findings: []gown.Finding{f}})
	}
	s.sum.Took = time.Since(s.began)
	err := s.finish(ctx, runErr == nil && pErr == nil)
	switch {
	case err != nil:
		return s.sum, err
	case runErr != nil:
		return s.sum, runErr
	}
	return s.sum, pErr
}

// produce sends what src sends, less the targets a resumed scan finished:
// those are never dialled.
func (s *Scan) produce(ctx context.Context, src Source, out chan<- gown.Target) error {
	if s.done == nil || s.done.Len() == 0 {
		return src(ctx, out)
	}
	raw := make(chan gown.Target, cap(out))
	errc := make(chan error, 1)
	go func() {
		defer close(raw)
		errc <- src(ctx, raw)
	}()
	for t := range raw {
		if s.done.Has(t) {
			continue
		}
		select {
		case out <- t:
		case <-ctx.Done():
		}
	}
	return <-errc
}

// result assesses one result and adds it; a target where nothing answered
// only marks its target done unless closed ports are kept.
func (s *Scan) result(r *gown.Result) {
	rec := gown.Record{Target: r.Target}
	if r.Status.Answered() || s.cfg.KeepClosed {
		rec.Result, rec.Findings = r, assess.Findings(r)
		s.sum.Results++
		if r.Status == gown.StatusOpen {
			s.sum.Open++
		}
	}
	s.add(rec)
}

// add counts a record's findings and stores it, or hands it to the sink
// at once without a store. The first failure stops the scan.
func (s *Scan) add(rec gown.Record) {
	if s.err != nil {
		return
	}
	s.sum.Findings += len(rec.Findings)
	s.gate(rec.Findings)
	if s.b == nil {
		s.err = s.committed([]gown.Record{rec})
	} else {
		s.err = s.b.Add(rec)
	}
	if s.err != nil {
		s.cancel()
	}
}

func (s *Scan) gate(fs []gown.Finding) {
	for _, f := range fs {
		if s.cfg.FailOn != nil && f.Severity >= *s.cfg.FailOn {
			s.sum.Gated++
		}
	}
}

// committed hands stored records to the sink; a record that only marks
// its target done is not shown.
func (s *Scan) committed(batch []gown.Record) error {
	if s.sink == nil {
		return nil
	}
	for _, rec := range batch {
		if rec.Result == nil && len(rec.Findings) == 0 {
			continue
		}
		if err := s.sink.Add(rec.Result, rec.Findings); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
	}
	return nil
}

// finish commits what is buffered and records how the scan ended. It runs
// after Ctrl-C too, so it writes with a context that is not cancelled.
func (s *Scan) finish(ctx context.Context, complete bool) error {
	if s.b == nil {
		return s.err
	}
	ctx = context.WithoutCancel(ctx)
	err := errors.Join(s.err, s.b.Close())
	if s.cfg.Attach != 0 {
		return err // the process that began the scan finishes it
	}
	state := gown.ScanDone
	if !complete || err != nil {
		state = gown.ScanInterrupted
	}
	return errors.Join(err, s.cfg.Store.FinishScan(ctx, s.id, state))
}

// Close stops a scan that was begun but will not be Run (a later step of
// the caller failed): it commits what was added and marks the scan
// interrupted. It does nothing after Run.
func (s *Scan) Close(ctx context.Context) error {
	if s.ran {
		return nil
	}
	s.ran = true
	return s.finish(ctx, false)
}
