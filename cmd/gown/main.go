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
	"strings"
	"syscall"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/buildinfo"
	"github.com/gownscan/gown/internal/stack"
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

// version is this build's version as stored with scans and written in
// reports: the module version or the commit (internal/buildinfo).
var version = buildinfo.Read().Short()

func main() {
	// Grown here, one frame deep: a command that stores reaches SQLite's
	// deep calls on this goroutine (the scan's end), and one reading an
	// app grows it to 64 KiB first. Moved to the scan's end instead, the
	// stack was copied twice more there, deeper; a command that never
	// gets deep pays about 24 page faults.
	stack.Grow()
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
	// describe, when set, makes a command hand over its flag set and
	// stop before parsing (gown help, completion, man: commands.go).
	describe func(*pflag.FlagSet)
}

// notef writes a note on stderr unless -q.
func (s stdio) notef(format string, args ...any) {
	if !s.quiet {
		fmt.Fprintf(s.err, format, args...)
	}
}

func run(ctx context.Context, args []string, in io.Reader, out, errw io.Writer) int {
	io := stdio{in: in, out: out, err: errw}
	if len(args) == 0 {
		fmt.Fprint(errw, usage())
		return exitUsage
	}
	switch args[0] {
	case "demo":
		// The demo starts the test bed, which the gown binary does not
		// link: it is a command of its own.
		fmt.Fprintln(errw, "gown: the demo is its own command: make demo (or go run ./cmd/gown-demo)")
		return exitUsage
	case "--version":
		args = []string{"version"}
	case "-h", "--help":
		args = []string{"help"}
	}
	d, rest := lookupCommand(args)
	if d == nil {
		if sub := groupOf(args[0]); len(sub) > 0 {
			// gown fleet, gown fleet bogus: the group's commands.
			var b strings.Builder
			for _, s := range sub {
				fmt.Fprintf(&b, "  %-40s %s\n", s.usageLine(), s.short)
			}
			if len(args) == 1 || args[1] == "-h" || args[1] == "--help" || args[1] == "help" {
				fmt.Fprintf(out, "gown %s has these commands:\n%s", args[0], b.String())
				if len(args) > 1 {
					return exitOK
				}
				return exitUsage
			}
			fmt.Fprintf(errw, "gown: unknown command %q\n\ngown %s has these commands:\n%s", strings.Join(args[:2], " "), args[0], b.String())
			return exitUsage
		}
		fmt.Fprintf(errw, "gown: unknown command %q\n\n%s", args[0], usage())
		return exitUsage
	}
	return exitCode(ctx, runner(d.name)(ctx, rest, io), errw)
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
