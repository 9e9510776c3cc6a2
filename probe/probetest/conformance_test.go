package probetest

import (
	"testing"

	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe/all"
)

// TestConformance runs every registered prober against every test-bed
// configuration of its store.
func TestConformance(t *testing.T) {
	bed := testbed.Require(t)
	reg := all.Registry()
	covered := map[string]int{}
	for _, s := range bed.Servers {
		p, ok := reg.Get(s.Kind)
		if !ok {
			t.Errorf("test bed runs %s (%s) but no prober is registered for it", s.Kind, s.Name)
			continue
		}
		covered[s.Kind]++
		t.Run(s.Name, func(t *testing.T) {
			r := Conform(t, p, s)
			t.Logf("%-20s %-14s planted %-14s items %d (planted %d) — %s", s.Name, r.Status, s.Want.Status,
				items(r), s.Want.Items, r.Reason)
		})
	}
	for _, p := range reg.All() {
		t.Run("closed-port/"+p.Kind().Name, func(t *testing.T) { ClosedPort(t, p) })
	}
	t.Logf("configurations per store: %v", covered)
}
