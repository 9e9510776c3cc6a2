package testbed

import (
	"os"
	"testing"
)

// Require starts the named configurations for a test and stops them when it
// ends. A test bed that cannot start skips the test on a developer's
// machine, but fails it in CI (CI=true), where a skip would hide that the
// real-server tests never ran.
func Require(t testing.TB, names ...string) *Bed {
	t.Helper()
	b, err := Start(t.Context(), t.Output(), names...)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testbed: %v", err)
		}
		t.Skipf("testbed unavailable (set CI=true to fail instead): %v", err)
	}
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Errorf("testbed stop: %v", err)
		}
	})
	return b
}
