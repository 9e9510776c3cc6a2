// Package rules holds the patterns that turn strings found in an app into
// endpoint candidates and credentials. The patterns are data (rules.txt,
// embedded) so that adding one is editing a text file; each rule carries its
// own true- and false-positive examples, which the package tests check, in
// the manner of gitleaks.
package rules

import (
	"bufio"
	_ "embed"
	"fmt"
	"regexp"
	"strconv"
	"strings"
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
	Re         *regexp.Regexp
	Keywords   []string
	TP, FP     []string
	value      int // submatch index of group "v"; 0 is the whole match
}

// Match is one hit of a rule in a text.
type Match struct {
	Rule       *Rule
	Value      string
	Start, End int // byte range of Value in the text
}

// All returns the embedded rules in priority order. It panics if the data
// file is broken: that is a programmer error caught by any test.
func All() []*Rule {
	rs, err := Parse(rulesText)
	if err != nil {
		panic(err)
	}
	return rs
}

// Parse reads rules in the rules.txt format.
func Parse(text string) ([]*Rule, error) {
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
		if err := cur.set(strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
			return nil, fmt.Errorf("rules line %d (%s): %w", n, cur.ID, err)
		}
	}
	for _, r := range out {
		if r.Re == nil || r.Kind == "" {
			return nil, fmt.Errorf("rule %s: needs kind and regex", r.ID)
		}
	}
	return out, nil
}

func (r *Rule) set(k, v string) error {
	switch k {
	case "kind":
		r.Kind = v
	case "store":
		r.Store = v
	case "keyword":
		r.Keywords = append(r.Keywords, v)
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
		re, err := regexp.Compile(v)
		if err != nil {
			return err
		}
		r.Re = re
		if i := re.SubexpIndex("v"); i > 0 {
			r.value = i
		}
	default:
		return fmt.Errorf("unknown key %q", k)
	}
	return nil
}

// Find returns the rule's matches in text. Keywords gate the regex: text
// holding none of them is not searched at all.
func (r *Rule) Find(text string) []Match {
	if len(r.Keywords) > 0 && !containsAny(text, r.Keywords) {
		return nil
	}
	var out []Match
	for _, loc := range r.Re.FindAllStringSubmatchIndex(text, -1) {
		s, e := loc[2*r.value], loc[2*r.value+1]
		if s < 0 {
			continue
		}
		out = append(out, Match{Rule: r, Value: text[s:e], Start: s, End: e})
	}
	return out
}

func containsAny(s string, subs []string) bool {
	for _, k := range subs {
		if strings.Contains(s, k) {
			return true
		}
	}
	return false
}
