package sampletest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// CountingDialer counts the connections a probe and its sampler make
// through it (Dials), and those opened while another it made was still
// open (Overlap): a target must never hold two. Read the counts once the
// engine's Run has returned.
type CountingDialer struct {
	probe.Dialer
	mu             sync.Mutex
	open           []*probe.Conn
	Dials, Overlap int
}

func (d *CountingDialer) Dial(ctx context.Context, t gown.Target) (*probe.Conn, error) {
	d.mu.Lock()
	d.open = slices.DeleteFunc(d.open, (*probe.Conn).Closed)
	if len(d.open) > 0 {
		d.Overlap++
	}
	d.Dials++
	d.mu.Unlock()
	c, err := d.Dialer.Dial(ctx, t)
	if c != nil {
		d.mu.Lock()
		d.open = append(d.open, c)
		d.mu.Unlock()
	}
	return c, err
}

// RunCounted runs an engine of one worker, sampling on as gown scan has
// it, over target with p alone, through a CountingDialer: what it gives,
// the samples its sampler read and the dialer's counts.
func RunCounted(t testing.TB, p probe.Prober, target gown.Target, timeout time.Duration) (*gown.Result, []gown.Sample, *CountingDialer) {
	t.Helper()
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cd := &CountingDialer{Dialer: d}
	var samples []gown.Sample
	eng, err := probe.New(probe.Config{Workers: 1, Timeout: timeout, Sample: probe.DefaultSample,
		Analyze: func(_ *gown.Result, x []gown.Sample, _ bool) { samples = x }}, probe.NewRegistry(p))
	if err != nil {
		t.Fatal(err)
	}
	eng.WithDialer(cd)
	in := make(chan gown.Target, 1)
	in <- target
	close(in)
	var res *gown.Result
	if err := eng.Run(t.Context(), in, func(r *gown.Result) { res = r }); err != nil {
		t.Fatal(err)
	}
	return res, samples, cd
}
