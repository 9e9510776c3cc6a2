package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/report"
	"github.com/gownscan/gown/store"
	"github.com/spf13/pflag"
)

// maxLine caps one JSON line read back: a result with its evidence and
// inventory is a few KiB, a capped listing well under this.
const maxLine = 16 << 20

// cmdReport writes a finished scan's results in one report format:
// gown report [SCAN] --format table|jsonl|sarif|html|csv|md [-o FILE].
// For now the results come from a JSON Lines file written by gown scan --json
// (--from FILE, - for stdin); reading SCAN from the results store is the seam
// in openSource.
func cmdReport(ctx context.Context, args []string, std stdio) error {
	fs := pflag.NewFlagSet("gown report", pflag.ContinueOnError)
	fs.SetOutput(std.err)
	format := fs.String("format", "table", "report format: "+strings.Join(report.Formats(), ", "))
	out := fs.StringP("output", "o", "", "write the report to `FILE` (default: standard output)")
	dsn := fs.String("db", "", "results store: a SQLite `FILE` or a postgres:// URL (default: $XDG_DATA_HOME/gown/gown.db)")
	from := fs.String("from", "", "read results from a JSON Lines `FILE` written by gown scan --json (- for stdin)")
	noColor := fs.Bool("no-color", false, "no colours in the table on a terminal (also when NO_COLOR is set; never coloured when piped)")
	failOnFlag := fs.String("fail-on", "", "exit 3 when the report holds a finding at or above `SEVERITY` (info, low, medium, high, critical)")
	if err := parseFlags(fs, "report", args, std); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageError{fmt.Errorf("one scan at most, got %q", fs.Args())}
	}
	// Check the format and the gate before reading anything or creating
	// the output file.
	if _, err := report.New(*format, std.out); err != nil {
		return usageError{err}
	}
	var failOn *gown.Severity
	if *failOnFlag != "" {
		sev, err := gown.ParseSeverity(*failOnFlag)
		if err != nil {
			return usageError{fmt.Errorf("--fail-on: %w", err)}
		}
		failOn = &sev
	}
	gated := 0
	src, err := openSource(ctx, fs.Arg(0), *from, *dsn, std)
	if err != nil {
		return err
	}
	defer src.Close()
	if s, ok := src.(*storeSource); ok {
		noteQueued(ctx, s.st, s.id, std)
	}
	err = writeOutput(*out, std.out, func(w io.Writer) error {
		rw, _ := report.New(*format, w)
		if strings.EqualFold(*format, "table") {
			rw = report.NewTableWith(w, tableOptions(w, *noColor))
		}
		if js, ok := src.(*jsonlSource); ok {
			if aw, ok := rw.(report.AppWriter); ok {
				js.onApp = aw.AddApp
			}
		}
		meta := src.Meta()
		meta.Version = version
		if err := rw.Begin(meta); err != nil {
			return err
		}
		// A stored scan's apps (gown app, gown fleet scan) come first, as
		// the app lines of gown app --json do before their results.
		if s, ok := src.(*storeSource); ok {
			if aw, ok := rw.(report.AppWriter); ok {
				if err := s.st.ScanApps(ctx, s.id, aw.AddApp); err != nil {
					return err
				}
			}
		}
		err := src.Walk(ctx, func(r *gown.Result, fs []gown.Finding) error {
			for _, f := range fs {
				if failOn != nil && f.Severity >= *failOn {
					gated++
				}
			}
			return rw.Add(r, fs)
		})
		if err != nil {
			return err
		}
		return rw.End()
	})
	if err == nil && gated > 0 {
		return findingsError{gated}
	}
	return err
}

// resultSource walks one scan's results with their findings, in the results
// store's order (host, port, store).
type resultSource interface {
	Meta() report.ScanMeta
	Walk(ctx context.Context, fn func(*gown.Result, []gown.Finding) error) error
	Close() error
}

// openSource picks where the results come from.
//
// openSource picks where the results come from: a JSON Lines file (--from)
// or the results store (SCAN, or the newest scan when none is named).
func openSource(ctx context.Context, scan, from, dsn string, std stdio) (resultSource, error) {
	if from != "" {
		if scan != "" {
			return nil, usageError{errors.New("give a SCAN or --from FILE, not both")}
		}
		return openJSONL(ctx, from, std)
	}
	return openStoreSource(ctx, scan, dsn)
}

// storeSource reads one scan back from the results store.
type storeSource struct {
	st   gown.Store
	id   gown.ScanID
	meta report.ScanMeta
}

