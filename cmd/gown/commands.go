package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// Why pflag alone and not cobra: gown's commands already parse their own
// pflag flag sets, and their exit codes, messages and --help are tested;
// cobra would re-wire all of them for what this file and its siblings do
// in a few hundred lines: one definition per command (cmdDoc plus the
// command's own flag set, read through describeFlags) from which gown help,
// --help, the bash, zsh and fish completions and the man page are made,
// with no new dependency (cobra's man pages need go-md2man and blackfriday)
// and completion scripts that never run gown at Tab.
//
// cmdDoc describes one command: the one place its usage line and help text
// live. gown help, the --help of each command, the shell completions and
// the man page are all made from these and from the command's own flag set,
// which the command registers where it parses (see describeFlags).
type cmdDoc struct {
	// name is the command as typed after gown: "scan", "fleet report".
	name string
	// operands follow the name in the usage line: "[TARGET...]".
	operands string
	// short is the one-line summary of gown help; long the paragraphs of
	// gown help CMD, before the flags.
	short, long string
	// complete says what a shell completes the operands with.
	complete operandKind
	// words are the fixed words the first operand may be (db path|migrate...).
	words []string
}

// operandKind is what a command's operands are, for completion.
type operandKind int

const (
	operandNone    operandKind = iota
	operandFiles               // app files, inventories, target lists
	operandTargets             // hosts, addresses: nothing to complete
	operandScan                // a stored scan id
	operandCommand             // gown watch: a scan command follows
)

// usageLine is the command's usage line, the same in gown help, in
// gown CMD --help and in the man page.
func (d *cmdDoc) usageLine() string {
	line := "gown " + d.name
	if d.operands != "" {
		line += " " + d.operands
	}
	return line + " [flags]"
}

// commandDocs lists every command in the order gown help shows them.
var commandDocs = []*cmdDoc{
	{name: "scan", operands: "[TARGET...]", complete: operandTargets,
		short: "probe hosts, host:port, URLs, CIDRs (-l FILE; stdin when piped)",
		long: `Probes each target for data stores that answer without authentication,
read-only, and writes one result per store found. Targets: host, host:port,
[v6]:port, URL (redis://, mysql://, https://...), CIDR. With no target and no
-l, targets are read from standard input when it is a pipe or a file.

` + limitsHelp},
	{name: "app", operands: "FILE|DIR...", complete: operandFiles,
		short: "read apps, list their back ends, probe the first-party ones",
		long: `Reads APK, XAPK, APKS, AAB and IPA files, lists the back ends they name and grades
their own code (hard-coded credentials, clear-text transport), then probes the
first-party hosts (tied to the app's identity) for open data stores. Everything
is stored as one scan.`},
	{name: "traffic", operands: "FILE...", complete: operandFiles,
		short: "read pcap, pcapng and HAR files: back ends reached, clear text, join with --app",
		long: `Reads captures (pcap, pcapng) and HAR 1.2 files and reports the back ends the
traffic reached (DNS answers, TLS SNI and ALPN, HTTP hosts and URLs, database
protocols recognised from their first bytes), the personal data and credentials
sent in clear text (masked), then probes the first-party back ends as gown app
does. First party means tied to the identity of an app given with --app APP
(read first, then joined with what the traffic shows); without --app nothing
is, and hosts on no third-party list are unknown, probed only with
--probe-unknown.`},
	{name: "report", operands: "[SCAN]", complete: operandScan,
		short: "write a stored scan (or a --from JSON Lines file) as table, jsonl, sarif, html, csv or md",
		long: `Writes a scan's results in one report format: a stored scan (the newest when
no id is given) or a JSON Lines file written by gown scan --json or gown app
--json (--from FILE, - for standard input).`},
	{name: "scans", operands: "[cancel SCAN]", complete: operandNone, words: []string{"cancel"},
		short: "list stored scans; cancel a queued one; --dead lists dead letters",
		long: `Lists the stored scans, newest first. gown scans cancel SCAN cancels a queued
scan (with --queue URL its batches are purged too); --dead lists the batches of
queued scans that failed on every delivery.`},
	{name: "diff", operands: "SCAN_A SCAN_B", complete: operandScan,
		short: "compare two stored scans: new, fixed, still-open, grown, shrunk, wiped",
		long:  diffLong},
	{name: "probers", complete: operandNone,
		short: "list the probers with their ports and URL schemes",
		long: `Lists every prober gown ships: its name (for --probers), the ports it claims
and the URL schemes that select it, with the default port each scheme means.`},
	{name: "fleet import", operands: "FILE...", complete: operandFiles,
		short: "read MDM app inventories (Intune, Jamf Pro, Workspace ONE, generic)",
		long: `Reads app inventories as MDMs export them and keeps devices, owners (as a keyed
hash and a masked form), apps and versions in the results store. Re-importing
updates. A file with bad rows imports nothing, and every bad row is named with
its line.`},
	{name: "fleet scan", operands: "DIR|FILE...", complete: operandFiles,
		short: "match app binaries to the inventory, probe their back ends once each",
		long: `Matches APK, XAPK, APKS, AAB and IPA files to the imported inventory by package
or bundle id and version, reads each, and probes every distinct first-party
back end they name once, in one scan. Inventory app versions without a binary
are listed, and stored, as not checked.`},
	{name: "fleet report", operands: "[SCAN]", complete: operandScan,
		short: "what is exposed per back end, app and device (table, html, csv, json)",
		long:  `Writes what a fleet scan found, per back end, app and device. The newest fleet scan by default.`},
	{name: "watch", operands: "(--every DURATION | --cron EXPR) scan|fleet scan ARGS...", complete: operandCommand,
		short: "re-run a scan or fleet scan on a schedule, alert on changes by webhook",
		long:  watchLong},
	{name: "watch status", complete: operandNone,
		short: "list watches, their runs and undelivered alerts",
		long:  `Lists the watches kept in the results store with their recent runs, delivery counts and undelivered alerts.`},
	{name: "watch redeliver", complete: operandNone,
		short: "retry a watch's alerts that could not be delivered",
		long:  `Marks the failed deliveries of the watch --name NAME pending again: its next cycle (or gown watch --once) sends them.`},
	{name: "worker", complete: operandNone,
		short: "probe the batches of scans queued with gown scan --queue URL",
		long: `Pulls batches of queued scans (gown scan --queue), probes them and writes to the
shared results store; SIGTERM finishes or hands back the batches running.

Every worker of a stream should run with the same --ack-wait and --max-deliver.`},
	{name: "db", operands: "path|migrate|prune|vacuum", complete: operandNone, words: []string{"path", "migrate", "prune", "vacuum"},
		short: "path, migrate, vacuum the results store; gown db prune --older-than 30d (or --keep N)",
		long:  dbLong},
	{name: "serve", complete: operandNone,
		short: "a read-only dashboard of the results store (127.0.0.1:8080; token off loopback)",
		long:  serveLong},
	{name: "version", complete: operandNone,
		short: "print the version, commit and build date (--json)",
		long:  `Prints gown's version from its build information: module version, VCS commit and date, and the Go version.`},
	{name: "completion", operands: "bash|zsh|fish", complete: operandNone, words: []string{"bash", "zsh", "fish"},
		short: "print a shell completion script",
		long:  completionLong},
	{name: "man", complete: operandNone,
		short: "print the man page, gown(1), in roff",
		long:  `Prints the manual page gown(1), made from the same definitions as gown help. Install it with: gown man > /usr/local/share/man/man1/gown.1`},
	{name: "help", operands: "[COMMAND]", complete: operandNone,
		short: "show the help of gown or of one command",
		long:  `Shows the commands, or the usage, description and flags of one command (gown help fleet scan).`},
}

