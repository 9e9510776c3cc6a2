package objects

import (
	"testing"

	"github.com/gownscan/gown/probe"
)

func TestTallyAndPick(t *testing.T) {
	var tl Tally
	for _, o := range []struct {
		name string
		size uint64
	}{{"users/a.json", 10}, {"users/b.json", 5}, {"README", 3}, {"/x", 1}} {
		tl.Add(o.name, o.size)
	}
	inv := tl.Inventory(true)
	if !inv.Truncated || len(inv.Databases) != 3 || inv.Databases[0].Name != "/" || inv.Databases[2].Name != "users" ||
		inv.Databases[2].Items != 2 || inv.Databases[2].Bytes != 15 || inv.Items != 4 {
		t.Fatalf("inventory %+v", inv)
	}
	p := NewPick(probe.SampleLimits{PerCollection: 1, Collections: 2})
	got := []bool{p.Take("users/a"), p.Take("users/b"), p.Take("logs/1"), p.Take("other/1"), p.Take("logs/2")}
	want := []bool{true, false, true, false, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Take %d = %v; want %v", i, got, want)
		}
	}
}
