package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract"
	"github.com/gownscan/gown/internal/progress"
	"github.com/gownscan/gown/internal/stack"
	"github.com/gownscan/gown/probe/all"
	"github.com/gownscan/gown/redact"
	"github.com/gownscan/gown/scan"
	"github.com/gownscan/gown/target"
	"github.com/spf13/pflag"
)

// appFlags are gown app's own flags; the probing flags are gown scan's.
type appFlags struct {
	extractOnly  bool
	allowPrivate bool
	probeUnknown bool
	deepDex      bool
	scan         scanFlags
}

// appExts are the file names a directory walk picks up.
var appExts = map[string]bool{".apk": true, ".xapk": true, ".apks": true, ".aab": true, ".ipa": true}

// privateNets are never probed for an app's endpoints without
// --allow-private: a leftover 10.0.0.5:27017 in an app must not turn gown
// on the user's own network. They go into the scan's exclusion scope, which
// is checked after the name is resolved (so --resolve host=127.0.0.1 counts).
var privateNets = []string{"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8"}

func cmdApp(ctx context.Context, args []string, io stdio) error {
	fset := pflag.NewFlagSet("gown app", pflag.ContinueOnError)
	fset.SetOutput(io.err)
	var f appFlags
	fset.BoolVar(&f.extractOnly, "extract-only", false, "list what the apps name and grade their own code; probe nothing")
	fset.BoolVar(&f.allowPrivate, "allow-private", false, "also probe app endpoints that resolve to private, loopback or link-local addresses, and internal names (*.internal, *.corp, *.lan)")
	fset.BoolVar(&f.deepDex, "deep-dex", false, "follow the bytecode of dex files of 1 MiB and more for endpoints built at run time (those below always are; slower)")
	fset.BoolVar(&f.probeUnknown, "probe-unknown", false, "also probe hosts tied neither to the app's identity nor to a known third party (party \"unknown\")")
	f.scan.register(fset)
	_ = fset.MarkHidden("list")   // targets come from the apps
	_ = fset.MarkHidden("resume") // an app scan is run again, not resumed
	if err := parseFlags(fset, "app", args, io); err != nil {
		return err
	}
	if fset.Changed("resume") {
		return usageError{errors.New("gown app cannot resume a scan: run it again")}
	}
	files, empty, err := appFiles(ctx, fset.Args())
	if err != nil {
		return usageError{err}
	}
	for _, d := range empty {
		fmt.Fprintf(io.err, "gown: %s\n", redact.Text(noApps(d), 0))
	}
	// Validate the probing flags before reading any app: a typo must not
	// cost a long extraction first.
	job, err := f.scan.job(files, io)
	if err == nil {
		err = f.scan.queue.attach(job, f.scan.probers)
	}
	if err != nil {
		return usageError{err}
	}
	job.command, job.args, job.input = "app", storedArgs(args), target.Input{}
	return withOutput(f.scan.output, io, func(io stdio) error { return appRun(ctx, &f, job, files, io) })
}

