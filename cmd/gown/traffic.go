package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract"
	"github.com/gownscan/gown/probe/all"
	"github.com/gownscan/gown/redact"
	"github.com/gownscan/gown/scan"
	"github.com/gownscan/gown/target"
	"github.com/gownscan/gown/traffic"
	"github.com/spf13/pflag"
)

// trafficFlags are gown traffic's own flags; the probing flags are gown
// scan's.
type trafficFlags struct {
	apps         []string
	noProbe      bool
	allowPrivate bool
	scan         scanFlags
}

func cmdTraffic(ctx context.Context, args []string, io stdio) error {
	fset := pflag.NewFlagSet("gown traffic", pflag.ContinueOnError)
	var f trafficFlags
	fset.StringArrayVar(&f.apps, "app", nil, "join with this app's static extraction (APK, XAPK, APKS, AAB, IPA): back ends seen both ways, in the app only, in the traffic only; repeatable")
	fset.BoolVar(&f.noProbe, "no-probe", false, "report what the files show and grade it; probe nothing")
	fset.BoolVar(&f.allowPrivate, "allow-private", false, "also probe back ends at private, loopback or link-local addresses")
	f.scan.register(fset)
	for _, h := range []string{"list", "resume", "queue", "queue-stream", "queue-partitions", "queue-batch", "follow"} {
		_ = fset.MarkHidden(h)
	}
	if err := parseFlags(fset, "traffic", args, io); err != nil {
		return err
	}
	for _, h := range []string{"list", "resume", "queue"} {
		if fset.Changed(h) {
			return usageError{fmt.Errorf("gown traffic does not take --%s", h)}
		}
	}
	files := fset.Args()
	if len(files) == 0 {
		return usageError{errors.New("no files: give pcap, pcapng or HAR files")}
	}
	job, err := f.scan.job(files, io)
	if err != nil {
		return usageError{err}
	}
	job.command, job.args, job.input = "traffic", storedArgs(args), target.Input{}
	job.tcfg.Origin = "traffic"
	if !f.allowPrivate {
		for _, n := range privateNets {
			if err := job.tcfg.Scope.Exclude(n); err != nil {
				return err
			}
		}
	}
	parties := extract.NewParties()
	an, err := traffic.New(traffic.Config{Catalog: all.Catalog(), Party: parties.Party})
	if err != nil {
		return err
	}
	l, err := job.begin(ctx, io)
	if err != nil {
		return err
	}
	for _, file := range files {
		if err := an.ReadFile(ctx, file); err != nil {
			if ctx.Err() != nil {
				l.abort(ctx)
				return ctx.Err()
			}
			// What came before the error was read and is reported.
			fmt.Fprintf(io.err, "gown: %s\n", redact.Text(err.Error(), 0))
		}
	}
	rep := an.Report()
	if rep.Counts.Packets == 0 && !anyEntries(rep) {
		l.abort(ctx)
		return errors.New("no packet or HAR entry could be read")
	}
	var rows []traffic.JoinRow
	var apps []*gown.App
	if len(f.apps) > 0 {
		apps, rows, err = joinApps(ctx, l, f.apps, rep)
		if err != nil {
			l.abort(ctx)
			return err
		}
	}
	if job.json {
		enc := json.NewEncoder(l.bar.Writer(io.out))
		err = enc.Encode(map[string]any{"traffic": rep})
		if err == nil && rows != nil {
			err = enc.Encode(map[string]any{"join": rows})
		}
		if err != nil {
			l.abort(ctx)
			return fmt.Errorf("write results: %w", err)
		}
	} else {
		printTraffic(stdio{out: l.bar.Writer(io.out)}, rep)
		printJoin(stdio{out: l.bar.Writer(io.out)}, rows)
	}
	// The findings follow what was printed: the apps' own, then the
	// traffic's, then the probes' results.
	for _, app := range apps {
		if err := l.s.AddApp(app); err != nil {
			l.abort(ctx)
			return err
		}
	}
	if err := l.s.AddFindings(rep.Findings()); err != nil {
		l.abort(ctx)
		return err
	}
	targets := rep.Targets(job.tcfg.Ports, gown.PartyScope{Internal: f.allowPrivate})
	var src scan.Source
	switch {
	case f.noProbe:
	case len(targets) == 0:
		l.io.notef("gown: no first-party back ends to probe\n")
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

func anyEntries(rep *traffic.Report) bool {
	for _, f := range rep.Files {
		if f.Entries > 0 {
			return true
		}
	}
	return false
}

// joinApps reads and prints the apps, and joins their endpoints with the
// traffic's; the caller stores the apps' own findings.
func joinApps(ctx context.Context, l *live, files []string, rep *traffic.Report) ([]*gown.App, []traffic.JoinRow, error) {
	x, err := extract.New(extract.Config{Catalog: all.Catalog()})
	if err != nil {
		return nil, nil, err
	}
	var apps []*gown.App
	var eps []gown.Endpoint
	read := 0
	for _, file := range files {
		app, err := x.File(ctx, file)
		if err != nil {
			fmt.Fprintf(l.io.err, "gown: %s\n", redact.Text(err.Error(), 0))
			continue
		}
		read++
		if l.job.json {
			if err := json.NewEncoder(l.bar.Writer(l.io.out)).Encode(app); err != nil {
				return nil, nil, fmt.Errorf("write results: %w", err)
			}
		} else {
			printApp(stdio{out: l.bar.Writer(l.io.out)}, app)
		}
		apps = append(apps, app)
		eps = append(eps, app.Endpoints...)
	}
	if read == 0 {
		return nil, nil, errors.New("no app could be read")
	}
	return apps, traffic.Join(eps, rep.Endpoints()), nil
}

// printTraffic writes what the files showed: each file, each back end
// (first-party first, as gown app lists endpoints), the credentials sent
// in clear. Every string the traffic chose is escaped (redact.Escape).
func printTraffic(io stdio, rep *traffic.Report) {
	w, txt := io.out, redact.Escape
	for _, f := range rep.Files {
		fmt.Fprintf(w, "traffic %s (%s", txt(f.Name), f.Format)
		if f.Format == "har" {
			fmt.Fprintf(w, ", %d entries", f.Entries)
		} else {
			fmt.Fprintf(w, ", %d packets", f.Packets)
		}
		fmt.Fprintf(w, ", %d bytes)\n", f.Bytes)
		if f.Error != "" {
			fmt.Fprintf(w, "  error: %s (what came before was read)\n", txt(f.Error))
		}
	}
	c := rep.Counts
	fmt.Fprintf(w, "  %d packets, %d TCP and %d UDP flows, %d DNS answers", c.Packets, c.TCPFlows, c.UDPFlows, c.DNS)
	if c.Evicted+c.Gaps+c.Fragments+c.DroppedBackends > 0 {
		fmt.Fprintf(w, " (%d flows read early to bound memory, %d with gaps, %d fragments skipped, %d back ends over the cap)", c.Evicted, c.Gaps, c.Fragments, c.DroppedBackends)
	}
	fmt.Fprintf(w, "\n  back ends: %d\n", len(rep.Backends))
	for _, first := range []bool{true, false} {
		for _, b := range rep.Backends {
			if b.FirstParty != first {
				continue
			}
			party, mode := "third", "clear"
			if b.FirstParty {
				party = "first"
			}
			if b.TLS && !b.Cleartext {
				mode = "tls"
			} else if b.TLS {
				mode = "tls+clear"
			}
			where := b.Host + ":" + fmt.Sprint(b.Port)
			if strings.Contains(b.Host, ":") {
				where = "[" + b.Host + "]:" + fmt.Sprint(b.Port)
			}
			fmt.Fprintf(w, "    %-9s %-5s %-9s %s", txt(b.Protocol), party, mode, txt(where))
			if b.Addr != "" && b.Addr != b.Host {
				fmt.Fprintf(w, " (%s)", txt(b.Addr))
			}
			fmt.Fprintf(w, "  %d flows, %d bytes", b.Flows, b.Bytes)
			if len(b.ALPN) > 0 {
				fmt.Fprintf(w, ", alpn %s", txt(strings.Join(b.ALPN, ",")))
			}
			if len(b.Names) > 1 || len(b.Names) == 1 && b.Names[0] != b.Host {
				fmt.Fprintf(w, ", names %s", txt(strings.Join(b.Names, ",")))
			}
			fmt.Fprintf(w, "  (%s)\n", txt(b.Seen.String()))
			for _, u := range b.URLs {
				fmt.Fprintf(w, "      %s\n", txt(u))
			}
			for _, cl := range b.Classes {
				fmt.Fprintf(w, "      CLEARTEXT %s in %d records", txt(cl.Class), cl.Records)
				if len(cl.Examples) > 0 {
					fmt.Fprintf(w, " (e.g. %s)", txt(strings.Join(cl.Examples, ", ")))
				}
				fmt.Fprintln(w)
			}
		}
	}
	if len(rep.DNS) > 0 {
		fmt.Fprintf(w, "  dns: %d names resolved\n", len(rep.DNS))
		for i, d := range rep.DNS {
			if i == 32 {
				fmt.Fprintf(w, "    … %d more (--json lists them all)\n", len(rep.DNS)-i)
				break
			}
			fmt.Fprintf(w, "    %s → %s\n", txt(d.Name), txt(strings.Join(d.Addrs, ", ")))
		}
	}
	for _, cr := range rep.Credentials {
		fmt.Fprintf(w, "  CREDENTIAL %s", txt(cr.Kind))
		if cr.User != "" {
			fmt.Fprintf(w, " user=%s", txt(cr.User))
		}
		if cr.Secret != "" {
			fmt.Fprintf(w, " secret=%s", txt(cr.Secret))
		}
		if cr.Detail != "" {
			fmt.Fprintf(w, " (%s)", txt(cr.Detail))
		}
		fmt.Fprintf(w, " to %s  (%s)\n", txt(cr.Backend), txt(cr.Where.String()))
	}
}

// printJoin writes the join of apps and traffic, both first.
func printJoin(io stdio, rows []traffic.JoinRow) {
	if rows == nil {
		return
	}
	w, txt := io.out, redact.Escape
	n := map[traffic.Seen]int{}
	for _, r := range rows {
		n[r.Seen]++
	}
	fmt.Fprintf(w, "join: %d both, %d app-only, %d traffic-only\n", n[traffic.SeenBoth], n[traffic.SeenApp], n[traffic.SeenTraffic])
	for _, r := range rows {
		party := string(r.Party)
		if party == "" {
			party = map[bool]string{true: "first", false: "third"}[r.FirstParty]
		}
		fmt.Fprintf(w, "  %-12s %-8s %s", r.Seen, party, txt(r.Host))
		if r.Port != 0 {
			fmt.Fprintf(w, ":%d", r.Port)
		}
		if r.App != "" {
			fmt.Fprintf(w, "  app %s", txt(r.App))
		}
		if r.Traffic != "" {
			fmt.Fprintf(w, "  traffic %s", txt(r.Traffic))
		}
		fmt.Fprintln(w)
	}
}
