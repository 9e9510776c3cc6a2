// Command gown-demo is `make demo`: it starts the test bed (real data-store
// servers on loopback, each in a known configuration with planted data),
// scans every server with gown's own pipeline (package scan), stores the
// scan in the results store like any other, prints the findings next to
// what was planted, stops the servers, and says how to open the report.
//
// It is a command of its own so that the gown binary links no test tooling
// (internal/testbed); gown report, scans and diff open what it stored.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/buildinfo"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/all"
	"github.com/gownscan/gown/report"
	"github.com/gownscan/gown/scan"
	"github.com/gownscan/gown/store"
	"github.com/spf13/pflag"
)

// version is this build's version, as gown's (internal/buildinfo).
var version = buildinfo.Read().Short()

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, pflag.ErrHelp):
		return
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "gown-demo:", err)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, "gown-demo:", err)
	os.Exit(1)
}

type usageError struct{ error }

type stdio struct{ out, err io.Writer }

// run starts the bed, scans it, and compares gown's verdicts with the bed's
// ground truth; it fails when any differs.
func run(ctx context.Context, args []string, out, errw io.Writer) error {
	std := stdio{out: out, err: errw}
	fs := pflag.NewFlagSet("gown-demo", pflag.ContinueOnError)
	fs.SetOutput(errw)
	jsonOut := fs.Bool("json", false, "write JSON Lines instead of the table: only results on standard output (the truth table goes to standard error), for gown report --from -")
	only := fs.StringSlice("only", nil, "start only these test-bed configurations (default: all)")
	dsn := fs.String("db", "", "results store: a SQLite `FILE` or a postgres:// URL (default: gown's, $XDG_DATA_HOME/gown/gown.db)")
	noStore := fs.Bool("no-store", false, "do not store the scan; only print it")
	nTarpits := fs.Int("tarpits", 0, "also scan `N` tarpits (listeners that accept and never answer), hinted redis, mysql, elasticsearch, then unhinted (detection) in turn")
	fs.Usage = func() {
		fmt.Fprintf(errw, "Usage: gown-demo [flags]\n\nStarts real data stores on loopback with planted data, scans them with gown,\nstores the scan and checks every verdict against what was planted.\n\nFlags:\n%s", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("no arguments expected, got %q", fs.Args())}
	}
	names := *only
	if len(names) == 0 {
		names = testbed.Names()
	}
	fmt.Fprintf(errw, "gown demo: starting %d real servers on loopback: %s\n", len(names), strings.Join(names, ", "))
	start := time.Now()
	bed, err := testbed.Start(ctx, errw, names...)
	if err != nil {
		return fmt.Errorf("start test bed: %w", err)
	}
	defer func() {
		if err := bed.Stop(); err != nil {
			fmt.Fprintln(errw, "gown demo: stopping the test bed:", err)
		}
	}()
	fmt.Fprintf(errw, "gown demo: test bed ready in %s\n\n", time.Since(start).Round(time.Millisecond))

	var st gown.Store
	if !*noStore {
		if st, err = store.Open(ctx, *dsn); err != nil {
			return err
		}
		defer st.Close()
	}
	targets, byAddr := bedTargets(bed, errw)
	var pits *tarpits
	if *nTarpits > 0 {
		pits, err = startTarpits(ctx, *nTarpits)
		if err != nil {
			return err
		}
		defer pits.stop()
		targets = append(targets, pits.targets...)
		fmt.Fprintf(errw, "plus %d tarpits (accept, never answer): %s\n\n", *nTarpits, strings.Join(pits.specs, " "))
	}
	var w interface {
		scan.Sink
		Close() error
	} = report.NewTable(out)
	if *jsonOut {
		w = report.NewJSONL(out)
	}
	col := &collect{Sink: w}
	// gown scan's defaults (workers, deadlines, detection on), so that the
	// time printed below is what a user's scan of these servers takes.
	cfg := scan.Config{Registry: all.Registry(), Store: st,
		Probe: probe.Config{Detect: true,
			Dialer: probe.DialerConfig{Source: testbed.Source}, Sample: probe.DefaultSample},
		Meta: gown.ScanMeta{Command: "demo", Args: names, Version: version}}
	s, err := scan.Begin(ctx, cfg, col)
	if err != nil {
		return err
	}
	scanStart := time.Now()
	sum, runErr := s.Run(ctx, scan.Targets(targets...))
	took := time.Since(scanStart)
	if err := w.Close(); err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	// With --json, standard output holds results alone, so that it pipes
	// into gown report --from -; the truth table and notes go to stderr.
	notes := std
	if *jsonOut {
		notes.out = errw
	}
	var bedResults []*gown.Result
	for _, r := range col.results {
		if byAddr[r.Target.Dial()] != nil {
			bedResults = append(bedResults, r)
		}
	}
	if err := printTruth(notes, bedResults, byAddr); err != nil {
		return err
	}
	if pits != nil {
		fmt.Fprintln(notes.out)
		pits.print(notes.out, col.results)
	}
	fmt.Fprintf(notes.out, "Scan of %d targets took %.2f s.\n", len(targets), took.Seconds())
	if st != nil {
		where, _ := store.Where(*dsn)
		db := ""
		if *dsn != "" {
			db = " --db " + *dsn
		}
		g := gownCommand()
		fmt.Fprintf(notes.out, "\nStored as scan %d in %s. Open it with:\n  %s report %d%s --format html -o gown-demo.html\n  %s scans%s\n",
			sum.ID, where, g, sum.ID, db, g, db)
	}
	return nil
}

