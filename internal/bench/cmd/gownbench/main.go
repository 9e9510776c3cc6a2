// Command gownbench measures gown against zgrab2 and nmap and against the raw
// TCP connect ceiling on a loopback farm of real servers, and prints the
// tables BENCHMARKS.md keeps. scripts/bench.sh (make bench) installs the
// peers, builds gown, and runs it inside a network namespace of its own where
// part of loopback drops SYNs.
//
// Usage:
//
//	gownbench [-sizes 10000,100000] [-scale 1000000] [-gown bin/gown] [-zgrab2 PATH] [-nmap PATH] ...
//	gownbench connect -l HOSTS -workers N -timeout D   (the raw ceiling, one process)
//	gownbench farm [-sizes 10000] [-dir D]              (the farm and lists, until interrupted)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gownscan/gown/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "connect":
		err = connect(ctx, os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "farm":
		err = holdFarm(ctx, os.Args[2:])
	default:
		err = run(ctx, os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gownbench:", err)
		os.Exit(1)
	}
}

// holdFarm starts the farm, writes target lists for the given sizes, and
// keeps the farm up until interrupted: for profiling a scan by hand.
func holdFarm(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("farm", flag.ContinueOnError)
	sizes := fs.String("sizes", "10000", "target list sizes to write")
	dir := fs.String("dir", ".", "folder for the lists")
	procs := fs.Int("procs", 2, "farm processes per store and configuration")
	addrs := fs.Int("addrs", 12, "addresses per farm process")
	filtered := fs.Float64("filtered", 0.005, "share of hosts on the SYN-dropping network")
	offset := fs.Int("port-offset", 0, "as gownbench's -port-offset; URL lists (urls-N.txt) are written too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	bench.ShiftPorts(*offset)
	farm, err := bench.StartFarm(ctx, os.Stderr, bench.FarmSpec{Procs: *procs, AddrsPerProc: *addrs})
	if err != nil {
		return err
	}
	defer farm.Stop()
	ns, err := ints(*sizes)
	if err != nil {
		return err
	}
	for _, n := range ns {
		l, err := bench.WriteList(filepath.Join(*dir, fmt.Sprintf("hosts-%d.txt", n)), n, farm.Endpoints(), *filtered)
		if err != nil {
			return err
		}
		if err := bench.WriteURLs(l.Path, filepath.Join(*dir, fmt.Sprintf("urls-%d.txt", n))); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "gownbench: %s: %d targets\n", l.Path, l.Targets)
	}
	fmt.Fprintln(os.Stderr, "gownbench: farm up; interrupt to stop")
	<-ctx.Done()
	return nil
}

// connect is the raw ceiling: connect and close every host × port.
func connect(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("connect", flag.ContinueOnError)
	list := fs.String("l", "", "hosts file")
	workers := fs.Int("workers", 64, "connects at once")
	timeout := fs.Duration("timeout", 3*time.Second, "connect timeout")
	offset := fs.Int("port-offset", 0, "as gownbench's -port-offset")
	if err := fs.Parse(args); err != nil {
		return err
	}
	bench.ShiftPorts(*offset)
	hosts, err := bench.ReadHosts(*list)
	if err != nil {
		return err
	}
	ports := make([]int, len(bench.Kinds))
	for i, k := range bench.Kinds {
		ports[i] = bench.Ports[k]
	}
	n := bench.Ceiling{Workers: *workers, Timeout: *timeout}.Run(ctx, hosts, ports)
	n.Fprint(os.Stdout)
	return ctx.Err()
}

