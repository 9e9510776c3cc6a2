package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/fleet"
	"github.com/gownscan/gown/queue"
	"github.com/gownscan/gown/redact"
	"github.com/gownscan/gown/report"
	"github.com/gownscan/gown/scan"
	"github.com/gownscan/gown/store"
	"github.com/spf13/pflag"
)

// queueFlags send a scan to queue workers instead of probing here (gown
// scan, gown app), and name the stream for gown worker and gown scans
// cancel.
type queueFlags struct {
	url        string
	stream     string
	partitions int
	batch      int
	follow     bool
}

// register adds the flags every queue command shares.
func (f *queueFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.url, "queue", "", "hand the work to gown workers through NATS JetStream at `URL` (nats://HOST:PORT); needs --db postgres://")
	fs.StringVar(&f.stream, "queue-stream", "GOWN", "the JetStream stream's `NAME` (one per results store)")
	fs.IntVar(&f.partitions, "partitions", 32, "partitions of a stream created now: batches in flight across all workers at most")
}

// registerSubmit adds the submitter's own flags.
func (f *queueFlags) registerSubmit(fs *pflag.FlagSet) {
	f.register(fs)
	fs.IntVar(&f.batch, "batch", queue.DefaultBatch, "targets per queued batch (with --queue)")
	fs.BoolVar(&f.follow, "follow", false, "with --queue: follow the scan's progress until the workers finish it, then write its results")
}

// config is the queue config the flags name.
func (f *queueFlags) config() queue.Config {
	return queue.Config{URL: f.url, Stream: f.stream, Partitions: f.partitions}
}

// queueJob is a scan handed to the queue: the connection, and the scan id
// once begun.
type queueJob struct {
	flags   queueFlags
	probers []string // --probers, which workers select from their registry
	q       *queue.Queue
	id      gown.ScanID
}

// attach checks the queue flags against the rest of the job and, with
// --queue, makes it a queued job.
func (f *queueFlags) attach(job *scanJob, probers []string) error {
	if f.url == "" {
		if f.follow {
			return errors.New("--follow follows a queued scan: give --queue too")
		}
		return nil
	}
	cfg := f.config()
	if err := cfg.Validate(); err != nil {
		return err
	}
	switch {
	case job.noStore || !store.IsPostgres(job.db):
		return errors.New("--queue needs --db postgres://...: workers on other machines share the results store")
	case job.resume != nil:
		return errors.New("a queued scan is not resumed: its workers take up what was not acknowledged")
	case job.failOn != nil && !f.follow:
		return errors.New("--fail-on with --queue needs --follow: the findings are known once the workers finish")
	case f.batch < 1:
		return fmt.Errorf("--batch %d: want 1 or more", f.batch)
	}
	job.queue = &queueJob{flags: *f, probers: probers}
	return nil
}

// newLiveWriter is the writer of a followed queued scan's results: the
// table, or JSON Lines with --json, with no progress line to share with.
func newLiveWriter(job *scanJob, io stdio) liveWriter {
	if job.json {
		return report.NewJSONL(io.out)
	}
	return report.NewTableWith(io.out, tableOptions(io.out, job.noColor))
}

// beginQueued records a queued scan in the store and connects to the
// queue; the scan it returns is attached to the stored one, so that gown
// app stores the apps' own findings through it.
func (job *scanJob) beginQueued(ctx context.Context, io stdio) (*live, error) {
	qj := job.queue
	l := &live{job: job, io: io, rep: newLiveWriter(job, io)}
	l.io.quiet = job.quiet
	st, err := store.Open(ctx, job.db)
	if err != nil {
		return nil, err
	}
	l.st = st
	if qj.q, err = queue.Open(ctx, qj.flags.config(), "gown "+job.command); err != nil {
		l.closeStore()
		return nil, err
	}
	opts := queue.OptionsOf(job.pcfg, qj.probers, job.all)
	meta := gown.ScanMeta{Command: job.command, Args: job.args, Version: version}
	if qj.id, err = queue.Begin(ctx, st, meta, opts); err == nil {
		// No sink: the apps' findings are written with the rest once the
		// workers are done (--follow), not twice.
		l.s, err = scan.Begin(ctx, scan.Config{Registry: job.reg, Probe: job.pcfg, Store: st, Attach: qj.id}, nil)
	}
	if err != nil {
		qj.q.Close()
		l.closeStore()
		return nil, err
	}
	where, _ := store.Where(job.db)
	l.io.notef("gown: scan %d, stored in %s, for the workers of %s\n", qj.id, where, qj.flags.url)
	return l, nil
}

