// Package sampletest holds the checks the stores' sampling tests share.
package sampletest

import (
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// TinyBytes is a byte cap above any one record the test bed plants and
// below all of them together.
const TinyBytes = 1200

// TinyByteCap samples r's store again with a byte cap of TinyBytes and
// fails t unless sampling stops short, says so, keeps within the cap, and
// still returns at least one record. (Which record comes first depends on
// the store's listing order, so the cap sits above every single record.)
func TinyByteCap(t *testing.T, p probe.Prober, tg gown.Target, d probe.Dialer, r *gown.Result, lim probe.SampleLimits) {
	t.Helper()
	tiny := lim
	tiny.Bytes = TinyBytes
	samples, trunc, err := probe.SampleStore(t.Context(), p, tg, d, r, tiny)
	size := 0
	for _, x := range samples {
		size += x.Size()
	}
	if err != nil || !trunc || size > TinyBytes || len(samples) == 0 {
		t.Errorf("tiny byte cap: %d records, %d bytes, truncated %v, error %v", len(samples), size, trunc, err)
	}
	t.Logf("byte cap %d: %d records, %d bytes, truncated %v", TinyBytes, len(samples), size, trunc)
}

// Has reports whether x has the field path with the value v.
func Has(x gown.Sample, path, v string) bool {
	for _, f := range x.Fields {
		if f.Path == path && f.Value == v {
			return true
		}
	}
	return false
}
