package stack

import "testing"

// deep recurses n frames of about 1 KiB each.
//
//go:noinline
func deep(n int) byte {
	var pad [1000]byte
	pad[n%len(pad)] = byte(n)
	if n == 0 {
		return pad[0]
	}
	return deep(n-1) + pad[(n*7)%len(pad)]
}

// BenchmarkDeepGoroutine starts a goroutine that calls 90 frames deep
// (about 90 KiB of stack), as one running SQLite's parser does, with its
// stack grown first and without.
func BenchmarkDeepGoroutine(b *testing.B) {
	for _, grow := range []bool{false, true} {
		name := map[bool]string{false: "fresh", true: "grown"}[grow]
		b.Run(name, func(b *testing.B) {
			done := make(chan byte)
			for b.Loop() {
				go func() {
					if grow {
						Grow()
					}
					done <- deep(90)
				}()
				<-done
			}
		})
	}
}

// TestGrowSideBySide: goroutines grow their stacks at once (the race
// detector sees any state they share) and then run deep.
func TestGrowSideBySide(t *testing.T) {
	done := make(chan byte)
	for range 8 {
		go func() {
			Grow()
			done <- deep(90)
		}()
	}
	for range 8 {
		if v := <-done; v != deep(90) {
			t.Fatalf("deep call gave %d after Grow, %d without", v, deep(90))
		}
	}
}
