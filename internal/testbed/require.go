package testbed

import (
	"os"
	"testing"
)

// Require starts the named configurations (all of them when none is named)
// for a test and stops them when it ends. A test bed that cannot start
// skips the test on a developer's machine, but fails it in CI (CI=true),
// where a skip would hide that the real-server tests never ran.
//
// In a test binary whose TestMain calls Main, the servers are shared: each
// configuration starts on first use and stops after the last test.
func Require(t testing.TB, names ...string) *Bed {
	t.Helper()
	if sharedOn() {
		b, err := requireShared(t.Context(), t.Output(), names)
		if err != nil {
			unavailable(t, err)
		}
		return b
	}
	b, err := Start(t.Context(), t.Output(), names...)
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Errorf("testbed stop: %v", err)
		}
	})
	return b
}

// unavailable skips the test, or fails it in CI.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("testbed: %v", err)
	}
	t.Skipf("testbed unavailable (set CI=true to fail instead): %v", err)
}
