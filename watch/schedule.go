package watch

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule says when a watch's runs are due. It is robfig/cron's: a
// standard five-field cron expression ("0 3 * * 1"), a descriptor
// ("@daily"), or "@every D" for a fixed interval.
type Schedule struct {
	spec string
	s    cron.Schedule
}

// MinInterval is the shortest interval a watch takes: a scan of a fleet
// takes seconds to minutes, and a tighter loop only hammers the back ends.
// Tests use Every's own value.
const MinInterval = time.Second

// ParseSchedule reads a schedule as the store keeps it.
func ParseSchedule(spec string) (Schedule, error) {
	// cron rounds an interval below a second up to one: refuse it
	// rather than run at another pace than asked.
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		if v, err := time.ParseDuration(d); err == nil && v < MinInterval {
			return Schedule{}, fmt.Errorf("schedule %q: an interval of at least %s", spec, MinInterval)
		}
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return Schedule{}, fmt.Errorf("schedule %q: %w", spec, err)
	}
	return Schedule{spec: spec, s: s}, nil
}

// Every is the schedule of a fixed interval.
func Every(d time.Duration) (Schedule, error) {
	if d < MinInterval {
		return Schedule{}, fmt.Errorf("--every %s: at least %s", d, MinInterval)
	}
	return ParseSchedule("@every " + d.String())
}

// Cron is the schedule of a cron expression.
func Cron(expr string) (Schedule, error) {
	if expr == "" {
		return Schedule{}, errors.New("an empty cron expression")
	}
	return ParseSchedule(expr)
}

// String is the schedule as the store keeps it.
func (s Schedule) String() string { return s.spec }

// Next is the first due time after t.
func (s Schedule) Next(t time.Time) time.Time { return s.s.Next(t) }

// maxCatchUp bounds the walk to the last due time a stopped watch missed:
// a five-minute cron over a year of downtime is about 105,000 steps.
const maxCatchUp = 1 << 20

// Latest returns the last due time at or before now that comes after t
// (the last run's due time), and false when none has come yet. A watch that
// was stopped over several due times runs once for the latest: each run
// diffs against the last one that finished, so no change is missed, and
// scanning the same present state several times over would say nothing new.
func (s Schedule) Latest(t, now time.Time) (time.Time, bool) {
	next := s.Next(t)
	if next.After(now) {
		return time.Time{}, false
	}
	if c, ok := s.s.(cron.ConstantDelaySchedule); ok {
		// An interval: jump straight to the last step.
		steps := now.Sub(next) / c.Delay
		return next.Add(steps * c.Delay), true
	}
	for i := 0; i < maxCatchUp; i++ {
		n := s.Next(next)
		if n.After(now) || n.IsZero() {
			break
		}
		next = n
	}
	return next, true
}