// gownCommand is how to run gown from here: the gown binary beside this
// one (make demo builds both into bin/), by a path relative to the working
// folder when it is below it, else "gown" from the PATH.
func gownCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "gown"
	}
	g := filepath.Join(filepath.Dir(exe), "gown")
	if _, err := os.Stat(g); err != nil {
		return "gown"
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, g); err == nil && !strings.HasPrefix(rel, "..") {
			return "./" + rel
		}
	}
	return g
}

// bedTargets names every server of the bed as a scan target, with its
// store as the hint, as a user would type it with a URL scheme.
func bedTargets(bed *testbed.Bed, errw io.Writer) ([]gown.Target, map[string]*testbed.Server) {
	byAddr := map[string]*testbed.Server{}
	var specs, hinted []string
	var targets []gown.Target
	for _, s := range bed.Servers {
		byAddr[s.Addr.String()] = s
		a := s.Addr.Addr()
		t := gown.Target{Host: a.String(), Addr: a, Port: int(s.Addr.Port()), Hint: s.Kind, Origin: "demo"}
		if s.Host != "" {
			// A bucket, named as an app names it (an Azure container by
			// its path under the account's host); the hint makes gown
			// probe it, as the prober claims no port.
			t.Host, t.Path, t.Names = s.Host, s.Path, s.Names
			hinted = append(hinted, s.Host+s.Path+"="+s.Addr.String())
		} else if s.Kind == "firebase" {
			// Named as an app names its database; the hint is what makes
			// gown probe it, as the prober claims no port.
			t.Host = testbed.FirebaseHost
			hinted = append(hinted, s.Addr.String())
		} else {
			specs = append(specs, s.Kind+"://"+s.Addr.String())
		}
		targets = append(targets, t)
	}
	sort.Strings(specs)
	fmt.Fprintf(errw, "Scanning as: gown scan %s --source %s\n", strings.Join(specs, " "), testbed.Source)
	if len(hinted) > 0 {
		// firebase-server speaks plaintext HTTP, and only an https URL of
		// a Firebase host gives a target the firebase hint.
		fmt.Fprintf(errw, "plus, by the names apps give them (Firebase databases as %s; buckets as named), hinted: %s\n", testbed.FirebaseHost, strings.Join(hinted, " "))
	}
	fmt.Fprintln(errw)
	return targets, byAddr
}

