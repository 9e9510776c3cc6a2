package sampletest

import (
	"context"
	"slices"
	"sync"

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
