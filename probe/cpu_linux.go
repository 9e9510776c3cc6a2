package probe

import (
	"bytes"
	"os"
	"strconv"
)

// cpuTimes reads the machine's CPU time from the first line of /proc/stat
// (user nice system idle iowait irq softirq steal, in clock ticks; guest
// time is already within user). It is how busy the whole machine is, the
// servers of a near network included, which is what decides whether more
// connects in flight can go faster (gate.go).
func cpuTimes() (cpuSample, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSample{}, false
	}
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return cpuSample{}, false
	}
	var s cpuSample
	for i, v := range f[1:9] {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return cpuSample{}, false
		}
		s.total += n
		if i == 3 || i == 4 { // idle, iowait
			s.idle += n
		}
	}
	return s, true
}
