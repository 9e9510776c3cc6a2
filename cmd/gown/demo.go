package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/assess"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/all"
	"github.com/gownscan/gown/report"
	"github.com/spf13/pflag"
)

// cmdDemo starts the test bed (real servers on loopback with planted data),
// scans every instance with the ordinary engine, prints the findings next to
// what was planted, and stops the servers.
func cmdDemo(ctx context.Context, args []string, io stdio) error {
	fs := pflag.NewFlagSet("gown demo", pflag.ContinueOnError)
	fs.SetOutput(io.err)
	jsonOut := fs.Bool("json", false, "write JSON Lines instead of the table")
	only := fs.StringSlice("only", nil, "start only these test-bed configurations (default: all)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	names := *only
	if len(names) == 0 {
		names = testbed.Names()
	}
	fmt.Fprintf(io.err, "gown demo: starting %d real servers on loopback: %s\n", len(names), strings.Join(names, ", "))
	start := time.Now()
	bed, err := testbed.Start(ctx, io.err, names...)
	if err != nil {
		return fmt.Errorf("start test bed: %w", err)
	}
	defer func() {
		if err := bed.Stop(); err != nil {
			fmt.Fprintln(io.err, "gown demo: stopping the test bed:", err)
		}
	}()
	fmt.Fprintf(io.err, "gown demo: test bed ready in %s\n\n", time.Since(start).Round(time.Millisecond))

	byAddr := map[string]*testbed.Server{}
	var specs, hinted []string
	for _, s := range bed.Servers {
		byAddr[s.Addr.String()] = s
		if s.Kind == "firebase" {
			hinted = append(hinted, s.Addr.String())
			continue
		}
		specs = append(specs, s.Kind+"://"+s.Addr.String())
	}
	sort.Strings(specs)
	fmt.Fprintf(io.err, "Scanning as: gown scan %s --source %s\n", strings.Join(specs, " "), testbed.Source)
	if len(hinted) > 0 {
		// firebase-server speaks plaintext HTTP, and only an https URL of
		// a Firebase host gives a target the firebase hint.
		fmt.Fprintf(io.err, "plus, as Firebase databases (named %s, hint firebase): %s\n", testbed.FirebaseHost, strings.Join(hinted, " "))
	}
	fmt.Fprintln(io.err)

	eng, err := probe.New(probe.Config{Workers: 16, Timeout: 10 * time.Second,
		Dialer: probe.DialerConfig{Source: testbed.Source},
		Sample: probe.DefaultSample, Analyze: assess.Analyze}, all.Registry())
	if err != nil {
		return err
	}
	targets := make(chan gown.Target, len(bed.Servers))
	for _, s := range bed.Servers {
		a := s.Addr.Addr()
		t := gown.Target{Host: a.String(), Addr: a, Port: int(s.Addr.Port()), Hint: s.Kind, Origin: "demo"}
		if s.Kind == "firebase" {
			// Named as an app names its database; the hint is what makes
			// gown probe it, as the prober claims no port.
			t.Host = testbed.FirebaseHost
		}
		targets <- t
	}
	close(targets)

	var rep findingsReporter = report.NewTable(io.out)
	if *jsonOut {
		rep = report.NewJSONL(io.out)
	}
	var results []*gown.Result
	runErr := eng.Run(ctx, targets, func(r *gown.Result) {
		results = append(results, r) // the demo is a handful of servers
		rep.ReportFindings(r, assess.Findings(r))
	})
	if err := rep.Close(); err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	return printTruth(io, results, byAddr)
}

// printTruth sets gown's verdicts beside what the test bed planted, so the
// demo shows it is right, not just that it printed something.
func printTruth(io stdio, results []*gown.Result, byAddr map[string]*testbed.Server) error {
	sort.Slice(results, func(i, j int) bool {
		return byAddr[results[i].Target.Dial()].Name < byAddr[results[j].Target.Dial()].Name
	})
	fmt.Fprintf(io.out, "\n%-20s %-22s %-14s %-14s %10s %10s  %-17s %-22s %-22s\n", "TEST-BED SERVER", "ADDRESS", "PLANTED", "GOWN SAYS",
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
		fmt.Fprintf(io.out, "%-20s %-22s %-14s %-14s %10d %10d  %-17s %-22s %-22s %s\n", s.Name, s.Addr, s.Want.Status, r.Status,
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
