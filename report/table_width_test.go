package report_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gownscan/gown/report"
)

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// renderTable writes the fixture scan through a table fitted to o.
func renderTable(t *testing.T, o report.TableOptions) string {
	t.Helper()
	var b bytes.Buffer
	tw := report.NewTableWith(&b, o)
	for _, e := range fixture() {
		if err := tw.Add(e.r, e.fs); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.End(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestTableWidth renders the fixture (long reasons and titles, hostile
// names, named targets) at 40, 80, 120 and 200 columns: no line is wider
// than the terminal, every word of the unbounded table is still whole in
// the fitted one (wrapped, never cut), except the cells cut with an
// ellipsis; a named target shows its name and its address.
func TestTableWidth(t *testing.T) {
	plain := renderTable(t, report.TableOptions{})
	for _, width := range []int{40, 80, 120, 200} {
		got := renderTable(t, report.TableOptions{Width: width})
		words := map[string]bool{}
		for _, line := range strings.Split(strings.TrimRight(got, "\n"), "\n") {
			if n := utf8.RuneCountInString(line); n > width {
				t.Errorf("%d columns: a line of %d: %q", width, n, line)
			}
			for _, w := range strings.Fields(line) {
				words[w] = true
			}
		}
		// Every word of a finding's title survives whole: titles are
		// never cut, only wrapped.
		for _, line := range strings.Split(plain, "\n") {
			_, title, ok := strings.Cut(line, "! ")
			if !ok {
				continue
			}
			for _, w := range strings.Fields(title)[1:] {
				if utf8.RuneCountInString(w) < width-40 && !words[w] {
					t.Errorf("%d columns: the word %q of %q is missing or cut", width, w, title)
				}
			}
		}
		if name := targetName(got, "cache.shop-api."); name != "cache.shop-api.example:6379" || !strings.Contains(got, "127.0.0.11:6379") {
			t.Errorf("%d columns: the named target reads %q, or lost its address", width, name)
		}
		if ansi.MatchString(got) {
			t.Errorf("%d columns: colour without Color", width)
		}
		t.Logf("%d columns:\n%s", width, got[:min(len(got), 1500)])
	}
	if !strings.Contains(renderTable(t, report.TableOptions{Width: 200}), "cache.shop-api.example:6379 → 127.0.0.11:6379") {
		t.Errorf("200 columns: the name and address not on one line")
	}
}

// TestTableColor: severities and open stores in colour with Color, and
// the coloured table is the plain one once the escapes are taken out.
func TestTableColor(t *testing.T) {
	plain := renderTable(t, report.TableOptions{Width: 120})
	col := renderTable(t, report.TableOptions{Width: 120, Color: true})
	if !strings.Contains(col, "\x1b[1;31mCRITICAL") || !strings.Contains(col, "\x1b[33mMEDIUM") || !strings.Contains(col, "\x1b[31mopen\x1b[0m") {
		t.Errorf("no colours:\n%s", col[:min(len(col), 800)])
	}
	if ansi.ReplaceAllString(col, "") != plain {
		t.Errorf("the coloured table differs from the plain one beyond its colours")
	}
}

// targetName joins a name the table wrapped over the TARGET lines that
// begin with prefix (cache.shop-api. then example:6379).
func targetName(table, prefix string) string {
	lines := strings.Split(table, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		name := strings.Fields(l)[0]
		for j := i + 1; j < len(lines) && !strings.Contains(name, ":") && !strings.HasPrefix(lines[j], " ") && !strings.HasPrefix(lines[j], "→"); j++ {
			name += strings.Fields(lines[j])[0]
		}
		return name
	}
	return ""
}
