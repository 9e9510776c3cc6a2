package assess

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
	// Rules of gown traffic: what a capture or HAR file shows crossing the
	// network in clear text.
	RuleTrafficPersonal   = "cleartext-personal-data"
	RuleTrafficCredential = "cleartext-credential"
	RuleTrafficCleartext  = "cleartext-traffic"
)
