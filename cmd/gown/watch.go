package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store"
	"github.com/gownscan/gown/watch"
	"github.com/spf13/pflag"
)

// watchLong is gown help watch.
const watchLong = `Re-runs a scan or a fleet scan on a schedule, diffs each run against the last
(new, fixed, grown, shrunk, wiped) and alerts on changes at or above --alert-on
by webhook. Its state lives in the results store: a restarted watch misses and
repeats nothing. --once runs one cycle now and exits (for cron).

gown watch status and gown watch redeliver have their own help.
`

// watchFlags are gown watch's own flags; the scan's follow the command.
type watchFlags struct {
	name      string
	every     time.Duration
	cron      string
	once      bool
	alertOn   string
	webhooks  []string
	slack     []string
	retries   int
	retryWait time.Duration
	db        string
}

func cmdWatch(ctx context.Context, args []string, io stdio) error {
	if len(args) > 0 {
		switch args[0] {
		case "status":
			return cmdWatchStatus(ctx, args[1:], io, false)
		case "redeliver":
			return cmdWatchStatus(ctx, args[1:], io, true)
		}
	}
	fset := pflag.NewFlagSet("gown watch", pflag.ContinueOnError)
	fset.SetOutput(io.err)
	fset.SetInterspersed(false) // everything after the command is the scan's
	var f watchFlags
	fset.StringVar(&f.name, "name", "", "the watch's `NAME` in the store (default: made from the command and its arguments)")
	fset.DurationVar(&f.every, "every", 0, "run every `DURATION` (1h, 30m)")
	fset.StringVar(&f.cron, "cron", "", "run on a cron `EXPR`ession (\"0 3 * * 1\", @daily)")
	fset.BoolVar(&f.once, "once", false, "run one cycle now and exit (for cron)")
	fset.StringVar(&f.alertOn, "alert-on", "high", "alert on changes at or above `SEVERITY` (info, low, medium, high, critical)")
	fset.StringArrayVar(&f.webhooks, "webhook", nil, "POST each alert as JSON to `URL`; repeatable")
	fset.StringArrayVar(&f.slack, "slack", nil, "POST each alert as a Slack message to the incoming-webhook `URL`; repeatable")
	fset.IntVar(&f.retries, "retries", 5, "attempts per delivery, 1 to 100")
	fset.DurationVar(&f.retryWait, "retry-wait", time.Second, "wait after a failed attempt, doubled each time up to 1 min")
	fset.StringVar(&f.db, "db", "", "results store: a SQLite `FILE` or a postgres:// URL (default: $XDG_DATA_HOME/gown/gown.db)")
	if err := parseFlags(fset, "watch", args, io); err != nil {
		return err
	}
	command, inner, err := watchCommand(fset.Args(), f.db)
	if err != nil {
		return usageError{err}
	}
	cfg, err := f.config(command, inner)
	if err != nil {
		return usageError{err}
	}
	st, err := store.Open(ctx, f.db)
	if err != nil {
		return err
	}
	defer st.Close()
	ws, ok := st.(watch.Store)
	if !ok {
		return fmt.Errorf("the results store (%T) cannot keep watches", st)
	}
	cfg.Store, cfg.Log = ws, io.err
	withDB := append(slices.Clone(inner), "--db", f.db)
	if f.db == "" {
		withDB = inner
	}
	cfg.Run = func(ctx context.Context) (gown.ScanID, error) {
		var id gown.ScanID
		var err error
		sub := io
		sub.began = func(s gown.ScanID) { id = s }
		if command == "fleet" {
			err = cmdFleetScan(ctx, withDB, sub)
		} else {
			err = cmdScan(ctx, withDB, sub)
		}
		var fe findingsError
		if errors.As(err, &fe) {
			err = nil // --fail-on is the scan's business; the watch alerts on changes
		}
		return id, err
	}
	w, err := watch.New(ctx, cfg)
	if err != nil {
		return err
	}
	spec := w.Watch()
	io.notef("gown watch %s: %s %s; %s; alerts at or above %s to %d webhooks\n", spec.Name, command, strings.Join(spec.Args, " "),
		spec.Schedule, cfg.AlertOn, len(cfg.Sinks))
	if f.once {
		return w.Once(ctx)
	}
	err = w.Run(ctx)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// Stopped (Ctrl-C, SIGTERM): not a failure. The state is in the
		// store; the next start takes the schedule up.
		io.notef("gown watch %s: stopped; started again, it resumes its schedule\n", spec.Name)
		return nil
	}
	return err
}

// watchCommand splits what follows gown watch's flags into the command and
// its arguments, and checks that a --db among them is the watch's.
func watchCommand(args []string, db string) (string, []string, error) {
	var command string
	switch {
	case len(args) >= 1 && args[0] == "scan":
		command, args = "scan", args[1:]
	case len(args) >= 2 && args[0] == "fleet" && args[1] == "scan":
		command, args = "fleet", args[2:]
	default:
		return "", nil, errors.New("what to watch: scan ARGS... or fleet scan ARGS... after the watch's flags")
	}
	for i, a := range args {
		v, ok := "", false
		if a == "--db" && i+1 < len(args) {
			v, ok = args[i+1], true
		} else if strings.HasPrefix(a, "--db=") {
			v, ok = strings.TrimPrefix(a, "--db="), true
		}
		if ok && v != db {
			return "", nil, errors.New("give --db to gown watch, before the command: the watch and its scans share one store")
		}
	}
	return command, storedArgs(args), nil
}

