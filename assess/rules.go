package assess

import (
	"github.com/gownscan/gown"
)

// Rule ids. A finding's id is derived from its rule, store and target
// (gown.FindingID), so these names are part of gown's stable output.
const (
	RuleSensitive   = "sensitive-data"
	RuleAdmin       = "admin-access"
	RuleCompromised = "compromised"
	RuleOpen        = "open-store"
	RuleOpenEmpty   = "open-store-empty"
	RuleHardcoded   = "hardcoded-credential"
	RuleCleartext   = "cleartext-transport"
	RuleAuthNoTLS   = "auth-without-tls"
	RuleOutdated    = "outdated-version"
	RuleReachable   = "store-reachable"
	RuleHoneypot    = "honeypot-suspected"
)

// Rule is one row of the severity table, docs/severity.md: the table there
// and this one are checked against each other by a test.
type Rule struct {
	ID        string
	Severity  gown.Severity
	Condition string
}

// Rules is the severity table, most severe first.
var Rules = []Rule{
	{RuleSensitive, gown.SeverityCritical, "open, and sampled records hold a sensitive class (any class but ip-address)"},
	{RuleAdmin, gown.SeverityCritical, "open with admin rights: CouchDB admin party, MySQL/MariaDB login as root, PostgreSQL superuser, Couchbase admin credentials, Redis CONFIG readable"},
	{RuleCompromised, gown.SeverityCritical, "a compromise sign: ransom-note, wiped, meow, redis-cron, redis-ssh-key, foreign-master (one finding per kind)"},
	{RuleOpen, gown.SeverityHigh, "open (data readable without credentials) and the inventory holds items"},
	{RuleOpenEmpty, gown.SeverityMedium, "open, but no items seen"},
	{RuleHardcoded, gown.SeverityMedium, "an app holds a hard-coded store password or API key (one finding per credential kind)"},
	{RuleCleartext, gown.SeverityMedium, "an app's transport policy allows clear text and the app names http:// or ws:// endpoints"},
	{RuleAuthNoTLS, gown.SeverityLow, "auth-required and no TLS: credentials and data cross the network in clear"},
	{RuleOutdated, gown.SeverityLow, "the version is older than the product's oldest supported line (assess/data/versions.json)"},
	{RuleReachable, gown.SeverityInfo, "restricted or protected: reachable, refuses this client"},
	{RuleHoneypot, gown.SeverityInfo, "honeypot signs: sizes inconsistent with counts, identical counts, a canned banner, or one address answering as 3 or more stores"},
}

// severityOf returns a rule's severity from the table.
func severityOf(rule string) gown.Severity {
	for _, r := range Rules {
		if r.ID == rule {
			return r.Severity
		}
	}
	panic("assess: rule " + rule + " is not in the severity table")
}
