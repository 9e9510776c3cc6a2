package probe

import (
	"context"
	"errors"
	"time"

	"github.com/gownscan/gown"
)

// Sampler is an optional ability of a prober: reading a few records of a
// store its Probe found open. It is read-only like Probe, reaches the network
// only through d, stays within lim and returns when ctx is done. It hands each
// record to emit; emit returns ErrSampleFull once a cap is reached, and the
// sampler then stops and returns nil. r is the result Probe returned (its
// inventory says which databases to read; the sampler must not change it).
type Sampler interface {
	Sample(ctx context.Context, t gown.Target, d Dialer, r *gown.Result, lim SampleLimits, emit func(gown.Sample) error) error
}

// ErrSampleFull tells a sampler a cap was reached: stop reading, no error.
var ErrSampleFull = errors.New("probe: sample cap reached")

// SampleLimits bound what one store's sampling reads. PerCollection == 0
// switches sampling off.
type SampleLimits struct {
	// PerCollection is K: records read from each index, collection, table or
	// key prefix.
	PerCollection int
	// Collections caps how many collections (tables, indices, key prefixes)
	// of the whole store are read, system ones skipped.
	Collections int
	// Bytes caps the text read from one host's store, all collections
	// together.
	Bytes int64
	// Timeout bounds the whole sampling of one store.
	Timeout time.Duration
}

// On reports whether sampling is switched on.
func (l SampleLimits) On() bool { return l.PerCollection > 0 }

// validate refuses negative limits, off or not, and fills in the defaults
// of the zero ones when sampling is on.
func (l *SampleLimits) validate() error {
	err := firstErr(
		checkCount("Sample.PerCollection", l.PerCollection, 0),
		checkCount("Sample.Collections", l.Collections, 0),
		checkCount("Sample.Bytes", l.Bytes, 0),
		checkDuration("Sample.Timeout", l.Timeout),
	)
	if err != nil || !l.On() {
		return err
	}
	if l.Collections == 0 {
		l.Collections = 50
	}
	if l.Bytes == 0 {
		l.Bytes = 256 << 10
	}
	if l.Timeout == 0 {
		l.Timeout = 10 * time.Second
	}
	return nil
}

// DefaultSample is what `gown scan` samples unless told otherwise: 5 records
// per collection, 50 collections, 256 KiB per host, 10 s.
var DefaultSample = SampleLimits{PerCollection: 5, Collections: 50, Bytes: 256 << 10, Timeout: 10 * time.Second}

// SampleStore runs p's sampler, if it has one, on an open result and returns
// what it read, within lim. The caps are enforced here as well as in the
// sampler: a sampler that ignores ErrSampleFull still cannot hand over more
// than lim allows. truncated says a cap or the deadline ended it early.
func SampleStore(ctx context.Context, p Prober, t gown.Target, d Dialer, r *gown.Result, lim SampleLimits) (samples []gown.Sample, truncated bool, err error) {
	s, ok := p.(Sampler)
	if !ok || !lim.On() || r == nil || r.Status != gown.StatusOpen {
		return nil, false, nil
	}
	lim.validate()
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	var used int64
	perColl := map[[2]string]int{}
	emit := func(x gown.Sample) error {
		k := [2]string{x.Database, x.Collection}
		if _, seen := perColl[k]; !seen && len(perColl) >= lim.Collections {
			truncated = true
			return ErrSampleFull
		}
		if perColl[k] >= lim.PerCollection {
			return nil // this collection is done; the sampler may go on to the next
		}
		size := int64(x.Size())
		if used+size > lim.Bytes {
			truncated = true
			return ErrSampleFull
		}
		used += size
		perColl[k]++
		samples = append(samples, x)
		return nil
	}
	err = s.Sample(ctx, t, d, r, lim, emit)
	if errors.Is(err, ErrSampleFull) {
		// The sampler stopped on a budget of its own (commands, listing
		// lines, an index cap): what it read is a part of the store.
		truncated, err = true, nil
	}
	if ctx.Err() != nil {
		truncated = true
	}
	return samples, truncated, err
}