// docOf returns the doc of the command named name, or nil.
func docOf(name string) *cmdDoc {
	for _, d := range commandDocs {
		if d.name == name {
			return d
		}
	}
	return nil
}

// runner returns the function that runs the command named name, or nil.
// It is a switch rather than a field of cmdDoc: the commands read
// commandDocs themselves (for their usage), which a field would make an
// initialization cycle.
func runner(name string) func(context.Context, []string, stdio) error {
	switch name {
	case "scan":
		return cmdScan
	case "app":
		return cmdApp
	case "traffic":
		return cmdTraffic
	case "report":
		return cmdReport
	case "scans":
		return cmdScans
	case "diff":
		return cmdDiff
	case "probers":
		return cmdProbers
	case "fleet import":
		return cmdFleetImport
	case "fleet scan":
		return cmdFleetScan
	case "fleet report":
		return cmdFleetReport
	case "watch":
		return cmdWatch
	case "watch status":
		return func(ctx context.Context, args []string, io stdio) error { return cmdWatchStatus(ctx, args, io, false) }
	case "watch redeliver":
		return func(ctx context.Context, args []string, io stdio) error { return cmdWatchStatus(ctx, args, io, true) }
	case "worker":
		return cmdWorker
	case "db":
		return cmdDB
	case "serve":
		return cmdServe
	case "version":
		return cmdVersion
	case "completion":
		return cmdCompletion
	case "man":
		return cmdMan
	case "help":
		return cmdHelp
	}
	return nil
}

// lookupCommand finds the command args begin with, the longest name first
// (fleet scan before fleet), and returns it with the arguments after it.
func lookupCommand(args []string) (*cmdDoc, []string) {
	if len(args) >= 2 {
		if d := docOf(args[0] + " " + args[1]); d != nil {
			return d, args[2:]
		}
	}
	if len(args) >= 1 {
		if d := docOf(args[0]); d != nil {
			return d, args[1:]
		}
	}
	return nil, args
}

