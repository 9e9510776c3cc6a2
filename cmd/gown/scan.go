package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/assess"
	"github.com/gownscan/gown/internal/progress"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/all"
	"github.com/gownscan/gown/report"
	"github.com/gownscan/gown/store"
	"github.com/gownscan/gown/target"
	"github.com/spf13/pflag"
)

// scanFlags are the flags of gown scan; they become a target.Config and a
// probe.Config.
type scanFlags struct {
	lists     []string
	ports     string
	resolve   []string
	exclude   []string
	probers   []string
	json      bool
	all       bool
	detect    bool
	workers   int
	perHost   int
	rate      float64
	timeout   time.Duration
	connect   time.Duration
	ioTimeout time.Duration
	maxRead   int64
	maxCIDR   uint64
	source    string
	failOn    string
	noDNS     bool
	db        string
	noStore   bool
	resume    string
	quiet     bool
	verbose   bool

	// Sampling: records read per collection (0 or --no-sample: off) and
	// the bytes read per host.
	noSample    bool
	sampleK     int
	sampleBytes int64
}

func (f *scanFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&f.lists, "list", "l", nil, "read targets from `FILE`, one per line (- for stdin); repeatable")
	fs.StringVarP(&f.ports, "ports", "p", "", "ports for targets that name none, e.g. 6379,3306,9000-9100 (default: every prober's ports)")
	fs.StringArrayVar(&f.resolve, "resolve", nil, "map `HOST=ADDR` without DNS; repeatable")
	fs.StringArrayVar(&f.exclude, "exclude", nil, "never probe this network (CIDR, address) or domain; repeatable")
	fs.StringSliceVar(&f.probers, "probers", nil, "use only these probers (comma-separated names)")
	fs.BoolVar(&f.json, "json", false, "write JSON Lines, one object per result (docs/output.md)")
	fs.BoolVar(&f.all, "all", false, "also report closed and filtered ports")
	fs.BoolVar(&f.detect, "detect", true, "identify the store on ports no prober claims (banner first, then each prober); --detect=false skips such ports")
	fs.IntVar(&f.workers, "workers", 256, "targets probed at once (4× as many may be connecting: a filtered port holds no worker)")
	fs.IntVar(&f.perHost, "per-host", 16, "targets connecting or probed at once on one address (each holds one connection at a time)")
	fs.Float64Var(&f.rate, "rate", 0, "new connections per second across the scan (0: no limit)")
	fs.DurationVar(&f.timeout, "timeout", 15*time.Second, "deadline for all probes of one target, once its connect is answered")
	fs.DurationVar(&f.connect, "connect-timeout", 3*time.Second, "deadline for a TCP connect")
	fs.DurationVar(&f.ioTimeout, "io-timeout", 5*time.Second, "deadline for each read or write")
	fs.Int64Var(&f.maxRead, "max-read", 1<<20, "bytes read from one connection at most")
	fs.Uint64Var(&f.maxCIDR, "max-cidr", 1<<16, "addresses one CIDR may expand to at most")
	fs.StringVar(&f.source, "source", "", "local source `ADDR` for connections")
	fs.StringVar(&f.failOn, "fail-on", "", "exit 3 when a finding at or above `SEVERITY` exists (info, low, medium, high, critical)")
	fs.BoolVar(&f.noDNS, "no-dns", false, "never use DNS: names need a --resolve mapping")
	fs.StringVar(&f.db, "db", "", "results store: a SQLite `FILE` or a postgres:// URL (default: $XDG_DATA_HOME/gown/gown.db)")
	fs.BoolVar(&f.noStore, "no-store", false, "do not store results; only print them")
	fs.StringVar(&f.resume, "resume", "", "continue an unfinished scan (the newest, or `ID` as --resume=ID or --resume ID), skipping finished targets")
	fs.Lookup("resume").NoOptDefVal = resumeLatest
	fs.BoolVar(&f.noSample, "no-sample", false, "read no records from open stores: no sensitive-data classes (compromise signs from names and details still run)")
	fs.IntVar(&f.sampleK, "sample-k", probe.DefaultSample.PerCollection, "records read from each collection, table, index or key prefix of an open store, to classify (docs/severity.md)")
	fs.Int64Var(&f.sampleBytes, "sample-bytes", probe.DefaultSample.Bytes, "bytes of records read from one host's store at most")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "print only results and errors: no progress line, no notes")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "also print each closed, filtered or failed target with its time, and the scan's timing, on stderr")
}