// beginFleetQueued records a queued fleet scan in st and connects to the
// queue: fleet.Scan then attaches to the recorded scan, stores the apps'
// findings and the fleet checks in it, and hands its back-end targets to
// submit, which closes st and the queue.
func (job *scanJob) beginFleetQueued(ctx context.Context, st gown.Store, cfg *fleet.ScanConfig, io stdio) error {
	qj := job.queue
	var err error
	if qj.q, err = queue.Open(ctx, qj.flags.config(), "gown fleet"); err != nil {
		return err
	}
	opts := queue.OptionsOf(job.pcfg, qj.probers, job.all)
	if qj.id, err = queue.Begin(ctx, st, cfg.Scan.Meta, opts); err != nil {
		qj.q.Close()
		return err
	}
	cfg.Scan.Attach = qj.id
	// No sink: the apps' findings are written with the rest once the
	// workers are done (--follow), not twice.
	rep := cfg.Sink.(liveWriter)
	cfg.Sink = nil
	cfg.Submit = func(ctx context.Context, s *scan.Scan, src scan.Source) (scan.Summary, error) {
		l := &live{job: job, io: io, rep: rep, st: st, s: s}
		l.io.quiet = job.quiet
		return scan.Summary{ID: qj.id}, l.submit(ctx, src)
	}
	return nil
}

// submit publishes what src sends as batches and, with --follow, waits for
// the workers to finish and writes the scan's results as a local scan
// would.
func (l *live) submit(ctx context.Context, src scan.Source) error {
	qj := l.job.queue
	defer l.closeStore()
	defer qj.q.Close()
	// The attached scan holds the apps' own findings: commit them.
	if l.s != nil {
		if _, err := l.s.Run(ctx, nil); err != nil {
			return err
		}
	}
	ledger := l.st.(gown.Ledger)
	if src == nil {
		src = scan.Targets()
	}
	sub, err := qj.q.Submit(ctx, l.st, qj.id, src, qj.flags.batch)
	if err != nil {
		// Half a scan would stay running for ever: cancel what went out.
		_, cerr := qj.q.Cancel(context.WithoutCancel(ctx), ledger, qj.id)
		return errors.Join(fmt.Errorf("scan %d cancelled: %w", qj.id, err), cerr)
	}
	again := ""
	if sub.Duplicates > 0 {
		again = fmt.Sprintf(", %d of them queued before", sub.Duplicates)
	}
	l.io.notef("gown: scan %d: %d targets in %d batches on stream %s (%d partitions)%s\n",
		qj.id, sub.Targets, sub.Batches, qj.q.Config().Stream, qj.q.Partitions(), again)
	if !qj.flags.follow {
		// Nothing was written, so the writer is not closed: its summary
		// would speak of a scan that has not run yet.
		l.io.notef("gown: the workers run it; gown scans --db DSN shows progress, gown report %d the results\n", qj.id)
		return nil
	}
	return l.follow(ctx, ledger)
}

