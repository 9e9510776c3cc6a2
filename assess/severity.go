// Package assess says what an exposed store holds and how bad it is: it
// classifies sampled records into sensitive-data classes (Classify), finds
// signs that a store was already compromised or is a honeypot (Signs),
// fills a result's exposure (Analyze, the engine's hook) and draws graded
// findings from it (Findings). The rule table is docs/severity.md; rules.go
// is its code.
//
// Nothing a sampled record holds leaves this package unmasked: examples go
// through redact.Mask, names and sign details through redact.String.
package assess

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gownscan/gown"
)

// Findings grades one result by the rule table. It returns nothing for
// ports where no store was identified. Every finding of an open store
// carries the data at risk: items and bytes from the inventory and the
// sensitive classes sampling found.
func Findings(r *gown.Result) []gown.Finding {
	if r == nil || r.Store == "" || !identified(r.Status) {
		return nil
	}
	name := r.Product
	if name == "" {
		name = r.Store
	}
	var out []gown.Finding
	add := func(rule, idRule, title string) {
		out = append(out, newFinding(rule, r.Store, r.Target, title, r))
		if idRule != rule {
			out[len(out)-1].ID = gown.FindingID(idRule, r.Store, r.Target)
		}
	}
	switch r.Status {
	case gown.StatusOpen:
		items := uint64(0)
		if r.Inventory != nil {
			items = r.Inventory.Items
		}
		if items > 0 {
			add(RuleOpen, RuleOpen, fmt.Sprintf("%s answers without authentication and holds %d items", name, items))
		} else {
			add(RuleOpenEmpty, RuleOpenEmpty, fmt.Sprintf("%s answers without authentication (no data seen)", name))
		}
		if what := r.Facts.Admin; what != "" {
			add(RuleAdmin, RuleAdmin, fmt.Sprintf("%s gives admin access without authentication: %s", name, what))
		}
		if t := sensitiveTitle(name, r.Exposure); t != "" {
			add(RuleSensitive, RuleSensitive, t)
		}
	case gown.StatusAuthRequired:
		if r.TLS.Mode == gown.TLSNone {
			add(RuleAuthNoTLS, RuleAuthNoTLS, fmt.Sprintf("%s asks for credentials but offers no TLS: they cross the network in clear", name))
		}
	case gown.StatusRestricted, gown.StatusProtected:
		add(RuleReachable, RuleReachable, fmt.Sprintf("%s is reachable but refuses this client (%s)", name, r.Status))
	}
	if m, ok := outdated(r.Product, r.Version); ok {
		add(RuleOutdated, RuleOutdated, fmt.Sprintf("%s %s is past its vendor's support: the oldest supported line is %s (%s)", name, r.Version, m.Version, m.EOL))
	}
	for _, g := range groupSigns(r.Signs) {
		if Compromised(g.kind) {
			add(RuleCompromised, RuleCompromised+"/"+g.kind, fmt.Sprintf("%s was already compromised: %s", name, g.title()))
		} else {
			add(RuleHoneypot, RuleHoneypot, fmt.Sprintf("%s may be a honeypot: %s", name, g.title()))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Severity > out[j].Severity })
	return out
}

// newFinding fills a finding of rule at t, with the data at risk from r
// when r is given.
func newFinding(rule, store string, t gown.Target, title string, r *gown.Result) gown.Finding {
	f := gown.Finding{ID: gown.FindingID(rule, store, t), Severity: severityOf(rule), Rule: rule, Title: title, Target: t, Store: store}
	if r != nil && r.Inventory != nil && r.Status == gown.StatusOpen {
		f.Items, f.Bytes = r.Inventory.Items, r.Inventory.Bytes
	}
	if r != nil {
		f.Classes = ExposedClasses(r.Exposure)
	}
	return f
}

// ExposedClasses lists the classes an exposure found in any database, in
// the order of Classes.
func ExposedClasses(e *gown.Exposure) []string {
	if e == nil {
		return nil
	}
	seen := map[string]bool{}
	for _, c := range e.Classes {
		seen[c.Class] = true
	}
	var out []string
	for _, c := range Classes {
		if seen[c] {
			out = append(out, c)
			delete(seen, c)
		}
	}
	var rest []string
	for c := range seen {
		rest = append(rest, c)
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// sensitiveTitle describes the sensitive data an exposure found, or ""
// when it found none.
func sensitiveTitle(name string, e *gown.Exposure) string {
	var sens []string
	for _, c := range ExposedClasses(e) {
		if Sensitive(c) {
			sens = append(sens, c)
		}
	}
	if len(sens) == 0 {
		return ""
	}
	// Records holding any sensitive class: at least the largest count per
	// database, summed (classes of one database overlap).
	perDB := map[string]int{}
	for _, c := range e.Classes {
		if Sensitive(c.Class) && c.Records > perDB[c.Database] {
			perDB[c.Database] = c.Records
		}
	}
	held := 0
	for _, n := range perDB {
		held += n
	}
	return fmt.Sprintf("%s exposes sensitive data without authentication: %s (in at least %d of %d sampled records)",
		name, strings.Join(ShortList(sens, 5), ", "), held, e.Sampled)
}

// ShortList keeps the first n items and says how many more there were:
// "email, phone, +3".
func ShortList(l []string, n int) []string {
	if len(l) <= n {
		return l
	}
	return append(append([]string(nil), l[:n]...), fmt.Sprintf("+%d", len(l)-n))
}

// signGroup is the signs of one kind on one result.
type signGroup struct {
	kind  string
	signs []gown.Sign
}

func (g signGroup) title() string {
	s := g.signs[0]
	t := s.Kind
	if s.Where != "" {
		t += " at " + s.Where
	}
	t += ": " + s.Detail
	if len(g.signs) > 1 {
		t += fmt.Sprintf(" (+%d more)", len(g.signs)-1)
	}
	return t
}

// groupSigns groups signs by kind, in the order they come (Signs sorts
// them by kind).
func groupSigns(signs []gown.Sign) []signGroup {
	var out []signGroup
	for _, s := range signs {
		if n := len(out); n > 0 && out[n-1].kind == s.Kind {
			out[n-1].signs = append(out[n-1].signs, s)
			continue
		}
		out = append(out, signGroup{kind: s.Kind, signs: []gown.Sign{s}})
	}
	return out
}
