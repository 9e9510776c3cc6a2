package assess

import (
	"testing"

	"github.com/gownscan/gown"
)

// BenchmarkClassify measures classification of a store's worth of planted
// records (K=5 per collection, as gown scan samples): ns/op divided by 30
// is the cost per sampled record.
func BenchmarkClassify(b *testing.B) {
	var ss []gown.Sample
	for range 5 {
		ss = append(append(ss, plantedSamples()...), plantedDocs()...)
	}
	for b.Loop() {
		Classify(ss)
	}
}