// resubmit takes up a queued scan whose submitter stopped before it had
// queued every batch (killed, or NATS away for minutes): gown scan --resume
// ID expands the stored arguments again and publishes every batch; those
// the stream already holds keep their ids and are dropped as duplicates, and
// a batch that already ended is acked by the worker that meets it without
// running. A scan queued whole needs nothing: its workers finish it.
func (job *scanJob) resubmit(ctx context.Context, sf *scanFlags, io stdio) error {
	meta := job.resume
	job.resume = nil
	if err := sf.queue.attach(job, sf.probers); err != nil {
		return fmt.Errorf("scan %d: stored arguments: %w", meta.ID, err)
	}
	qj := job.queue
	qj.id = meta.ID
	l := &live{job: job, io: io, rep: newLiveWriter(job, io)}
	l.io.quiet = job.quiet
	st, err := store.Open(ctx, job.db)
	if err != nil {
		return err
	}
	l.st = st
	var q gown.QueueState
	queued := false
	ledger, ok := st.(gown.Ledger)
	if ok {
		q, queued, err = ledger.QueueState(ctx, meta.ID)
	}
	switch {
	case err != nil:
	case !queued:
		err = fmt.Errorf("scan %d was not queued", meta.ID)
	case q.Cancelled:
		err = fmt.Errorf("scan %d was cancelled", meta.ID)
	}
	if err == nil {
		qj.q, err = queue.Open(ctx, qj.flags.config(), "gown scan")
	}
	if err != nil {
		l.closeStore()
		return err
	}
	if !q.Sealed {
		l.io.notef("gown: scan %d: queueing again; batches the stream holds already are dropped\n", meta.ID)
		return l.submit(ctx, func(ctx context.Context, out chan<- gown.Target) error {
			return job.input.Produce(ctx, &job.tcfg, out)
		})
	}
	defer l.closeStore()
	defer qj.q.Close()
	l.io.notef("gown: scan %d was queued whole (%s): its workers finish it\n", meta.ID, batchesLine(q))
	if !qj.flags.follow {
		return nil
	}
	return l.follow(ctx, ledger)
}

// follow reports progress until the scan is finished, then writes its
// results and counts those --fail-on gates.
func (l *live) follow(ctx context.Context, ledger gown.Ledger) error {
	id := l.job.queue.id
	var last gown.QueueState
	var said time.Time
	st, err := queue.Follow(ctx, ledger, id, 500*time.Millisecond, func(q gown.QueueState) {
		if q != last && time.Since(said) >= 2*time.Second || q.Finished() {
			l.io.notef("gown: scan %d: %s\n", id, progressLine(q))
			last, said = q, time.Now()
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			l.io.notef("gown: scan %d goes on with the workers; gown scans shows it\n", id)
		}
		return err
	}
	gated := 0
	err = l.st.Results(ctx, id, func(r *gown.Result, fs []gown.Finding) error {
		for _, f := range fs {
			if l.job.failOn != nil && f.Severity >= *l.job.failOn {
				gated++
			}
		}
		return l.rep.Add(r, fs)
	})
	if cerr := l.rep.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write results: %w", cerr)
	}
	switch {
	case err != nil:
		return err
	case st.Dead > 0:
		return fmt.Errorf("scan %d: %d batches failed on every delivery and were not probed: gown scans --dead --db DSN lists them", id, st.Dead)
	case st.Cancelled:
		return fmt.Errorf("scan %d was cancelled", id)
	case gated > 0:
		return findingsError{gated}
	}
	return nil
}

// progressLine says how far a queued scan got.
func progressLine(q gown.QueueState) string {
	s := batchesLine(q)
	if !q.Sealed && !q.Cancelled {
		s += " (still submitting)"
	}
	if q.Finished() {
		s += ": " + string(q.State)
	}
	return s
}

// batchesLine counts a queued scan's batches. A cancelled scan's unstarted
// batches were purged, so they are not queued: what is left is the running
// ones stopping.
func batchesLine(q gown.QueueState) string {
	var s string
	if q.Cancelled {
		s = fmt.Sprintf("cancelled: %d/%d batches done, %d dropped, %d stopping", q.Done, q.Batches, q.Dropped, q.Running)
	} else {
		s = fmt.Sprintf("%d/%d batches done, %d running, %d queued", q.Done, q.Batches, q.Running, q.Queued())
	}
	if q.Dead > 0 {
		s += fmt.Sprintf(", %d dead", q.Dead)
	}
	return s
}

