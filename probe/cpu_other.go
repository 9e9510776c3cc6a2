//go:build !linux

package probe

// cpuTimes has no machine-wide CPU figure to read outside Linux: the dial
// gate then binds nothing (gate.go).
func cpuTimes() (cpuSample, bool) { return cpuSample{}, false }
