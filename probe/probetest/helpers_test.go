package probetest

import (
	"os"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe/all"
)

// TestMain shares one test bed among the suite's tests: each configuration
// starts once (the search nodes take seconds) and stops after the last
// test. The tests read server logs from marks, not from the start.
func TestMain(m *testing.M) { os.Exit(testbed.Main(m)) }

func items(r *gown.Result) uint64 {
	if r.Inventory == nil {
		return 0
	}
	return r.Inventory.Items
}

// kindOf is the descriptor of s's store in the catalog of every prober.
func kindOf(s *testbed.Server) gown.StoreKind {
	k, _ := all.Catalog().Kind(s.Kind)
	return k
}

// hinted names s as a target with its store as the hint, so exactly its
// prober runs.
func hinted(s *testbed.Server) gown.Target {
	tg := TargetOf(kindOf(s), s)
	tg.Hint = s.Kind
	return tg
}

// feed returns the servers as hinted targets on a closed channel, for an
// engine's Run, and the servers by their targets' dial address.
func feed(servers []*testbed.Server) (<-chan gown.Target, map[string]*testbed.Server) {
	in := make(chan gown.Target, len(servers))
	byAddr := make(map[string]*testbed.Server, len(servers))
	for _, s := range servers {
		tg := hinted(s)
		byAddr[tg.Dial()] = s
		in <- tg
	}
	close(in)
	return in, byAddr
}
