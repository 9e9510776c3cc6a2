// Package rules holds the patterns that turn strings found in an app into
// endpoint candidates and credentials. The patterns are data (rules.txt,
// embedded) so that adding one is editing a text file; each rule carries its
// own true- and false-positive examples, which the package tests check, in
// the manner of gitleaks.
package rules

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"regexp/syntax"
	"strconv"
	"strings"

	"github.com/gownscan/gown/internal/lazyre"
)

//go:embed rules.txt
var rulesText string

// Secret is the Kind of a rule that finds credentials, not endpoints.
const Secret = "secret"

// Rule is one pattern.
type Rule struct {
	ID   string
	Kind string // an endpoint kind (gown.EndpointKind) or Secret
	// Store is the prober the match points at; "scheme" means the URL scheme
	// decides and "sql" means mysql or postgres by scheme.
	Store      string
	Confidence float64
	// Re is the pattern, compiled on its first search: most rules' keywords
	// are absent from a small app, and compiling all of them cost every
	// `gown app` run 0.6 ms (perf, BENCHMARKS.md). Parse checks its syntax.
	Re       *lazyre.Regexp
	Keywords []string
	TP, FP   []string
	keys     [][]byte // Keywords as bytes, for FindBytes
	keySets  []Bytes  // the bytes of each keyword
	need     Bytes    // every byte of every Require literal
	first    Bytes    // the first byte of each keyword
	keyed    bool     // has keywords: without, first rules nothing out
	// Require lists literals that must all occur in a text (an IP address
	// needs its dots), checked before the keywords.
	Require [][]byte
	// Gate, when set, must accept a text before the regex runs: a
	// hand-written check for a rule no literal keyword can gate (see
	// gates).
	Gate func([]byte) bool
	// Whole marks a rule whose matches may hold white space or quotes (a
	// PEM block): it runs over a whole text, where the others run over the
	// pieces of text between such delimiters (see Delimiter).
	Whole bool
}

// Delimiter reports whether c can never be part of a match of a rule that
// is not Whole, nor the context a rule looks at around its match: white
// space, quotes and angle brackets, which end URLs, hosts and keys alike.
// Splitting a long text at these bytes and searching each piece gives the
// same matches as searching the text, at a fraction of the cost: most
// pieces lack every keyword.
func Delimiter(c byte) bool { return delimiters[c] }

var delimiters = [256]bool{' ': true, '\t': true, '\n': true, '\r': true, '\v': true, '\f': true,
	'"': true, '\'': true, '<': true, '>': true, '`': true}

// Match is one hit of a rule in a text.
type Match struct {
	Rule       *Rule
	Value      string
	Start, End int // byte range of Value in the text
}

// All returns the embedded rules in priority order. It panics if the data
// file is broken: that is a programmer error caught by any test.
func All() []*Rule {
	rs, err := parse(rulesText, false)
	if err != nil {
		panic(err)
	}
	return rs
}

// Parse reads rules in the rules.txt format.
func Parse(text string) ([]*Rule, error) { return parse(text, true) }

// parse reads rules; with check, each regex's syntax is checked as it is
// read. The embedded rules are not checked at every start of gown (that
// took most of the time reading them takes): TestPatternsCompile compiles
// them all, and each compiles on its first search.
func parse(text string, check bool) ([]*Rule, error) {
	var out []*Rule
	var cur *Rule
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			cur = &Rule{ID: line[1 : len(line)-1], Confidence: 0.5}
			out = append(out, cur)
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || cur == nil {
			return nil, fmt.Errorf("rules line %d: want [id] or key = value", n)
		}
		if err := cur.set(strings.TrimSpace(k), strings.TrimSpace(v), check); err != nil {
			return nil, fmt.Errorf("rules line %d (%s): %w", n, cur.ID, err)
		}
	}
	for _, r := range out {
		if r.Re == nil || r.Kind == "" {
			return nil, fmt.Errorf("rule %s: needs kind and regex", r.ID)
		}
		r.needShared()
	}
	return out, nil
}

// needShared adds to need the bytes every keyword of the rule holds: a
// text that holds one keyword holds them all. The scheme rules' keywords
// share ":" and "/", which most of a dex's strings (type, method and field
// names) lack; without this, a dex's string table passed the first-byte
// gate of six rules in ten and had each of their keywords searched for
// (25,000 keyword searches for 3,600 strings of the 0.2 MB APK).
func (r *Rule) needShared() {
	if len(r.keySets) == 0 {
		return
	}
	shared := r.keySets[0]
	for _, ks := range r.keySets[1:] {
		for i := range shared {
			shared[i] &= ks[i]
		}
	}
	for i := range r.need {
		r.need[i] |= shared[i]
	}
}

func (r *Rule) set(k, v string, check bool) error {
	switch k {
	case "kind":
		r.Kind = v
	case "store":
		r.Store = v
	case "keyword":
		if v == "" {
			return fmt.Errorf("empty keyword")
		}
		r.Keywords = append(r.Keywords, v)
		r.keys = append(r.keys, []byte(v))
		r.keySets = append(r.keySets, ByteSet([]byte(v)))
		r.first.add(v[0])
		r.keyed = true
	case "gate":
		g, ok := gates[v]
		if !ok {
			return fmt.Errorf("unknown gate %q", v)
		}
		r.Gate = g
	case "whole":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		r.Whole = b
	case "require":
		if v == "" {
			return fmt.Errorf("empty require")
		}
		r.Require = append(r.Require, []byte(v))
		for i := range len(v) {
			r.need.add(v[i])
		}
	case "tp":
		r.TP = append(r.TP, v)
	case "fp":
		r.FP = append(r.FP, v)
	case "confidence":
		c, err := strconv.ParseFloat(v, 64)
		if err != nil || c < 0 || c > 1 {
			return fmt.Errorf("confidence %q not in 0..1", v)
		}
		r.Confidence = c
	case "regex":
		if check {
			if _, err := syntax.Parse(v, syntax.Perl); err != nil {
				return err
			}
		}
		r.Re = lazyre.New(v)
	default:
		return fmt.Errorf("unknown key %q", k)
	}
	return nil
}

