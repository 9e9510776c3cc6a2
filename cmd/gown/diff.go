package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/redact"
	"github.com/gownscan/gown/store"
	"github.com/spf13/pflag"
)

// diffKinds is the order the summary lists kinds in.
var diffKinds = []store.DiffKind{store.DiffNew, store.DiffGrown, store.DiffWiped, store.DiffStillOpen, store.DiffShrunk, store.DiffFixed}

// diffLong is gown help diff.
const diffLong = `Compares the findings of scan A (before) with scan B (after), store by store
(ids from gown scans):
  new         only scan B has the finding
  fixed       only scan A has it: the store is gone, closed, or asks for a password
  still-open  both scans have it
  grown       the store is open in both and holds more items now (bytes when it counts none)
  shrunk      the store is open in both and holds fewer items now
  wiped       the store held data in scan A and holds nothing but a ransom note in scan B
Grown, shrunk and wiped are told once per store, on its open-store finding.
`

// cmdDiff compares two stored scans finding by finding.
func cmdDiff(ctx context.Context, args []string, io stdio) error {
	fs := pflag.NewFlagSet("gown diff", pflag.ContinueOnError)
	fs.SetOutput(io.err)
	_, open := openFlags(fs)
	asJSON := fs.Bool("json", false, "one JSON object per finding (kind, finding, items and bytes before and after)")
	if err := parseFlags(fs, "diff", args, io); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageError{errors.New("gown diff: give two scan ids (see gown scans)")}
	}
	var ids [2]gown.ScanID
	for i, a := range fs.Args() {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return usageError{fmt.Errorf("gown diff: %q is not a scan id", a)}
		}
		ids[i] = gown.ScanID(n)
	}
	st, err := open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if *asJSON {
		enc := json.NewEncoder(io.out)
		return store.Diff(ctx, st, ids[0], ids[1], func(e store.DiffEntry) error { return enc.Encode(e) })
	}
	return diffTable(ctx, st, ids, io)
}

func diffTable(ctx context.Context, st gown.Store, ids [2]gown.ScanID, io stdio) error {
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANGE\tSEVERITY\tTARGET\tSTORE\tITEMS\tBYTES\tTITLE")
	counts := map[store.DiffKind]int{}
	err := store.Diff(ctx, st, ids[0], ids[1], func(e store.DiffEntry) error {
		counts[e.Kind]++
		f := e.Finding
		title := f.Title
		if len(e.Notes) > 0 {
			title += " (wiped; left: " + strings.Join(e.Notes, ", ") + ")"
		}
		// Names and titles come from servers and apps, maybe through a
		// store an older gown wrote: a terminal must not obey them, and a
		// tab must not split a column.
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Kind, f.Severity, redact.Escape(targetName(f.Target)),
			redact.Escape(f.Store), change(e.Kind, e.ItemsBefore, e.ItemsAfter), change(e.Kind, e.BytesBefore, e.BytesAfter),
			redact.Escape(title))
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(io.out, "\nscan %d → %d:", ids[0], ids[1])
	for _, k := range diffKinds {
		fmt.Fprintf(io.out, " %d %s", counts[k], k)
	}
	fmt.Fprintln(io.out)
	return nil
}

// change prints a count as before → after for the kinds that say the data
// changed; new and still-open findings show the count now, fixed ones the
// count then.
func change(k store.DiffKind, before, after uint64) string {
	switch k {
	case store.DiffGrown, store.DiffShrunk, store.DiffWiped:
		if before != after {
			return fmt.Sprintf("%d → %d", before, after)
		}
	case store.DiffFixed:
		return strconv.FormatUint(before, 10)
	}
	return strconv.FormatUint(after, 10)
}

// targetName names a finding's target: host:port for a service, the host
// alone for the subject of standalone findings (an app's id, an address).
func targetName(t gown.Target) string {
	if t.Port == 0 {
		return t.Host
	}
	return t.String()
}
