package rules

import (
	"testing"

	"github.com/gownscan/gown/internal/lazyre/lazyretest"
)

// TestPatternsCompile compiles every regex of the embedded rules, whose
// syntax All does not check when gown starts, and checks each against the
// tp and fp examples its rule carries in rules.txt: a bad or broken regex
// fails here by rule id, by its expression alone (TestSelf checks the same
// examples through Find, keywords and value group included). Every pattern
// of this package is a rule's, so the cases cover them all by construction;
// other tests Parse rules of their own, which is why this is not Check.
func TestPatternsCompile(t *testing.T) {
	rs := All()
	if len(rs) == 0 {
		t.Fatal("no embedded rules")
	}
	var cases []lazyretest.Case
	for _, r := range rs {
		cases = append(cases, lazyretest.Case{Name: "rule " + r.ID, Re: r.Re, TP: r.TP, FP: r.FP})
	}
	lazyretest.CheckCases(t, cases)
}
