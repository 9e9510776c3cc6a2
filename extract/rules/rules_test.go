package rules

import "testing"

// TestSelf checks every rule against its own examples: each tp must match
// (the whole example, or the value group within it), each fp must not.
func TestSelf(t *testing.T) {
	rs := All()
	if len(rs) < 10 {
		t.Fatalf("only %d rules loaded", len(rs))
	}
	seen := map[string]bool{}
	for _, r := range rs {
		if seen[r.ID] {
			t.Errorf("duplicate rule id %s", r.ID)
		}
		seen[r.ID] = true
		if len(r.TP) == 0 || len(r.FP) == 0 {
			t.Errorf("rule %s: needs at least one tp and one fp", r.ID)
		}
		for _, tp := range r.TP {
			if len(r.Find(tp)) == 0 {
				t.Errorf("rule %s: true positive %q not matched", r.ID, tp)
			}
		}
		for _, fp := range r.FP {
			if m := r.Find(fp); len(m) > 0 {
				t.Errorf("rule %s: false positive %q matched as %q", r.ID, fp, m[0].Value)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{
		"kind = url",                      // no [id]
		"[x]\nkind = url",                 // no regex
		"[x]\nkind = url\nregex = (",      // bad regex
		"[x]\nkind = url\nregex = a\nz=1", // unknown key
		"[x]\nkind = url\nregex = a\nconfidence = 2",
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestValueGroup(t *testing.T) {
	var fb *Rule
	for _, r := range All() {
		if r.ID == "firebase-rtdb" {
			fb = r
		}
	}
	m := fb.Find(`"url":"https://demo-1.firebaseio.com/"`)
	if len(m) != 1 || m[0].Value != "demo-1.firebaseio.com" {
		t.Fatalf("got %+v", m)
	}
}
