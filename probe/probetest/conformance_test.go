package probetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe/all"
)

// TestConformance runs every registered prober against every test-bed
// configuration of its store, and fails for each registered prober that no
// configuration covers: a prober the suite never runs against a server is
// a prober nobody has checked.
func TestConformance(t *testing.T) {
	reg := all.Registry()
	var names []string
	for _, p := range reg.All() {
		names = append(names, p.Kind().Name)
	}
	for _, name := range uncovered(names, testbed.NamesOf) {
		t.Errorf("prober %s is registered but no test-bed configuration covers it: add one to internal/testbed", name)
	}
	bed := testbed.Require(t)
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
			planted := fmt.Sprint(s.Want.Items)
			if s.Want.Uncounted {
				n := uint64(0)
				for _, c := range s.Want.Databases {
					n += c
				}
				planted = fmt.Sprintf("%d, which the server reports no count of", n)
			}
			t.Logf("%-23s %-14s planted %-14s items %d (planted %s) — %s", s.Name, r.Status, s.Want.Status,
				items(r), planted, r.Reason)
		})
	}
	for _, p := range reg.All() {
		t.Run("closed-port/"+p.Kind().Name, func(t *testing.T) { ClosedPort(t, p) })
	}
	t.Logf("configurations per store: %v", covered)
}

// uncovered returns the probers, by name, for which configsOf (the test
// bed's configurations of a store) gives none.
func uncovered(probers []string, configsOf func(kind string) []string) []string {
	var out []string
	for _, name := range probers {
		if len(configsOf(name)) == 0 {
			out = append(out, name)
		}
	}
	return out
}

// TestUncovered checks the coverage check itself: on the real registry and
// test bed it finds nothing, and it names a made-up prober no
// configuration covers, and a real one whose configurations are taken
// away.
func TestUncovered(t *testing.T) {
	var names []string
	for _, p := range all.Registry().All() {
		names = append(names, p.Kind().Name)
	}
	if len(names) < 10 {
		t.Fatalf("registry lists %d probers: %v", len(names), names)
	}
	if got := uncovered(names, testbed.NamesOf); len(got) > 0 {
		t.Errorf("uncovered(registry) = %v, want none", got)
	}
	if got := uncovered(append(names, "made-up"), testbed.NamesOf); !slices.Equal(got, []string{"made-up"}) {
		t.Errorf("uncovered(registry + made-up) = %v, want [made-up]", got)
	}
	withoutCouchbase := func(kind string) []string {
		if kind == "couchbase" {
			return nil
		}
		return testbed.NamesOf(kind)
	}
	if got := uncovered(names, withoutCouchbase); !slices.Equal(got, []string{"couchbase"}) {
		t.Errorf("uncovered(registry, bed without couchbase) = %v, want [couchbase]", got)
	}
	for _, name := range names {
		t.Logf("%-13s %v", name, testbed.NamesOf(name))
	}
}
