package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/redact"
	"github.com/gownscan/gown/store"
	"github.com/spf13/pflag"
)

// resumeLatest is --resume's value when no id is given.
const resumeLatest = "latest"

// storedArgs drops the flags that choose where and whether to store from a
// scan's arguments: a resumed scan takes its store from its own command line.
func storedArgs(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--db":
			i++
		case strings.HasPrefix(a, "--db="), a == "--no-store":
		default:
			out = append(out, a)
		}
	}
	return out
}

// absLists gives the target lists (-l, --list) in a scan's arguments as
// absolute paths, so that a resumed scan reads the same files from any
// working directory. It walks args as fs's parser does: "--" ends the
// flags, a flag that takes a value takes the next argument unless it has
// "=", and shorthands run together (-ql FILE, -qlFILE, -l=FILE). Stdin
// ("-") stays.
func absLists(fs *pflag.FlagSet, args []string) []string {
	out := slices.Clone(args)
	abs := func(p string) string {
		if p == "-" || p == "" {
			return p
		}
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	takesValue := func(f *pflag.Flag) bool { return f != nil && f.NoOptDefVal == "" }
	for i := 0; i < len(out); i++ {
		a := out[i]
		switch {
		case a == "--":
			return out
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			f := fs.Lookup(name)
			switch {
			case !takesValue(f):
			case hasVal && name == "list":
				out[i] = "--list=" + abs(val)
			case !hasVal && i+1 < len(out):
				i++
				if name == "list" {
					out[i] = abs(out[i])
				}
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				f := fs.ShorthandLookup(a[j : j+1])
				if f == nil || !takesValue(f) && strings.HasPrefix(a[j+1:], "=") {
					break // an unknown shorthand, or -q=true: the rest is not flags
				}
				if !takesValue(f) {
					continue
				}
				rest, prefix := a[j+1:], a[:j+1]
				if v, ok := strings.CutPrefix(rest, "="); ok && len(a) > j+2 {
					rest, prefix = v, a[:j+2]
				}
				switch {
				case rest != "" && f.Name == "list":
					out[i] = prefix + abs(rest)
				case rest == "" && i+1 < len(out):
					i++
					if f.Name == "list" {
						out[i] = abs(out[i])
					}
				}
				break
			}
		}
	}
	return out
}

// resumeScan continues a stored scan with its own stored arguments.
func resumeScan(ctx context.Context, f *scanFlags, pos []string, io stdio) error {
	ref := f.resume
	if ref == resumeLatest && len(pos) == 1 {
		ref, pos = pos[0], nil // --resume 12: pflag leaves the id positional
	}
	if len(pos) > 0 || f.noStore {
		return usageError{errors.New("--resume takes targets and flags from the stored scan; give only --resume [ID] and --db")}
	}
	st, err := store.Open(ctx, f.db)
	if err != nil {
		return err
	}
	meta, err := findResumable(ctx, st, ref)
	st.Close()
	if err != nil {
		return err
	}
	fs := pflag.NewFlagSet("gown scan", pflag.ContinueOnError)
	fs.SetOutput(io.err)
	var sf scanFlags
	sf.register(fs)
	// A scan started with --config stored it among its arguments; the
	// file is not read again (the stored arguments are the scan's).
	fs.String("config", "", "")
	if err := fs.Parse(meta.Args); err != nil {
		return fmt.Errorf("scan %d: stored arguments: %w", meta.ID, err)
	}
	job, err := sf.job(fs.Args(), io)
	if err != nil {
		return fmt.Errorf("scan %d: stored arguments: %w", meta.ID, err)
	}
	if job.input.ReadsStdin() {
		return fmt.Errorf("scan %d read targets from stdin, which cannot be read again", meta.ID)
	}
	job.db, job.args, job.resume = f.db, meta.Args, &meta
	if sf.queue.url != "" {
		return job.resubmit(ctx, &sf, io) // queue.go
	}
	return job.run(ctx, io)
}

func findResumable(ctx context.Context, st gown.Store, ref string) (gown.ScanMeta, error) {
	if ref == resumeLatest {
		m, ok, err := store.Latest(ctx, st)
		if err == nil && !ok {
			err = errors.New("no unfinished scan to resume")
		}
		return m, err
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		return gown.ScanMeta{}, usageError{fmt.Errorf("--resume %q: want a scan id", ref)}
	}
	m, err := st.Scan(ctx, gown.ScanID(id))
	switch {
	case err != nil:
	case m.State == gown.ScanDone:
		err = fmt.Errorf("scan %d is finished; nothing to resume", id)
	case m.Command != "scan":
		err = fmt.Errorf("scan %d was run by gown %s, which cannot be resumed; run it again", id, m.Command)
	}
	return m, err
}

// openFlags registers --db on fs and returns a function that opens the store.
func openFlags(fs *pflag.FlagSet) (*string, func(context.Context) (gown.Store, error)) {
	dsn := fs.String("db", "", "results store: a SQLite `FILE` or a postgres:// URL (default: $XDG_DATA_HOME/gown/gown.db)")
	return dsn, func(ctx context.Context) (gown.Store, error) { return store.Open(ctx, *dsn) }
}

// dbLong is gown help db.
const dbLong = `Commands:
  path                       print where the results store is
  migrate                    bring the schema to this gown's version and print it
  prune --older-than AGE     delete the scans started more than AGE ago (30d, 2w, 12h)
  prune --keep N             delete all but the newest N scans
  prune --older-than AGE --keep N
                             delete the scans older than AGE, sparing the newest N
  vacuum                     give the space pruned scans held back to the system

Pruning deletes the scans with their results and findings, and the findings no
remaining scan saw; gown diff against a pruned scan then fails. It spares the
scans still running, and says which: the store cannot tell a live scan from one
killed outright (SIGKILL, power loss), which stays running for good. Resume such
a scan (gown scan --resume ID) or, when no scan is running on this store, prune
with --include-running.
`

func cmdDB(ctx context.Context, args []string, io stdio) error {
	fs := pflag.NewFlagSet("gown db", pflag.ContinueOnError)
	fs.SetOutput(io.err)
	dsn, open := openFlags(fs)
	keep := fs.Int("keep", 0, "prune all but the newest `N` scans (with --older-than: spare them)")
	olderThan := fs.String("older-than", "", "prune the scans started more than `AGE` ago: 30d, 2w, 36h, 90m")
	running := fs.Bool("include-running", false, "also prune scans still marked running: only when no scan is running on this store")
	if err := parseFlags(fs, "db", args, io); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("gown db: give one of path, migrate, prune, vacuum")}
	}
	cmd := fs.Arg(0)
	switch cmd {
	case "path":
		where, err := store.Where(*dsn)
		if err == nil {
			fmt.Fprintln(io.out, where)
		}
		return err
	case "migrate", "prune", "vacuum":
	default:
		return usageError{fmt.Errorf("gown db: unknown command %q", cmd)}
	}
	var age time.Duration
	if !fs.Changed("keep") {
		*keep = -1
	} else if *keep < 0 {
		return usageError{fmt.Errorf("--keep %d: want 0 or more", *keep)}
	}
	if cmd == "prune" {
		if *keep < 0 && *olderThan == "" {
			return usageError{errors.New("gown db prune: give --older-than AGE, --keep N, or both")}
		}
		if *olderThan != "" {
			var err error
			if age, err = parseAge(*olderThan); err != nil {
				return usageError{fmt.Errorf("--older-than: %w", err)}
			}
		}
	}
	st, err := open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if cmd == "prune" {
		return dbPrune(ctx, st, store.PruneOptions{Keep: max(*keep, 0), Running: *running}, age, *keep >= 0, io)
	}
	return dbMaintain(ctx, st, cmd, io)
}