// config builds the watch's config from the flags.
func (f *watchFlags) config(command string, inner []string) (watch.Config, error) {
	var cfg watch.Config
	var err error
	switch {
	case f.every != 0 && f.cron != "":
		return cfg, errors.New("--every or --cron, not both")
	case f.every != 0:
		cfg.Schedule, err = watch.Every(f.every)
	case f.cron != "":
		cfg.Schedule, err = watch.Cron(f.cron)
	case f.once:
		// A --once watch is scheduled by cron itself; the store still
		// records a schedule, which says so.
		cfg.Schedule, err = watch.ParseSchedule("@every 24h")
	default:
		return cfg, errors.New("when: --every DURATION or --cron EXPR (or --once, run by cron)")
	}
	if err != nil {
		return cfg, err
	}
	if cfg.AlertOn, err = gown.ParseSeverity(f.alertOn); err != nil {
		return cfg, fmt.Errorf("--alert-on: %w", err)
	}
	for _, u := range f.webhooks {
		cfg.Sinks = append(cfg.Sinks, watch.Sink{URL: u, Format: watch.FormatJSON})
	}
	for _, u := range f.slack {
		cfg.Sinks = append(cfg.Sinks, watch.Sink{URL: u, Format: watch.FormatSlack})
	}
	cfg.Retry = watch.Retry{Attempts: f.retries, Base: f.retryWait, Max: max(time.Minute, f.retryWait)}
	name := f.name
	if name == "" {
		h := sha256.Sum256([]byte(command + "\x00" + strings.Join(inner, "\x00")))
		name = command + "-" + hex.EncodeToString(h[:4])
	}
	cfg.Spec = gown.WatchSpec{Name: name, Command: command, Args: inner}
	for _, s := range cfg.Sinks {
		if err := s.Validate(); err != nil {
			return cfg, err
		}
	}
	return cfg, cfg.Retry.Validate()
}

// cmdWatchStatus lists the watches with their recent runs and their
// undelivered alerts; with redeliver, it marks a watch's failed deliveries
// pending for its next cycle.
func cmdWatchStatus(ctx context.Context, args []string, io stdio, redeliver bool) error {
	fset := pflag.NewFlagSet("gown watch status", pflag.ContinueOnError)
	fset.SetOutput(io.err)
	name := fset.String("name", "", "one watch only")
	db := fset.String("db", "", "results store: a SQLite `FILE` or a postgres:// URL")
	asJSON := fset.Bool("json", false, "write JSON")
	cmdName := "watch status"
	if redeliver {
		cmdName = "watch redeliver"
	}
	if err := parseFlags(fset, cmdName, args, io); err != nil {
		return err
	}
	if redeliver && *name == "" {
		return usageError{errors.New("gown watch redeliver --name NAME")}
	}
	st, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	ws, ok := st.(watch.Store)
	if !ok {
		return fmt.Errorf("the results store (%T) cannot keep watches", st)
	}
	all, err := ws.Watches(ctx)
	if err != nil {
		return err
	}
	all = slices.DeleteFunc(all, func(w gown.Watch) bool { return *name != "" && w.Name != *name })
	if *name != "" && len(all) == 0 {
		return fmt.Errorf("no watch named %q in the store", *name)
	}
	if redeliver {
		n, err := watch.Redeliver(ctx, ws, all[0].ID)
		if err == nil {
			fmt.Fprintf(io.out, "%d failed deliveries of watch %s are pending again: its next cycle (or gown watch --once) sends them\n", n, all[0].Name)
		}
		return err
	}
	type status struct {
		Watch      gown.Watch      `json:"watch"`
		Runs       []gown.WatchRun `json:"runs"`
		Deliveries map[string]int  `json:"deliveries"`
		Failed     []gown.Delivery `json:"undelivered"`
	}
	var out []status
	for _, w := range all {
		s := status{Watch: w, Deliveries: map[string]int{}}
		err := ws.WatchRuns(ctx, w.ID, func(r gown.WatchRun) error {
			if len(s.Runs) < 20 {
				s.Runs = append(s.Runs, r)
			}
			return nil
		})
		if err == nil {
			err = ws.Deliveries(ctx, w.ID, nil, func(d gown.Delivery) error {
				s.Deliveries[d.State]++
				if d.State == gown.DeliveryFailed {
					s.Failed = append(s.Failed, d)
				}
				return nil
			})
		}
		if err != nil {
			return err
		}
		out = append(out, s)
	}
	if *asJSON {
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, s := range out {
		w := s.Watch
		fmt.Fprintf(io.out, "watch %s: %s %s, %s; deliveries: %d delivered, %d pending, %d failed\n", w.Name, w.Command,
			strings.Join(w.Args, " "), w.Schedule, s.Deliveries[gown.DeliveryDelivered], s.Deliveries[gown.DeliveryPending], s.Deliveries[gown.DeliveryFailed])
		for _, r := range s.Runs {
			fmt.Fprintf(io.out, "  run %-4d due %s  %-7s scan %-5d against %-5d %s\n", r.Seq, r.Due.Local().Format("2006-01-02 15:04:05"), r.State,
				r.Scan, r.Base, r.Error)
		}
		for _, d := range s.Failed {
			fmt.Fprintf(io.out, "  undelivered: alert %s (run %d, %s %s) to %s after %d attempts: %s\n", d.Alert.ID, d.Alert.Seq, d.Alert.Severity,
				d.Alert.Kind, d.Sink, d.Attempts, d.LastError)
		}
	}
	return nil
}
