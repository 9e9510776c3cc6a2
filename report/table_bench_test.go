package report_test

import (
	"io"
	"testing"

	"github.com/gownscan/gown/report"
)

// BenchmarkTable writes the fixture scan (10 results, 19 findings, long
// reasons and titles) as the table: unbounded as for a pipe, and fitted to
// terminals of 80 and 200 columns with colour, which wrap every line.
func BenchmarkTable(b *testing.B) {
	entries := fixture()
	for _, c := range []struct {
		name string
		o    report.TableOptions
	}{{"pipe", report.TableOptions{}}, {"tty80", report.TableOptions{Width: 80, Color: true}}, {"tty200", report.TableOptions{Width: 200, Color: true}}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tw := report.NewTableWith(io.Discard, c.o)
				for _, e := range entries {
					tw.Add(e.r, e.fs)
				}
				tw.End()
			}
		})
	}
}
