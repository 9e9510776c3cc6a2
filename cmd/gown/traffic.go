package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract"
	"github.com/gownscan/gown/probe/all"
	"github.com/gownscan/gown/redact"
	"github.com/gownscan/gown/report"
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
	probeUnknown bool
	scan         scanFlags
}

func cmdTraffic(ctx context.Context, args []string, io stdio) error {
	fset := pflag.NewFlagSet("gown traffic", pflag.ContinueOnError)
	var f trafficFlags
	fset.StringArrayVar(&f.apps, "app", nil, "join with this app's static extraction (APK, XAPK, APKS, AAB, IPA): back ends seen both ways, in the app only, in the traffic only; repeatable")
	fset.BoolVar(&f.noProbe, "no-probe", false, "report what the files show and grade it; probe nothing")
	fset.BoolVar(&f.allowPrivate, "allow-private", false, "also probe back ends at private, loopback or link-local addresses, and internal names (*.internal, *.corp, *.lan)")
	fset.BoolVar(&f.probeUnknown, "probe-unknown", false, "also probe hosts tied neither to the app's identity nor to a known third party (party \"unknown\")")
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
	// The apps are read first: their identities decide which of the
	// hosts the traffic shows are their own.
	var apps []*gown.App
	if len(f.apps) > 0 {
		if apps, err = readApps(ctx, f.apps, io); err != nil {
			return err
		}
	}
	an, err := traffic.New(traffic.Config{Catalog: all.Catalog(), Party: trafficParty(apps, extract.NewParties())})
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
	if apps != nil {
		var eps []gown.Endpoint
		for _, app := range apps {
			eps = append(eps, app.Endpoints...)
		}
		rows = traffic.Join(eps, rep.Endpoints())
	}
	if job.json {
		enc := json.NewEncoder(l.bar.Writer(io.out))
		for _, app := range apps {
			if err = enc.Encode(app); err != nil {
				break
			}
		}
		if err == nil {
			err = enc.Encode(map[string]any{"traffic": rep})
		}
		if err == nil && rows != nil {
			err = enc.Encode(map[string]any{"join": rows})
		}
		if err != nil {
			l.abort(ctx)
			return fmt.Errorf("write results: %w", err)
		}
	} else {
		for _, app := range apps {
			printApp(stdio{out: l.bar.Writer(io.out)}, app)
		}
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
	scope := gown.PartyScope{Unknown: f.probeUnknown, Internal: f.allowPrivate}
	targets := rep.Targets(job.tcfg.Ports, scope)
	if !f.noProbe {
		heldNotes(l.io, rep, scope, apps != nil)
	}
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

// readApps reads the apps given with --app; an app that cannot be read is
// reported and the others are used. The caller prints and stores them.
func readApps(ctx context.Context, files []string, io stdio) ([]*gown.App, error) {
	x, err := extract.New(extract.Config{Catalog: all.Catalog()})
	if err != nil {
		return nil, err
	}
	var apps []*gown.App
	for _, file := range files {
		app, err := x.File(ctx, file)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			fmt.Fprintf(io.err, "gown: %s\n", redact.Text(err.Error(), 0))
			continue
		}
		apps = append(apps, app)
	}
	if len(apps) == 0 {
		return nil, errors.New("no app could be read")
	}
	return apps, nil
}

// trafficParty decides whose server a host the traffic shows is: first
// when any of the apps' identities ties it to that app (App.PartyOf),
// else what extraction's lists say (Parties.Party: dev, internal, third,
// or unknown). With no app there is no identity, and nothing is first:
// a host on no list is unknown, not the app's own.
func trafficParty(apps []*gown.App, parties *extract.Parties) func(string) gown.Party {
	return func(host string) gown.Party {
		for _, app := range apps {
			if app.PartyOf != nil && app.PartyOf(host) == gown.PartyFirst {
				return gown.PartyFirst
			}
		}
		return parties.Party(host)
	}
}

// heldNotes says on stderr how many unknown and internal back ends scope
// leaves unprobed, and which flag probes them, as gown app does for an
// app's endpoints.
func heldNotes(io stdio, rep *traffic.Report, scope gown.PartyScope, withApps bool) {
	held := map[gown.Party]int{}
	for _, e := range rep.Endpoints() {
		if (e.Party == gown.PartyUnknown || e.Party == gown.PartyInternal) && !e.Probed(scope) {
			held[e.Party]++
		}
	}
	if n := held[gown.PartyUnknown]; n > 0 {
		why := "tied neither to the app nor to a known third party"
		if !withApps {
			why = "no --app to tie them to, and no known third party"
		}
		io.notef("gown: %d back end(s) of unknown party (%s) not probed: --probe-unknown probes them\n", n, why)
	}
	if n := held[gown.PartyInternal]; n > 0 {
		io.notef("gown: %d internal back end(s) (private addresses, *.internal/*.corp/*.lan names) not probed: --allow-private probes them\n", n)
	}
}

// printTraffic writes what the files showed: each file, each back end
// (by party, first-party first, in gown app's order), the names DNS
// resolved, the credentials sent in clear. Every string the traffic chose
// is escaped (redact.Escape).
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
	backends := slices.Clone(rep.Backends)
	slices.SortStableFunc(backends, func(x, y traffic.Backend) int { return partyIndex(x.Party) - partyIndex(y.Party) })
	for _, b := range backends {
		mode := "clear"
		if b.TLS && !b.Cleartext {
			mode = "tls"
		} else if b.TLS {
			mode = "tls+clear"
		}
		where := b.Host + ":" + fmt.Sprint(b.Port)
		if strings.Contains(b.Host, ":") {
			where = "[" + b.Host + "]:" + fmt.Sprint(b.Port)
		}
		fmt.Fprintf(w, "    %-9s %-8s %-9s %s", txt(b.Protocol), txt(string(b.Party)), mode, txt(where))
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
	if len(rep.DNS) > 0 {
		fmt.Fprintf(w, "  dns: %d names resolved\n", len(rep.DNS))
		for i, d := range rep.DNS {
			if i == 32 {
				fmt.Fprintf(w, "    … %d more (--json lists them all)\n", len(rep.DNS)-i)
				break
			}
			fmt.Fprintf(w, "    %-8s %s → %s\n", txt(string(d.Party)), txt(d.Name), txt(strings.Join(d.Addrs, ", ")))
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

// partyIndex is p's place in the order gown lists parties in
// (report.PartyOrder: first, unknown, internal, third, dev).
func partyIndex(p gown.Party) int {
	if i := slices.Index(report.PartyOrder, p); i >= 0 {
		return i
	}
	return len(report.PartyOrder)
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