// groups are the words that only introduce subcommands (gown fleet ...).
func groupOf(word string) []*cmdDoc {
	var sub []*cmdDoc
	for _, d := range commandDocs {
		if strings.HasPrefix(d.name, word+" ") {
			sub = append(sub, d)
		}
	}
	return sub
}

// errDescribed stops a command that was run only to describe its flags.
var errDescribed = errors.New("flags described")

// parseFlags parses a command's flags the same way for every command: it
// adds --config, prints the help on -h/--help (to standard output), then
// fills the flags not typed from the GOWN_* environment and then from the
// config file (flag > environment > file > default, config.go). When the
// command runs only to have its flags described (gown help, completion,
// man), it hands fs over and returns errDescribed before parsing anything.
func parseFlags(fs *pflag.FlagSet, name string, args []string, std stdio) error {
	d := docOf(name)
	if d == nil {
		panic("gown: parseFlags for an undocumented command " + name)
	}
	fs.SetOutput(std.err)
	if fs.Lookup("config") == nil {
		fs.String("config", "", "read flag defaults from `FILE` (default: $GOWN_CONFIG, else $XDG_CONFIG_HOME/gown/config)")
	}
	fs.Usage = func() {} // help is written below, to standard output
	if std.describe != nil {
		std.describe(fs)
		return errDescribed
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			writeHelp(std.out, d, fs)
			return err
		}
		return usageError{err}
	}
	if err := applyDefaults(fs, name, lookupEnv); err != nil {
		return usageError{err}
	}
	return nil
}

// describeFlags returns the flag set of the command named name, as the
// command itself registers it, without running the command.
func describeFlags(name string) *pflag.FlagSet {
	run := runner(name)
	var got *pflag.FlagSet
	std := stdio{in: strings.NewReader(""), out: io.Discard, err: io.Discard, describe: func(fs *pflag.FlagSet) { got = fs }}
	err := run(context.Background(), nil, std)
	if got == nil {
		panic(fmt.Sprintf("gown: command %s did not describe its flags (%v)", name, err))
	}
	return got
}

// writeHelp writes one command's help: usage line, description, flags, and
// where else its flags may be set.
func writeHelp(w io.Writer, d *cmdDoc, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", d.usageLine(), strings.TrimRight(d.long, "\n"))
	if fs != nil && fs.HasAvailableFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
		fmt.Fprintf(w, "\nEvery flag may also be set as GOWN_%s_FLAG or GOWN_FLAG in the environment, or as\n"+
			"\"flag = value\" in the config file (under [%s] or at the top); a typed flag wins\n"+
			"over the environment, which wins over the file (gown help config).\n", envWord(d.name), d.name)
	}
}

// usage is gown's own help: the commands, one line each.
func usage() string {
	var b strings.Builder
	b.WriteString(`gown checks that an app's back end is covered: it finds data stores that
answer without authentication, read-only, and says what they expose.

Usage: gown COMMAND [ARGS...] [flags]

Commands:
`)
	width := 0
	for _, d := range commandDocs {
		width = max(width, len(d.name))
	}
	for _, d := range commandDocs {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, d.name, d.short)
	}
	b.WriteString(`
Run "gown help COMMAND" (or gown COMMAND --help) for a command's usage and flags,
"gown help config" for the config file and GOWN_* variables.
`)
	return b.String()
}

// cmdHelp is gown help [COMMAND].
func cmdHelp(ctx context.Context, args []string, std stdio) error {
	fs := pflag.NewFlagSet("gown help", pflag.ContinueOnError)
	if err := parseFlags(fs, "help", args, std); err != nil {
		return err
	}
	words := fs.Args()
	if len(words) == 0 {
		fmt.Fprint(std.out, usage())
		return nil
	}
	if len(words) == 1 && words[0] == "config" {
		fmt.Fprint(std.out, configHelp)
		return nil
	}
	d, rest := lookupCommand(words)
	if d == nil || len(rest) > 0 {
		if sub := groupOf(words[0]); len(sub) > 0 && len(words) == 1 {
			fmt.Fprintf(std.out, "gown %s has these commands:\n", words[0])
			for _, s := range sub {
				fmt.Fprintf(std.out, "  %-40s %s\n", s.usageLine(), s.short)
			}
			return nil
		}
		return usageError{fmt.Errorf("gown help: no command %q (gown help lists them)", strings.Join(words, " "))}
	}
	writeHelp(std.out, d, describeFlags(d.name))
	return nil
}

// commandNames are the first words of every command, sorted, for
// completion.
func commandNames() []string {
	var names []string
	for _, d := range commandDocs {
		w, _, _ := strings.Cut(d.name, " ")
		if !slices.Contains(names, w) {
			names = append(names, w)
		}
	}
	slices.Sort(names)
	return names
}