// scanJob is a validated scan, ready to run.
type scanJob struct {
	specs  []string
	lists  []string
	tcfg   target.Config
	pcfg   probe.Config
	reg    *probe.Registry
	json   bool
	all    bool
	failOn *gown.Severity
	// args are the scan's own arguments as stored for --resume.
	args []string
	// db and noStore choose the store; resume is the stored scan continued.
	db      string
	noStore bool
	resume  *gown.ScanMeta
	// quiet drops notes and the progress line; verbose adds a stderr line
	// per target that found nothing.
	quiet, verbose bool
}

func cmdScan(ctx context.Context, args []string, io stdio) error {
	fs := pflag.NewFlagSet("gown scan", pflag.ContinueOnError)
	fs.SetOutput(io.err)
	var f scanFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(io.err, "Usage: gown scan [targets...] [flags]\n\nTargets: host, host:port, [v6]:port, URL (redis://, mysql://, https://...), CIDR.\n\nFlags:\n%s", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.Changed("resume") {
		return resumeScan(ctx, &f, fs.Args(), io)
	}
	job, err := f.job(fs.Args(), io)
	if err != nil {
		return usageError{err}
	}
	job.args = storedArgs(args)
	return job.run(ctx, io)
}

func (f *scanFlags) job(specs []string, io stdio) (*scanJob, error) {
	reg := all.Registry()
	if len(f.probers) > 0 {
		var err error
		if reg, err = reg.Select(f.probers...); err != nil {
			return nil, err
		}
	}
	job := &scanJob{specs: specs, lists: f.lists, reg: reg, json: f.json, all: f.all, db: f.db, noStore: f.noStore,
		quiet: f.quiet, verbose: f.verbose}
	if f.quiet && f.verbose {
		return nil, errors.New("-q and -v: choose one (quiet drops notes, verbose adds lines)")
	}
	if len(specs) == 0 && len(f.lists) == 0 {
		return nil, errors.New("no targets: give hosts, CIDRs or URLs, or -l FILE")
	}
	ports := reg.Ports()
	if f.ports != "" {
		var err error
		if ports, err = target.ParsePorts(f.ports); err != nil {
			return nil, err
		}
	}
	res := target.NewResolver()
	res.NoDNS = f.noDNS
	for _, r := range f.resolve {
		if err := res.Override(r); err != nil {
			return nil, err
		}
	}
	scope := &target.Scope{}
	for _, e := range f.exclude {
		if err := scope.Exclude(e); err != nil {
			return nil, err
		}
	}
	job.tcfg = target.Config{Catalog: all.Catalog(), Ports: ports, MaxCIDR: f.maxCIDR, Scope: scope, Resolve: res,
		OnError: func(spec string, err error) { fmt.Fprintf(io.err, "gown: skipping %s: %v\n", spec, err) }}
	if err := job.tcfg.Validate(); err != nil {
		return nil, err
	}
	// All is on so that closed ports reach the store as finished targets
	// (resume skips them); whether they are printed is decided per result.
	job.pcfg = probe.Config{Workers: f.workers, PerHost: f.perHost, Timeout: f.timeout, Detect: f.detect, All: true,
		Dialer: probe.DialerConfig{ConnectTimeout: f.connect, IOTimeout: f.ioTimeout, MaxRead: f.maxRead, Rate: f.rate}}
	if f.sampleK < 0 || f.sampleBytes < 0 {
		return nil, errors.New("--sample-k and --sample-bytes cannot be negative")
	}
	job.pcfg.Analyze = assess.Analyze
	job.pcfg.Sample = probe.DefaultSample
	job.pcfg.Sample.PerCollection, job.pcfg.Sample.Bytes = f.sampleK, f.sampleBytes
	if f.noSample {
		job.pcfg.Sample = probe.SampleLimits{}
	}
	if f.source != "" {
		a, err := netip.ParseAddr(f.source)
		if err != nil {
			return nil, fmt.Errorf("--source: %v", err)
		}
		job.pcfg.Dialer.Source = a
	}
	if f.failOn != "" {
		s, err := gown.ParseSeverity(f.failOn)
		if err != nil {
			return nil, fmt.Errorf("--fail-on: %w", err)
		}
		job.failOn = &s
	}
	return job, job.pcfg.Validate()
}

// findingsReporter is what the table and JSONL writers share.
type findingsReporter interface {
	ReportFindings(r *gown.Result, fs []gown.Finding) error
	Close() error
}

func (job *scanJob) run(ctx context.Context, io stdio) error {
	eng, err := probe.New(job.pcfg, job.reg)
	if err != nil {
		return err
	}
	// The progress line goes to stderr when it is a terminal; results
	// written to the same terminal blank it first.
	var bar *progress.Bar
	if !job.quiet {
		bar = progress.New(io.err, "scan")
	}
	io.quiet = job.quiet
	out := bar.Writer(io.out)
	var rep findingsReporter = report.NewTable(out)
	if job.json {
		rep = report.NewJSONL(out)
	}
	// A store that fails stops the scan: results it cannot keep would be
	// neither stored nor printed.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sink, err := job.openSink(ctx, cancel, rep, io)
	if err != nil {
		return err
	}
	targets := make(chan gown.Target, job.pcfg.Workers)
	prodErr := make(chan error, 1)
	go func() {
		defer close(targets)
		prodErr <- job.produceNew(ctx, io, sink.done, targets)
	}()
	gated := sink.gated
	if bar != nil {
		go func() { bar.SetTotal(job.count(ctx, sink.done)) }()
		bar.Start()
		defer bar.Stop()
	}
	errOut := bar.Writer(io.err)
	var hp assess.MultiStore // one address answering as many stores: a honeypot sign
	began, done, opened := time.Now(), 0, 0
	runErr := eng.Run(ctx, targets, func(r *gown.Result) {
		bar.Done(r.Status == gown.StatusOpen)
		done++
		if r.Status == gown.StatusOpen {
			opened++
		}
		hp.Add(r)
		if job.verbose && (!r.Status.Answered() || r.Error != "") {
			took := "" // unknown where the engine's detection answered alone
			if r.Duration > 0 {
				took = " (" + roundDur(r.Duration).String() + ")"
			}
			fmt.Fprintf(errOut, "gown: %s %s: %s%s\n", r.Target, r.Status, verboseReason(r), took)
		}
		fs := assess.Findings(r)
		for _, f := range fs {
			if job.failOn != nil && f.Severity >= *job.failOn {
				gated++
			}
		}
		sink.add(gown.Record{Target: r.Target, Result: r, Findings: fs}, r.Status.Answered() || job.all)
	})
	pErr := <-prodErr
	bar.Stop()
	if job.verbose {
		took := time.Since(began)
		fmt.Fprintf(io.err, "gown: %d targets in %s (%.0f/s), %d open\n", done, roundDur(took),
			float64(done)/max(took.Seconds(), 1e-3), opened)
	}
	for _, f := range hp.Findings() {
		fmt.Fprintf(io.err, "gown: %s: %s\n", f.Severity, f.Title)
	}
	sinkErr := sink.close(ctx, runErr == nil && pErr == nil)
	closeErr := rep.Close()
	switch {
	case sinkErr != nil:
		return sinkErr
	case runErr != nil:
		return runErr
	case closeErr != nil:
		return fmt.Errorf("write results: %w", closeErr)
	case pErr != nil:
		return pErr
	}
	if gated > 0 {
		return findingsError{gated}
	}
	return nil
}

// roundDur keeps a duration readable: milliseconds, or microseconds
// below one (a refused connect on loopback takes about a hundred).
func roundDur(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// verboseReason is the -v line's reason: the verdict's reason, with the
// error when it says more than "connection refused" does.
func verboseReason(r *gown.Result) string {
	switch {
	case r.Reason == "":
		return r.Error
	case r.Status == gown.StatusClosed || r.Status == gown.StatusFiltered,
		r.Error == "" || strings.Contains(r.Reason, r.Error):
		return r.Reason
	}
	return r.Reason + ": " + r.Error
}

// count gives the progress line its total without resolving or dialling:
// a CIDR counts its addresses times the ports, a host or address the ports
// (one when it names its own); list files are read a second time, line by
// line. It overshoots by what expansion skips (excluded addresses, names
// that do not resolve), which only ends a scan short of 100%. Lists on
// stdin cannot be read twice: with one the total stays unknown (0). A
// resumed scan counts what is left.
func (job *scanJob) count(ctx context.Context, done *store.DoneSet) int64 {
	if slices.Contains(job.specs, "-") || slices.Contains(job.lists, "-") {
		return 0
	}
	var n uint64
	add := func(spec string) { n = min(n+specSize(&job.tcfg, spec), math.MaxInt64) } // saturates, never wraps
	for _, s := range job.specs {
		add(s)
	}
	for _, name := range job.lists {
		f, err := os.Open(name)
		if err != nil {
			return 0
		}
		err = target.Lines(f, func(line string) bool {
			add(line)
			return ctx.Err() == nil
		})
		f.Close()
		if err != nil || ctx.Err() != nil {
			return 0
		}
	}
	if done != nil {
		n -= min(n, uint64(done.Len()))
	}
	return int64(n)
}

// specSize is how many targets one spec expands to, as far as the spec
// alone tells.
func specSize(cfg *target.Config, raw string) uint64 {
	sp, err := target.Parse(raw, cfg.Catalog)
	if err != nil {
		return 0
	}
	ports := uint64(len(cfg.Ports))
	if sp.Port != 0 {
		ports = 1
	}
	if sp.Prefix.IsValid() {
		bits := sp.Prefix.Addr().BitLen() - sp.Prefix.Bits()
		if bits >= 64 || uint64(1)<<bits > cfg.MaxCIDR {
			return 0 // refused by expansion: above --max-cidr
		}
		size := uint64(1) << bits
		if ports > 0 && size > math.MaxInt64/ports {
			return math.MaxInt64 // so that sums of two cannot wrap
		}
		return size * ports
	}
	a, _ := netip.ParseAddr(sp.Host) // an address literal is checked against excluded networks too
	if cfg.Scope.Excluded(sp.Host, a) {
		return 0
	}
	return ports
}

// produceNew streams the targets a resumed scan has not finished yet (all of
// them for a new scan). Skipped targets are never dialled.
func (job *scanJob) produceNew(ctx context.Context, io stdio, done *store.DoneSet, out chan<- gown.Target) error {
	if done == nil || done.Len() == 0 {
		return job.produce(ctx, io, out)
	}
	raw := make(chan gown.Target, cap(out))
	errc := make(chan error, 1)
	go func() {
		defer close(raw)
		errc <- job.produce(ctx, io, raw)
	}()
	for t := range raw {
		if done.Has(t) {
			continue
		}
		select {
		case out <- t:
		case <-ctx.Done():
		}
	}
	return <-errc
}

// produce streams every target of the command line and the lists.
func (job *scanJob) produce(ctx context.Context, io stdio, out chan<- gown.Target) error {
	for _, s := range job.specs {
		if s == "-" {
			job.lists = append(job.lists, "-")
			continue
		}
		if err := target.Expand(ctx, &job.tcfg, s, out); err != nil {
			return err
		}
	}
	for _, name := range job.lists {
		r, closeFn := io.in, func() error { return nil }
		if name != "-" {
			fh, err := os.Open(name)
			if err != nil {
				return fmt.Errorf("target list: %w", err)
			}
			r, closeFn = fh, fh.Close
		}
		var expandErr error
		err := target.Lines(r, func(line string) bool {
			expandErr = target.Expand(ctx, &job.tcfg, line, out)
			return expandErr == nil
		})
		closeFn()
		if expandErr != nil {
			return expandErr
		}
		if err != nil {
			return fmt.Errorf("target list %s: %w", strings.TrimSpace(name), err)
		}
	}
	return nil
}