type config struct {
	sizes       []int
	scale       int
	gown, zgrab string
	nmap        string
	nmapMax     int
	procs       int
	addrs       int
	filtered    float64
	workers     []int
	work        string
	skipPeers   bool
	zgrabTO     string
	nmapFlags   string
	tools       map[string]bool
	politeRun   bool
	repeat      int
	portOffset  int
	detect      bool
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("gownbench", flag.ContinueOnError)
	var c config
	sizes := fs.String("sizes", "10000,100000", "target list sizes (host × port pairs), comma-separated")
	fs.IntVar(&c.scale, "scale", 1000000, "targets of the flat-memory run (0: skip)")
	fs.StringVar(&c.gown, "gown", "bin/gown", "gown binary")
	fs.StringVar(&c.zgrab, "zgrab2", "zgrab2", "zgrab2 binary")
	fs.StringVar(&c.nmap, "nmap", "nmap", "nmap binary")
	fs.IntVar(&c.nmapMax, "nmap-max", 100000, "run nmap on lists up to this many targets (it spends minutes per host group on unrecognised services)")
	fs.IntVar(&c.procs, "procs", 2, "farm processes per store and configuration")
	fs.IntVar(&c.addrs, "addrs", 12, "addresses each farm process listens on (at most 16)")
	fs.Float64Var(&c.filtered, "filtered", 0.005, "share of hosts on the SYN-dropping network")
	workers := fs.String("workers", "16,64,256,1024", "gown worker counts of the concurrency table")
	fs.StringVar(&c.work, "work", "", "folder for lists and outputs (default: a temp folder, removed)")
	fs.BoolVar(&c.skipPeers, "no-peers", false, "measure gown and the ceiling only")
	fs.StringVar(&c.zgrabTO, "zgrab2-timeout", "3s", "zgrab2 --timeout (gown's connect timeout is 3s)")
	fs.StringVar(&c.nmapFlags, "nmap-flags", "-T4 --min-hostgroup 32768", "nmap timing flags (one host group: nmap's -sV otherwise waits out its probes group by group)")
	fs.IntVar(&c.repeat, "repeat", 3, "runs of each measurement but nmap; the fastest is kept")
	tools := fs.String("tools", "gown,zgrab2,nmap", "tools to measure")
	fs.BoolVar(&c.politeRun, "polite", true, "run the politeness table")
	fs.IntVar(&c.portOffset, "port-offset", 0, "move every farm port by this much (10000: 16379, 13306, 15432, 21211), so that no prober claims them")
	fs.BoolVar(&c.detect, "detect", false, "measure gown with the protocols given (URLs) against gown detecting them (host lists, --detect); needs -port-offset")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.detect && c.portOffset == 0 {
		return fmt.Errorf("-detect needs -port-offset: at the default ports every store's prober claims its port and nothing is detected")
	}
	bench.ShiftPorts(c.portOffset)
	c.tools = map[string]bool{}
	for _, t := range strings.Split(*tools, ",") {
		c.tools[strings.TrimSpace(t)] = true
	}
	var err error
	if c.sizes, err = ints(*sizes); err != nil {
		return err
	}
	if c.workers, err = ints(*workers); err != nil {
		return err
	}
	if c.work != "" {
		if err := os.MkdirAll(c.work, 0o755); err != nil {
			return err
		}
	} else {
		if c.work, err = os.MkdirTemp("", "gown-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(c.work)
	}
	if c.gown, err = filepath.Abs(c.gown); err != nil {
		return err
	}
	farm, err := bench.StartFarm(ctx, os.Stderr, bench.FarmSpec{Procs: c.procs, AddrsPerProc: c.addrs})
	if err != nil {
		return err
	}
	defer farm.Stop()
	eps := farm.Endpoints()
	fmt.Printf("Farm: %d server processes (Redis, MariaDB, PostgreSQL, memcached; open and password), %d endpoints on distinct 127.20-23.x.y addresses at ports %s; filtered: %.1f%% of hosts on 127.99.0.0/16 (SYN dropped).\n\n",
		len(farm.Instances), len(eps), portsText(), c.filtered*100)
	return c.runAll(ctx, farm)
}

func (c *config) runAll(ctx context.Context, farm *bench.Farm) error {
	eps := farm.Endpoints()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	lists := map[int]bench.List{}
	rss := map[string]map[int]bench.Usage{"gown (store)": {}, "gown --no-store": {}}
	for _, size := range c.sizes {
		l, err := bench.WriteList(filepath.Join(c.work, fmt.Sprintf("hosts-%d.txt", size)), size, eps, c.filtered)
		if err != nil {
			return err
		}
		lists[size] = l
		fmt.Printf("### %d targets (%d hosts × 4 ports; %d farm endpoints = %.2f%% open servers, %d filtered targets)\n\n",
			l.Targets, l.Hosts, l.Open, 100*float64(l.Open)/float64(l.Targets), l.Filtered)
		ceil, ceilRows, err := c.ceiling(ctx, self, l, []int{64, 512})
		if err != nil {
			return err
		}
		var tools []bench.Tool
		if c.tools["gown"] {
			tools = append(tools,
				bench.Gown(c.gown, "gown (store)", "--db", filepath.Join(c.work, fmt.Sprintf("gown-%d.db", size))),
				bench.Gown(c.gown, "gown --no-store", "--no-store"),
				bench.Gown(c.gown, "gown --no-store --workers 1024", "--no-store", "--workers", "1024"))
		}
		if c.detect {
			tools = append(tools,
				bench.GownURLs(c.gown, "gown hinted (URLs, store)", "--db", filepath.Join(c.work, fmt.Sprintf("gown-urls-%d.db", size))),
				bench.Gown(c.gown, "gown unhinted (--detect, store)", "--db", filepath.Join(c.work, fmt.Sprintf("gown-detect-%d.db", size))),
				bench.GownURLs(c.gown, "gown hinted (URLs) --no-store", "--no-store"),
				bench.Gown(c.gown, "gown unhinted (--detect) --no-store", "--no-store"))
		}
		if c.tools["zgrab2"] && !c.skipPeers {
			tools = append(tools, bench.Zgrab2(c.zgrab, c.zgrabTO))
		}
		if c.tools["nmap"] && !c.skipPeers && l.Targets <= c.nmapMax {
			tools = append(tools, bench.Nmap(c.nmap, strings.Fields(c.nmapFlags)...))
		}
		fmt.Println("| tool | invocations | wall | targets/s | share of ceiling | CPU s | peak RSS | verdicts right | wrong or missing |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|")
		for _, r := range ceilRows {
			fmt.Println(r)
		}
		for _, t := range tools {
			u, score, err := c.measureTool(ctx, t, l, eps)
			if err != nil {
				fmt.Printf("| %s | | failed: %v | | | | | | |\n", t.Name, err)
				continue
			}
			if m, ok := rss[t.Name]; ok {
				m[l.Targets] = u
			}
			tps := float64(l.Targets) / u.Wall.Seconds()
			fmt.Printf("| %s | %d | %s | %s | %.0f%% | %.1f | %s | %d/%d | %s |\n", t.Name, u.Runs, secs(u.Wall), rate(tps),
				100*tps/ceil, u.CPU.Seconds(), mb(u.RSSKB), score.Right, score.Total, wrongText(score))
		}
		fmt.Println()
	}
	if len(c.workers) > 0 && len(c.sizes) > 0 {
		if err := c.concurrency(ctx, self, lists[c.sizes[0]]); err != nil {
			return err
		}
	}
	if c.politeRun {
		if err := c.polite(ctx, eps); err != nil {
			return err
		}
	}
	if c.scale > 0 {
		l, err := bench.WriteList(filepath.Join(c.work, "hosts-scale.txt"), c.scale, eps, c.filtered)
		if err != nil {
			return err
		}
		lists[l.Targets] = l
		for _, t := range []bench.Tool{
			bench.Gown(c.gown, "gown (store)", "--db", filepath.Join(c.work, "gown-scale.db")),
			bench.Gown(c.gown, "gown --no-store", "--no-store"),
		} {
			u, score, err := c.measureOnce(ctx, t, l, eps) // one run: memory is the question here
			if err != nil {
				return err
			}
			if score.Right != score.Total {
				fmt.Fprintf(os.Stderr, "gownbench: %s at %d: %d/%d verdicts right\n", t.Name, l.Targets, score.Right, score.Total)
			}
			rss[t.Name][l.Targets] = u
		}
		c.printScale(rss)
	}
	return nil
}

// ceiling measures the raw connect ceiling at each worker count; the best
// targets/s is the ceiling. It returns the table rows too.
func (c *config) ceiling(ctx context.Context, self string, l bench.List, workers []int) (float64, []string, error) {
	type res struct {
		w      int
		u      bench.Usage
		tps    float64
		counts string
	}
	var all []res
	best := 0.0
	for _, w := range workers {
		out := filepath.Join(c.work, "ceiling.txt")
		var u bench.Usage
		for i := range max(1, c.repeat) {
			r, err := bench.Measure(ctx, out, "", self, "connect", "-l", l.Path, "-workers", strconv.Itoa(w), "-timeout", "3s", "-port-offset", strconv.Itoa(c.portOffset))
			if err != nil {
				return 0, nil, err
			}
			if i == 0 || r.Wall < u.Wall {
				u = r
			}
		}
		counts, _ := os.ReadFile(out)
		tps := float64(l.Targets) / u.Wall.Seconds()
		best = max(best, tps)
		all = append(all, res{w, u, tps, strings.TrimSpace(string(counts))})
	}
	var rows []string
	for _, r := range all {
		rows = append(rows, fmt.Sprintf("| raw connect, %d workers | 1 | %s | %s | %.0f%% | %.1f | %s | (%s) | |",
			r.w, secs(r.u.Wall), rate(r.tps), 100*r.tps/best, r.u.CPU.Seconds(), mb(r.u.RSSKB), r.counts))
	}
	return best, rows, nil
}

// measureTool runs the tool c.repeat times (nmap once: its time is its own
// waiting) and keeps the fastest run: the machine may be shared, and a
// neighbour's burst only ever slows a run down.
func (c *config) measureTool(ctx context.Context, t bench.Tool, l bench.List, eps []bench.Endpoint) (bench.Usage, bench.Score, error) {
	n := c.repeat
	if t.Name == "nmap" {
		n = 1
	}
	var best bench.Usage
	var bestScore bench.Score
	for i := range max(1, n) {
		u, s, err := c.measureOnce(ctx, t, l, eps)
		if err != nil {
			return u, s, err
		}
		if i == 0 || u.Wall < best.Wall {
			best, bestScore = u, s
		}
	}
	return best, bestScore, nil
}

func (c *config) measureOnce(ctx context.Context, t bench.Tool, l bench.List, eps []bench.Endpoint) (bench.Usage, bench.Score, error) {
	var total bench.Usage
	runs := t.Runs(l, c.work)
	for i, r := range runs {
		errPath := filepath.Join(c.work, fmt.Sprintf("%s-%d.stderr", strings.ReplaceAll(t.Name, " ", "_"), i))
		out := r.Out
		if strings.HasSuffix(out, ".xml") {
			out = "" // nmap writes its XML itself
		}
		u, err := bench.Measure(ctx, orNull(out), errPath, r.Args...)
		if err != nil {
			b, _ := os.ReadFile(errPath)
			return total, bench.Score{}, fmt.Errorf("%w: %s", err, lastLine(b))
		}
		total.Add(u)
	}
	got, err := t.Verdicts(runs)
	if err != nil {
		return total, bench.Score{}, err
	}
	return total, bench.ScoreVerdicts(eps, got), nil
}

// concurrency shows how workers hide the filtered ports' timeouts.
func (c *config) concurrency(ctx context.Context, self string, l bench.List) error {
	fmt.Printf("### Concurrency hides filtered ports (%d targets, %d of them filtered: each costs the 3 s connect timeout)\n\n", l.Targets, l.Filtered)
	fmt.Println("| workers | gown --no-store wall | targets/s | raw connect wall | raw targets/s | gown / raw |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, w := range c.workers {
		g := bench.Gown(c.gown, "gown-w"+strconv.Itoa(w), "--no-store", "--workers", strconv.Itoa(w))
		u, _, err := c.measureTool(ctx, g, l, nil)
		if err != nil {
			return err
		}
		rc, err := bench.Measure(ctx, os.DevNull, "", self, "connect", "-l", l.Path, "-workers", strconv.Itoa(w), "-timeout", "3s", "-port-offset", strconv.Itoa(c.portOffset))
		if err != nil {
			return err
		}
		gt, rt := float64(l.Targets)/u.Wall.Seconds(), float64(l.Targets)/rc.Wall.Seconds()
		fmt.Printf("| %d | %s | %s | %s | %s | %.0f%% |\n", w, secs(u.Wall), rate(gt), secs(rc.Wall), rate(rt), 100*gt/rt)
	}
	fmt.Println()
	return nil
}

// polite runs gown against relays in front of the farm and reports what the
// relays saw, with and without limits.
func (c *config) polite(ctx context.Context, eps []bench.Endpoint) error {
	const hosts, ports = 4, 16
	r, err := bench.StartRelays(ctx, eps, hosts, ports)
	if err != nil {
		return err
	}
	defer r.Stop()
	list := filepath.Join(c.work, "relays.txt")
	if err := os.WriteFile(list, []byte(strings.Join(r.Targets, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Printf("### Politeness: %d hosts × %d ports, each port a relay to a farm server (Redis, MariaDB, PostgreSQL, memcached in turn), counted at the relay\n\n", hosts, ports)
	fmt.Println("| gown flags | wall | connections | most open at once on one host | peak conn/s (all hosts) | peak conn/s on one host | mean conn/s per host |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, flags := range [][]string{
		{},
		{"--per-host", "2"},
		{"--per-host", "1"},
		{"--rate", "20"},
		{"--per-host", "2", "--rate", "40"},
	} {
		r.Reset()
		args := append([]string{c.gown, "scan", "-l", list, "--no-store", "--json", "-q"}, flags...)
		u, err := bench.Measure(ctx, os.DevNull, filepath.Join(c.work, "polite.stderr"), args...)
		if err != nil {
			return err
		}
		s := r.Stats()
		name := strings.Join(flags, " ")
		if name == "" {
			name = "(defaults: --per-host 16, no rate)"
		}
		fmt.Printf("| %s | %s | %d | %d | %d | %d | %.1f |\n", name, secs(u.Wall), s.Conns, s.MaxOpenPerHost, s.PeakPerSec, s.PeakPerHostPerSec, s.MeanPerHostPerSec)
	}
	fmt.Println()
	return nil
}

func (c *config) printScale(rss map[string]map[int]bench.Usage) {
	fmt.Println("### Flat memory: peak RSS by list size (/usr/bin/time -v)")
	fmt.Println()
	fmt.Println("| gown | targets | wall | targets/s | CPU s | peak RSS |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, name := range []string{"gown --no-store", "gown (store)"} {
		var sizes []int
		for n := range rss[name] {
			sizes = append(sizes, n)
		}
		slices.Sort(sizes)
		for _, n := range sizes {
			u := rss[name][n]
			fmt.Printf("| %s | %d | %s | %s | %.1f | %s |\n", name, n, secs(u.Wall), rate(float64(n)/u.Wall.Seconds()), u.CPU.Seconds(), mb(u.RSSKB))
		}
	}
	fmt.Println()
}

func portsText() string {
	var ps []string
	for _, k := range bench.Kinds {
		ps = append(ps, fmt.Sprintf("%s %d", k, bench.Ports[k]))
	}
	return strings.Join(ps, ", ")
}

func wrongText(s bench.Score) string {
	var parts []string
	for k, n := range s.Wrong {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, n))
	}
	slices.Sort(parts)
	if s.Extra > 0 {
		parts = append(parts, fmt.Sprintf("%d answers off the farm", s.Extra))
	}
	return strings.Join(parts, "; ")
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
func rate(r float64) string       { return fmt.Sprintf("%.0f", r) }
func mb(kb int64) string          { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }

func orNull(p string) string {
	if p == "" {
		return os.DevNull
	}
	return p
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
