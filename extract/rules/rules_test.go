package rules

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

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

// TestPiecesGiveSameMatches checks the premise of splitting long texts at
// delimiters: for every rule that is not Whole, matching a text piece by
// piece gives exactly the matches of the whole text.
func TestPiecesGiveSameMatches(t *testing.T) {
	var parts []string
	for _, r := range All() {
		parts = append(parts, r.TP...)
		parts = append(parts, r.FP...)
	}
	seps := []string{" ", "\"", "'", "<", ">", "`", "\n", "\t", "=\"", "\">", "(\"", "','", " x.", ":", ",", ";", "/", "@"}
	var sb strings.Builder
	for i, p := range parts {
		sb.WriteString(p)
		sb.WriteString(seps[i%len(seps)])
	}
	text := []byte(sb.String() + sb.String()) // twice, with the separators shifted by nothing: same pieces, other neighbours
	for _, r := range All() {
		if r.Whole {
			continue
		}
		var whole, pieces []string
		for _, m := range r.FindBytes(text, nil) {
			whole = append(whole, fmt.Sprintf("%d:%s", m.Start, m.Value))
		}
		for i := 0; i < len(text); {
			for i < len(text) && Delimiter(text[i]) {
				i++
			}
			j := i
			for j < len(text) && !Delimiter(text[j]) {
				j++
			}
			for _, m := range r.FindBytes(text[i:j], nil) {
				pieces = append(pieces, fmt.Sprintf("%d:%s", i+m.Start, m.Value))
			}
			i = j
		}
		if !slices.Equal(whole, pieces) {
			t.Errorf("rule %s: whole text %q, pieces %q", r.ID, whole, pieces)
		}
		if len(whole) == 0 {
			t.Errorf("rule %s matched nothing: the test text lacks its examples", r.ID)
		}
	}
}

// TestGateKeepsMatches checks that the byte-set gate never drops a match.
func TestGateKeepsMatches(t *testing.T) {
	for _, r := range All() {
		for _, tp := range r.TP {
			set := ByteSet([]byte(tp))
			if len(r.FindBytes([]byte(tp), &set)) == 0 {
				t.Errorf("rule %s: %q not matched through the gate", r.ID, tp)
			}
		}
	}
}

// TestSharedBytesGate checks the gate of the bytes a rule's keywords share:
// a text holding nothing but one keyword passes it, and a text that holds
// every keyword's first byte but lacks a shared byte does not.
func TestSharedBytesGate(t *testing.T) {
	shared := 0
	for _, r := range All() {
		for _, k := range r.Keywords {
			set := ByteSet([]byte(k))
			if !r.MayMatch(&set) && len(r.Require) == 0 {
				t.Errorf("rule %s: a text of its keyword %q alone is ruled out", r.ID, k)
			}
		}
		if r.ID == "other-stores" {
			// Every keyword's first byte, and neither ":" nor "/".
			text := []byte("Lcom.acme.Neo;->bookmarkedKibana")
			set := ByteSet(text)
			if r.MayMatch(&set) {
				t.Errorf("rule %s: %q, without \":\" or \"/\", passes the gate", r.ID, text)
			}
			shared++
		}
	}
	if shared != 1 {
		t.Fatal("rule other-stores not found")
	}
}

// TestByteSet checks the set against a byte-by-byte one, for ASCII texts
// and for texts with bytes past it.
func TestByteSet(t *testing.T) {
	for _, text := range []string{"", "a", "Lcom/acme/Api;", "redis://cache.example.net:6379", "\x00\x7f ~", "ünïcode", "\xff\x80\xc0 x", "tab\there"} {
		var want Bytes
		for i := range len(text) {
			want.add(text[i])
		}
		if got := ByteSet([]byte(text)); got != want {
			t.Errorf("ByteSet(%q) = %x, want %x", text, got, want)
		}
	}
}

// BenchmarkByteSet measures the set of short ASCII texts, a dex's strings.
func BenchmarkByteSet(b *testing.B) {
	texts := [][]byte{[]byte("Landroidx/test/espresso/core/internal/deps/guava/collect/ImmutableList;"), []byte("getInstrumentation"),
		[]byte("https://api.example.net/v1"), []byte("mContext")}
	n := 0
	for _, t := range texts {
		n += len(t)
	}
	b.SetBytes(int64(n))
	var sink Bytes
	for b.Loop() {
		for _, t := range texts {
			s := ByteSet(t)
			sink[0] |= s[0] ^ s[1]
		}
	}
	_ = sink
}
