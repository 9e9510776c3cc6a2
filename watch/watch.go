// Package watch re-runs a scan or a fleet scan on a schedule (an interval
// or a cron expression), diffs each run against the last one that finished
// (store.Diff: new, fixed, grown, shrunk, wiped), and alerts on the changes
// at or above a chosen severity by webhook (a Slack-compatible message, a
// generic JSON document), with retries and back-off, keeping a record of
// the alerts it could not deliver.
//
// All of a watch's state is rows in the results store (gown.WatchStore):
// which run was due when, the scan each made, the alerts each found and
// each alert's delivery to each webhook. A watch killed and started again
// reads them back: it waits for the next due time if the last run finished,
// runs at once if a due time passed while it was down (once, for the latest:
// the diff against the last finished run holds every change since), runs
// again a run it was killed in, and delivers what it had recorded but not
// yet delivered. Alerts are recorded in the same transaction that marks a
// run done, and their ids are derived from the run and the finding, so no
// change is alerted twice or missed.
//
// One window is left, as with any webhook: a watch killed after a webhook
// accepted an alert and before the delivery was recorded delivers it again
// on restart. Each request carries the alert id (in the payload and the
// X-Gown-Alert-Id header) for receivers to drop such a repeat.
package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gownscan/gown"
)

// Store is what a watch needs of the results store.
type Store interface {
	gown.Store
	gown.WatchStore
}

// RunFunc runs the watched scan once and returns the id of the pipeline
// scan it recorded (0 if it recorded none). An error with a scan id means
// the scan began and failed.
type RunFunc func(ctx context.Context) (gown.ScanID, error)

