// An external test package: lazyretest initialises (and tracks origins)
// before this package makes its patterns, as it does for any package it tests.
package lazyretest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gownscan/gown/internal/lazyre"
	"github.com/gownscan/gown/internal/lazyre/lazyretest"
)

// recorder keeps the failures Check reports instead of failing the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Errorf(f string, args ...any) { r.errs = append(r.errs, fmt.Sprintf(f, args...)) }
func (r *recorder) Fatalf(f string, args ...any) { r.Errorf(f, args...) }

const pkg = "github.com/gownscan/gown/internal/lazyre/lazyretest_test"

var (
	digits = lazyre.New(`^\d+$`)
	word   = lazyre.New(`\bgown\b`)
	bad    = lazyre.New(`a(`) // never compiled but by Check
)

func TestCheck(t *testing.T) {
	good := []lazyretest.Case{
		{Name: "digits", Re: digits, TP: []string{"123"}, FP: []string{"12a"}},
		{Name: "word", Re: word, TP: []string{"a gown scan"}, FP: []string{"gowns"}},
	}
	for _, c := range []struct {
		name  string
		cases []lazyretest.Case
		want  []string
	}{
		{"missed true positive", []lazyretest.Case{good[0], {Name: "word", Re: word, TP: []string{"gowns"}, FP: []string{"x"}}},
			[]string{`word: true positive "gowns" not matched`}},
		{"matched false positive", []lazyretest.Case{good[0], {Name: "word", Re: word, TP: []string{"gown"}, FP: []string{"the gown"}}},
			[]string{`word: false positive "the gown" matched ("gown")`}},
		{"no examples", []lazyretest.Case{good[0]}, []string{"pattern `\\bgown\\b` has no examples"}},
		{"no false positive", []lazyretest.Case{good[0], {Name: "word", Re: word, TP: []string{"gown"}, FP: nil}},
			[]string{"word: needs at least one true and one false positive"}},
		{"all good", good, nil},
	} {
		r := &recorder{TB: t}
		lazyretest.Check(r, pkg, append(c.cases, lazyretest.Case{Name: "bad", Re: bad, TP: []string{"a"}, FP: []string{"b"}}))
		got := strings.Join(r.errs, "\n")
		// Reported twice: as a pattern of the package, and as a case's.
		want := append([]string{"pattern does not compile: error parsing regexp: missing closing ): `a(`",
			"bad: error parsing regexp: missing closing ): `a(`"}, c.want...)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", c.name, r.errs, w)
			}
		}
		if len(r.errs) != len(want) {
			t.Errorf("%s: %d failures, want %d: %q", c.name, len(r.errs), len(want), r.errs)
		}
	}
}

func TestCheckNamesForeignAndMissing(t *testing.T) {
	r := &recorder{TB: t}
	lazyretest.Check(r, "github.com/gownscan/gown/no/such/package", nil)
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "made no patterns") {
		t.Errorf("a package without patterns: %q", r.errs)
	}
	// digits is this package's, not the other's.
	r = &recorder{TB: t}
	lazyretest.Check(r, "github.com/gownscan/gown/internal/lazyre", []lazyretest.Case{{Name: "digits", Re: digits, TP: []string{"1"}, FP: []string{"a"}}})
	if got := strings.Join(r.errs, "\n"); !strings.Contains(got, "digits: pattern `^\\d+$` was not made by github.com/gownscan/gown/internal/lazyre") {
		t.Errorf("a case for another package's pattern: %q", r.errs)
	}
}
