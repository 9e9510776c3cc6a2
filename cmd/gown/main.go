// Command gown checks that the back ends of mobile apps are covered: it probes
// data stores for missing authentication, read-only, and reports what is
// exposed. This file wires flags to configs; the work is done by the packages.
// It is the only place that decides exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store"
	"github.com/gownscan/gown/target"
	"github.com/spf13/pflag"
)

// Exit codes, documented in README.md.
const (
	exitOK          = 0
	exitError       = 1   // the run failed
	exitUsage       = 2   // bad flags or arguments
	exitFindings    = 3   // findings at or above --fail-on
	exitInterrupted = 130 // Ctrl-C; what was found was still written
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type stdio struct {
	in       io.Reader
	out, err io.Writer
	// quiet (-q) drops notes: what was stored where, what was resumed.
	// Results and errors are always written.
	quiet bool
	// began, when set, is told the id of each scan a command records: gown
	// watch runs gown scan and gown fleet scan in-process and diffs by it.
	began func(gown.ScanID)
}

// notef writes a note on stderr unless -q.
func (s stdio) notef(format string, args ...any) {
	if !s.quiet {
		fmt.Fprintf(s.err, format, args...)
	}
}

const usage = `gown checks that an app's back end is covered: it finds data stores that
answer without authentication, read-only, and says what they expose.

Usage:
  gown scan [targets...] [flags]   probe hosts, host:port, URLs, CIDRs (-l FILE, - for stdin)
  gown app FILE|DIR... [flags]     read apps, list their back ends, probe the first-party ones
  gown traffic FILE... [--app APP] read pcap, pcapng and HAR files: back ends reached, clear text, join with the app
  gown fleet import FILE...        read MDM app inventories (Intune, Jamf Pro, Workspace ONE, generic)
  gown fleet scan DIR|FILE...      match app binaries to the inventory, probe their back ends once each
  gown fleet report [SCAN]         what is exposed per back end, app and device (table, html, csv, json)
  gown watch --every 1h scan ARGS  re-run a scan or fleet scan on a schedule, alert on changes by webhook
  gown report [SCAN | --from FILE] [--format table|jsonl|sarif|html|csv|md] [-o FILE]
                                   write a scan's results in a report format
  gown scans                       list stored scans (--db DSN: a SQLite file or postgres:// URL)
  gown scans cancel SCAN           cancel a queued scan (with --queue URL its batches are purged too)
  gown scans --dead                list the batches of queued scans that failed on every delivery
  gown worker --queue URL --db DSN probe the batches of scans queued with gown scan --queue URL
  gown diff SCAN_A SCAN_B          compare two stored scans: new, fixed, still-open, grown, shrunk, wiped
  gown db path|migrate|vacuum      where the results store is; bring its schema up to date; compact it
  gown db prune --older-than 30d   delete scans started over 30 days ago (--keep N: all but the newest N)
  gown serve [--listen ADDR:PORT]  a read-only dashboard of the results store (127.0.0.1:8080; token off loopback)
  gown version                     print the version

Run "gown COMMAND --help" for a command's flags.
`

func run(ctx context.Context, args []string, in io.Reader, out, errw io.Writer) int {
	io := stdio{in: in, out: out, err: errw}
	if len(args) == 0 {
		fmt.Fprint(errw, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "scan":
		err = cmdScan(ctx, args[1:], io)
	case "scans":
		err = cmdScans(ctx, args[1:], io)
	case "diff":
		err = cmdDiff(ctx, args[1:], io)
	case "db":
		err = cmdDB(ctx, args[1:], io)
	case "app":
		err = cmdApp(ctx, args[1:], io)
	case "traffic":
		err = cmdTraffic(ctx, args[1:], io)
	case "fleet":
		err = cmdFleet(ctx, args[1:], io)
	case "watch":
		err = cmdWatch(ctx, args[1:], io)
	case "report":
		err = cmdReport(ctx, args[1:], io)
	case "serve":
		err = cmdServe(ctx, args[1:], io)
	case "worker":
		err = cmdWorker(ctx, args[1:], io)
	case "demo":
		// The demo starts the test bed, which the gown binary does not
		// link: it is a command of its own.
		fmt.Fprintln(errw, "gown: the demo is its own command: make demo (or go run ./cmd/gown-demo)")
		return exitUsage
	case "version", "--version":
		fmt.Fprintln(out, "gown", version)
	case "help", "-h", "--help":
		fmt.Fprint(out, usage)
	default:
		fmt.Fprintf(errw, "gown: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	return exitCode(ctx, err, errw)
}

// usageError marks errors in flags or arguments.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// findingsError means the scan worked and found what --fail-on gates on.
type findingsError struct{ n int }

func (f findingsError) Error() string {
	return fmt.Sprintf("%d findings at or above the --fail-on level", f.n)
}

func exitCode(ctx context.Context, err error, errw io.Writer) int {
	var ue usageError
	var fe findingsError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, pflag.ErrHelp):
		return exitOK
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		fmt.Fprintln(errw, "gown: interrupted; results found so far were written")
		return exitInterrupted
	case errors.As(err, &ue), badInput(err):
		fmt.Fprintln(errw, "gown:", err)
		return exitUsage
	case errors.As(err, &fe):
		fmt.Fprintln(errw, "gown:", err)
		return exitFindings
	}
	fmt.Fprintln(errw, "gown:", err)
	return exitError
}

// badInput reports whether err is the user's input refused where it is
// read rather than where the flags are: an input with no target a scan
// could use, a target list that cannot be read, a --db that names no store.
// Each is a bad argument (exit 2), wherever it is found.
func badInput(err error) bool {
	var le *target.ListError
	return errors.Is(err, gown.ErrNoTargets) || errors.As(err, &le) || errors.Is(err, store.ErrBadDSN)
}
