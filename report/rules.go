package report

import "github.com/gownscan/gown"

// Rule describes one kind of finding for readers of a report: SARIF puts it
// in tool.driver.rules, HTML and Markdown link a finding's rule to its help.
// This table is the one place rule texts live; assess decides when a rule
// fires. A finding whose rule is missing here is still reported, with its
// title standing in for the descriptions.
type Rule struct {
	ID string
	// Name is a PascalCase name (SARIF reportingDescriptor.name).
	Name string
	// Short is one sentence; Full says what was checked and why it matters.
	Short, Full string
	// Help says what to do about it.
	Help string
	// Severity is the rule's usual severity; a finding may be graded lower or
	// higher (an empty open store is medium, not high).
	Severity gown.Severity
}

// Rules lists every rule gown reports, in the order SARIF indexes them. New
// rules are appended, never inserted, so that SARIF rule indexes stay stable.
var Rules = []Rule{
	{
		ID: "open-store", Name: "OpenDataStore", Severity: gown.SeverityHigh,
		Short: "A data store answers without authentication.",
		Full: "The store returned its data listing (databases, indices, keys or tables) to a client that " +
			"presented no credentials. Anyone who finds the address can read, and usually change or delete, " +
			"what it holds; open stores are found by Internet-wide scans within hours and are routinely " +
			"copied, wiped and ransomed.",
		Help: "Turn on authentication (Redis requirepass or ACLs, MySQL/MariaDB passwords for every account, " +
			"PostgreSQL scram-sha-256 in pg_hba.conf, Elasticsearch/OpenSearch security plugin, MongoDB " +
			"--auth), bind the store to private addresses only, and firewall its port from the Internet. " +
			"Then assume what it held was read: rotate secrets stored in it and review access logs.",
	},
	{
		ID: "auth-without-tls", Name: "AuthenticationWithoutTLS", Severity: gown.SeverityLow,
		Short: "A data store asks for credentials but offers no TLS.",
		Full: "Authentication is on, but the store speaks only plain text, so the credentials and the data " +
			"cross the network readable by anyone on the path.",
		Help: "Enable TLS on the store (or put it behind a TLS-terminating proxy or a VPN) and require it " +
			"for every client; keep the port off the public Internet.",
	},
	{
		ID: "store-reachable", Name: "DataStoreReachable", Severity: gown.SeverityInfo,
		Short: "A data store is reachable but refuses this client.",
		Full: "The store answered on its port but refused this client before any data (host not allowed, " +
			"protected mode, ACL). It is not open, but its port is exposed to the network gown scanned from.",
		Help: "If the store need not be reachable from this network, firewall its port; keep the " +
			"host-based restriction that refused gown.",
	},
}

// RuleByID finds a rule in Rules and its index.
func RuleByID(id string) (Rule, int, bool) {
	for i, r := range Rules {
		if r.ID == id {
			return r, i, true
		}
	}
	return Rule{}, -1, false
}
