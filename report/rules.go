package report

import "github.com/gownscan/gown/assess"

// Rule describes one kind of finding for readers of a report: SARIF puts it
// in tool.driver.rules, HTML and Markdown link a finding's rule to its help.
// The texts live in assess's rule table, the one place rules are described;
// a finding whose rule is missing there (read from a newer gown's file) is
// still reported, with its title standing in for the descriptions.
type Rule = assess.Rule

// Rules is assess's rule table, in SARIF index order.
var Rules = assess.Rules

// RuleByID finds a rule in Rules and its index.
func RuleByID(id string) (Rule, int, bool) { return assess.RuleByID(id) }