// parseAge reads an age as Go durations do (36h, 90m), plus days and weeks
// (30d, 2w), which --older-than needs most and time.ParseDuration lacks.
func parseAge(s string) (time.Duration, error) {
	unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	if n := len(s); n > 1 && unit[s[n-1]] != 0 {
		v, err := strconv.ParseFloat(s[:n-1], 64)
		if err != nil || v <= 0 || v > 100*365 {
			return 0, fmt.Errorf("%q: want a positive number of days or weeks, such as 30d", s)
		}
		return time.Duration(v * float64(unit[s[n-1]])), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: want an age such as 30d, 2w, 36h or 90m", s)
	}
	return d, nil
}

// dbPrune deletes by count (byCount), by age (age > 0), or both: with
// both, the scans older than age go except the newest o.Keep. Running
// scans are spared unless o.Running, and the output says which.
func dbPrune(ctx context.Context, st gown.Store, o store.PruneOptions, age time.Duration, byCount bool, io stdio) error {
	p, ok := st.(store.ScanPruner)
	if !ok {
		return errors.New("gown db prune: this store cannot prune")
	}
	if age > 0 {
		o.Before = time.Now().Add(-age)
	}
	res, err := p.PruneScans(ctx, o)
	if err != nil {
		return err
	}
	if age == 0 {
		fmt.Fprintf(io.out, "pruned %d scans, kept the newest %d\n", res.Deleted, o.Keep)
	} else {
		fmt.Fprintf(io.out, "pruned %d scans started before %s", res.Deleted, o.Before.Local().Format(time.DateTime))
		if byCount && o.Keep > 0 {
			fmt.Fprintf(io.out, ", sparing the newest %d", o.Keep)
		}
		fmt.Fprintln(io.out)
	}
	if n := len(res.Spared); n > 0 {
		ids := make([]string, n)
		for i, id := range res.Spared {
			ids[i] = strconv.FormatInt(int64(id), 10)
		}
		what, id := fmt.Sprintf("%d scans", n), "ID"
		if n == 1 {
			what, id = "1 scan", ids[0]
		}
		fmt.Fprintf(io.out, "spared %s still marked running (%s), which may be live. A scan killed outright stays\n"+
			"running: resume it (gown scan --resume %s), or prune again with --include-running once no scan is running\n",
			what, strings.Join(ids, ", "), id)
	}
	return nil
}

