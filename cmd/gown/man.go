package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gownscan/gown/internal/buildinfo"
	"github.com/spf13/pflag"
)

// cmdMan prints gown(1) in roff, made from commandDocs and the commands'
// own flag sets, like gown help.
func cmdMan(ctx context.Context, args []string, std stdio) error {
	fs := pflag.NewFlagSet("gown man", pflag.ContinueOnError)
	if err := parseFlags(fs, "man", args, std); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("gown man takes no arguments, got %q", fs.Args())}
	}
	return writeMan(std.out)
}

// roff escapes text for a roff body line: backslashes, and a leading dot
// or quote that roff would read as a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	var b strings.Builder
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
			b.WriteString(`\&`)
		}
		for _, r := range line {
			if r > 0x7e {
				fmt.Fprintf(&b, `\[u%04X]`, r) // roff is ASCII: × as \[u00D7]
				continue
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// roffText writes paragraphs: indented blocks (tables, examples) as
// no-fill, the rest as filled text.
func roffText(b *strings.Builder, text string) {
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if strings.HasPrefix(para, "  ") || strings.Contains(para, "\n  ") {
			fmt.Fprintf(b, ".PP\n.nf\n%s\n.fi\n", roff(para))
			continue
		}
		fmt.Fprintf(b, ".PP\n%s\n", roff(para))
	}
}

func writeMan(w io.Writer) error {
	in := buildinfo.Read()
	date := time.Now().UTC().Format("2006-01-02")
	if t, err := time.Parse(time.RFC3339, in.Date); err == nil {
		date = t.Format("2006-01-02") // reproducible: the commit's date
	}
	var b strings.Builder
	fmt.Fprintf(&b, ".TH GOWN 1 %q %q \"gown manual\"\n", date, "gown "+in.Short())
	b.WriteString(".SH NAME\ngown \\- check that the data stores behind mobile apps require authentication\n")
	b.WriteString(".SH SYNOPSIS\n.nf\n")
	for _, d := range commandDocs {
		fmt.Fprintf(&b, "%s\n", roff(d.usageLine()))
	}
	b.WriteString(".fi\n.SH DESCRIPTION\n")
	roffText(&b, `gown reads apps, finds the back ends they talk to, and probes data stores
(Elasticsearch, Redis, MongoDB, MySQL, PostgreSQL, CouchDB, Couchbase, memcached,
Firebase, Kibana) for missing authentication, read-only, always. It says what an
open store exposes and how bad it is, stores the results, and writes them as a
terminal table, JSON Lines, SARIF, HTML, CSV or Markdown.`)
	b.WriteString(".SH COMMANDS\n")
	for _, d := range commandDocs {
		fmt.Fprintf(&b, ".SS %s\n", roff(d.usageLine()))
		roffText(&b, d.long)
		fs := describeFlags(d.name)
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Hidden {
				return
			}
			varname, usage := pflag.UnquoteUsage(f)
			head := `\fB\-\-` + roff(f.Name) + `\fR`
			if f.Shorthand != "" {
				head = `\fB\-` + f.Shorthand + `\fR, ` + head
			}
			if varname != "" {
				head += " " + `\fI` + roff(varname) + `\fR`
			}
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0" {
				usage += " (default " + f.DefValue + ")"
			}
			fmt.Fprintf(&b, ".TP\n%s\n%s\n", head, roff(usage))
		})
	}
	b.WriteString(".SH ENVIRONMENT AND CONFIG FILE\n")
	roffText(&b, configHelp)
	b.WriteString(".SH FILES\n.TP\n~/.local/share/gown/gown.db\nthe results store ($XDG_DATA_HOME/gown/gown.db; --db to choose)\n")
	b.WriteString(".TP\n~/.config/gown/config\nthe config file ($XDG_CONFIG_HOME/gown/config; $GOWN_CONFIG or --config to choose)\n")
	b.WriteString(".SH EXIT STATUS\n.TP\n0\ndone\n.TP\n1\nthe run failed\n.TP\n2\nbad flags or arguments\n.TP\n3\nfindings at or above \\-\\-fail\\-on\n.TP\n130\ninterrupted; what was found was still written\n")
	b.WriteString(".SH SEE ALSO\nThe README and docs/ of https://github.com/gownscan/gown: output.md (fields), severity.md, architecture.md.\n")
	_, err := io.WriteString(w, b.String())
	return err
}
