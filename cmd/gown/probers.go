package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe/all"
	"github.com/spf13/pflag"
)

// proberJSON is one line of gown probers --json.
type proberJSON struct {
	Name         string       `json:"name"`
	Ports        []int        `json:"ports"`
	Schemes      []schemeJSON `json:"schemes"`
	HostSuffixes []string     `json:"host_suffixes,omitempty"`
	HintOnly     bool         `json:"hint_only,omitempty"`
}

// schemeJSON is a URL scheme of a prober: the port it means and whether
// it implies TLS.
type schemeJSON struct {
	Name string `json:"name"`
	Port int    `json:"port"`
	TLS  bool   `json:"tls"`
}

// cmdProbers lists the probers from the catalog: the one table of store
// names, ports and schemes that target parsing and --probers read too.
func cmdProbers(ctx context.Context, args []string, std stdio) error {
	fs := pflag.NewFlagSet("gown probers", pflag.ContinueOnError)
	asJSON := fs.Bool("json", false, "one JSON object per prober (name, ports, schemes, host_suffixes, hint_only)")
	if err := parseFlags(fs, "probers", args, std); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("gown probers takes no arguments, got %q", fs.Args())}
	}
	kinds := all.Catalog().Kinds()
	if *asJSON {
		enc := json.NewEncoder(std.out)
		for _, k := range kinds {
			p := proberJSON{Name: k.Name, Ports: k.Ports, Schemes: []schemeJSON{}, HostSuffixes: k.HostSuffixes, HintOnly: k.HintOnly}
			for _, s := range k.Schemes {
				p.Schemes = append(p.Schemes, schemeJSON{s.Name, s.Port, s.TLS})
			}
			if p.Ports == nil {
				p.Ports = []int{}
			}
			if err := enc.Encode(p); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(std.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPORTS\tSCHEMES (default port, TLS)\tHOSTS")
	for _, k := range kinds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Name, portList(k), schemeList(k.Schemes), strings.Join(k.HostSuffixes, " "))
	}
	return tw.Flush()
}

func portList(k gown.StoreKind) string {
	if k.HintOnly {
		return "(by URL or host name only)"
	}
	ps := make([]string, len(k.Ports))
	for i, p := range k.Ports {
		ps[i] = strconv.Itoa(p)
	}
	return strings.Join(ps, ",")
}

func schemeList(ss []gown.Scheme) string {
	var out []string
	for _, s := range ss {
		w := s.Name + "://:" + strconv.Itoa(s.Port)
		if s.TLS {
			w += " (TLS)"
		}
		out = append(out, w)
	}
	return strings.Join(out, ", ")
}

// proberNames are the names --probers takes.
func proberNames() []string {
	var names []string
	for _, k := range all.Catalog().Kinds() {
		names = append(names, k.Name)
	}
	return names
}

// checkProbers refuses an unknown --probers name with the list of the
// known ones.
func checkProbers(names []string) error {
	known := proberNames()
	for _, n := range names {
		if !slices.Contains(known, n) {
			return fmt.Errorf("--probers: no prober named %q; the probers are %s (gown probers lists their ports)", n, strings.Join(known, ", "))
		}
	}
	return nil
}