// Config sets a watch.
type Config struct {
	Spec     gown.WatchSpec
	Schedule Schedule
	Store    Store
	Run      RunFunc
	// AlertOn is the least severity that alerts.
	AlertOn gown.Severity
	// Sinks are the webhooks alerts go to.
	Sinks []Sink
	Retry Retry
	// Log receives one line per run and per delivery problem; nil discards.
	Log io.Writer
	// Now and Sleep are the clock (time.Now and a timer by default); tests
	// run a watch on their own.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Validate checks the config and fills in defaults.
func (c *Config) Validate() error {
	switch {
	case c.Spec.Name == "":
		return errors.New("watch: no name")
	case c.Spec.Command != "scan" && c.Spec.Command != "fleet":
		return fmt.Errorf("watch: command %q: want scan or fleet", c.Spec.Command)
	case c.Store == nil || c.Run == nil:
		return errors.New("watch: no store or nothing to run")
	case c.Schedule.s == nil:
		return errors.New("watch: no schedule")
	}
	c.Spec.Schedule = c.Schedule.String()
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
	for _, s := range c.Sinks {
		if err := s.Validate(); err != nil {
			return err
		}
	}
	return c.Retry.Validate()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Watcher is one watch, ready to run.
type Watcher struct {
	cfg   Config
	w     gown.Watch
	sinks []string
}

// New stores (or takes up) the watch named cfg.Spec.Name.
func New(ctx context.Context, cfg Config) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w, err := cfg.Store.EnsureWatch(ctx, cfg.Spec)
	if err != nil {
		return nil, err
	}
	wt := &Watcher{cfg: cfg, w: w}
	for _, s := range cfg.Sinks {
		wt.sinks = append(wt.sinks, s.ID())
	}
	return wt, nil
}

// Watch is the stored watch.
func (wt *Watcher) Watch() gown.Watch { return wt.w }

func (wt *Watcher) logf(format string, args ...any) {
	fmt.Fprintf(wt.cfg.Log, "gown watch %s: "+format+"\n", append([]any{wt.w.Name}, args...)...)
}

// last returns the newest run, if any.
func (wt *Watcher) last(ctx context.Context) (gown.WatchRun, bool, error) {
	var run gown.WatchRun
	found := false
	errStop := errors.New("stop")
	err := wt.cfg.Store.WatchRuns(ctx, wt.w.ID, func(r gown.WatchRun) error {
		run, found = r, true
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return run, false, err
	}
	return run, found, nil
}

// base returns the scan of the newest finished run: what the next run is
// diffed against (0 before the first).
func (wt *Watcher) base(ctx context.Context) (gown.ScanID, error) {
	var base gown.ScanID
	errStop := errors.New("stop")
	err := wt.cfg.Store.WatchRuns(ctx, wt.w.ID, func(r gown.WatchRun) error {
		if r.State == gown.RunDone && r.Scan != 0 {
			base = r.Scan
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return 0, err
	}
	return base, nil
}

// recover closes a run the watch was killed in: it is marked failed (the
// scan it began stays interrupted or running in the store), and said to
// be due again.
func (wt *Watcher) recover(ctx context.Context) (time.Time, bool, error) {
	last, ok, err := wt.last(ctx)
	if err != nil || !ok || last.State != gown.RunRunning {
		return time.Time{}, false, err
	}
	wt.logf("run %d (due %s) was interrupted: running it again", last.Seq, last.Due.Format(time.RFC3339))
	if err := wt.cfg.Store.FailRun(ctx, wt.w.ID, last.Seq, "interrupted: the watch stopped during the run"); err != nil {
		return time.Time{}, false, err
	}
	return last.Due, true, nil
}

// Once runs one cycle now, whatever the schedule (gown watch --once, for
// cron): it delivers what an earlier process left undelivered, runs the
// scan, diffs it against the last finished run, records and delivers the
// alerts.
func (wt *Watcher) Once(ctx context.Context) error {
	if _, _, err := wt.recover(ctx); err != nil {
		return err
	}
	if err := wt.deliverPending(ctx); err != nil {
		return err
	}
	return wt.cycle(ctx, wt.cfg.Now())
}

// Run runs the watch until ctx ends: each run at its due time, the first
// at once for a new watch.
func (wt *Watcher) Run(ctx context.Context) error {
	due, again, err := wt.recover(ctx)
	if err != nil {
		return err
	}
	if err := wt.deliverPending(ctx); err != nil {
		return err
	}
	if !again {
		if due, err = wt.nextDue(ctx); err != nil {
			return err
		}
	}
	for {
		if d := due.Sub(wt.cfg.Now()); d > 0 {
			wt.logf("next run due %s (in %s)", due.Format(time.RFC3339), d.Round(time.Second))
			if err := wt.cfg.Sleep(ctx, d); err != nil {
				return err
			}
		}
		if err := wt.cycle(ctx, due); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			wt.logf("%v", err)
		}
		if due, err = wt.nextDue(ctx); err != nil {
			return err
		}
	}
}

// nextDue is when the next run is due: now for a watch that never ran, the
// schedule's next time after the last run's due time, or, when that has
// passed while the watch was stopped (or a run outlasted its interval),
// the latest due time that has passed.
func (wt *Watcher) nextDue(ctx context.Context) (time.Time, error) {
	last, ok, err := wt.last(ctx)
	if err != nil {
		return time.Time{}, err
	}
	now := wt.cfg.Now()
	if !ok {
		return now, nil
	}
	if t, passed := wt.cfg.Schedule.Latest(last.Due, now); passed {
		if skipped := wt.missed(last.Due, t); skipped > 0 {
			wt.logf("%d due times passed while the watch was stopped or busy: one run now covers them", skipped+1)
		}
		return t, nil
	}
	return wt.cfg.Schedule.Next(last.Due), nil
}

// missed counts due times between from and to, exclusive, up to a cap.
func (wt *Watcher) missed(from, to time.Time) int {
	n := 0
	for t := wt.cfg.Schedule.Next(from); t.Before(to) && n < 1000; t = wt.cfg.Schedule.Next(t) {
		n++
	}
	return n
}

// cycle is one run: scan, diff, record alerts, deliver.
func (wt *Watcher) cycle(ctx context.Context, due time.Time) error {
	st := wt.cfg.Store
	run, err := st.StartRun(ctx, wt.w.ID, due)
	if err != nil {
		return err
	}
	base, err := wt.base(ctx)
	if err != nil {
		return err
	}
	scanID, runErr := wt.cfg.Run(ctx)
	if scanID != 0 {
		// Recorded at once, so that a run interrupted later still says
		// which scan it was making.
		if err := st.SetRunScan(context.WithoutCancel(ctx), wt.w.ID, run.Seq, scanID); err != nil {
			return err
		}
	}
	if runErr == nil && scanID == 0 {
		runErr = errors.New("the scan recorded nothing in the store")
	}
	if runErr != nil {
		if ctx.Err() != nil {
			// Killed or stopped: the run stays running, and is run again
			// when the watch is started again.
			return runErr
		}
		wt.logf("run %d failed: %v", run.Seq, runErr)
		return st.FailRun(ctx, wt.w.ID, run.Seq, runErr.Error())
	}
	run.Scan, run.Base = scanID, base
	alerts, counts, err := wt.alerts(ctx, run)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		wt.logf("run %d: diff failed: %v", run.Seq, err)
		return st.FailRun(ctx, wt.w.ID, run.Seq, "diff: "+err.Error())
	}
	if err := st.FinishRun(ctx, run, alerts, wt.sinks); err != nil {
		return err
	}
	wt.logf("run %d (due %s): scan %d diffed against %s: %s; %d alerts at or above %s", run.Seq, due.Format(time.RFC3339), scanID,
		baseName(base), counts, len(alerts), wt.cfg.AlertOn)
	return wt.deliverPending(ctx)
}

func baseName(b gown.ScanID) string {
	if b == 0 {
		return "nothing (the watch's first run: what is exposed now is new)"
	}
	return fmt.Sprintf("scan %d", b)
}
