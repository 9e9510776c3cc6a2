package report_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gownscan/gown/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden from the current writers")

// goldenExt maps each format to its golden file's extension.
var goldenExt = map[string]string{"table": "txt", "jsonl": "jsonl", "sarif": "sarif", "html": "html", "csv": "csv", "md": "md"}

// render writes the fixture scan in one format.
func render(t testing.TB, format string, meta report.ScanMeta, entries []fixtureEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := report.New(format, &b)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Begin(meta); err != nil {
		t.Fatalf("%s: Begin: %v", format, err)
	}
	for _, e := range entries {
		if err := w.Add(e.r, e.fs); err != nil {
			t.Fatalf("%s: Add: %v", format, err)
		}
	}
	if err := w.End(); err != nil {
		t.Fatalf("%s: End: %v", format, err)
	}
	return b.Bytes()
}

func goldenPath(format string) string {
	return filepath.Join("testdata", "golden", "report."+goldenExt[format])
}

// TestGolden renders the fixture scan in every format and compares it with
// testdata/golden/report.*; go test ./report/ -update rewrites them.
func TestGolden(t *testing.T) {
	if len(goldenExt) != len(report.Formats()) {
		t.Fatalf("golden extensions for %d formats, report has %v", len(goldenExt), report.Formats())
	}
	for _, format := range report.Formats() {
		t.Run(format, func(t *testing.T) {
			got := render(t, format, fixtureMeta(), fixture())
			path := goldenPath(format)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./report/ -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (run go test ./report/ -update and review the diff):\n%s", format, path, firstDiff(got, want))
			}
		})
	}
}

// firstDiff shows the first differing line of two outputs.
func firstDiff(got, want []byte) string {
	g, w := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl []byte
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if !bytes.Equal(gl, wl) {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, gl, wl)
		}
	}
	return "(same lines)"
}
