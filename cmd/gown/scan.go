package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/progress"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/all"
	"github.com/gownscan/gown/report"
	"github.com/gownscan/gown/scan"
	"github.com/gownscan/gown/store"
	"github.com/gownscan/gown/target"
	"github.com/spf13/pflag"
)

// scanFlags are the flags of gown scan; they become a target.Config and a
// probe.Config.
type scanFlags struct {
	lists   []string
	ports   string
	resolve []string
	exclude []string
	// excludeFiles hold more --exclude entries, one per line.
	excludeFiles []string
	// output is -o: results go to this file instead of standard output.
	output string
	// noColor keeps the terminal table plain (NO_COLOR does too).
	noColor   bool
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

	// queue hands the scan to workers (--queue, queue.go).
	queue queueFlags
}

func (f *scanFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&f.lists, "list", "l", nil, "read targets from `FILE`, one per line (- for stdin); repeatable")
	fs.StringVarP(&f.ports, "ports", "p", "", "ports for targets that name none, e.g. 6379,3306,9000-9100 (default: every prober's ports)")
	fs.StringArrayVar(&f.resolve, "resolve", nil, "map `HOST=ADDR` without DNS; repeatable")
	fs.StringArrayVar(&f.exclude, "exclude", nil, "never probe this `NET`work (CIDR, address) or domain; repeatable")
	fs.StringArrayVar(&f.excludeFiles, "exclude-file", nil, "never probe the networks and domains listed in `FILE`, one per line (# comments); repeatable")
	fs.BoolVar(&f.noColor, "no-color", false, "no colours in the table on a terminal (also when NO_COLOR is set; never coloured when piped)")
	fs.StringVarP(&f.output, "output", "o", "", "write the results to `FILE` instead of standard output (created at the start, written as results arrive)")
	fs.StringSliceVar(&f.probers, "probers", nil, "use only these probers (comma-separated names)")
	fs.BoolVar(&f.json, "json", false, "write JSON Lines, one object per result (docs/output.md)")
	fs.BoolVar(&f.all, "all", false, "also report closed and filtered ports")
	fs.BoolVar(&f.detect, "detect", true, "identify the store on ports no prober claims (a short banner wait, then the probers at once on separate connections); --detect=false skips such ports")
	fs.IntVar(&f.workers, "workers", 256, "targets probed at once, 1 to 65536 (4× as many may be connecting: a filtered port holds no worker)")
	fs.IntVar(&f.perHost, "per-host", 16, "targets connecting or probed at once on one address, 1 to 262144 (each holds one connection at a time)")
	fs.Float64Var(&f.rate, "rate", 0, "new connections per second across the scan, up to 1000000 (0: no limit)")
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
	f.queue.registerSubmit(fs)
}

// scanJob is a validated scan, ready to run.
type scanJob struct {
	input  target.Input
	tcfg   target.Config
	pcfg   probe.Config
	reg    *probe.Registry
	json   bool
	all    bool
	failOn *gown.Severity
	// command and args are the scan's command and its own arguments, as
	// stored for --resume.
	command string
	args    []string
	// db and noStore choose the store; resume is the stored scan continued.
	db      string
	noStore bool
	resume  *gown.ScanMeta
	// quiet drops notes and the progress line; verbose adds a stderr line
	// per target that found nothing.
	quiet, verbose bool
	// queue, when set, hands the targets to queue workers (queue.go).
	queue *queueJob
	// noColor is --no-color.
	noColor bool
}

func cmdScan(ctx context.Context, args []string, io stdio) error {
	fs := pflag.NewFlagSet("gown scan", pflag.ContinueOnError)
	fs.SetOutput(io.err)
	var f scanFlags
	f.register(fs)
	if err := parseFlags(fs, "scan", args, io); err != nil {
		return err
	}
	if fs.Changed("resume") {
		return withOutput(f.output, io, func(io stdio) error { return resumeScan(ctx, &f, fs.Args(), io) })
	}
	specs, stored := fs.Args(), storedArgs(absLists(fs, args))
	if len(specs) == 0 && len(f.lists) == 0 && stdinPiped(io.in) {
		// gown scan with a pipe or a file on stdin and no target: read
		// it, as -l - would; "-" is stored so that --resume refuses it.
		specs, stored = []string{"-"}, append(stored, "-")
	}
	job, err := f.job(specs, io)
	if err == nil {
		err = f.queue.attach(job, f.probers)
	}
	if err != nil {
		return usageError{err}
	}
	job.args = stored
	return withOutput(f.output, io, func(io stdio) error { return job.run(ctx, io) })
}

