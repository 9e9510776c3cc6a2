package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Usage is what /usr/bin/time -v reports for one run, summed over the runs of
// one tool (peak RSS is the largest).
type Usage struct {
	Wall  time.Duration
	CPU   time.Duration // user + system
	RSSKB int64
	Runs  int
}

// Add sums another run into u.
func (u *Usage) Add(o Usage) {
	u.Wall += o.Wall
	u.CPU += o.CPU
	u.RSSKB = max(u.RSSKB, o.RSSKB)
	u.Runs += o.Runs
}

// TimeBin is GNU time, which reports peak RSS and CPU of the child.
const TimeBin = "/usr/bin/time"

// Measure runs args under /usr/bin/time -v with stdout to outPath (none when
// empty) and stderr to errPath, and returns what time reported. A non-zero
// exit is returned as an error along with the usage.
func Measure(ctx context.Context, outPath, errPath string, args ...string) (Usage, error) {
	timeOut, err := os.CreateTemp("", "gown-bench-time-")
	if err != nil {
		return Usage{}, err
	}
	timeOut.Close()
	defer os.Remove(timeOut.Name())
	cmd := exec.CommandContext(ctx, TimeBin, append([]string{"-v", "-o", timeOut.Name()}, args...)...)
	if outPath != "" {
		f, err := os.Create(outPath)
		if err != nil {
			return Usage{}, err
		}
		defer f.Close()
		cmd.Stdout = f
	}
	if errPath != "" {
		f, err := os.Create(errPath)
		if err != nil {
			return Usage{}, err
		}
		defer f.Close()
		cmd.Stderr = f
	}
	runErr := cmd.Run()
	u, err := parseTime(timeOut.Name())
	if err != nil {
		return u, fmt.Errorf("%s: %w (run: %v)", args[0], err, runErr)
	}
	if runErr != nil {
		return u, fmt.Errorf("%s: %w", strings.Join(args, " "), runErr)
	}
	return u, nil
}

func parseTime(path string) (Usage, error) {
	f, err := os.Open(path)
	if err != nil {
		return Usage{}, err
	}
	defer f.Close()
	u := Usage{Runs: 1}
	var user, sys float64
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ": ")
		if !ok {
			continue
		}
		switch k {
		case "User time (seconds)":
			user, _ = strconv.ParseFloat(v, 64)
			found++
		case "System time (seconds)":
			sys, _ = strconv.ParseFloat(v, 64)
			found++
		case "Maximum resident set size (kbytes)":
			u.RSSKB, _ = strconv.ParseInt(v, 10, 64)
			found++
		case "Elapsed (wall clock) time (h:mm:ss or m:ss)":
			u.Wall = parseClock(v)
			found++
		}
	}
	if found < 4 {
		return u, fmt.Errorf("no usage from %s", TimeBin)
	}
	u.CPU = time.Duration((user + sys) * float64(time.Second))
	return u, sc.Err()
}

// parseClock reads "1:02:03.45" or "2:03.45".
func parseClock(s string) time.Duration {
	var total float64
	for _, part := range strings.Split(s, ":") {
		v, _ := strconv.ParseFloat(part, 64)
		total = total*60 + v
	}
	return time.Duration(total * float64(time.Second))
}
