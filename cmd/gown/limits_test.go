package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gownscan/gown/probe"
	"github.com/spf13/pflag"
)

// TestScanRefusesNonsenseLimits checks that every numeric flag of gown scan
// refuses a negative value, a 0 the configs would swap for a default, a
// value past its cap and a rate that is not a number: exit 2, with the flag
// named in the reason, before any store is opened or target dialled.
func TestScanRefusesNonsenseLimits(t *testing.T) {
	for _, c := range []struct{ flag, value, reason string }{
		{"--workers", "1000000", "--workers 1000000: above the cap of 65536"},
		{"--workers", "65537", "--workers 65537: above the cap of 65536"},
		{"--workers", "-5", "--workers -5: negative"},
		{"--workers", "0", "--workers 0: want more than 0"},
		{"--per-host", "-3", "--per-host -3: negative"},
		{"--per-host", "0", "--per-host 0: want more than 0"},
		{"--per-host", "262145", "--per-host 262145: above the cap of 262144"},
		{"--rate", "NaN", "--rate NaN: not a finite number"},
		{"--rate", "Inf", "--rate +Inf: not a finite number"},
		{"--rate", "-1", "--rate -1: negative"},
		{"--rate", "2e6", "--rate 2e+06: above the cap of 1000000"},
		{"--timeout", "-5s", "--timeout -5s: negative"},
		{"--timeout", "0", "--timeout 0: want more than 0"},
		{"--connect-timeout", "-1s", "--connect-timeout -1s: negative"},
		{"--connect-timeout", "0s", "--connect-timeout 0: want more than 0"},
		{"--io-timeout", "-1ms", "--io-timeout -1ms: negative"},
		{"--io-timeout", "0", "--io-timeout 0: want more than 0"},
		{"--max-read", "-1", "--max-read -1: negative"},
		{"--max-read", "0", "--max-read 0: want more than 0"},
		{"--max-cidr", "0", "--max-cidr 0: want more than 0"},
		{"--sample-k", "-1", "--sample-k -1: negative"},
		{"--sample-bytes", "-1", "--sample-bytes -1: negative"},
		{"--sample-bytes", "0", "--sample-bytes 0: want more than 0"},
	} {
		// --db names a file in a folder that does not exist: a scan that got
		// past the flags would fail to open it with exit 1, not 2.
		args := []string{"scan", "--db", "/nonexistent/gown-test/x.db", "-q", "127.0.0.1:1", c.flag, c.value}
		var out, errb bytes.Buffer
		code := run(t.Context(), args, nil, &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), c.reason) {
			t.Errorf("gown scan %s %s: exit %d, stderr %q; want exit %d saying %q", c.flag, c.value, code,
				errb.String(), exitUsage, c.reason)
		}
	}
}

// TestScanAcceptsTheCaps checks the other side: each cap itself, and the
// documented zeros (--rate 0: no limit; --sample-k 0: no sampling), run.
func TestScanAcceptsTheCaps(t *testing.T) {
	for _, args := range [][]string{
		{"--workers", "65536", "--per-host", "262144", "--rate", "1000000"},
		{"--rate", "0", "--sample-k", "0"},
	} {
		var out, errb bytes.Buffer
		all := append([]string{"scan", "--no-store", "-q", "127.0.0.1:1"}, args...)
		if code := run(t.Context(), all, nil, &out, &errb); code != exitOK {
			t.Errorf("gown %s: exit %d, want 0; stderr %s", strings.Join(all, " "), code, errb.String())
		}
	}
}

// TestScanHelpStatesTheLimits checks that gown scan --help gives the caps
// the engine enforces, and that every probe.Config field a flag sets has
// its flag registered under the name errors use.
func TestScanHelpStatesTheLimits(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"scan", "--help"}, nil, &out, &errb); code != exitOK {
		t.Fatalf("scan --help: exit %d", code)
	}
	help := out.String() // help goes to standard output, for a pager
	for _, want := range []string{"--workers is at most 65536", "--per-host is at most 262144", "--rate at most 1000000",
		"1 to 65536", "(0: no limit)"} {
		if !strings.Contains(help, want) {
			t.Errorf("gown scan --help lacks %q", want)
		}
	}
	if probe.MaxWorkers != 65536 || probe.MaxPerHost != 262144 || probe.MaxRate != 1e6 {
		t.Errorf("caps changed (%d, %d, %v): update the flag usages and limitsHelp", probe.MaxWorkers, probe.MaxPerHost, probe.MaxRate)
	}
	var f scanFlags
	fs := pflag.NewFlagSet("gown scan", pflag.ContinueOnError)
	f.register(fs)
	for field, flag := range probeFlags {
		if fs.Lookup(strings.TrimPrefix(flag, "--")) == nil {
			t.Errorf("probeFlags maps %s to %s, which gown scan does not have", field, flag)
		}
	}
}
