package probetest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/assess"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/all"
)

// TestAssessmentAgainstPlanted runs the whole engine with sampling and
// assess.Analyze over every test-bed server where the corpus was planted, and
// compares both ways: the classes gown reports in the database holding the
// planted people against PIIClasses (missed and false), and the compromise
// signs against the planted ones (missed and false). It prints the table the
// issue asks for.
func TestAssessmentAgainstPlanted(t *testing.T) {
	bed := testbed.Require(t)
	var mu sync.Mutex
	results := map[string]*gown.Result{}
	var planted []*testbed.Server
	for _, s := range bed.Servers {
		if len(s.Want.Classes) > 0 || len(s.Want.Signs) > 0 {
			planted = append(planted, s)
		}
	}
	in, byAddr := feed(planted)
	eng, err := probe.New(probe.Config{Workers: 8, Timeout: 30 * time.Second, Sample: probe.DefaultSample,
		Dialer:  probe.DialerConfig{Source: testbed.Source},
		Analyze: assess.Analyze}, all.Registry())
	if err != nil {
		t.Fatal(err)
	}
	if len(byAddr) == 0 {
		t.Fatal("no server holds the corpus: the test proves nothing")
	}
	if err := eng.Run(t.Context(), in, func(r *gown.Result) {
		mu.Lock()
		defer mu.Unlock()
		if s := byAddr[r.Target.Dial()]; s != nil {
			results[s.Name] = r
		}
	}); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(byAddr))
	for _, s := range byAddr {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-20s %-9s %-14s %-8s %-7s %-6s %-26s %-26s %-12s %s\n", "CONFIG", "STORE", "PII DATABASE", "PLANTED", "FOUND", "MISSED",
		"FALSE (in PII database)", "SIGNS PLANTED", "SIGNS FOUND", "SIGNS MISSED / FALSE")
	for _, name := range names {
		var s *testbed.Server
		for _, x := range byAddr {
			if x.Name == name {
				s = x
			}
		}
		r := results[name]
		if r == nil {
			t.Errorf("%s: no result", name)
			continue
		}
		found := map[string]bool{}
		if r.Exposure != nil {
			for _, c := range r.Exposure.Classes {
				if c.Database == s.Want.PIIDatabase {
					found[c.Class] = true
				}
			}
		}
		var missed, falsePos []string
		for _, c := range s.Want.Classes {
			if !found[c] {
				missed = append(missed, c)
			}
		}
		for c := range found {
			if !slices.Contains(s.Want.Classes, c) {
				falsePos = append(falsePos, c)
			}
		}
		sort.Strings(falsePos)
		kinds := map[string]bool{}
		for _, g := range r.Signs {
			kinds[g.Kind] = true
		}
		var sMissed, sFalse []string
		for _, k := range s.Want.Signs {
			if !kinds[k] {
				sMissed = append(sMissed, k)
			}
		}
		for k := range kinds {
			if !slices.Contains(s.Want.Signs, k) {
				sFalse = append(sFalse, k)
			}
		}
		sort.Strings(sFalse)
		if len(missed) > 0 || len(falsePos) > 0 || len(sMissed) > 0 || len(sFalse) > 0 {
			t.Errorf("%s: classes missed %v, false %v; signs missed %v, false %v", name, missed, falsePos, sMissed, sFalse)
		}
		fmt.Fprintf(&b, "%-20s %-13s %-14.14s %-8d %-7d %-6s %-26s %-26s %-12d %s / %s\n", name, s.Kind, s.Want.PIIDatabase,
			len(s.Want.Classes), len(found), list(missed), list(falsePos), strings.Join(s.Want.Signs, ","), len(kinds), list(sMissed), list(sFalse))
	}
	t.Log(b.String())
}

func list(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ",")
}