// tableOptions fit the table to standard output: as wide as the terminal,
// severities in colour unless --no-color or NO_COLOR (https://no-color.org);
// unbounded and plain when it is a pipe or a file.
func tableOptions(out io.Writer, noColor bool) report.TableOptions {
	w := progress.Width(out)
	if w == 0 {
		return report.TableOptions{}
	}
	return report.TableOptions{Width: w, Color: !noColor && os.Getenv("NO_COLOR") == ""}
}

// stdinPiped reports whether in is a pipe or a file rather than a terminal
// (or /dev/null): gown scan with no target reads it then.
func stdinPiped(in io.Reader) bool {
	f, ok := in.(*os.File)
	if !ok || f == nil {
		return false
	}
	st, err := f.Stat()
	if err != nil {
		return false
	}
	return st.Mode()&os.ModeNamedPipe != 0 || st.Mode().IsRegular()
}

// withOutput runs fn with standard output pointed at the file -o names
// (when it names one): created before the run, so that a long scan can be
// followed as it is written, and closed after it.
func withOutput(name string, std stdio, fn func(stdio) error) error {
	if name == "" || name == "-" {
		return fn(std)
	}
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	std.out = f
	err = fn(std)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("-o %s: %w", name, cerr)
	}
	return err
}

func (f *scanFlags) job(specs []string, io stdio) (*scanJob, error) {
	reg := all.Registry()
	if len(f.probers) > 0 {
		if err := checkProbers(f.probers); err != nil {
			return nil, err
		}
		var err error
		if reg, err = reg.Select(f.probers...); err != nil {
			return nil, err
		}
	}
	job := &scanJob{input: target.Input{Specs: specs, Lists: f.lists, Stdin: io.in}, reg: reg, json: f.json, all: f.all,
		db: f.db, noStore: f.noStore, command: "scan", quiet: f.quiet, verbose: f.verbose, noColor: f.noColor}
	if f.quiet && f.verbose {
		return nil, errors.New("-q and -v: choose one (quiet drops notes, verbose adds lines)")
	}
	if len(specs) == 0 && len(f.lists) == 0 {
		return nil, errors.New("no targets: give hosts, CIDRs or URLs, or -l FILE")
	}
	if err := job.input.Check(); err != nil {
		return nil, err
	}
	if !f.noStore {
		if err := store.CheckDSN(f.db); err != nil {
			return nil, err
		}
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
	for _, name := range f.excludeFiles {
		if err := excludeFile(scope, name); err != nil {
			return nil, err
		}
	}
	job.tcfg = target.Config{Catalog: all.Catalog(), Ports: ports, MaxCIDR: f.maxCIDR, Scope: scope, Resolve: res,
		OnError: func(spec string, err error) { fmt.Fprintf(io.err, "gown: skipping %s: %v\n", spec, err) }}
	if err := job.tcfg.Validate(); err != nil {
		return nil, err
	}
	if err := f.refuseZeros(); err != nil {
		return nil, err
	}
	job.pcfg = probe.Config{Workers: f.workers, PerHost: f.perHost, Timeout: f.timeout, Detect: f.detect,
		Dialer: probe.DialerConfig{ConnectTimeout: f.connect, IOTimeout: f.ioTimeout, MaxRead: f.maxRead, Rate: f.rate}}
	job.pcfg.Sample = probe.DefaultSample
	job.pcfg.Sample.PerCollection, job.pcfg.Sample.Bytes = f.sampleK, f.sampleBytes
	// The probe config checks the ranges (library callers get the same
	// refusals); its errors name the field, which the flag's name replaces.
	if err := job.pcfg.Validate(); err != nil {
		return nil, flagError(err)
	}
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
	return job, nil
}

// limitsHelp explains the bounds of the limit flags in gown scan --help;
// probe.MaxWorkers and its kin say why they are where they are.
var limitsHelp = fmt.Sprintf(`Limits: --workers is at most %d: each worker costs 3 to 4.4 KB before
the first target (%d take 240 to 300 MB), and more could not all connect, as
file descriptors and ephemeral ports run out first. --per-host is at most %d,
the most connections a scan has open; --rate at most %.0f a second (0: no
limit). Timeouts, --max-read, --max-cidr and --sample-bytes must be above 0;
no limit may be negative.
`, probe.MaxWorkers, probe.MaxWorkers, probe.MaxPerHost, float64(probe.MaxRate))

// refuseZeros refuses a 0 typed for a limit that the configs would read as
// "the default": --timeout 0 does not mean "no deadline", and quietly
// getting 15 s instead is worse than being told. The flags' defaults are
// not 0, so a 0 here was typed.
func (f *scanFlags) refuseZeros() error {
	for _, z := range []struct {
		flag string
		zero bool
	}{
		{"--workers", f.workers == 0}, {"--per-host", f.perHost == 0}, {"--timeout", f.timeout == 0},
		{"--connect-timeout", f.connect == 0}, {"--io-timeout", f.ioTimeout == 0}, {"--max-read", f.maxRead == 0},
		{"--max-cidr", f.maxCIDR == 0}, {"--sample-bytes", f.sampleBytes == 0},
	} {
		if z.zero {
			return fmt.Errorf("%s 0: want more than 0", z.flag)
		}
	}
	return nil
}

// probeFlags names the flag that sets each probe.Config field.
var probeFlags = map[string]string{
	"Workers": "--workers", "PerHost": "--per-host", "Timeout": "--timeout",
	"Dialer.ConnectTimeout": "--connect-timeout", "Dialer.IOTimeout": "--io-timeout",
	"Dialer.MaxRead": "--max-read", "Dialer.Rate": "--rate",
	"Sample.PerCollection": "--sample-k", "Sample.Bytes": "--sample-bytes",
}

// flagError says a probe.Config refusal as the user typed it: the flag
// instead of the field.
func flagError(err error) error {
	var ce *probe.ConfigError
	if errors.As(err, &ce) {
		if name, ok := probeFlags[ce.Field]; ok {
			return fmt.Errorf("%s %v: %s", name, ce.Value, ce.Reason)
		}
	}
	return err
}

// liveWriter is what the table and JSONL writers share: a scan's sink that
// is closed (summary, flush) when the scan ends.
type liveWriter interface {
	scan.Sink
	Close() error
}

func (job *scanJob) run(ctx context.Context, io stdio) error {
	// The first target is in hand before the scan is recorded: an input
	// whose every target is refused leaves no empty scan behind.
	src, err := job.input.Start(ctx, &job.tcfg)
	if err != nil {
		return err
	}
	l, err := job.begin(ctx, io)
	if err != nil {
		src.Stop()
		return err
	}
	return l.run(ctx, src.Produce, func(ctx context.Context) int64 { return job.input.Count(ctx, &job.tcfg) })
}

// live is a scan wired to the terminal: the results store, the writer on
// standard output, the progress line and the notes on standard error.
type live struct {
	job  *scanJob
	io   stdio
	bar  *progress.Bar
	rep  liveWriter
	st   gown.Store // nil with --no-store
	s    *scan.Scan
	done int // results seen, for -v
	open int
}

// begin opens the store and begins (or continues) the scan in it.
func (job *scanJob) begin(ctx context.Context, io stdio) (*live, error) {
	if job.queue != nil {
		return job.beginQueued(ctx, io)
	}
	l := &live{job: job, io: io}
	// The progress line goes to stderr when it is a terminal; results
	// written to the same terminal blank it first.
	if !job.quiet {
		l.bar = progress.New(io.err, job.command)
	}
	l.io.quiet = job.quiet
	out := l.bar.Writer(io.out)
	l.rep = report.NewTableWith(out, tableOptions(io.out, job.noColor))
	if job.json {
		l.rep = report.NewJSONL(out)
	}
	if !job.noStore {
		st, err := store.Open(ctx, job.db)
		if err != nil {
			return nil, err
		}
		l.st = st
	}
	cfg := scan.Config{Registry: job.reg, Probe: job.pcfg, Store: l.st, KeepClosed: job.all, FailOn: job.failOn,
		Meta: gown.ScanMeta{Command: job.command, Args: job.args, Version: version}, Observe: l.observe}
	if job.resume != nil {
		cfg.Resume = job.resume.ID
	}
	s, err := scan.Begin(ctx, cfg, l.rep)
	if err != nil {
		l.closeStore()
		return nil, err
	}
	l.s = s
	if io.began != nil && l.st != nil {
		io.began(s.ID())
	}
	if l.st != nil {
		where, _ := store.Where(job.db)
		if job.resume == nil {
			l.io.notef("gown: scan %d, stored in %s\n", s.ID(), where)
		} else {
			l.io.notef("gown: resuming scan %d in %s: %d targets already done\n", s.ID(), where, s.Finished())
		}
	}
	return l, nil
}

// observe counts a result as the engine emits it and tells the progress
// line; with -v it logs the targets that found nothing.
func (l *live) observe(r *gown.Result) {
	open := r.Status == gown.StatusOpen
	l.bar.Done(open)
	l.done++
	if open {
		l.open++
	}
	if l.job.verbose && (!r.Status.Answered() || r.Error != "") {
		took := "" // unknown where the engine's detection answered alone
		if r.Duration > 0 {
			took = " (" + roundDur(r.Duration).String() + ")"
		}
		fmt.Fprintf(l.bar.Writer(l.io.err), "gown: %s %s: %s%s\n", r.Target, r.Status, verboseReason(r), took)
	}
}

// run probes what src sends; total, when given, counts the targets for the
// progress line (less those a resumed scan finished).
func (l *live) run(ctx context.Context, src scan.Source, total func(context.Context) int64) error {
	if l.job.queue != nil {
		return l.submit(ctx, src)
	}
	defer l.closeStore()
	defer probingGC()()
	if l.bar != nil {
		if total != nil {
			go func() { l.bar.SetTotal(max(total(ctx)-int64(l.s.Finished()), 0)) }()
		}
		l.bar.Start()
		defer l.bar.Stop()
	}
	sum, runErr := l.s.Run(ctx, src)
	l.bar.Stop()
	if l.job.verbose {
		fmt.Fprintf(l.io.err, "gown: %d targets in %s (%.0f/s), %d open\n", l.done, roundDur(sum.Took),
			float64(l.done)/max(sum.Took.Seconds(), 1e-3), l.open)
	}
	closeErr := l.rep.Close()
	switch {
	case runErr != nil:
		return runErr
	case closeErr != nil:
		return fmt.Errorf("write results: %w", closeErr)
	case sum.Gated > 0:
		return findingsError{sum.Gated}
	}
	return nil
}

// probingGC runs the garbage collector less often while a scan probes,
// unless GOGC is set, and returns what puts it back. A scan keeps little
// live (a few MB), so the collector's own pace, a cycle each time the heap
// doubles, runs it several hundred times a second; each cycle scans the
// stacks of the 1,280 goroutines of the default --workers (connectors and
// probe workers). At 200 the bench farm's 50k list took 1.01-1.02 s for
// 1.14-1.15 s, at 1.31 CPU-s for 1.52, with peak RSS 48 MB for 39-42 MB
// (BENCHMARKS.md). Extraction (gown app before it probes) keeps the default.
func probingGC() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(200)
	return func() { debug.SetGCPercent(old) }
}

// abort ends a scan that was begun but will not run (extraction failed):
// what was stored stays, and the scan is marked interrupted.
func (l *live) abort(ctx context.Context) {
	if err := l.s.Close(ctx); err != nil {
		fmt.Fprintln(l.io.err, "gown:", err)
	}
	l.closeStore()
}

func (l *live) closeStore() {
	if l.st != nil {
		if err := l.st.Close(); err != nil {
			fmt.Fprintln(l.io.err, "gown: closing the results store:", err)
		}
		l.st = nil
	}
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
