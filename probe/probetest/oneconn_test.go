package probetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/all"
)

// oneAtATime is a Dialer that notes every dial made while an earlier
// connection to the same target is still open.
type oneAtATime struct {
	probe.Dialer
	mu      sync.Mutex
	open    map[string][]*probe.Conn
	dials   map[string]int
	overlap map[string]int
}

func (d *oneAtATime) Dial(ctx context.Context, t gown.Target) (*probe.Conn, error) {
	key := t.Dial()
	d.mu.Lock()
	live := d.open[key][:0]
	for _, c := range d.open[key] {
		if !c.Closed() {
			live = append(live, c)
		}
	}
	d.open[key] = live
	if len(live) > 0 {
		d.overlap[key]++
	}
	d.dials[key]++
	d.mu.Unlock()
	c, err := d.Dialer.Dial(ctx, t)
	if c != nil {
		d.mu.Lock()
		d.open[key] = append(d.open[key], c)
		d.mu.Unlock()
	}
	return c, err
}

// TestOneConnectionAtATimePerTarget scans every test-bed configuration,
// sampling on, and checks that no prober or sampler opens a connection
// while another of the same target is open: --per-host counts targets, so
// it bounds a host's connections only if each target holds one at a time.
func TestOneConnectionAtATimePerTarget(t *testing.T) {
	bed := testbed.Require(t)
	d := &oneAtATime{Dialer: Dialer(t), open: map[string][]*probe.Conn{}, dials: map[string]int{}, overlap: map[string]int{}}
	eng, err := probe.New(probe.Config{Workers: 8, Timeout: 30 * time.Second, Sample: probe.DefaultSample,
		Analyze: func(*gown.Result, []gown.Sample, bool) {}}, all.Registry())
	if err != nil {
		t.Fatal(err)
	}
	eng.WithDialer(d)
	in, servers := feed(bed.Servers)
	if err := eng.Run(t.Context(), in, func(*gown.Result) {}); err != nil {
		t.Fatal(err)
	}
	for key, s := range servers {
		name := s.Name
		t.Logf("%-20s %2d connections, %d opened beside another", name, d.dials[key], d.overlap[key])
		if d.dials[key] == 0 {
			t.Errorf("%s: never dialled", name)
		}
		if d.overlap[key] > 0 {
			t.Errorf("%s: %d connections opened while another to it was open", name, d.overlap[key])
		}
	}
}
