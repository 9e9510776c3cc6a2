package target

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
)

// ParsePorts reads a port list such as "6379,3306,8000-8100". Ports are
// returned sorted without repeats; a range may not exceed 65535 ports.
func ParsePorts(s string) ([]int, error) {
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := parsePort(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = parsePort(hi); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("%w: port range %q runs backwards", gown.ErrBadTarget, part)
			}
		}
		for p := a; p <= b; p++ {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty port list %q", gown.ErrBadTarget, s)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%w: port %q is not in 1-65535", gown.ErrBadTarget, s)
	}
	return p, nil
}