// Find returns the rule's matches in text. Keywords gate the regex: text
// holding none of them is not searched at all.
func (r *Rule) Find(text string) []Match {
	return r.FindBytes([]byte(text), nil)
}

// FindBytes is Find over bytes, which lets a caller scan a view into a
// decompressed entry without copying it into a string. present, when not
// nil, is the text's ByteSet: a keyword whose first or last byte is absent
// from the text cannot occur in it, which rules most keywords out of most
// short strings without a substring search. Match values are copies, never
// views into text.
func (r *Rule) FindBytes(text []byte, present *Bytes) []Match {
	if present != nil && !r.MayMatch(present) {
		return nil
	}
	for _, k := range r.Require {
		if !contains(text, k, present) {
			return nil
		}
	}
	if len(r.keys) > 0 && !r.containsAny(text, present) {
		return nil
	}
	if r.Gate != nil && !r.Gate(text) {
		return nil
	}
	var out []Match
	for _, loc := range r.Re.FindAllSubmatchIndex(text, -1) {
		v := max(r.Re.Regexp().SubexpIndex("v"), 0) // 0: the whole match
		s, e := loc[2*v], loc[2*v+1]
		if s < 0 {
			continue
		}
		out = append(out, Match{Rule: r, Value: string(text[s:e]), Start: s, End: e})
	}
	return out
}

// MayMatch reports whether a text of byte set present can hold a match by
// the byte sets alone: FindBytes's first test, cheap enough to inline, so
// that a caller running many rules over many short texts (a dex's string
// table) skips most rules without a call.
func (r *Rule) MayMatch(present *Bytes) bool {
	p, n, f := present, &r.need, &r.first
	return p[0]&n[0] == n[0] && p[1]&n[1] == n[1] && p[2]&n[2] == n[2] && p[3]&n[3] == n[3] &&
		(p[0]&f[0]|p[1]&f[1]|p[2]&f[2]|p[3]&f[3] != 0 || !r.keyed)
}

// containsAny reports whether text holds one of the keywords; one with a
// byte absent from present is not searched for.
func (r *Rule) containsAny(text []byte, present *Bytes) bool {
	for i, k := range r.keys {
		if present != nil && !present.hasAll(&r.keySets[i]) {
			continue
		}
		if bytes.Contains(text, k) {
			return true
		}
	}
	return false
}

func contains(s, k []byte, present *Bytes) bool {
	if present != nil && (!present.Has(k[0]) || !present.Has(k[len(k)-1])) {
		return false
	}
	return bytes.Contains(s, k)
}

// gates are the hand-written checks a rule may name with "gate = NAME".
var gates = map[string]func([]byte) bool{"hostport": hostPortGate}

// hostPortGate reports whether text holds a lowercase letter, a colon and
// three digits in a row ("net:8443"), which every host:port on a port from
// 100 up holds: the host-port rule has no literal to gate it, and its
// regex costs a hundred times this scan on the long strings of a bundle.
func hostPortGate(text []byte) bool {
	for i := 1; i+3 < len(text); i++ {
		j := bytes.IndexByte(text[i:len(text)-3], ':')
		if j < 0 {
			return false
		}
		i += j
		if c := text[i-1]; c >= 'a' && c <= 'z' && isDigit(text[i+1]) && isDigit(text[i+2]) && isDigit(text[i+3]) {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Bytes is the set of byte values that occur in a text.
type Bytes [4]uint64

// ByteSet returns the set of byte values in text. ASCII, nearly every
// text, is gathered in two registers: indexing the set's array kept it in
// memory, a load and a store on one word for each letter, and the dex
// strings of the 0.2 MB APK spent a third of their rule matching here.
func ByteSet(text []byte) Bytes {
	var lo, hi uint64
	var seen byte
	for _, c := range text {
		m := uint64(1) << (c & 63)
		h := -uint64(c >> 6 & 1) // all ones for 64-127
		lo |= m &^ h
		hi |= m & h
		seen |= c
	}
	if seen < 0x80 {
		return Bytes{lo, hi}
	}
	var s Bytes
	for _, c := range text {
		s[c>>6] |= 1 << (c & 63)
	}
	return s
}

// AllBytes is the set of every byte value: no gate rules anything out.
var AllBytes = Bytes{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}

// Has reports whether c occurs in the set.
func (s *Bytes) Has(c byte) bool { return s[c>>6]&(1<<(c&63)) != 0 }

func (s *Bytes) add(c byte) { s[c>>6] |= 1 << (c & 63) }

func (s *Bytes) hasAll(o *Bytes) bool {
	return s[0]&o[0] == o[0] && s[1]&o[1] == o[1] && s[2]&o[2] == o[2] && s[3]&o[3] == o[3]
}