// collect keeps the demo's results (a handful of servers) for the truth
// table while passing everything on to the writer.
type collect struct {
	scan.Sink
	results []*gown.Result
}

func (c *collect) Add(r *gown.Result, fs []gown.Finding) error {
	if r != nil {
		c.results = append(c.results, r)
	}
	return c.Sink.Add(r, fs)
}

// printTruth sets gown's verdicts beside what the test bed planted, so the
// demo shows it is right, not just that it printed something.
func printTruth(io stdio, results []*gown.Result, byAddr map[string]*testbed.Server) error {
	sort.Slice(results, func(i, j int) bool {
		return byAddr[results[i].Target.Dial()].Name < byAddr[results[j].Target.Dial()].Name
	})
	fmt.Fprintf(io.out, "\n%-23s %-22s %-14s %-14s %10s %10s  %-17s %-22s %-22s\n", "TEST-BED SERVER", "ADDRESS", "PLANTED", "GOWN SAYS",
		"PLANTED#", "GOWN#", "TLS PLANTED/GOWN", "PII CLASSES FOUND", "SIGNS FOUND/PLANTED")
	wrong := 0
	for _, r := range results {
		s := byAddr[r.Target.Dial()]
		if s == nil {
			continue
		}
		got := uint64(0)
		if r.Inventory != nil {
			got = r.Inventory.Items
		}
		mark := "ok"
		if r.Status != s.Want.Status || (s.Want.Status == gown.StatusOpen && got != s.Want.Items) ||
			(s.Want.TLS != gown.TLSUnknown && r.TLS.Mode != s.Want.TLS) {
			mark, wrong = "WRONG", wrong+1
		}
		tlsCol := "-"
		if s.Want.TLS != gown.TLSUnknown {
			tlsCol = string(s.Want.TLS) + "/" + string(r.TLS.Mode)
		}
		classes, signs, missed := plantedFound(r, s)
		if missed {
			mark, wrong = "WRONG", wrong+1
		}
		fmt.Fprintf(io.out, "%-23s %-22s %-14s %-14s %10d %10d  %-17s %-22s %-22s %s\n", s.Name, s.Addr, s.Want.Status, r.Status,
			s.Want.Items, got, tlsCol, classes, signs, mark)
	}
	if wrong > 0 {
		return fmt.Errorf("demo: %d verdicts differ from what the test bed planted", wrong)
	}
	if len(results) != len(byAddr) {
		return fmt.Errorf("demo: %d results for %d test-bed servers", len(results), len(byAddr))
	}
	fmt.Fprintf(io.out, "\nAll %d verdicts, inventories, TLS modes, data classes and compromise signs match what the test bed planted.\n", len(results))
	return nil
}

// plantedFound compares the sensitive-data classes gown found in the
// database holding the planted people, and the compromise signs, with what
// was planted. Extra signs are shown, not counted as wrong: the test bed's
// other data may carry them.
func plantedFound(r *gown.Result, s *testbed.Server) (classes, signs string, missed bool) {
	if len(s.Want.Classes) == 0 && len(s.Want.Signs) == 0 {
		return "-", "-", false
	}
	found := map[string]bool{}
	if r.Exposure != nil {
		for _, c := range r.Exposure.Classes {
			if c.Database == s.Want.PIIDatabase {
				found[c.Class] = true
			}
		}
	}
	n := 0
	for _, c := range s.Want.Classes {
		if found[c] {
			n++
		}
	}
	kinds := map[string]bool{}
	for _, g := range r.Signs {
		kinds[g.Kind] = true
	}
	m := 0
	for _, k := range s.Want.Signs {
		if kinds[k] {
			m++
		}
	}
	missed = n < len(s.Want.Classes) || m < len(s.Want.Signs)
	return fmt.Sprintf("%d/%d in %s", n, len(s.Want.Classes), s.Want.PIIDatabase), fmt.Sprintf("%d/%d", m, len(s.Want.Signs)), missed
}