func openStoreSource(ctx context.Context, scan, dsn string) (resultSource, error) {
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	var m gown.ScanMeta
	if scan != "" {
		id, perr := strconv.ParseInt(scan, 10, 64)
		if perr != nil {
			st.Close()
			return nil, usageError{fmt.Errorf("scan %q: want a scan id (see gown scans)", scan)}
		}
		m, err = st.Scan(ctx, gown.ScanID(id))
	} else {
		found := false
		err = st.Scans(ctx, func(sm gown.ScanMeta) error {
			if !found {
				m, found = sm, true
			}
			return nil
		})
		if err == nil && !found {
			err = errors.New("the results store holds no scan yet: run gown scan first")
		}
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	meta := report.ScanMeta{ID: strconv.FormatInt(int64(m.ID), 10), Started: m.Started, Finished: m.Finished,
		Command: strings.TrimSpace("gown " + cmp.Or(m.Command, "scan") + " " + strings.Join(m.Args, " "))}
	return &storeSource{st: st, id: m.ID, meta: meta}, nil
}

func (s *storeSource) Meta() report.ScanMeta { return s.meta }
func (s *storeSource) Close() error          { return s.st.Close() }
func (s *storeSource) Walk(ctx context.Context, fn func(*gown.Result, []gown.Finding) error) error {
	return s.st.Results(ctx, s.id, fn)
}

// jsonlSource reads results back from gown scan --json output.
type jsonlSource struct {
	r     io.Reader
	close func() error
	meta  report.ScanMeta
	// onApp, when set, is given each app object (gown app --json); without
	// it an app shows through its findings' lines alone.
	onApp func(*gown.App) error
}

// openJSONL opens a JSONL file. A regular file is read twice: once for the
// scan's start and end times (the reports print them before any result),
// once for the results; memory stays flat either way. Standard input is read
// once and the report goes without times.
func openJSONL(ctx context.Context, name string, std stdio) (*jsonlSource, error) {
	if name == "-" {
		return &jsonlSource{r: std.in, close: func() error { return nil }, meta: report.ScanMeta{ID: "stdin"}}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("results file: %w", err)
	}
	s := &jsonlSource{r: f, close: f.Close, meta: report.ScanMeta{ID: filepath.Base(name)}}
	err = s.Walk(ctx, func(r *gown.Result, _ []gown.Finding) error {
		if r == nil || r.Start.IsZero() {
			return nil
		}
		if s.meta.Started.IsZero() || r.Start.Before(s.meta.Started) {
			s.meta.Started = r.Start
		}
		if end := r.Start.Add(r.Duration); end.After(s.meta.Finished) {
			s.meta.Finished = end
		}
		return nil
	})
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

func (s *jsonlSource) Meta() report.ScanMeta { return s.meta }
func (s *jsonlSource) Close() error          { return s.close() }

// Walk decodes one line at a time; a line that is not a result stops the
// walk with its line number.
func (s *jsonlSource) Walk(ctx context.Context, fn func(*gown.Result, []gown.Finding) error) error {
	sc := bufio.NewScanner(s.r)
	sc.Buffer(nil, maxLine)
	for n := 1; sc.Scan(); n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		line := sc.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		l, err := report.DecodeLine(line)
		if err != nil {
			return fmt.Errorf("%s line %d: %w", s.meta.ID, n, err)
		}
		if l.App != nil {
			if s.onApp != nil {
				if err := s.onApp(l.App); err != nil {
					return err
				}
			}
			continue
		}
		if err := fn(l.Result, l.Findings); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", s.meta.ID, err)
	}
	return nil
}

// writeOutput runs write against standard output, or against a temporary
// file renamed over FILE only when the whole report was written, so that a
// failed or interrupted report never leaves a truncated file behind. An
// existing FILE that is not a regular file (/dev/null, a FIFO, a terminal)
// is written in place: renaming over it would replace the device itself.
func writeOutput(name string, stdout io.Writer, write func(io.Writer) error) error {
	if name == "" || name == "-" {
		return write(stdout)
	}
	if fi, err := os.Stat(name); err == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("report output: %w", err)
		}
		werr := write(f)
		if cerr := f.Close(); werr == nil && cerr != nil {
			werr = fmt.Errorf("report output: %w", cerr)
		}
		return werr
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("report output: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	werr := write(tmp)
	cerr := tmp.Close()
	switch {
	case werr != nil:
		return werr
	case cerr != nil:
		return fmt.Errorf("report output: %w", cerr)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("report output: %w", err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("report output: %w", err)
	}
	return nil
}
