// Package lazyretest checks a package's patterns against examples of what
// each must and must not match, as gitleaks' rules validate themselves
// against their true positives. Only tests import it.
package lazyretest

import (
	"regexp"
	"testing"

	"github.com/gownscan/gown/internal/lazyre"
)

// The package under test imports this one, so this init runs before that
// package makes its patterns: each records where it was made.
func init() { lazyre.TrackOrigins() }

// Case is one pattern and its examples.
type Case struct {
	Name string // names the pattern in failures: a variable, a table row
	Re   *lazyre.Regexp
	TP   []string // texts the pattern must match somewhere
	FP   []string // near misses it must not match anywhere
}

// Check fails for each pattern that package pkg (an import path) has made
// so far that does not compile (an error naming it, not a panic) or that no
// case covers, then checks the cases as CheckCases does. Patterns are
// compared by source, so one case covers the same pattern made twice.
// Patterns a package makes on first use must be made before Check is
// called.
func Check(t testing.TB, pkg string, cases []Case) {
	t.Helper()
	covered := map[string]bool{}
	for _, c := range cases {
		if c.Re != nil {
			covered[c.Re.String()] = true
		}
	}
	seen := map[string]bool{}
	for _, r := range lazyre.All() {
		if src := r.String(); r.Package() == pkg && !seen[src] {
			seen[src] = true
			if _, err := regexp.Compile(src); err != nil {
				t.Errorf("pattern does not compile: %v", err)
			} else if !covered[src] {
				t.Errorf("pattern %#q has no examples: add a case with what it must and must not match", src)
			}
		}
	}
	if len(seen) == 0 {
		t.Fatalf("package %s made no patterns (or made them before lazyre.TrackOrigins)", pkg)
	}
	t.Logf("%d patterns of %s, %d cases", len(seen), pkg, len(cases))
	for _, c := range cases {
		if c.Re != nil && !seen[c.Re.String()] {
			t.Errorf("%s: pattern %#q was not made by %s", c.Name, c.Re, pkg)
		}
	}
	CheckCases(t, cases)
}

// CheckCases compiles each case's pattern, failing (not panicking) for one
// that does not compile, then fails for each case without both a true and
// a false positive, each true positive its pattern misses and each false
// positive it matches.
func CheckCases(t testing.TB, cases []Case) {
	t.Helper()
	tps, fps := 0, 0
	for _, c := range cases {
		if c.Re == nil {
			t.Errorf("%s: no pattern", c.Name)
			continue
		}
		if len(c.TP) == 0 || len(c.FP) == 0 {
			t.Errorf("%s: needs at least one true and one false positive", c.Name)
		}
		re, err := regexp.Compile(c.Re.String())
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		tps, fps = tps+len(c.TP), fps+len(c.FP)
		for _, tp := range c.TP {
			if !re.MatchString(tp) {
				t.Errorf("%s: true positive %q not matched by %#q", c.Name, tp, re)
			}
		}
		for _, fp := range c.FP {
			if re.MatchString(fp) {
				t.Errorf("%s: false positive %q matched (%q) by %#q", c.Name, fp, re.FindString(fp), re)
			}
		}
	}
	t.Logf("%d true and %d false positives", tps, fps)
}
