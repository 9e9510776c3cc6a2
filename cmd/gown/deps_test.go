package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryLinksNoTestTooling: the gown binary links neither package
// testing nor the test bed, its fixtures or its stand-ins (the demo is a
// command of its own, cmd/gown-demo).
func TestBinaryLinksNoTestTooling(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps listed %d packages: %q", len(deps), deps)
	}
	for _, p := range deps {
		if p == "testing" || strings.HasPrefix(p, "testing/") || strings.Contains(p, "/internal/testbed") ||
			strings.HasSuffix(p, "test") && strings.HasPrefix(p, "github.com/gownscan/gown/") {
			t.Errorf("gown links %s", p)
		}
	}
}
