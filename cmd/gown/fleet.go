package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/gownscan/gown/redact"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract"
	"github.com/gownscan/gown/fleet"
	"github.com/gownscan/gown/probe/all"
	"github.com/gownscan/gown/report"
	"github.com/gownscan/gown/scan"
	"github.com/gownscan/gown/store"
	"github.com/spf13/pflag"
)

// openFleet opens the results store as a fleet store.
func openFleet(ctx context.Context, dsn string) (fleet.Store, error) {
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	fs, ok := st.(fleet.Store)
	if !ok {
		st.Close()
		return nil, fmt.Errorf("the results store (%T) cannot keep a fleet", st)
	}
	return fs, nil
}

func cmdFleetImport(ctx context.Context, args []string, io stdio) error {
	fset := pflag.NewFlagSet("gown fleet import", pflag.ContinueOnError)
	fset.SetOutput(io.err)
	format := fset.String("format", "", "the files' format: "+strings.Join(fleet.Formats, ", ")+" (default: told by each file's header or keys)")
	dsn := fset.String("db", "", "results store: a SQLite `FILE` or a postgres:// URL (default: $XDG_DATA_HOME/gown/gown.db)")
	ids := fset.StringArray("app-id", nil, "`NAME=ID`: the package or bundle id of an app the export names by display name only (Intune); "+
		"PLATFORM/NAME=ID for one platform; repeatable")
	quiet := fset.BoolP("quiet", "q", false, "print nothing but errors")
	if err := parseFlags(fset, "fleet import", args, io); err != nil {
		return err
	}
	if fset.NArg() == 0 {
		return usageError{errors.New("no inventory files")}
	}
	cfg := fleet.ReadConfig{Format: *format, AppIDs: map[string]string{}}
	if *format != "" && !contains(fleet.Formats, *format) {
		return usageError{fmt.Errorf("--format %q: want one of %s", *format, strings.Join(fleet.Formats, ", "))}
	}
	for _, m := range *ids {
		name, id, ok := strings.Cut(m, "=")
		if !ok || strings.TrimSpace(name) == "" || strings.TrimSpace(id) == "" {
			return usageError{fmt.Errorf("--app-id %q: want NAME=ID", m)}
		}
		cfg.AppIDs[strings.TrimSpace(name)] = strings.TrimSpace(id)
	}
	if err := store.CheckDSN(*dsn); err != nil {
		return usageError{err}
	}
	st, err := openFleet(ctx, *dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := fleet.Import(ctx, st, fset.Args(), cfg)
	var fe *fleet.FileError
	if errors.As(err, &fe) || errors.Is(err, fleet.ErrUnknownFormat) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if !*quiet {
		for _, r := range res {
			s := r.Stats
			fmt.Fprintf(io.out, "%s: %s, %d devices (%d new), %d owners, %d apps, %d app versions, %d installs\n",
				r.File, r.Format, s.Devices, s.New, s.Owners, s.Apps, s.Versions, s.Installs)
		}
	}
	return nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func cmdFleetScan(ctx context.Context, args []string, io stdio) error {
	fset := pflag.NewFlagSet("gown fleet scan", pflag.ContinueOnError)
	fset.SetOutput(io.err)
	var f appFlags
	fset.BoolVar(&f.allowPrivate, "allow-private", false, "also probe back ends that resolve to private, loopback or link-local addresses, and internal names (*.internal, *.corp, *.lan)")
	fset.BoolVar(&f.probeUnknown, "probe-unknown", false, "also probe hosts tied neither to the app's identity nor to a known third party (party \"unknown\")")
	f.scan.register(fset)
	// Targets come from the apps; the fleet lives in the store; fleet
	// report writes the files.
	for _, hidden := range []string{"list", "resume", "no-store", "output"} {
		_ = fset.MarkHidden(hidden)
	}
	if err := parseFlags(fset, "fleet scan", args, io); err != nil {
		return err
	}
	if fset.Changed("resume") || fset.Changed("no-store") || fset.Changed("list") || fset.Changed("output") {
		return usageError{errors.New("gown fleet scan takes app files: no --resume, --list, --no-store or -o (the fleet lives in the store: gown fleet report -o FILE)")}
	}
	files, empty, err := appFiles(ctx, fset.Args())
	if err != nil {
		return usageError{err}
	}
	for _, d := range empty {
		fmt.Fprintf(io.err, "gown: %s\n", redact.Text(noApps(d), 0))
	}
	job, err := f.scan.job(files, io)
	if err == nil {
		err = f.scan.queue.attach(job, f.scan.probers)
	}
	if err != nil {
		return usageError{err}
	}
	job.tcfg.Origin = "app"
	if !f.allowPrivate {
		for _, n := range privateNets {
			if err := job.tcfg.Scope.Exclude(n); err != nil {
				return err
			}
		}
	}
	x, err := extract.New(extract.Config{Catalog: all.Catalog()})
	if err != nil {
		return err
	}
	st, err := openFleet(ctx, job.db)
	if err != nil {
		return err
	}
	closeStore := st.Close
	defer func() { closeStore() }()
	out := io.out
	var rep liveWriter = report.NewTableWith(out, tableOptions(out, job.noColor))
	if job.json {
		rep = report.NewJSONL(out)
	}
	cfg := fleet.ScanConfig{Store: st, Targets: &job.tcfg, Extract: x, Files: files, Sink: rep,
		Parties: gown.PartyScope{Unknown: f.probeUnknown, Internal: f.allowPrivate},
		Scan: scan.Config{Registry: job.reg, Probe: job.pcfg, KeepClosed: job.all, FailOn: job.failOn,
			Meta: gown.ScanMeta{Command: "fleet", Args: storedArgs(args), Version: version}},
		Began: func(id gown.ScanID) {
			if io.began != nil {
				io.began(id)
			}
			where, _ := store.Where(job.db)
			io.notef("gown: fleet scan %d, stored in %s\n", id, where)
		},
		OnApp: func(b fleet.BinaryReport) {
			if !job.quiet && !job.json {
				printBinary(io.err, b)
			}
		}}
	if job.queue != nil {
		// The workers probe the back ends; the app findings and fleet
		// checks go into the scan queue.Begin recorded, and --follow
		// writes the results once the workers are done.
		if err := job.beginFleetQueued(ctx, st, &cfg, io); err != nil {
			return err
		}
		closeStore = func() error { return nil } // the submitter closes it
	}
	sum, runErr := fleet.Scan(ctx, cfg)
	var closeErr error
	if job.queue == nil {
		closeErr = rep.Close()
	}
	// As gown app says it: what was left out, and the flag that probes it.
	if n := sum.Held[gown.PartyUnknown]; n > 0 {
		io.notef("gown: %d endpoint(s) of unknown party (tied neither to the app nor to a known third party) not probed: --probe-unknown probes them\n", n)
	}
	if n := sum.Held[gown.PartyInternal]; n > 0 {
		io.notef("gown: %d internal endpoint(s) (private addresses, *.internal/*.corp/*.lan names) not probed: --allow-private probes them\n", n)
	}
	if !job.quiet && !job.json {
		printNotChecked(io.err, sum.NotChecked)
		io.notef("gown: %d binaries (%d match the inventory, %d not readable), %d back-end targets probed once each; "+
			"gown fleet report %d shows who is exposed\n", sum.Binaries, sum.Matched, sum.Unreadable, sum.Targets, sum.ID)
	}
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

// printBinary says what the fleet scan made of one binary.
func printBinary(w io.Writer, b fleet.BinaryReport) {
	c := b.Check
	switch {
	case b.App == nil:
		fmt.Fprintf(w, "gown: %s: not checked: %v\n", b.File, b.Err)
	case c.State != gown.CheckScanned:
		fmt.Fprintf(w, "gown: %s: %s %s %s: not checked: %s\n", b.File, c.Platform, c.AppID, c.Version, c.Reason)
	case !b.InInventory:
		fmt.Fprintf(w, "gown: %s: %s %s %s: not in the inventory; its %d back-end targets are probed all the same\n",
			b.File, c.Platform, c.AppID, c.Version, len(c.Backends))
	case len(b.Versions) > 0:
		fmt.Fprintf(w, "gown: %s: %s %s %s: no device runs this version (the inventory lists %s); its %d back-end targets are probed\n",
			b.File, c.Platform, c.AppID, c.Version, strings.Join(b.Versions, ", "), len(c.Backends))
	default:
		fmt.Fprintf(w, "gown: %s: %s %s %s on %d devices: %d back-end targets\n", b.File, c.Platform, c.AppID, c.Version, b.Devices, len(c.Backends))
	}
}

// printNotChecked lists the inventory's versions no binary was given for.
func printNotChecked(w io.Writer, vs []gown.FleetVersion) {
	if len(vs) == 0 {
		return
	}
	fmt.Fprintf(w, "gown: %d app versions of the inventory not checked (no binary given):\n", len(vs))
	for _, v := range vs {
		fmt.Fprintf(w, "  %-8s %-44s %-18s on %d devices\n", v.Platform, v.AppID, v.Version, v.Devices)
	}
}

func cmdFleetReport(ctx context.Context, args []string, std stdio) error {
	fset := pflag.NewFlagSet("gown fleet report", pflag.ContinueOnError)
	fset.SetOutput(std.err)
	format := fset.String("format", "table", "report format: "+strings.Join(fleet.ReportFormats, ", "))
	view := fset.String("view", "", "one view only: "+strings.Join(fleet.Views, ", ")+" (default: all; devices for CSV)")
	out := fset.StringP("output", "o", "", "write the report to `FILE` (default: standard output)")
	dsn := fset.String("db", "", "results store: a SQLite `FILE` or a postgres:// URL (default: $XDG_DATA_HOME/gown/gown.db)")
	failOnFlag := fset.String("fail-on", "", "exit 3 when the fleet's back ends or apps hold a finding at or above `SEVERITY`")
	if err := parseFlags(fset, "fleet report", args, std); err != nil {
		return err
	}
	if fset.NArg() > 1 || !contains(fleet.ReportFormats, *format) || *view != "" && !contains(fleet.Views, *view) {
		return usageError{fmt.Errorf("gown fleet report [SCAN] --format %s --view %s", strings.Join(fleet.ReportFormats, "|"), strings.Join(fleet.Views, "|"))}
	}
	var failOn *gown.Severity
	if *failOnFlag != "" {
		sev, err := gown.ParseSeverity(*failOnFlag)
		if err != nil {
			return usageError{fmt.Errorf("--fail-on: %w", err)}
		}
		failOn = &sev
	}
	if err := store.CheckDSN(*dsn); err != nil {
		return usageError{err}
	}
	st, err := openFleet(ctx, *dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	id, err := fleetScanID(ctx, st, fset.Arg(0))
	if err != nil {
		return err
	}
	rep, err := st.FleetReport(ctx, id)
	if err != nil {
		return err
	}
	if err := writeOutput(*out, std.out, func(w io.Writer) error { return fleet.WriteReport(w, *format, *view, rep) }); err != nil {
		return err
	}
	if failOn != nil {
		if n := fleet.Gated(rep, *failOn); n > 0 {
			return findingsError{n}
		}
	}
	return nil
}

// fleetScanID resolves a SCAN argument: a scan id, or the newest fleet
// scan when none is given.
func fleetScanID(ctx context.Context, st fleet.Store, arg string) (gown.ScanID, error) {
	var want gown.ScanID
	if arg != "" {
		n, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || n <= 0 {
			return 0, usageError{fmt.Errorf("%q is not a scan id", arg)}
		}
		want = gown.ScanID(n)
	}
	ids, err := st.FleetScans(ctx)
	if err != nil {
		return 0, err
	}
	switch {
	case len(ids) == 0:
		return 0, errors.New("no fleet scan in the store: gown fleet import, then gown fleet scan")
	case want == 0:
		return ids[0], nil
	case !slices.Contains(ids, want):
		return 0, fmt.Errorf("scan %d is not a fleet scan (fleet scans: %v)", want, ids)
	}
	return want, nil
}
