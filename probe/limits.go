package probe

import (
	"fmt"
	"math"
	"time"
)

// Upper bounds of the engine's limits. Past them a value is a typo or a
// misreading of the flag, never a faster scan, and it costs memory before
// the first target is probed: each worker is a goroutine with connectSpread
// connectors beside it and a slot in the engine's queues. Measured as the
// peak resident size of `gown scan --no-store 127.0.0.1:1` (one target):
// 256 workers 15-17 MB, 16,384 workers 83 MB, 65,536 workers 236-303 MB
// (eight runs), 1,000,000 workers 3.0-3.2 GB: 3 to 4.4 KB per worker.
const (
	// MaxWorkers caps Config.Workers. At the cap the scan has 262,144
	// connectors: more than one machine can use, whose file descriptors
	// (ulimit -n) and ephemeral ports (about 28,000 per destination
	// address) run out first. It costs 240 to 300 MB.
	MaxWorkers = 1 << 16
	// MaxPerHost caps Config.PerHost at the most connections a scan can
	// have open at once (connectSpread × MaxWorkers). A PerHost at or
	// above Workers × connectSpread never binds; the engine then skips the
	// limiter.
	MaxPerHost = connectSpread * MaxWorkers
	// MaxRate caps DialerConfig.Rate, new connections per second: one
	// machine opens far fewer than a million TCP connections a second, so
	// a larger limit would never bind. No limit is 0.
	MaxRate = 1e6
)

// ConfigError is a value of a Config out of its range. Field is the Go
// field's path (Workers, Dialer.Rate, Sample.Bytes), so that a caller can
// name its own spelling of it: cmd/gown names the flag.
type ConfigError struct {
	Field  string
	Value  any
	Reason string // "negative", "above the cap of 65536"
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("probe: %s %v: %s", e.Field, e.Value, e.Reason)
}

// checkCount refuses a negative count and one above max (max 0: no cap).
func checkCount[T int | int64](field string, v, max T) error {
	switch {
	case v < 0:
		return &ConfigError{field, v, "negative"}
	case max > 0 && v > max:
		return &ConfigError{field, v, fmt.Sprintf("above the cap of %d", max)}
	}
	return nil
}

// checkDuration refuses a negative duration: zero takes the default, but
// a negative one was a mistake, not a wish for the default.
func checkDuration(field string, d time.Duration) error {
	if d < 0 {
		return &ConfigError{field, d, "negative"}
	}
	return nil
}

// checkRate refuses a rate that is not a number, infinite, negative or
// above MaxRate. NaN compares false with everything, so it is tested first:
// before this check it slipped past "< 0" and meant no limit.
func checkRate(field string, r float64) error {
	switch {
	case math.IsNaN(r) || math.IsInf(r, 0):
		return &ConfigError{field, r, "not a finite number (0 means no limit)"}
	case r < 0:
		return &ConfigError{field, r, "negative (0 means no limit)"}
	case r > MaxRate:
		return &ConfigError{field, r, fmt.Sprintf("above the cap of %.0f per second (0 means no limit)", float64(MaxRate))}
	}
	return nil
}

// firstErr returns the first non-nil error, so that a Validate reports the
// first bad field in declaration order.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
