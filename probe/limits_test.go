package probe

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// TestValidateRefusesNonsense checks that every numeric limit of Config
// refuses a negative value, and the bounded ones a value past their cap or
// not a number, with a *ConfigError that names the field; before, most of
// them were silently replaced by the default.
func TestValidateRefusesNonsense(t *testing.T) {
	for _, c := range []struct {
		field, reason string
		set           func(*Config)
	}{
		{"Workers", "negative", func(c *Config) { c.Workers = -5 }},
		{"Workers", "above the cap of 65536", func(c *Config) { c.Workers = 1_000_000 }},
		{"PerHost", "negative", func(c *Config) { c.PerHost = -3 }},
		{"PerHost", "above the cap of 262144", func(c *Config) { c.PerHost = MaxPerHost + 1 }},
		{"Timeout", "negative", func(c *Config) { c.Timeout = -time.Second }},
		{"BannerWait", "negative", func(c *Config) { c.BannerWait = -time.Millisecond }},
		{"Dialer.ConnectTimeout", "negative", func(c *Config) { c.Dialer.ConnectTimeout = -time.Second }},
		{"Dialer.IOTimeout", "negative", func(c *Config) { c.Dialer.IOTimeout = -1 }},
		{"Dialer.MaxRead", "negative", func(c *Config) { c.Dialer.MaxRead = -1 }},
		{"Dialer.Rate", "not a finite number", func(c *Config) { c.Dialer.Rate = math.NaN() }},
		{"Dialer.Rate", "not a finite number", func(c *Config) { c.Dialer.Rate = math.Inf(1) }},
		{"Dialer.Rate", "not a finite number", func(c *Config) { c.Dialer.Rate = math.Inf(-1) }},
		{"Dialer.Rate", "negative", func(c *Config) { c.Dialer.Rate = -1 }},
		{"Dialer.Rate", "above the cap", func(c *Config) { c.Dialer.Rate = 2e6 }},
		{"Sample.PerCollection", "negative", func(c *Config) { c.Sample.PerCollection = -1 }},
		{"Sample.Collections", "negative", func(c *Config) { c.Sample.Collections = -1 }},
		// Off (PerCollection 0) or on, a negative cap is refused.
		{"Sample.Bytes", "negative", func(c *Config) { c.Sample.Bytes = -1 }},
		{"Sample.Bytes", "negative", func(c *Config) { c.Sample = DefaultSample; c.Sample.Bytes = -1 }},
		{"Sample.Timeout", "negative", func(c *Config) { c.Sample.Timeout = -time.Second }},
	} {
		var cfg Config
		c.set(&cfg)
		err := cfg.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != c.field || !strings.Contains(ce.Reason, c.reason) {
			t.Errorf("%s: Validate() = %v; want a ConfigError on %s saying %q", c.field, err, c.field, c.reason)
			continue
		}
		t.Logf("%v", err)
	}
}

// TestValidateKeepsZeroAndBounds checks what stays accepted: zero takes the
// documented default (Rate 0 is no limit), and each cap itself is allowed.
func TestValidateKeepsZeroAndBounds(t *testing.T) {
	var zero Config
	if err := zero.Validate(); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	if zero.Workers != 256 || zero.PerHost != 16 || zero.Timeout != 15*time.Second || zero.Dialer.Rate != 0 ||
		zero.Dialer.ConnectTimeout != 3*time.Second || zero.Dialer.MaxRead != 1<<20 || zero.Sample.On() {
		t.Errorf("zero Config validated to %+v; want the documented defaults, no rate limit, no sampling", zero)
	}
	capped := Config{Workers: MaxWorkers, PerHost: MaxPerHost, Dialer: DialerConfig{Rate: MaxRate}}
	if err := capped.Validate(); err != nil {
		t.Errorf("the caps themselves: %v", err)
	}
	if capped.Workers != MaxWorkers || capped.PerHost != MaxPerHost || capped.Dialer.Rate != MaxRate {
		t.Errorf("the caps were changed: %+v", capped)
	}
	// A library caller gets the same refusal from New as from Validate.
	if _, err := New(Config{Workers: MaxWorkers + 1}, NewRegistry()); err == nil {
		t.Error("New accepted Workers above the cap")
	}
	if _, err := NewDialer(DialerConfig{Rate: math.NaN()}); err == nil {
		t.Error("NewDialer accepted a NaN rate")
	}
}