// queueColumn is gown scans' QUEUE cell for a scan: its batches, or "-"
// for a scan run in one process.
func queueColumn(ctx context.Context, st gown.Store, id gown.ScanID) string {
	l, ok := st.(gown.Ledger)
	if !ok {
		return "-"
	}
	q, ok, err := l.QueueState(ctx, id)
	if err != nil || !ok {
		return "-"
	}
	return batchesLine(q)
}

// scanJSON is a scan as gown scans --json writes it: the scan, and its
// queue state when it ran on the queue.
func scanJSON(ctx context.Context, st gown.Store, m gown.ScanMeta) any {
	l, ok := st.(gown.Ledger)
	if !ok {
		return m
	}
	q, ok, err := l.QueueState(ctx, m.ID)
	if err != nil || !ok {
		return m
	}
	return struct {
		gown.ScanMeta
		Queue gown.QueueState `json:"queue"`
	}{m, q}
}

// scansCommand runs gown scans cancel SCAN.
func scansCommand(ctx context.Context, args []string, qf *queueFlags, open func(context.Context) (gown.Store, error), io stdio) error {
	if len(args) != 2 || args[0] != "cancel" {
		return usageError{fmt.Errorf("gown scans: want cancel SCAN, got %q", args)}
	}
	id, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil || id <= 0 {
		return usageError{fmt.Errorf("gown scans cancel %q: want a scan id", args[1])}
	}
	st, err := open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	l, ok := st.(gown.Ledger)
	if !ok {
		return errors.New("gown scans cancel: this store keeps no queue ledger")
	}
	var q gown.QueueState
	if qf.url == "" {
		// The workers drop the rest as they meet it; the stream keeps
		// the messages until then.
		q, err = l.Cancel(ctx, gown.ScanID(id))
	} else {
		var qu *queue.Queue
		if qu, err = queue.Open(ctx, qf.config(), "gown scans cancel"); err != nil {
			return err
		}
		defer qu.Close()
		q, err = qu.Cancel(ctx, l, gown.ScanID(id))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(io.out, "scan %d cancelled: %s\n", id, progressLine(q))
	return nil
}

// listDead writes the dead letters of every queued scan.
func listDead(ctx context.Context, st gown.Store, asJSON bool, io stdio) error {
	l, ok := st.(gown.Ledger)
	if !ok {
		return errors.New("gown scans --dead: this store keeps no queue ledger")
	}
	enc := json.NewEncoder(io.out)
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	if !asJSON {
		fmt.Fprintln(tw, "SCAN\tBATCH\tTARGETS\tDELIVERIES\tENDED\tWORKER\tERROR")
	}
	err := l.DeadLetters(ctx, 0, func(d gown.DeadLetter) error {
		if asJSON {
			return enc.Encode(d)
		}
		_, err := fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%s\t%s\t%s\n", d.Scan, d.Batch, d.Targets, d.Deliveries,
			d.Ended.Local().Format(time.DateTime), redact.Escape(d.Worker), redact.Escape(d.Error))
		return err
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

// noteQueued tells, on stderr, what a report of a queued scan leaves out:
// batches still to run, or dead letters whose targets were never probed.
func noteQueued(ctx context.Context, st gown.Store, id gown.ScanID, std stdio) {
	l, ok := st.(gown.Ledger)
	if !ok {
		return
	}
	q, ok, err := l.QueueState(ctx, id)
	switch {
	case err != nil || !ok:
	case !q.Finished():
		std.notef("gown: scan %d is still running on the queue (%s): the report holds what is stored so far\n", id, batchesLine(q))
	case q.Dead > 0:
		std.notef("gown: scan %d: %d batches failed on every delivery and were not probed (gown scans --dead lists them)\n", id, q.Dead)
	}
}
