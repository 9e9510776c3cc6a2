package assess

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
)

// TestPlantedCorpus: every class the test bed plants is found in every
// planted record, flat (SQL rows, hashes) and nested (documents), counted
// per database with at most two masked examples, and nothing else is.
func TestPlantedCorpus(t *testing.T) {
	for name, ss := range map[string][]gown.Sample{"flat": plantedSamples(), "documents": plantedDocs()} {
		t.Run(name, func(t *testing.T) {
			got := map[string]int{}
			for _, c := range Classify(ss) {
				if c.Database != "app" {
					t.Errorf("class %s counted in database %q", c.Class, c.Database)
				}
				got[c.Class] = c.Records
				if len(c.Examples) == 0 || len(c.Examples) > maxExamples {
					t.Errorf("%s: %d examples, want 1..%d", c.Class, len(c.Examples), maxExamples)
				}
				if len(c.Fields) == 0 || len(c.Fields) > maxClassPaths {
					t.Errorf("%s: fields %v", c.Class, c.Fields)
				}
			}
			for _, class := range testbed.PIIClasses {
				if got[class] != len(testbed.People) {
					t.Errorf("class %s held by %d of %d planted records", class, got[class], len(testbed.People))
				}
			}
			for class := range got {
				if !contains(testbed.PIIClasses, class) {
					t.Errorf("class %s found but not planted", class)
				}
			}
		})
	}
}

// score counts one class's outcomes over a corpus.
type score struct{ tp, fn, fp int }

// TestCorpora is the precision and recall table: the planted people (all
// PIIClasses each), the labelled positive corpus (testdata/positive.jsonl,
// each record's classes given) and the negative corpus of realistic app
// data holding no personal data or secrets (testdata/negative.jsonl). Each
// record is a row: a class it should hold and does not is "missed", one it
// holds and should not is "false". Run with -v for the table.
func TestCorpora(t *testing.T) {
	type row struct {
		corpus, name string
		s            gown.Sample
		want         []string
	}
	var rows []row
	for i, s := range append(plantedSamples(), plantedDocs()...) {
		rows = append(rows, row{"planted", fmt.Sprintf("person %d (%s)", i%3+1, map[bool]string{true: "flat", false: "document"}[i < 3]), s, testbed.PIIClasses})
	}
	for _, c := range loadCorpus(t, "positive.jsonl") {
		rows = append(rows, row{"positive", c.Case, c.sample, c.Want})
	}
	for _, c := range loadCorpus(t, "negative.jsonl") {
		rows = append(rows, row{"negative", c.Case, c.sample, nil})
	}
	scores := map[string]map[string]*score{"planted": {}, "positive": {}, "negative": {}}
	get := func(corpus, class string) *score {
		if scores[corpus][class] == nil {
			scores[corpus][class] = &score{}
		}
		return scores[corpus][class]
	}
	for _, r := range rows {
		got := classesOf(r.s)
		var missed, false_ []string
		for _, c := range r.want {
			if got[c] {
				get(r.corpus, c).tp++
			} else {
				get(r.corpus, c).fn++
				missed = append(missed, c)
			}
		}
		for c := range got {
			if !contains(r.want, c) {
				get(r.corpus, c).fp++
				false_ = append(false_, c)
			}
		}
		sort.Strings(false_)
		if len(missed) > 0 || len(false_) > 0 {
			t.Errorf("%s / %s: missed %v, false %v", r.corpus, r.name, missed, false_)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-15s %-16s %-16s %-18s %s\n", "class", "planted recall", "positive recall", "false on negative", "false elsewhere")
	for _, c := range Classes {
		cell := func(s *score) string {
			if s == nil || s.tp+s.fn == 0 {
				return "-"
			}
			return fmt.Sprintf("%d/%d", s.tp, s.tp+s.fn)
		}
		fp := func(corpora ...string) int {
			n := 0
			for _, corpus := range corpora {
				if s := scores[corpus][c]; s != nil {
					n += s.fp
				}
			}
			return n
		}
		fmt.Fprintf(&b, "%-15s %-16s %-16s %-18d %d\n", c, cell(scores["planted"][c]), cell(scores["positive"][c]), fp("negative"), fp("positive", "planted"))
	}
	n := map[string]int{}
	for _, r := range rows {
		n[r.corpus]++
	}
	fmt.Fprintf(&b, "(%d records: %d planted, %d labelled positive, %d negative)", len(rows), n["planted"], n["positive"], n["negative"])
	t.Log(b.String())
}

// TestNothingUnmasked: whatever Classify returns, serialised, holds none of
// the planted secrets and no sampled value of eight characters or more.
func TestNothingUnmasked(t *testing.T) {
	ss := append(plantedSamples(), plantedDocs()...)
	for _, c := range loadCorpus(t, "positive.jsonl") {
		ss = append(ss, c.sample)
	}
	out, err := json.Marshal(Classify(ss))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range testbed.Secrets() {
		if strings.Contains(string(out), secret) {
			t.Errorf("Classify output holds planted secret %q", secret)
		}
	}
	for _, s := range ss {
		for _, f := range s.Fields {
			if v := strings.TrimSpace(f.Value); len(v) >= 8 && strings.Contains(string(out), v) {
				t.Errorf("Classify output holds sampled value %q of %s", v, f.Path)
			}
		}
	}
}
