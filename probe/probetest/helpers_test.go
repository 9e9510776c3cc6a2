package probetest

import (
	"os"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
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