// appRun reads the apps and probes their back ends as job.
func appRun(ctx context.Context, f *appFlags, job *scanJob, files []string, io stdio) error {
	job.tcfg.Origin = "app"
	if !f.allowPrivate {
		for _, n := range privateNets {
			if err := job.tcfg.Scope.Exclude(n); err != nil {
				return err
			}
		}
	}
	// The store opens and the scan is begun while the first app is read:
	// on a small app the two took about as long as each other (3 ms each,
	// most of the store's in waiting for the disk to sync the new
	// write-ahead log), one after the other. It starts once a worker has
	// started on the app's first entry (extract.Config.Reading): begun
	// at once, SQLite's opening (a millisecond of CPU, parsing the
	// schema) held the second core while the first ran the command's own
	// setup, and the classes.dex waited up to 1.4 ms to start inflating.
	type begun struct {
		l   *live
		err error
	}
	began := make(chan begun, 1)
	var start sync.Once
	begin := func() {
		go func() {
			stack.Grow()
			l, err := job.begin(ctx, io)
			began <- begun{l, err}
		}()
	}
	x, err := extract.New(extract.Config{Catalog: all.Catalog(), FlowLargeDex: f.deepDex, Reading: func() { start.Do(begin) }})
	var first readApp
	if err == nil {
		first.app, first.err = x.File(ctx, files[0])
	}
	start.Do(begin) // when no entry was read
	b := <-began
	switch {
	case err != nil:
		if b.l != nil {
			b.l.abort(ctx)
		}
		return err
	case b.err != nil:
		return b.err
	}
	l := b.l
	targets, held, err := extractAll(ctx, x, l, files, &first, gown.PartyScope{Unknown: f.probeUnknown, Internal: f.allowPrivate})
	if err != nil {
		l.abort(ctx)
		return err
	}
	if !f.extractOnly && !job.quiet {
		if n := held[gown.PartyUnknown]; n > 0 {
			fmt.Fprintf(io.err, "gown: %d endpoint(s) of unknown party (tied neither to the app nor to a known third party) not probed: --probe-unknown probes them\n", n)
		}
		if n := held[gown.PartyInternal]; n > 0 {
			fmt.Fprintf(io.err, "gown: %d internal endpoint(s) (private addresses, *.internal/*.corp/*.lan names) not probed: --allow-private probes them\n", n)
		}
	}
	var src scan.Source
	switch {
	case f.extractOnly:
	case len(targets) == 0:
		fmt.Fprintln(io.err, "gown: no first-party back-end hosts to probe")
	default:
		src = func(ctx context.Context, out chan<- gown.Target) error {
			for _, t := range targets {
				if err := target.ExpandTarget(ctx, &job.tcfg, t, out); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return l.run(ctx, src, func(context.Context) int64 { return int64(len(targets)) })
}

// appFiles expands directories into the app files they hold, and lists the
// directories that hold none. Only regular files are taken from a
// directory (a FIFO named x.apk would block its reader); a path named
// outright is taken as it is, and Extractor.File refuses it if it is no
// regular file, so that the rest of the batch is still read. The walk
// stops when ctx is done. No app at all, when only empty directories were
// named, is an error of its own, not the scan's "no targets".
func appFiles(ctx context.Context, args []string) (files, empty []string, err error) {
	if len(args) == 0 {
		return nil, nil, errors.New("no apps: give APK, XAPK, APKS, AAB or IPA files or directories")
	}
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, nil, err
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		n := len(files)
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if d.Type().IsRegular() && appExts[strings.ToLower(filepath.Ext(p))] {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		if len(files) == n {
			empty = append(empty, a)
		}
	}
	if len(files) == 0 {
		return nil, nil, errors.New(noApps(strings.Join(empty, ", ")))
	}
	return files, empty, nil
}

// noApps says that a directory holds no app.
func noApps(dir string) string {
	return "no APK, XAPK, APKS, AAB or IPA files in " + dir
}

// extractAll reads each app, writes what it found, grades the app's own
// code into the scan, and returns the targets of every first-party endpoint
// (and of the parties scope adds), and counts the unknown and internal
// endpoints scope leaves out,
// without repeats. An app that cannot be read is reported and the batch goes
// on; the run fails only when no app could be read at all. first, when
// set, is what reading files[0] gave.
//
// On a terminal (and without -q) a status line counts the apps read and
// those that name back ends; what is written goes above it.
func extractAll(ctx context.Context, x *extract.Extractor, l *live, files []string, first *readApp, scope gown.PartyScope) ([]gown.Target, map[gown.Party]int, error) {
	io, job := l.io, l.job
	var bar *progress.Bar
	if !job.quiet {
		bar = progress.New(io.err, "apps").Counting("with back ends")
	}
	bar.SetTotal(int64(len(files)))
	bar.Start()
	defer bar.Stop()
	io.out, io.err = bar.Writer(io.out), bar.Writer(io.err)

	var targets []gown.Target
	seen := map[string]bool{}
	read := 0
	held := map[gown.Party]int{} // endpoints of parties the scope leaves out
	enc := json.NewEncoder(io.out)
	for i, file := range files {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		var app *gown.App
		var err error
		if i == 0 && first != nil {
			app, err = first.app, first.err
		} else {
			app, err = x.File(ctx, file)
		}
		bar.Done(err == nil && len(app.Endpoints) > 0)
		bar.Draw() // an app takes long enough to show each one
		if err != nil {
			// The path may be a file name a download chose.
			fmt.Fprintf(io.err, "gown: %s\n", redact.Text(err.Error(), 0))
			continue
		}
		if app.Platform != "" {
			read++
		}
		if job.json {
			if err := enc.Encode(app); err != nil {
				return nil, nil, fmt.Errorf("write results: %w", err)
			}
		} else {
			printApp(io, app)
		}
		// The app's own findings are stored, then written, before the
		// next app is read.
		if err := l.s.AddApp(app); err != nil {
			return nil, nil, err
		}
		for _, e := range app.Endpoints {
			if (e.Party == gown.PartyUnknown || e.Party == gown.PartyInternal) && !e.Probed(scope) {
				held[e.Party]++
			}
			for _, t := range e.TargetsIn(job.tcfg.Ports, scope) {
				if k := gown.TargetKey(t); !seen[k] {
					seen[k] = true
					targets = append(targets, t)
				}
			}
		}
	}
	if read == 0 {
		return nil, nil, errors.New("no app could be read")
	}
	return targets, held, nil
}

// readApp is an app read ahead of extractAll (appRun reads the first while
// the store opens).
type readApp struct {
	app *gown.App
	err error
}

// partyRank orders endpoints in the text output: the app's own first, then
// those gown cannot place, internal, third-party and development hosts.
func partyRank(e gown.Endpoint) int {
	switch {
	case e.FirstParty:
		return 0
	case e.Party == gown.PartyUnknown:
		return 1
	case e.Party == gown.PartyInternal:
		return 2
	case e.Party == gown.PartyDev:
		return 4
	}
	return 3
}

// printApp writes one app as text: identity, first-party endpoints first,
// then the clear-text and credential findings and the errors. Extraction
// has run its text pass over what the app chose (masking the values that
// may hold secrets); every string is escaped again here (redact.Escape), the
// terminal's last guard, which leaves text that pass made safe as it is.
func printApp(io stdio, a *gown.App) {
	w := io.out
	txt := redact.Escape
	fmt.Fprintf(w, "app %s\n", txt(a.File))
	if a.Platform != "" {
		fmt.Fprintf(w, "  %s %s  id=%s version=%s", txt(string(a.Platform)), txt(a.Format), txt(a.ID), txt(a.Version))
		if a.TargetSDK > 0 {
			fmt.Fprintf(w, " targetSdk=%d", a.TargetSDK)
		}
		if len(a.Signer) >= 16 {
			fmt.Fprintf(w, " signer=%s…", txt(a.Signer[:16]))
		}
		if len(a.Frameworks) > 0 {
			fmt.Fprintf(w, " frameworks=%s", txt(strings.Join(a.Frameworks, ",")))
		}
		fmt.Fprintln(w)
	}
	if a.Encrypted {
		fmt.Fprintln(w, "  ENCRYPTED: binary is FairPlay-encrypted; results are incomplete (unreadable, not clean)")
	}
	eps := slices.Clone(a.Endpoints)
	slices.SortStableFunc(eps, func(x, y gown.Endpoint) int { return partyRank(x) - partyRank(y) })
	if len(a.Identity) > 0 {
		fmt.Fprintf(w, "  identity: %s\n", txt(strings.Join(a.Identity, "; ")))
	}
	fmt.Fprintf(w, "  endpoints: %d\n", len(eps))
	for _, e := range eps {
		party := string(e.Party)
		if party == "" {
			party = "third"
			if e.FirstParty {
				party = "first"
			}
		}
		s := e.Sources[0]
		fmt.Fprintf(w, "    %-13s %-8s %.2f  %s  (%s %s", txt(string(e.Kind)), txt(party), e.Confidence, txt(e.Value), txt(s.Entry), txt(s.Section))
		if len(e.Sources) > 1 {
			fmt.Fprintf(w, ", +%d more", len(e.Sources)-1)
		}
		if len(e.Parts) > 0 {
			fmt.Fprintf(w, "; built at run time from %d parts", len(e.Parts))
		}
		fmt.Fprintln(w, ")")
	}
	for _, c := range a.Cleartext {
		fmt.Fprintf(w, "  CLEARTEXT allowed by %s:\n", txt(c.Policy))
		for _, e := range c.Endpoints {
			fmt.Fprintf(w, "    %s\n", txt(e))
		}
	}
	for _, c := range a.Credentials {
		fmt.Fprintf(w, "  CREDENTIAL %s %s", txt(c.Rule), txt(c.Value))
		if c.Host != "" {
			fmt.Fprintf(w, " for %s", txt(c.Host))
		}
		fmt.Fprintf(w, "  (%s %s @%d)\n", txt(c.Sources[0].Entry), txt(c.Sources[0].Section), c.Sources[0].Offset)
	}
	for _, e := range a.Errors {
		fmt.Fprintf(w, "  error: %s\n", txt(e))
	}
}
