package report_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/report"
)

// hostileResult carries, in every text field a server or an app chooses,
// the bytes that take over a terminal: an OSC that retitles it, a CSI that
// clears it, a C1 CSI, a bidi override, invalid UTF-8. Such a result is
// what a results file written elsewhere, or an older store, can hold: a
// live scan's results were cleaned by the engine's text pass.
func hostileResult() (*gown.Result, []gown.Finding) {
	const esc = "\x1b]0;pwned\x07\x1b[2J\u009b31m\u202eexe.txt\xff"
	t := gown.Target{Host: "127.0.0.1", Port: 6379, Origin: "file"}
	r := &gown.Result{Target: t, Store: "redis" + esc, Product: "Redis" + esc, Version: "7" + esc,
		Status: gown.Status("open" + esc), Reason: "INFO" + esc, Error: "then" + esc, TLS: gown.TLS{Mode: gown.TLSMode("none" + esc)},
		Inventory: &gown.Inventory{Databases: []gown.Database{{Name: "db0" + esc, Items: 3}}, Items: 3},
		Exposure: &gown.Exposure{Sampled: 1, Classes: []gown.ClassCount{{Class: "email" + esc, Database: "db0" + esc,
			Records: 1, Fields: []string{"f" + esc}, Examples: []string{"x" + esc}}}},
		Signs: []gown.Sign{{Kind: "ransom-note", Where: "db0/" + esc, Detail: "pay" + esc}}}
	fs := []gown.Finding{{ID: "f1", Severity: gown.SeverityHigh, Rule: "open-store", Title: "Redis" + esc, Target: t,
		Store: "redis" + esc, Classes: []string{"email" + esc},
		Locations: []gown.Source{{Container: "a.apk" + esc, Entry: "classes.dex" + esc, Section: "s" + esc}}}}
	app := []gown.Finding{{ID: "f2", Severity: gown.SeverityMedium, Rule: "cleartext-transport", Title: "app" + esc,
		Target: gown.Target{Host: "com.x" + esc, Origin: "app"}, Locations: fs[0].Locations}}
	return r, append(fs, app...)
}

// TestHumanWritersNeutraliseControls: the table, CSV and Markdown, which
// people read in terminals and editors, write none of those bytes; each
// shows them as visible escapes.
func TestHumanWritersNeutraliseControls(t *testing.T) {
	r, fs := hostileResult()
	for _, format := range []string{"table", "csv", "md"} {
		var b bytes.Buffer
		w, _ := report.New(format, &b)
		w.Begin(report.ScanMeta{ID: "1", Command: "gown scan \x1b[2J"})
		if err := w.Add(nil, fs[1:]); err != nil {
			t.Fatal(err)
		}
		if err := w.Add(r, fs[:1]); err != nil {
			t.Fatal(err)
		}
		if err := w.End(); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if !utf8.ValidString(out) {
			t.Errorf("%s: invalid UTF-8 in the output", format)
		}
		for _, bad := range []string{"\x1b", "\x07", "\u009b", "\u202e"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s writes %q:\n%s", format, bad, out)
			}
		}
		if format != "md" && !strings.Contains(out, `\x1b]0;pwned\x07`) {
			t.Errorf("%s does not show the escape visibly:\n%s", format, out)
		}
	}
}
