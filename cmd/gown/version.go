package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gownscan/gown/internal/buildinfo"
	"github.com/spf13/pflag"
)

// cmdVersion prints the build information: gown version [--json].
func cmdVersion(ctx context.Context, args []string, std stdio) error {
	fs := pflag.NewFlagSet("gown version", pflag.ContinueOnError)
	asJSON := fs.Bool("json", false, "one JSON object: version, commit, date, modified, go, module")
	if err := parseFlags(fs, "version", args, std); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("gown version takes no arguments, got %q", fs.Args())}
	}
	in := buildinfo.Read()
	if *asJSON {
		return json.NewEncoder(std.out).Encode(in)
	}
	fmt.Fprintf(std.out, "gown %s\n", in.Version)
	if in.Commit != "" {
		dirty := ""
		if in.Modified {
			dirty = " (modified)"
		}
		fmt.Fprintf(std.out, "commit %s%s\n", in.Commit, dirty)
	}
	if in.Date != "" {
		fmt.Fprintf(std.out, "date   %s\n", in.Date)
	}
	fmt.Fprintf(std.out, "built  with %s\n", in.Go)
	return nil
}