func dbMaintain(ctx context.Context, st gown.Store, cmd string, io stdio) error {
	if cmd == "migrate" {
		// Open has migrated; this reports where the schema now stands.
		if v, ok := st.(interface {
			SchemaVersion(context.Context) (int, error)
		}); ok {
			n, err := v.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(io.out, "schema version %d\n", n)
		}
		return nil
	}
	v, ok := st.(gown.Vacuumer)
	if !ok {
		return errors.New("gown db vacuum: this store cannot vacuum")
	}
	return v.Vacuum(ctx)
}

// cmdScans lists the stored scans, newest first.
func cmdScans(ctx context.Context, args []string, io stdio) error {
	fs := pflag.NewFlagSet("gown scans", pflag.ContinueOnError)
	fs.SetOutput(io.err)
	_, open := openFlags(fs)
	asJSON := fs.Bool("json", false, "one JSON object per scan")
	// Queued scans: gown scans cancel ID, gown scans --dead (queue.go).
	var qf queueFlags
	qf.register(fs)
	dead := fs.Bool("dead", false, "list the dead letters of queued scans: batches that failed on every delivery")
	if err := parseFlags(fs, "scans", args, io); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return scansCommand(ctx, fs.Args(), &qf, open, io)
	}
	st, err := open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if *dead {
		return listDead(ctx, st, *asJSON, io)
	}
	enc := json.NewEncoder(io.out)
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintln(tw, "ID\tSTARTED\tSTATE\tTARGETS\tRESULTS\tFINDINGS\tQUEUE\tCOMMAND")
	}
	err = st.Scans(ctx, func(m gown.ScanMeta) error {
		if *asJSON {
			return enc.Encode(scanJSON(ctx, st, m))
		}
		_, err := fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", m.ID, m.Started.Local().Format(time.DateTime),
			redact.Escape(string(m.State)), m.Targets, m.Results, m.Findings, queueColumn(ctx, st, m.ID),
			redact.Escape(strings.Join(append([]string{cmp.Or(m.Command, "scan")}, m.Args...), " ")))
		return err
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}
